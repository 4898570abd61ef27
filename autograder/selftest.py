"""The security self-test: real hostile submissions, graded through real nbgrader beside honest students.

Each case is a file ``tests/hostile/<category>/<case>.py`` (format in that
folder's README): a docstring saying what it tries and what containment
means for it, then the sections that replace the toy assignment's solution
cells. `run_security_selftest` grades every case in a copy of the toy course
with tight limits and checks, rather than assumes, that each is contained:

- the hostile student's affected grade cells score what the case expects in
  nbgrader's gradebook (0 for what it attacked), and each of their hidden tests
  failed with a message that says why (the case's ``reason``);
- the honest students graded in the same batch, after the hostile ones, get
  exactly the scores they got in a batch of their own (the baseline);
- the host is unharmed: no process of the sandbox's uid left, no new child
  of the grader, no marker file outside the sandbox, no connection reached the
  host's listeners, another student's live kernel still answers, the grader's
  memory and the disk are back where they were, the grading record is small.

Cases of one category share a batch (one course, one grader process), and
batches run in a few worker processes at once, each with its own course,
honest students, listeners and bystander kernel; so a full run takes
minutes. It returns one `CategoryReport` per category; `report_table`
shows them (``autograder selftest security``).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import glob
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import torch
from rich.table import Table

from .gradebook import NbgraderCourse, NbgraderError
from .job import GradingRecords
from .kernel import StudentCodeError, StudentKernel
from .results import JobResult
from .samples import fill_solutions, parse_sections, write_submission
from .sandbox import SANDBOX_UID, Limits

REPO = Path(__file__).resolve().parents[1]
HOSTILE_DIR = REPO / "tests" / "hostile"
TOY_ROOT = REPO / "tests" / "fixtures" / "toy_course"
ASSIGNMENT = "toy"

CATEGORIES: dict[str, str] = {
    "comparison": "change what a comparison sees",
    "unpickle": "payloads that run code if unpickled",
    "hidden_material": "read hidden material, write outside scratch",
    "exhaustion": "exhaust time, memory, processes, disk, output",
    "crash": "crash or kill the kernel, exit early",
    "network": "reach the network, the hub, other kernels",
    "smuggle": "smuggle code into the grader via results",
    "notebook_json": "edit the notebook's JSON",
    "banned_ops": "call a banned primitive",
}

# Tight limits keep the time-outs short; honest work in the toy course needs a fraction of each.
SELFTEST_LIMITS = Limits(notebook_timeout_s=90, cell_timeout_s=8, call_timeout_s=4, startup_timeout_s=60,
                         memory_mb=1024, processes=64, disk_mb=64, output_bytes=20_000, threads=1)
# Rough seconds per case, to share categories between workers (the slow ones time out or crash kernels).
CATEGORY_COST_S = {"exhaustion": 11.0, "crash": 12.5, "smuggle": 8.0, "unpickle": 7.0, "banned_ops": 7.0}

HONEST: dict[str, dict[str, str]] = {
    "honest_correct": {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"},
    "honest_partial": {"double": "def double(x):\n    return (x + x).float()"},
}
HONEST_SCORES = {"honest_correct": {"test_double": 3.0, "test_square": 1.0},
                 "honest_partial": {"test_double": 2.0, "test_square": 0.0}}

BANNED_OPS = ("aten::convolution",)


def selftest_suite() -> str:
    """The toy course's hidden suite with ``double`` graded under the banned-operator rule."""
    suite = (TOY_ROOT / "assignments" / ASSIGNMENT / "hidden" / "test_toy.py").read_text()
    edits = [('SUITE_VERSION = "toy-1"', f'SUITE_VERSION = "toy-selftest-1"\nBANNED = {BANNED_OPS!r}'),
             ("student.double(", "student.banning(*BANNED).double("),
             ('student.gradients("double"', 'student.banning(*BANNED).gradients("double"')]
    for old, new in edits:
        if old not in suite:
            raise RuntimeError(f"the toy suite changed: {old!r} is not in it; update selftest_suite()")
        suite = suite.replace(old, new)
    return suite

PLACEHOLDERS = ("PORT", "UDP_PORT", "UNIX_SOCKET", "ABSTRACT_SOCKET", "VICTIM_RUNTIME", "COURSE_DIR", "TREE_DIR",
                "REPO", "VENV")
VICTIM_SOURCE = "import torch\nSENTINEL = 42\ndef double(x):\n    return x + x\ndef sentinel():\n    return SENTINEL"
MiB = 2**20
MAX_RECORD_BYTES = 1 * MiB  # a job record holds at most the output limit per cell and short messages
MEMORY_SLACK_BYTES = 256 * MiB  # growth of the grader's RSS over a case (or over the whole run) that is harm
DISK_SLACK_BYTES = 128 * MiB
SETTLE_S = 15.0  # how long processes get to go away after a job


# ----------------------------------------------------------------- cases


@dataclass(frozen=True)
class HostileCase:
    """One hostile submission and what containing it means."""

    category: str
    name: str
    path: Path
    title: str
    sections: dict[str, str]
    expect: dict[str, float]
    reason: str = ""
    markers: tuple[str, ...] = ()
    edit: str = ""
    limit: str = ""
    refused: bool = False  # ``expect: refused``: nbgrader itself must refuse the submission (no score, a reason)

    @property
    def student(self) -> str:
        return f"{self.category}-{self.name}".replace("_", "-")

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"


_HEADER_KEYS = ("expect", "reason", "markers", "edit", "limit")


def parse_case(path: Path, category: str) -> HostileCase:
    """Read a case file: its docstring header (title and ``key: value`` lines) and its sections."""
    text = path.read_text()
    header = re.split(r"^# %% \[", text, maxsplit=1, flags=re.MULTILINE)[0]
    docstring = re.search(r'"""(.*?)"""', header, re.DOTALL)
    if docstring is None:
        raise ValueError(f"{path}: a hostile case starts with a docstring saying what it tries")
    lines = docstring.group(1).strip().splitlines()
    values: dict[str, list[str]] = {key: [] for key in _HEADER_KEYS}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() in values:
            values[key.strip()].append(value.strip())
    expect = {}
    refused = " ".join(values["expect"]).strip() == "refused"
    for item in [] if refused else " ".join(values["expect"]).split():
        cell, _, score = item.partition("=")
        expect[cell] = float(score)
    if not expect and not refused:
        raise ValueError(f"{path}: the header needs 'expect: test_x=N ...' (the grade cells' expected scores) "
                         "or 'expect: refused'")
    return HostileCase(category=category, name=path.stem, path=path, title=lines[0].strip(),
                       sections=parse_sections(text), expect=expect, reason=" ".join(values["reason"]),
                       markers=tuple(" ".join(values["markers"]).split()), edit=" ".join(values["edit"]),
                       limit=" ".join(values["limit"]), refused=refused)


def load_cases(categories: list[str] | None = None, hostile_dir: Path = HOSTILE_DIR) -> list[HostileCase]:
    """Every hostile case, category by category in `CATEGORIES` order."""
    unknown = sorted(set(categories or ()) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                         f"known: {', '.join(CATEGORIES)}")
    cases = []
    for category in categories or list(CATEGORIES):
        for path in sorted((hostile_dir / category).glob("*.py")):
            cases.append(parse_case(path, category))
    return cases


# ----------------------------------------------------------------- notebook JSON edits


def _grade_cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _copy_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    twin = copy.deepcopy(cell)
    if "id" in twin:
        twin.id = uuid.uuid4().hex[:8]
    return twin


def edit_grade_cell_source_and_points(notebook: nbformat.NotebookNode) -> None:
    cell = _grade_cell(notebook, "test_double")
    cell.source = "print('ok')"
    cell.metadata.nbgrader.points = 100
    _grade_cell(notebook, "test_square").metadata.nbgrader.points = 100


def edit_kernelspec_and_checksums(notebook: nbformat.NotebookNode) -> None:
    notebook.metadata.kernelspec = {"name": "evil", "display_name": "Evil", "language": "python"}
    notebook.metadata.language_info = {"name": "python", "version": "0.0"}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is not None:
            meta["checksum"] = "0" * 32
            meta["locked"] = False


def edit_delete_grade_cell(notebook: nbformat.NotebookNode) -> None:
    notebook.cells.remove(_grade_cell(notebook, "test_double"))


def edit_duplicate_grade_ids(notebook: nbformat.NotebookNode) -> None:
    real = _grade_cell(notebook, "test_double")
    forged = _copy_cell(real)
    forged.source = "print('ok')"
    forged.metadata.nbgrader.points = 100
    notebook.cells.insert(notebook.cells.index(real), forged)
    twin = _copy_cell(_grade_cell(notebook, "test_square"))
    twin.source = "print('ok')"
    notebook.cells.append(twin)


def edit_extra_grade_cell(notebook: nbformat.NotebookNode) -> None:
    notebook.cells.append(nbformat.v4.new_code_cell("print('bonus')", metadata={"nbgrader": {
        "grade": True, "grade_id": "test_bonus", "locked": True, "points": 50, "schema_version": 3,
        "solution": False, "task": False}}))


def edit_grade_cell_made_solution(notebook: nbformat.NotebookNode) -> None:
    cell = _grade_cell(notebook, "test_double")
    cell.source = "def double(x):\n    return x * 2"
    cell.metadata.nbgrader.update(solution=True, locked=False, grade=False)
    square = _grade_cell(notebook, "test_square")
    markdown = nbformat.v4.new_markdown_cell("square is fine", metadata=copy.deepcopy(square.metadata))
    notebook.cells[notebook.cells.index(square)] = markdown


NOTEBOOK_EDITS: dict[str, Callable[[nbformat.NotebookNode], None]] = {
    "grade_cell_source_and_points": edit_grade_cell_source_and_points,
    "kernelspec_and_checksums": edit_kernelspec_and_checksums,
    "delete_grade_cell": edit_delete_grade_cell,
    "duplicate_grade_ids": edit_duplicate_grade_ids,
    "extra_grade_cell": edit_extra_grade_cell,
    "grade_cell_made_solution": edit_grade_cell_made_solution,
}


def build_notebook(release: Path, sections: dict[str, str], placeholders: dict[str, str],
                   edit: str = "") -> nbformat.NotebookNode:
    """The release notebook with ``sections`` in its solution cells (placeholders filled) and ``edit`` applied."""
    filled = {}
    for grade_id, source in sections.items():
        for name, value in placeholders.items():
            source = source.replace(f"@@{name}@@", value)
        filled[grade_id] = source
    notebook = fill_solutions(release, filled)
    if edit:
        NOTEBOOK_EDITS[edit](notebook)
    return notebook


def build_course_tree(root: Path) -> Path:
    """A copy of the toy course with the self-test's limits and its banned-operator suite."""
    shutil.copytree(TOY_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    hidden = root / "assignments" / ASSIGNMENT / "hidden"
    limits = SELFTEST_LIMITS
    (hidden / "assignment.toml").write_text(
        "[limits]\n" + "".join(f"{key} = {getattr(limits, key)!r}\n" for key in (
            "notebook_timeout_s", "cell_timeout_s", "call_timeout_s", "startup_timeout_s", "memory_mb",
            "processes", "disk_mb", "output_bytes")))
    (hidden / "test_toy.py").write_text(selftest_suite())
    return root


# ----------------------------------------------------------------- the host, watched from outside


@dataclass
class Snapshot:
    children: set[int]
    rss: int
    free_bytes: int
    temp_dirs: set[str]
    connections: int


class Host:
    """Listeners an attacker would like to reach, another student's live kernel, and checks of the host."""

    def __init__(self, workdir: Path, tree: Path, course_root: Path, kernels_dir: Path) -> None:
        self.workdir, self.tree, self.course_root, self.kernels_dir = workdir, tree, course_root, kernels_dir
        self.connections = 0
        self._stop = threading.Event()
        self._tcp = socket.create_server(("127.0.0.1", 0))
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", 0))
        self.unix_path = str(workdir / "host.sock")
        self._unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._unix.bind(self.unix_path)
        self._unix.listen()
        self.abstract_name = f"autograder-selftest-{os.getpid()}"
        self._abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._abstract.bind("\0" + self.abstract_name)
        self._abstract.listen()
        self._listeners = [self._tcp, self._udp, self._unix, self._abstract]
        for listener in self._listeners:
            listener.settimeout(0.2)
            threading.Thread(target=self._count, args=(listener,), daemon=True).start()
        self.victim = StudentKernel([VICTIM_SOURCE], SELFTEST_LIMITS)
        self.victim.run_notebook()
        self.baseline_rss = 0

    def _count(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                if listener.type == socket.SOCK_DGRAM:
                    listener.recvfrom(65536)
                else:
                    listener.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def placeholders(self) -> dict[str, str]:
        """Host facts a case may use (``@@NAME@@``): the attacker is assumed to know the layout."""
        runtime = self.victim.connection_file
        return {"PORT": str(self._tcp.getsockname()[1]), "UDP_PORT": str(self._udp.getsockname()[1]),
                "UNIX_SOCKET": self.unix_path, "ABSTRACT_SOCKET": self.abstract_name,
                "VICTIM_RUNTIME": str(runtime.parent) if runtime else "/nonexistent",
                "COURSE_DIR": str(self.course_root), "TREE_DIR": str(self.tree), "REPO": str(REPO),
                "VENV": str(Path(sys.executable).parent.parent)}

    def victim_tree(self) -> set[int]:
        return self.victim.process_tree()

    def snapshot(self) -> Snapshot:
        return Snapshot(children=self._children(), rss=_rss(), free_bytes=shutil.disk_usage(self.workdir).free,
                        temp_dirs=self._kernel_dirs(), connections=self.connections)

    def _kernel_dirs(self) -> set[str]:
        return set(glob.glob(os.path.join(self.kernels_dir, "autograder-*")))

    def leftover_processes(self) -> list[psutil.Process]:
        """Sandbox-uid processes that are neither this grader's live bystander nor another grader's kernels."""
        graders = {os.getpid()} | sibling_graders()
        bystander = self.victim_tree()
        left = []
        for process in sandbox_processes():
            if process.pid in bystander:
                continue
            try:
                ancestors = {parent.pid for parent in process.parents()}
            except psutil.Error:
                continue
            if os.getpid() in ancestors or not ancestors & graders:
                left.append(process)  # this grader's, after its job ended; or nobody's (escaped, orphaned)
        return left

    def _children(self) -> set[int]:
        try:
            return {p.pid for p in psutil.Process().children(recursive=True)} - self.victim_tree()
        except psutil.Error:
            return set()

    def problems(self, before: Snapshot, markers: tuple[str, ...] = ()) -> list[str]:
        """What a job left on the host, compared with ``before``: empty when the host is as it was."""
        found = []
        deadline = time.monotonic() + SETTLE_S
        while True:
            sandboxed = self.leftover_processes()
            children = self._children() - before.children
            if (not sandboxed and not children) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if sandboxed:
            found.append(f"{len(sandboxed)} process(es) of uid {SANDBOX_UID} left running: "
                         + ", ".join(f"{p.pid} {_name(p)}" for p in sandboxed[:5]))
        if children:
            found.append(f"{len(children)} new child process(es) of the grader left: {sorted(children)[:5]}")
        found += [f"marker {path} exists on the host" for path in self.markers_present(markers)]
        if self.connections != before.connections:
            found.append(f"the host's listeners got {self.connections - before.connections} connection(s)")
        gc.collect()
        rss = _rss()
        if rss - before.rss > MEMORY_SLACK_BYTES:
            found.append(f"the grader's memory grew by {(rss - before.rss) // MiB} MiB during the job")
        if self.baseline_rss and rss - self.baseline_rss > 2 * MEMORY_SLACK_BYTES:
            found.append(f"the grader's memory is {(rss - self.baseline_rss) // MiB} MiB above its baseline")
        free = shutil.disk_usage(self.workdir).free
        if before.free_bytes - free > DISK_SLACK_BYTES:
            found.append(f"the host's disk lost {(before.free_bytes - free) // MiB} MiB")
        temp_dirs = self._kernel_dirs() - before.temp_dirs
        if temp_dirs:
            found.append(f"kernel folders left on the host: {sorted(temp_dirs)[:3]}")
        return found

    def markers_present(self, markers: tuple[str, ...] = ()) -> list[str]:
        facts = self.placeholders()
        paths = set()
        for marker in markers:
            for name, value in facts.items():
                marker = marker.replace(f"@@{name}@@", value)
            paths.add(marker)
        present = {path for path in paths if os.path.lexists(path)}
        for folder in ("/", "/tmp", "/usr", "/etc", "/root", "/work", str(REPO), facts["VENV"],
                       os.path.join(facts["VENV"], "lib", "python3.11", "site-packages")):
            present.update(glob.glob(os.path.join(folder, "*autograder-hostile*")))
            present.update(glob.glob(os.path.join(folder, "*autograder_hostile*")))
        present.update(str(p) for p in self.workdir.rglob("*autograder-hostile*"))
        return sorted(present)

    def victim_problems(self) -> list[str]:
        """Another student's kernel, alive through the whole run, must still answer as before."""
        x = torch.arange(4.0)
        try:
            if not torch.equal(self.victim.call("double", (x,))["output"], x + x):
                return ["another student's live kernel now answers wrongly"]
            if self.victim.call("sentinel")["output"] != 42:
                return ["another student's live kernel had its state changed"]
        except StudentCodeError as exc:
            return [f"another student's live kernel stopped answering: {str(exc).splitlines()[0]}"]
        return []

    def close(self) -> None:
        self._stop.set()
        self.victim.close()
        for listener in self._listeners:
            listener.close()


def sibling_graders() -> set[int]:
    """The other self-test workers of this run (they share the host, and the sandbox's uid)."""
    if os.environ.get(_WORKER_ENV) != "1":
        return set()
    try:
        return {p.pid for p in psutil.Process(os.getppid()).children()} - {os.getpid()}
    except psutil.Error:
        return set()


def sandbox_processes() -> list[psutil.Process]:
    """Processes running as the sandbox's uid, anywhere on the host."""
    found = []
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None and SANDBOX_UID in (uids.real, uids.effective):
            found.append(process)
    return found


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return "?"


def _rss() -> int:
    return psutil.Process().memory_info().rss


# ----------------------------------------------------------------- verdicts


@dataclass
class CaseResult:
    """What happened to one hostile case, checked."""

    case: HostileCase
    scores: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def contained(self) -> bool:
        return not self.problems

    @property
    def why(self) -> str:
        reason = "; ".join(self.problems)
        return f"known limit ({self.case.limit}): {reason}" if self.case.limit else reason


@dataclass
class CategoryReport:
    """One category of attack: cases tried and contained, the grader's wall time, why any case was not."""

    category: str
    title: str
    results: list[CaseResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def tried(self) -> int:
        return len(self.results)

    @property
    def contained(self) -> int:
        return sum(r.contained for r in self.results)

    @property
    def known_limits(self) -> int:
        return sum(bool(r.case.limit) and not r.contained for r in self.results)

    @property
    def not_contained(self) -> dict[str, str]:
        return {r.case.name: r.why for r in self.results if not r.contained}

    @property
    def ok(self) -> bool:
        """Every case contained, except known limits, which must still be reported as not contained."""
        return all(r.contained != bool(r.case.limit) for r in self.results)


def judge(case: HostileCase, course: NbgraderCourse, error: str = "") -> CaseResult:
    """The case's verdict from nbgrader's gradebook and the job's record (the host is checked elsewhere)."""
    result = CaseResult(case)
    result.scores = course.scores(ASSIGNMENT).get(case.student, {})
    if case.refused:
        if not error:
            result.problems.append(f"nbgrader graded it ({result.scores}) instead of refusing it")
        elif case.reason and not re.search(case.reason, error, re.IGNORECASE):
            result.problems.append(f"nbgrader's refusal does not say /{case.reason}/: {error}")
        result.problems += [f"{cell} scored {score:g} though refused" for cell, score in result.scores.items() if score]
        return result
    if error:
        result.problems.append(f"nbgrader could not grade it: {error}")
        return result
    record_path = GradingRecords(course.root / "grading_results").path(ASSIGNMENT, case.student, ASSIGNMENT)
    record = JobResult.load(record_path)
    if record is None or record.status != "graded":
        result.problems.append("no grading record" if record is None else f"job {record.status}: {record.error}")
        return result
    for cell, expected in case.expect.items():
        got = result.scores.get(cell)
        if got is None or not math.isclose(got, expected):
            result.problems.append(f"{cell} scored {got}, expected {expected:g}")
        if expected == 0:
            tests = record.tests_for(cell)
            if not tests:
                result.problems.append(f"{cell}: no hidden test result, so no reason")
            for test in tests:
                message = test.message.strip()
                if test.points:
                    result.problems.append(f"{test.test_id} earned {test.points:g} points")
                elif not message:
                    result.problems.append(f"{test.test_id} failed without saying why")
                elif case.reason and not re.search(case.reason, message, re.IGNORECASE | re.DOTALL):
                    result.problems.append(f"{test.test_id}: the message does not say /{case.reason}/: "
                                           f"{' '.join(message.split())[:240]}")
    for cell, score in result.scores.items():
        if cell not in case.expect and score:
            result.problems.append(f"grade cell {cell} (not in the assignment) scored {score:g}")
    size = record_path.stat().st_size
    if size > MAX_RECORD_BYTES:
        result.problems.append(f"the grading record is {size // 1024} KiB (output limits not applied)")
    return result


# ----------------------------------------------------------------- running


def grade_hostile_batch(course: NbgraderCourse, release: Path, host: Host, cases: list[HostileCase],
                baseline: dict[str, dict[str, float]],
                progress: Callable[[str], None] | None = None) -> list[CaseResult]:
    """Grade ``cases`` then the honest students in one course; check every case and the batch property."""
    results = []
    for case in cases:
        notebook = build_notebook(release, case.sections, host.placeholders(), case.edit)
        write_submission(course.root / "submitted", case.student, ASSIGNMENT, notebook)
        before = host.snapshot()
        started = time.monotonic()
        error = ""
        try:
            course.autograde(ASSIGNMENT, case.student)
        except NbgraderError as exc:
            error = exc.summary()
        wall = time.monotonic() - started
        result = judge(case, course, error)
        result.wall_s = wall
        result.problems += host.problems(before, case.markers)
        results.append(result)
        if progress is not None:
            progress(f"{case.id}: {'contained' if result.contained else 'NOT contained'} ({wall:.1f} s)")
    before = host.snapshot()
    honest = grade_honest(course, release, force=True)
    batch_problems = [f"honest student {student} scored {honest.get(student)} beside it, "
                      f"{baseline[student]} alone" for student in HONEST if honest.get(student) != baseline[student]]
    batch_problems += host.problems(before) + host.victim_problems()
    for result in results:
        result.problems += batch_problems
    return results


def grade_honest(course: NbgraderCourse, release: Path, *, force: bool = False) -> dict[str, dict[str, float]]:
    for student, solutions in HONEST.items():
        write_submission(course.root / "submitted", student, ASSIGNMENT, build_notebook(release, solutions, {}))
        course.autograde(ASSIGNMENT, student, force_regrade=force)
    scores = course.scores(ASSIGNMENT)
    return {student: scores.get(student, {}) for student in HONEST}


def run_security_selftest(categories: list[str] | None = None, *, progress: Callable[[str], None] | None = None,
                          workers: int = 2, hostile_dir: Path = HOSTILE_DIR) -> list[CategoryReport]:
    """Grade every hostile case (of ``categories``) beside honest students; one report per category.

    ``workers`` grader processes (``python -m autograder.selftest``) share the
    categories; each has its own course and honest students, so the batch
    property holds within each, and a crash of one is reported, not hidden.
    """
    cases = load_cases(categories, hostile_dir)
    groups = _share(cases, max(1, workers))
    with tempfile.TemporaryDirectory(prefix="autograder-selftest-") as temp:
        runs = []
        for index, group in enumerate(groups):
            out, log = Path(temp) / f"worker-{index}.json", Path(temp) / f"worker-{index}.log"
            with open(log, "wb") as log_file:
                process = subprocess.Popen(
                    [sys.executable, "-m", "autograder.selftest", "--hostile-dir", str(hostile_dir), "--out", str(out),
                     *group], stdout=subprocess.PIPE, stderr=log_file, text=True,
                    env={**os.environ, _WORKER_ENV: "1"})
            relay = threading.Thread(target=_relay, args=(process, progress), daemon=True)
            relay.start()
            runs.append((process, relay, out, log))
        reports: list[CategoryReport] = []
        failures = []
        for process, relay, out, log in runs:
            process.wait()
            relay.join()
            if process.returncode != 0 or not out.exists():
                failures.append(f"worker exited with status {process.returncode}:\n{log.read_text()[-3000:]}")
                continue
            reports += _reports_from_json(json.loads(out.read_text()))
    if failures:
        raise RuntimeError("the security self-test could not run:\n" + "\n".join(failures))
    order = list(CATEGORIES)
    return sorted(reports, key=lambda report: order.index(report.category))


_WORKER_ENV = "AUTOGRADER_SELFTEST_WORKER"
_PROGRESS = "progress: "


def _relay(process: subprocess.Popen, progress: Callable[[str], None] | None) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(_PROGRESS) and progress is not None:
            progress(line[len(_PROGRESS):].rstrip("\n"))


def _share(cases: list[HostileCase], workers: int) -> list[list[str]]:
    """Categories shared between workers, the slowest first to the least loaded."""
    cost: dict[str, float] = {}
    for case in cases:
        cost[case.category] = cost.get(case.category, 0.0) + CATEGORY_COST_S.get(case.category, 5.5)
    groups: list[list[str]] = [[] for _ in range(min(workers, len(cost)) or 1)]
    load = [0.0] * len(groups)
    for category in sorted(cost, key=cost.__getitem__, reverse=True):
        least = load.index(min(load))
        groups[least].append(category)
        load[least] += cost[category]
    return [sorted(group, key=list(CATEGORIES).index) for group in groups if group]


def _reports_to_json(reports: list[CategoryReport]) -> list[dict]:
    return [{"category": r.category, "title": r.title, "wall_s": r.wall_s,
             "results": [{"path": str(c.case.path), "scores": c.scores, "problems": c.problems, "wall_s": c.wall_s}
                         for c in r.results]} for r in reports]


def _reports_from_json(data: list[dict]) -> list[CategoryReport]:
    return [CategoryReport(r["category"], r["title"],
                           [CaseResult(parse_case(Path(c["path"]), r["category"]), c["scores"], c["problems"],
                                       c["wall_s"]) for c in r["results"]], r["wall_s"]) for r in data]


def run_categories(categories: list[str], *, progress: Callable[[str], None] | None = None,
                   hostile_dir: Path = HOSTILE_DIR) -> list[CategoryReport]:
    """One grader's share of the self-test, in this process: a course, its baseline, a batch per category."""
    cases = load_cases(categories, hostile_dir)
    reports = []
    previous_tempdir = tempfile.tempdir
    with _quiet(), tempfile.TemporaryDirectory(prefix="autograder-selftest-") as temp:
        workdir = Path(temp)
        kernels_dir = workdir / "kernels"
        kernels_dir.mkdir()
        tempfile.tempdir = str(kernels_dir)  # this grader's kernel folders, apart from any other grader's
        host = None
        try:
            tree = build_course_tree(workdir / "tree")
            course = NbgraderCourse.create(workdir / "course", tree)
            release = course.generate(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
            host = Host(workdir, tree, course.root, kernels_dir)
            baseline = grade_honest(course, release)
            if baseline != HONEST_SCORES:
                raise RuntimeError(f"the self-test course grades its honest students {baseline}, not "
                                   f"{HONEST_SCORES}: fix the course before trusting any verdict")
            gc.collect()
            host.baseline_rss = _rss()
            for category in dict.fromkeys(case.category for case in cases):
                started = time.monotonic()
                batch = [case for case in cases if case.category == category]
                results = grade_hostile_batch(course, release, host, batch, baseline, progress)
                reports.append(CategoryReport(category, CATEGORIES[category], results,
                                              round(time.monotonic() - started, 1)))
        finally:
            if host is not None:
                host.close()
            tempfile.tempdir = previous_tempdir
    return reports


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """nbgrader's SQLAlchemy and nbformat warnings say nothing about the students."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ----------------------------------------------------------------- reports


def report_table(reports: list[CategoryReport]) -> Table:
    """The reports as a rich Table (for the CLI)."""
    table = Table(title="Security self-test: hostile submissions graded beside honest students")
    for column, justify in (("category", "left"), ("what it tries", "left"), ("cases", "right"),
                            ("contained", "right"), ("known limits", "right"), ("wall s", "right"),
                            ("not contained: why", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for report in reports:
        why = "\n".join(f"{name}: {reason}" for name, reason in report.not_contained.items())
        style = None if report.ok else "red"
        table.add_row(report.category, report.title, str(report.tried), str(report.contained),
                      str(report.known_limits), f"{report.wall_s:.1f}", why, style=style)
    return table


def main(argv: list[str] | None = None) -> int:
    """One self-test worker: ``python -m autograder.selftest --out FILE CATEGORY...`` (see `run_security_selftest`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.selftest", description=main.__doc__)
    parser.add_argument("categories", nargs="+", choices=list(CATEGORIES))
    parser.add_argument("--out", type=Path, required=True, help="where to write the reports (JSON)")
    parser.add_argument("--hostile-dir", type=Path, default=HOSTILE_DIR)
    args = parser.parse_args(argv)
    reports = run_categories(args.categories, hostile_dir=args.hostile_dir,
                             progress=lambda line: print(_PROGRESS + line, flush=True))
    args.out.write_text(json.dumps(_reports_to_json(reports)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
