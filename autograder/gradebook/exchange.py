"""nbgrader's collect, refusing submissions that hold links: checked, then copied without following any.

``nbgrader collect`` copies each student's latest folder from the exchange's
``inbound/`` (which every student can write) into ``submitted/`` with
``shutil.copytree`` as the instructor, following links: a planted folder
whose notebook is a link to ``source/<assignment>/<assignment>.ipynb`` becomes
that student's submission, solutions and all. `LinkRefusingCollect` is
nbgrader's ``ExchangeCollect`` with two steps replaced, plugged in through
nbgrader's documented plugin point ``c.ExchangeFactory.collect`` (set by
`.config.configure`), so ``nbgrader collect``, the formgrader and
``autograder collect`` all use it:

- ``copy_files`` first checks every submission it is about to consider
  (`.submissions.check_submission`, nothing read through a link); a refused
  one is left in the exchange, logged as ``refused <student>: <why>``, and the
  others are collected as nbgrader would (a student's earlier collected
  submission, if any, stays as it was);
- then it copies each of them into a staging folder of the course with
  `.submissions.copy_submission` instead of ``copytree``: every file opened
  with ``O_NOFOLLOW`` and checked with ``fstat``, so a link planted between
  the check and the copy refuses that student instead of being read through.
  This happens before nbgrader removes a student's earlier submission to
  ``--update`` it, so a refusal never costs the student what was collected
  before. nbgrader's ``CourseDirectory.ignore``/``include``/``max_file_size``
  apply as before; a submission over ``max_dir_size`` refuses that student
  instead of stopping the whole collect;
- ``do_copy`` moves the staged copy into ``submitted/``.

Folder names in ``inbound/`` are the student's to choose too (the folder is
writable by every student), and nbgrader takes a student's latest folder by
the timestamp in its name. So a folder nbgrader cannot parse, one stamped in
the future, or (when ``owner_prefix`` is set, as the classroom hub does) one
not owned by the student's own account ``<owner_prefix><student>`` never
counts as that student's submission: such folders sort after every genuine
one, and a student who has only such folders is refused with the reason.
Without this, one malformed name stopped the whole collect, and a classmate
could plant ``carol+a01+<a later time>`` to be collected as Carol's work.

In a staff server of the classroom hub (`.service_client.grading_service`), the
instructor's account cannot read the students' inbound folders: ``start()``
asks the hub's grading service to collect instead (it runs the same class), and
takes its outcomes.

After ``start()`` the instance says who was collected (`collected`), who was
refused and why (`refused`); `outcomes` turns that into one row per student.
"""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import parse_utc
from traitlets import Float, Unicode

from .service_client import grading_service, service_request
from .submissions import SubmissionRefused, check_submission, copy_submission


def written_by_another(folder: Path, student: str, owner_prefix: str) -> str:
    """Why ``folder`` in the exchange's inbound is not ``student``'s own submission ("" when it is): each student
    submits from their own system account ``<owner_prefix><student>``, so a folder another account wrote under
    their name (a classmate's plant) is not theirs."""
    expected = f"{owner_prefix}{student}"
    uid = folder.lstat().st_uid
    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = f"uid {uid}"
    if owner == expected:
        return ""
    return (f"the folder {folder.name} was written by {owner}, not by {expected}: only the student's own account "
            "can submit for them; submit again from your own server")


@dataclass(frozen=True)
class CollectOutcome:
    """One student's latest submission in the exchange, after a collect."""

    student: str
    status: str  # "collected", "refused", or "unchanged" (nothing newer than what submitted/ holds)
    why: str = ""


class LinkRefusingCollect(ExchangeCollect):
    """``ExchangeCollect`` that refuses, per student, any submission holding a link (module docstring)."""

    owner_prefix = Unicode(None, allow_none=True, help=(
        "When set, a submission folder counts only if its owner is the system user <owner_prefix><student> "
        "(the classroom hub, where each student submits as their own account); None: owners are not checked "
        "(an exchange written by one account).")).tag(config=True)
    clock_skew_s = Float(300.0, help="How far in the future a submission's timestamp may be (clocks differ a "
                                     "little) before the folder is distrusted.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refused: dict[str, str] = {}
        self.collected: list[str] = []
        self.considered: list[str] = []
        self._staged: dict[str, Path] = {}  # inbound folder -> its checked, link-free copy

    def start(self) -> Any:
        service = grading_service()
        if not service:
            return super().start()
        course, assignment, student = self.coursedir.course_id, self.coursedir.assignment_id, self.coursedir.student_id
        answer = service_request(service, f"/courses/{course}/assignments/{assignment}/collect",
                                 {"student": student if student != "*" else ""}, what=f"collecting {assignment}")
        for student, status in answer["students"].items():
            self.considered.append(student)
            if status == "collected":
                self.collected.append(student)
            elif status.startswith("refused"):
                self._refuse(student, status.removeprefix("refused").lstrip(": "))
        return None

    def _refuse(self, student: str, why: str) -> None:
        self.refused[student] = why
        self.log.error("refused %s: %s", student, why)

    def _path_to_record(self, path: str) -> dict[str, Any]:
        """nbgrader's record of an inbound folder, with ``distrusted`` (why) when it cannot be the student's."""
        name = os.path.basename(path)
        parts = name.rsplit("+", 3)
        try:
            if len(parts) < 3:
                raise ValueError("too few '+'")
            timestamp = parse_utc(parts[2])
        except Exception:
            return {"username": parts[0], "filename": name, "timestamp": datetime.datetime.min,
                    "distrusted": f"the folder {name} in the exchange is not named <student>+<assignment>+"
                                  "<timestamp> as nbgrader submit names it: submit again with nbgrader"}
        record = {"username": parts[0], "filename": name, "timestamp": timestamp}
        why = self._distrust(path, record)
        if why:
            record["distrusted"] = why
        return record

    def _distrust(self, path: str, record: dict[str, Any]) -> str:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        stamp = record["timestamp"]
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(datetime.UTC).replace(tzinfo=None)
        if stamp > now + datetime.timedelta(seconds=self.clock_skew_s):
            return (f"the folder {record['filename']} is stamped {stamp:%Y-%m-%d %H:%M} UTC, in the future: not "
                    "a submission nbgrader made; submit again")
        if self.owner_prefix is not None:
            return written_by_another(Path(path), record["username"], self.owner_prefix)
        return ""

    def _sort_by_timestamp(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Genuine folders first, latest first: a distrusted folder never hides the student's real submission."""
        return sorted(records, key=lambda record: ("distrusted" not in record, record["timestamp"]), reverse=True)

    def copy_files(self) -> None:
        inbound = Path(self.inbound_path)
        staging = Path(tempfile.mkdtemp(prefix=".collect-staging-", dir=self.coursedir.root))
        try:
            kept = []
            for record in self.src_records:
                self.considered.append(record["username"])
                if "distrusted" in record:
                    self._refuse(record["username"], record["distrusted"])
                    continue
                if self._stage(inbound / record["filename"], staging / record["filename"], record["username"]):
                    kept.append(record)
            self.src_records = kept
            super().copy_files()
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _stage(self, src: Path, staged: Path, student: str) -> bool:
        """Check ``src`` and copy it, link-free, to ``staged``; False (and the student refused) when it holds a link."""
        coursedir = self.coursedir
        try:
            check_submission(src, within=src.parent, max_notebook_bytes=None)
            copy_submission(src, staged, exclude=coursedir.ignore, include=coursedir.include,
                            max_file_bytes=1000 * coursedir.max_file_size if coursedir.max_file_size else None,
                            max_total_bytes=1000 * coursedir.max_dir_size, log=self.log)
        except SubmissionRefused as exc:
            self._refuse(student, str(exc))
            return False
        self._staged[os.path.normpath(src)] = staged
        return True

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        student = self._path_to_record(src)["username"]
        shutil.move(self._staged.pop(os.path.normpath(src)), dest)  # a rename within the course's filesystem
        self.collected.append(student)
        coursedir = self.coursedir
        if coursedir.groupshared:  # as nbgrader's do_copy: what it copied stays group-writable
            for folder, _, files in os.walk(dest):
                for path in [folder, *(os.path.join(folder, name) for name in files)]:
                    wanted = 0o2770 if path == folder else 0o660
                    mode = os.lstat(path).st_mode
                    if mode & wanted != wanted:
                        try:
                            os.chmod(path, (mode | wanted) & (0o2777 if path == folder else 0o777))
                        except PermissionError:
                            self.log.warning("Could not update permissions of %s to make it groupshared", path)

    def outcomes(self) -> list[CollectOutcome]:
        """One row per student whose latest submission this collect considered, by student id."""
        rows = []
        for student in sorted(set(self.considered)):
            if student in self.refused:
                rows.append(CollectOutcome(student, "refused", self.refused[student]))
            elif student in self.collected:
                rows.append(CollectOutcome(student, "collected"))
            elif self.update:
                rows.append(CollectOutcome(student, "unchanged", "nothing newer than the submission in submitted/"))
            else:
                rows.append(CollectOutcome(student, "unchanged", "submitted/ holds a submission already "
                                           "(nbgrader collect --update replaces it with a newer one)"))
        return rows
