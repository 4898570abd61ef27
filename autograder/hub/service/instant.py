"""Instant feedback: new submissions found in the exchange, and each student's instant results.

For a course with ``instant_feedback``, the service looks into the exchange's ``<course>/inbound/`` every
two seconds. nbgrader names each submission ``<student>+<assignment>+<timestamp>+<random>``; a student
writes that folder, so its name is hostile: one that does not parse, names a student not enrolled in the
course or an assignment the course does not release, or whose folder is not owned by the system account of
the student it names (``<prefix><student>``: one student's folder planted under another's name), never
starts a job; the instructor's ``collect`` applies its own checks to it. Each new name starts one ``instant``
job (`work.run_instant`).

`InstantState` keeps, per course, the names already seen, how many instant gradings each student used per
assignment, and the latest instant result each student may read (``state/courses/<course>/grading_service/
instant.json``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path

from ...gradebook.exchange import written_by_another
from .jobs import write_json

log = logging.getLogger(__name__)

# nbgrader's inbound names: <student>+<assignment>+<timestamp>[+<random>]; ids are nbgrader's safe names.
SUBMISSION_DONE = "submission_secret.txt"  # the last file nbgrader's submit writes into an inbound folder
_INBOUND = re.compile(r"^(?P<student>[A-Za-z0-9_.@-]+)\+(?P<assignment>[A-Za-z0-9_.-]+)\+(?P<stamp>[^+/]+)(\+[^+/]*)?$")


def parse_inbound(name: str) -> tuple[str, str] | None:
    """(student, assignment) of an inbound folder's name; None for a name nbgrader would not have written."""
    match = _INBOUND.match(name)
    if match is None or name.startswith("."):
        return None
    return match["student"], match["assignment"]


class InstantState:
    """One course's instant-feedback bookkeeping, saved after every change."""

    _lock = threading.Lock()  # the watcher and the worker both write

    def __init__(self, course_dir: Path) -> None:
        self.path = course_dir / "grading_service" / "instant.json"

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            data = {}
        data.setdefault("seen", [])
        data.setdefault("used", {})
        data.setdefault("results", {})
        return data

    def new_submissions(self, inbound: Path, students: set[str], assignments: set[str],
                        prefix: str) -> list[tuple[str, str, str]]:
        """(folder name, student, assignment) of each submission not seen before, marked seen.

        A folder whose owner is not the student its name claims (another student's planted one) is skipped.
        """
        try:
            with os.scandir(inbound) as entries:
                names = sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return []
        with self._lock:
            data = self._read()
            seen = set(data["seen"])
            fresh = []
            for name in names:
                if name in seen:
                    continue
                if not (inbound / name / SUBMISSION_DONE).is_file() and parse_inbound(name):
                    continue  # nbgrader's submit is still copying: look again at the next round
                data["seen"].append(name)
                parsed = parse_inbound(name)
                if not parsed or parsed[0] not in students or parsed[1] not in assignments:
                    continue
                why = written_by_another(inbound / name, parsed[0], prefix)
                if why:
                    log.warning("no instant feedback: %s", why)
                    continue
                fresh.append((name, *parsed))
            if len(data["seen"]) != len(seen):
                write_json(self.path, data)
        return fresh

    def used(self, assignment: str, student: str) -> int:
        with self._lock:
            return int(self._read()["used"].get(f"{assignment}/{student}", 0))

    def record(self, assignment: str, student: str, result: dict, *, counted: bool) -> None:
        """Store the student's latest instant result; ``counted``: it was an instant grading of their allowance."""
        key = f"{assignment}/{student}"
        with self._lock:
            data = self._read()
            if counted:
                data["used"][key] = int(data["used"].get(key, 0)) + 1
            data["results"][key] = result
            write_json(self.path, data)

    def result(self, assignment: str, student: str) -> dict | None:
        with self._lock:
            return self._read()["results"].get(f"{assignment}/{student}")
