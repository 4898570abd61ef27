"""Grading throughput: this project's grader against stock nbgrader, on the bundled sample classes.

For each assignment the bench builds two nbgrader course directories from the same release:

- ours: the course `autograder demo` builds (`NbgraderCourse.create`, whose config calls ``configure``), graded
  with `grade_batch`, serially (1 worker) and with N workers;
- stock: a bare course (its ``nbgrader_config.py`` names the course, the source folder and the exchange, and
  nothing else), graded by nbgrader's own autograde: its ``ExecutePreprocessor`` runs each notebook, public
  checks only, in a plain ``python3`` kernel of this venv.

Both grade the same submitted notebooks (`submit_samples`, copied from ours to stock), one nbgrader autograde
call per student, as `grade_batch` makes them. Rounds alternate stock, ours-1, ours-N, so machine noise falls on
all three. Nothing is reused: stock autogrades with nbgrader's force; ours starts each run with the
assignment's grading records deleted, as a first grading of the class finds them. Each run is checked to have
really graded (stock: each autograded notebook rewritten with executed cells; ours: each result graded now, not
reused).

The per-submission overhead of ours is, per job of the serial runs, the job's wall time (`JobResult.wall_time_s`)
minus its notebook's cell times and its hidden tests' call times: starting and stopping the sandboxed kernel,
pytest's collection, the reference's import. A benchmark, not a test: it asserts nothing about times.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from sqlalchemy.exc import SAWarning

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the checkout's autograder, not another install
    sys.path.insert(0, str(REPO))

from autograder.course.assignment import Assignment, CourseError, assignments_with_samples  # noqa: E402
from autograder.course.samples import expected_scores, submit_samples  # noqa: E402
from autograder.gradebook.batch import grade_batch  # noqa: E402
from autograder.gradebook.course_dir import NbgraderCourse, NbgraderError  # noqa: E402
from autograder.gradebook.prestage import default_workers  # noqa: E402
from autograder.grading.job import GradingRecords  # noqa: E402
from autograder.grading.reference_check import verify_suite  # noqa: E402
from autograder.grading.results import JobResult  # noqa: E402

STOCK_CONFIG = '''"""A bare nbgrader course for the bench: nbgrader's default autograde, no autograder."""
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "bench-stock"
c.CourseDirectory.source_directory = {source!r}
c.Exchange.root = {exchange!r}
'''

COLUMNS = ["assignment", "subs", "stock/min", "ours-1/min", "ours-1/stock", "overhead med s", "overhead max s",
           "ours-N/min", "N", "ours-N/stock", "scaling N/1"]


class BenchError(RuntimeError):
    """A run did not grade what it was given (nothing executed, a record reused): its time would mean nothing."""


@dataclass
class Classes:
    """One assignment's two course directories, holding the same submissions."""

    assignment: Assignment
    ours: NbgraderCourse
    stock: NbgraderCourse
    students: list[str]


@dataclass
class Figures:
    """What the runs of one assignment measured; `summarize` turns it into a row of the table."""

    assignment: str
    students: int
    workers: int
    stock_s: list[float] = field(default_factory=list)
    ours_1_s: list[float] = field(default_factory=list)
    ours_n_s: list[float] = field(default_factory=list)
    overheads_s: list[float] = field(default_factory=list)  # one per job of the serial runs
    job_walls_s: list[float] = field(default_factory=list)
    # Per student, the last round's seconds: stock's autograde call, our serial job's wall time.
    stock_student_s: dict[str, float] = field(default_factory=dict)
    ours_student_s: dict[str, float] = field(default_factory=dict)
    stock_scores: dict[str, float] = field(default_factory=dict)
    stock_failed: dict[str, str] = field(default_factory=dict)  # student -> why stock nbgrader could not grade
    ours_scores_as_expected: bool = True
    grader_warnings: list[str] = field(default_factory=list)  # e.g. a parallel job that fell back to serial


class WarningsKept(logging.Handler):
    """The grader's warnings during a run: a worker's job that failed and was graded serially changes its time."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage().splitlines()[0][:200])


def machine() -> dict:
    """The machine the figures come from: cores, CPU, load, GPU or not."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    gpu = ""
    if shutil.which("nvidia-smi"):
        answer = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                capture_output=True, text=True, check=False)
        gpu = ", ".join(answer.stdout.split("\n")).strip(", ") if answer.returncode == 0 else ""
    return {"code": code_version(), "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "cpu": cpu,
            "load_1min": round(os.getloadavg()[0], 2), "gpu": gpu or "none", "python": platform.python_version()}


def code_version() -> str:
    """The checkout's commit, and whether autograder/ differs from it: the figures are of that code."""
    def git(*args: str) -> str:
        answer = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
        return answer.stdout.strip() if answer.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    return commit + (" + uncommitted changes in autograder/" if git("status", "--porcelain", "autograder") else "")


def prepare(assignment: Assignment, workdir: Path, limit: int | None = None) -> Classes:
    """Release ``assignment`` in both course directories and submit its sample class (the first ``limit``)."""
    assignment.validate()
    ours = NbgraderCourse.create(workdir / "ours", REPO)
    release = ours.generate(assignment.id)
    students = submit_samples(assignment.samples_dir, release / f"{assignment.id}.ipynb", ours.root / "submitted",
                              assignment.id)[:limit]
    stock_root = workdir / "stock"
    (stock_root / "exchange").mkdir(parents=True, exist_ok=True)
    (stock_root / "nbgrader_config.py").write_text(STOCK_CONFIG.format(
        source=str(assignment.source_notebook.parent.parent), exchange=str(stock_root / "exchange")))
    stock = NbgraderCourse(stock_root)
    stock.generate(assignment.id)
    for student in students:
        shutil.copytree(ours.root / "submitted" / student, stock.root / "submitted" / student, dirs_exist_ok=True)
    # The suite's one-time reference check, kept per suite version, is not what a round measures.
    verify_suite(assignment, GradingRecords(ours.root / "grading_results"))
    return Classes(assignment, ours, stock, students)


def run_stock(classes: Classes, failed: dict[str, str], each: dict[str, float]) -> float:
    """Stock nbgrader autograde (forced) of every submission; the seconds it took. Checks each notebook ran.

    A submission stock nbgrader cannot grade (a student's code that kills its kernel) still costs its time;
    it goes into ``failed`` with nbgrader's reason. ``each`` gets each student's seconds.
    """
    started_wall, started = time.time(), time.monotonic()
    for student in classes.students:
        student_started = time.monotonic()
        try:
            classes.stock.autograde(classes.assignment.id, student)
        except NbgraderError as exc:
            failed[student] = exc.summary()
        else:
            failed.pop(student, None)
        each[student] = round(time.monotonic() - student_started, 3)
    elapsed = time.monotonic() - started
    assignment = classes.assignment.id
    for student in classes.students:
        if student in failed:
            continue
        path = classes.stock.root / "autograded" / student / assignment / f"{assignment}.ipynb"
        if not path.is_file() or path.stat().st_mtime < started_wall - 1:
            raise BenchError(f"stock nbgrader wrote no new {path}: it did not grade {student}")
        executed = [cell for cell in nbformat.read(path, as_version=4).cells
                    if cell.cell_type == "code" and cell.get("execution_count") is not None]
        if not executed:
            raise BenchError(f"stock nbgrader did not execute {path}: its time would not be a grading time")
    if len(failed) == len(classes.students):
        raise BenchError(f"stock nbgrader graded none of {assignment}'s submissions; first failure: "
                         f"{next(iter(failed.values()))}")
    return elapsed


def run_ours(classes: Classes, workers: int, warned: list[str]) -> tuple[float, dict[str, JobResult]]:
    """This project's grader on every submission, ``workers`` jobs at a time, nothing reused; seconds and results.

    The grader's warnings during the run are added to ``warned``.
    """
    assignment = classes.assignment.id
    records = classes.ours.root / "grading_results"
    shutil.rmtree(records / assignment, ignore_errors=True)  # the suite's verdict and the secret stay
    kept, logger = WarningsKept(), logging.getLogger("autograder")
    logger.addHandler(kept)
    try:
        started = time.monotonic()
        results = grade_batch(classes.ours, assignment, classes.students, workers=workers)
        elapsed = time.monotonic() - started
    finally:
        logger.removeHandler(kept)
    warned.extend(f"ours-{workers}: {line}" for line in kept.lines)
    for student, result in results.items():
        if not result.graded or result.reused:
            raise BenchError(f"ours did not grade {student} anew ({result.status}; {result.error or result.reused})")
    return elapsed, results


def job_overhead(result: JobResult) -> float:
    """A job's wall time minus its notebook's own execution and its hidden tests' own calls."""
    return result.wall_time_s - sum(cell.duration_s for cell in result.cells) - sum(t.duration_s for t in result.tests)


def totals(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    return {student: round(sum(cells.values()), 3) for student, cells in scores.items()}


def bench_assignment(assignment: Assignment, workdir: Path, *, rounds: int, workers: int,
                     limit: int | None = None,
                     say: Callable[[str], None] = print) -> Figures:
    """Grade ``assignment``'s sample class ``rounds`` times each way; what was measured."""
    classes = prepare(assignment, workdir, limit)
    figures = Figures(assignment.id, len(classes.students), workers)
    expected = expected_scores(assignment.samples_dir)
    for number in range(1, rounds + 1):
        figures.stock_s.append(run_stock(classes, figures.stock_failed, figures.stock_student_s))
        elapsed, results = run_ours(classes, 1, figures.grader_warnings)
        figures.ours_1_s.append(elapsed)
        figures.ours_student_s.update({student: result.wall_time_s for student, result in results.items()})
        figures.overheads_s += [round(job_overhead(result), 3) for result in results.values()]
        figures.job_walls_s += [result.wall_time_s for result in results.values()]
        if workers > 1:
            figures.ours_n_s.append(run_ours(classes, workers, figures.grader_warnings)[0])
        say(f"{assignment.id} round {number}/{rounds}: stock {figures.stock_s[-1]:.1f} s, ours-1 {elapsed:.1f} s"
            + (f", ours-{workers} {figures.ours_n_s[-1]:.1f} s" if workers > 1 else "")
            + f" for {len(classes.students)} submissions")
    ours_totals = totals(classes.ours.scores(assignment.id))
    figures.ours_scores_as_expected = all(ours_totals.get(s) == expected[s]["total"] for s in classes.students)
    graded = [s for s in classes.students if s not in figures.stock_failed]
    figures.stock_scores = {s: v for s, v in totals(classes.stock.scores(assignment.id)).items() if s in graded}
    if len(figures.stock_scores) != len(graded):
        raise BenchError(f"stock nbgrader's gradebook has scores for {len(figures.stock_scores)} of the "
                         f"{len(graded)} submissions of {assignment.id} it graded")
    return figures


def per_minute(count: int, seconds: list[float]) -> float:
    """Submissions per minute over all rounds (total submissions over total time)."""
    return count * len(seconds) * 60 / sum(seconds) if seconds and sum(seconds) > 0 else math.nan


def summarize(figures: Figures) -> dict:
    """One row of the table (keys: `COLUMNS`), plus the raw figures it came from."""
    stock = per_minute(figures.students, figures.stock_s)
    ours_1 = per_minute(figures.students, figures.ours_1_s)
    ours_n = per_minute(figures.students, figures.ours_n_s) if figures.workers > 1 else ours_1
    row = {"assignment": figures.assignment, "subs": figures.students, "stock/min": stock, "ours-1/min": ours_1,
           "ours-1/stock": ours_1 / stock,
           "overhead med s": statistics.median(figures.overheads_s) if figures.overheads_s else math.nan,
           "overhead max s": max(figures.overheads_s, default=math.nan),
           "ours-N/min": ours_n, "N": figures.workers, "ours-N/stock": ours_n / stock, "scaling N/1": ours_n / ours_1}
    extra = {"job wall med s": statistics.median(figures.job_walls_s) if figures.job_walls_s else math.nan,
             # What a serial submission costs beyond its job: nbgrader's pipeline, the gradebook, the record.
             "outside job s": (sum(figures.ours_1_s) / (figures.students * len(figures.ours_1_s))
                               - statistics.mean(figures.job_walls_s)) if figures.job_walls_s else math.nan}
    return {"row": row, "extra": extra, "figures": asdict(figures)}


def format_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table, one line per assignment."""
    def cell(value: object) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    cells = [COLUMNS] + [[cell(row[column]) for column in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(text.rjust(width) if i else text.ljust(width) for i, (text, width) in
                       enumerate(zip(line, widths, strict=True))) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def checks_line(summary: dict) -> str:
    """What shows the runs graded for real: stock's scores came out, ours' scores are the expected ones."""
    figures, scores = summary["figures"], summary["figures"]["stock_scores"]
    failed = figures["stock_failed"]
    return (f"{figures['assignment']}: stock scored {len(scores)}/{figures['students']} submissions "
            f"(public checks only: totals {min(scores.values()):g} to {max(scores.values()):g})"
            + (f", and could not grade {', '.join(failed)} ({next(iter(failed.values()))})" if failed else "")
            + "; ours "
            + ("graded every submission with its expected score" if figures["ours_scores_as_expected"]
               else "gave scores that differ from expected_scores.json: check the grader before trusting its times")
            + f"; ours' job wall median {summary['extra']['job wall med s']:.2f} s, "
            f"{summary['extra']['outside job s']:.2f} s more per serial submission outside the job (nbgrader)"
            + slowest_line(figures)
            + (f"; the grader warned {len(figures['grader_warnings'])} time(s), first: {figures['grader_warnings'][0]}"
               if figures["grader_warnings"] else ""))


def slowest_line(figures: dict) -> str:
    """The submission that cost ours the most, with both sides' seconds: one stuck in a loop waits out the
    assignment's time limits on both sides, and with N workers no run ends sooner than its slowest job."""
    ours = figures.get("ours_student_s") or {}
    if not ours:
        return ""
    student = max(ours, key=ours.get)
    stock = figures.get("stock_student_s", {}).get(student)
    return (f"; slowest submission {student}: ours {ours[student]:.1f} s"
            + (f", stock {stock:.1f} s" if stock is not None else ""))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Grade the bundled sample classes with this project's grader and "
                                                 "with stock nbgrader, and print their throughput side by side.")
    parser.add_argument("--assignment", nargs="+", default=[], metavar="ID",
                        help="assignments to bench (default: every one with a sample class)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of stock, ours-1, ours-N (default 1)")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="N, the workers of the parallel run (default: the usable cores)")
    parser.add_argument("--students", type=int, default=None, metavar="K",
                        help="grade only the first K sample students (default: the whole class)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the course directories here (an empty or new folder; default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    for name in ("rounds", "workers", "students"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be 1 or more, not {value}")
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        parser.error(f"--workdir {args.workdir} is not empty: give a new or empty folder")
    known = assignments_with_samples(REPO)
    unknown = [a for a in args.assignment if a not in known]
    if unknown:
        parser.error(f"no sample class for {', '.join(unknown)}: choose from {', '.join(known)}")
    args.assignment = args.assignment or known
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own ORM chatter, on every autograde
    info = machine()
    print(f"machine: {info['usable_cores']} of {info['cores']} cores usable ({info['cpu']}), "
          f"GPU: {info['gpu']}, load {info['load_1min']} at start; Python {info['python']}; code {info['code']}",
          flush=True)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    summaries = []
    try:
        for assignment_id in args.assignment:
            figures = bench_assignment(Assignment(assignment_id, REPO), base / assignment_id, rounds=args.rounds,
                                       workers=args.workers, limit=args.students,
                                       say=lambda line: print(line, flush=True))
            summaries.append(summarize(figures))
    except (BenchError, CourseError, NbgraderError) as exc:
        print(f"bench stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(format_table([summary["row"] for summary in summaries]))
    print()
    for summary in summaries:
        print(checks_line(summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "rounds": args.rounds, "workers": args.workers,
                                         "assignments": summaries}, indent=1, default=str) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
