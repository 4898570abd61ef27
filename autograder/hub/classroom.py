"""The classroom on disk: its state directory, and what is made there before the hub starts.

- `HubState`: where everything lives under the state directory, and who may read what there;
- `prepare`: the system accounts, issued passwords, each course's nbgrader course directory (root and the
  course's staff group) with its assignments released into the exchange, and the kernelspec the servers offer.

Starting and configuring JupyterHub itself is `.launcher`'s.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..gradebook.course_dir import NbgraderCourse, NbgraderError
from ..grading.job import GradingRecords
from .accounts import Accounts, PasswordStore
from .roster import CourseSettings, Roster, staff_group

HUB_EXTRA_CONFIG = '''
# The classroom hub: each course has its own folder in the exchange, shared with the course's staff group.
c.Exchange.path_includes_course = True
c.CourseDirectory.groupshared = True
'''


def course_rules_config(course: CourseSettings, prefix: str) -> str:
    """The roster's rules of ``course`` as nbgrader configuration, for its course directory and staff servers."""
    return (f"# Each student submits from their own account ({prefix}<student>): a folder in inbound written by any\n"
            f"# other account is not theirs.\nc.LinkRefusingCollect.owner_prefix = {prefix!r}\n"
            f"# The roster's late penalty: this fraction of the points per day (or part of one) late.\n"
            f"c.PerDayLatePenalty.fraction_per_day = {course.late_penalty_per_day!r}\n")


class HubError(RuntimeError):
    """The classroom cannot start or change: the message says what to do."""


@dataclass(frozen=True)
class HubState:
    """The layout of the hub's state directory (see hub_config/README.md)."""

    root: Path

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def share(self) -> Path:
        """Read by every server: the kernelspec."""
        return self.root / "share"

    def home(self, username: str) -> Path:
        return self.root / "homes" / username

    def identity(self, username: str) -> Path:
        """The /etc/passwd and /etc/group that ``username``'s server sees (root's alone: bwrap binds them)."""
        return self.root / "identity" / username

    def course_dir(self, course_id: str) -> Path:
        return self.root / "courses" / course_id

    def secret(self, name: str) -> str:
        """A random token kept in ``state/<name>`` (0600), made on first use."""
        path = self.root / name
        if not path.is_file():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()

    @property
    def running_path(self) -> Path:
        """Where a running hub says how to reach it (for `autograder hub sync`)."""
        return self.root / "running.json"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chown(self.root, 0, 0)
        # Others may pass through to what is theirs (a home, the exchange), never list or read the rest.
        os.chmod(self.root, 0o711)
        for folder, mode in ((self.root / "courses", 0o711), (self.exchange, 0o755), (self.share, 0o755),
                             (self.root / "identity", 0o700)):
            folder.mkdir(exist_ok=True)
            os.chown(folder, 0, 0)
            os.chmod(folder, mode)


def prepare(roster: Roster, state: HubState, log: Any = print) -> dict[str, str]:
    """Accounts, passwords, course directories, releases and kernelspec; returns the newly issued passwords."""
    state.create()
    Accounts(roster, state.root).sync()
    new = PasswordStore(state.root).issue(list(roster.people))
    for course in roster.courses.values():
        released = prepare_course(course, state, roster.hub.user_prefix)
        if released:
            log(f"course {course.id}: released {', '.join(released)}")
    install_kernelspec(state)
    return new


def prepare_course(course: CourseSettings, state: HubState, prefix: str) -> list[str]:
    """The course directory (root:staff group, 2770) and its assignments released; returns those released now."""
    gid = _gid(staff_group(prefix, course.id))
    root = state.course_dir(course.id)
    # Written again at each start, so that the roster's course_root is the one graded.
    nbgrader = NbgraderCourse.create(root, course.course_root, course.id, exchange=state.exchange)
    with open(root / "nbgrader_config.py", "a") as handle:
        handle.write(HUB_EXTRA_CONFIG + course_rules_config(course, prefix))
    course_exchange = state.exchange / course.id
    for folder, mode in ((course_exchange, 0o2775), (course_exchange / "outbound", 0o2775),
                         (course_exchange / "inbound", 0o3773), (course_exchange / "feedback", 0o2771)):
        # Made here, by root, before any student could claim the name; students write only into inbound,
        # where they can neither list nor remove what others submitted.
        folder.mkdir(exist_ok=True)
        os.chown(folder, 0, gid)
        os.chmod(folder, mode)
    released = []
    for assignment in course.assignments:
        if (course_exchange / "outbound" / assignment).is_dir():
            continue
        nbgrader.generate(assignment)
        outcome = nbgrader.api().release_assignment(assignment)
        if not outcome.get("success"):
            raise NbgraderError(f"nbgrader release_assignment {assignment} of {course.id} failed:\n"
                                f"{outcome.get('error') or ''}\n{outcome.get('log') or ''}")
        released.append(assignment)
    GradingRecords(root / "grading_results").secret()  # the course's secret seed, root's alone (0600)
    share_with_group(root, gid)
    share_with_group(course_exchange / "outbound", gid, others=True)
    return released


def share_with_group(top: Path, gid: int, *, others: bool = False) -> None:
    """``top`` and everything in it: owned by root and group ``gid``, which reads and writes it; others read
    only when ``others`` (the released assignments), else nothing. Files root keeps to itself (0600: the
    grading secret) stay so."""
    # Staff write here while the hub runs: a link they planted (or swap in) must not make root change the owner
    # or mode of what it points to, so each entry is opened without following links and changed through its fd.
    _share(top, gid, 0o2775 if others else 0o2770)
    for folder, directories, files in os.walk(top):
        for name in directories:
            _share(Path(folder) / name, gid, 0o2775 if others else 0o2770)
        for name in files:
            _share(Path(folder) / name, gid, 0o664 if others else 0o660)


def _share(path: Path, gid: int, mode: int) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return  # a link, or gone
    try:
        status = os.fstat(descriptor)
        if stat.S_ISREG(status.st_mode) and (status.st_nlink > 1 or status.st_mode & 0o077 == 0):
            return  # a hard link to something else, or a file root keeps to itself
        if stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode):
            os.fchown(descriptor, 0, gid)
            os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)


def _gid(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid


def install_kernelspec(state: HubState) -> Path:
    """The ``python3`` kernelspec the servers list first: this venv's interpreter, with the course's packages."""
    spec_dir = state.share / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (deep learning course)", "language": "python",
            "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}, "metadata": {"debugger": True}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    for path in [state.share / "jupyter", spec_dir.parent, spec_dir]:
        os.chmod(path, 0o755)
    return spec_dir
