"""Running the self-test: batches of cases beside honest students, shared between worker processes."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from ..course.assignment import Assignment
from ..course.samples import write_submission
from ..gradebook.batch import grade_one
from ..gradebook.course_dir import NbgraderCourse
from ..grading.job import GradingRecords
from .cases import (
    ASSIGNMENT,
    CATEGORIES,
    CATEGORY_COST_S,
    HONEST,
    HONEST_SCORES,
    HOSTILE_DIR,
    REPO,
    HostileCase,
    build_course_tree,
    build_notebook,
    load_cases,
    parse_case,
)
from .host import _WORKER_ENV, COURSE_PEAK_BOUND_BYTES, GRADER_PEAK_BOUND_BYTES, Host, PeakMemory, _rss
from .verdicts import CaseResult, CategoryReport, judge

# ----------------------------------------------------------------- running


def grade_hostile_batch(course: NbgraderCourse, release: Path, host: Host, cases: list[HostileCase],
                baseline: dict[str, dict[str, float]] | None,
                progress: Callable[[str], None] | None = None) -> list[CaseResult]:
    """Grade ``cases`` then the honest students in one course; check every case and the batch property.

    Cases of a course assignment (``assignment:``) are graded in that assignment's course, without the toy
    course's honest students (``baseline`` None): the host is still checked after each.
    """
    results = []
    records = GradingRecords(course.root / "grading_results")
    for case in cases:
        assignment = case.graded_assignment
        notebook = build_notebook(release, case.sections, host.placeholders(), case.edit)
        path = write_submission(course.root / "submitted", case.student, assignment, notebook)
        for plant in case.plants:
            plant.make(path.parent, host.placeholders())
        before = host.snapshot()
        started = time.monotonic()
        # As ``autograder grade`` grades: the submission checked (refused with a reason), then nbgrader's autograde.
        outcome = grade_one(course, records, assignment, case.student)
        wall = time.monotonic() - started
        result = judge(case, course, outcome)
        result.wall_s = wall
        result.problems += host.problems(before, case.markers)
        results.append(result)
        if progress is not None:
            progress(f"{case.id}: {'contained' if result.contained else 'NOT contained'} ({wall:.1f} s)")
    before = host.snapshot()
    batch_problems = []
    if baseline is not None:
        honest = grade_honest(course, release, force=True)
        batch_problems += [f"honest student {student} scored {honest.get(student)} beside it, {baseline[student]} "
                           "alone" for student in HONEST if honest.get(student) != baseline[student]]
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
                          workers: int = 2, hostile_dir: Path = HOSTILE_DIR,
                          course_tree: Path = REPO) -> list[CategoryReport]:
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
                     "--course-root", str(course_tree), *group], stdout=subprocess.PIPE, stderr=log_file, text=True,
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
    return [{"category": r.category, "title": r.title, "wall_s": r.wall_s, "peak_memory_bytes": r.peak_memory_bytes,
             "results": [{"path": str(c.case.path), "scores": c.scores, "problems": c.problems, "wall_s": c.wall_s}
                         for c in r.results]} for r in reports]


def _reports_from_json(data: list[dict]) -> list[CategoryReport]:
    return [CategoryReport(r["category"], r["title"],
                           [CaseResult(parse_case(Path(c["path"]), r["category"]), c["scores"], c["problems"],
                                       c["wall_s"]) for c in r["results"]], r["wall_s"], r["peak_memory_bytes"])
            for r in data]


def run_categories(categories: list[str], *, progress: Callable[[str], None] | None = None,
                   hostile_dir: Path = HOSTILE_DIR, course_tree: Path = REPO) -> list[CategoryReport]:
    """One grader's share of the self-test, in this process: a course, its baseline, a batch per category.

    Cases of a course assignment are graded in a course built from ``course_tree`` (default: the source
    tree this package runs from), one per assignment.
    """
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
            courses = CourseAssignments(workdir / "courses", course_tree)
            for category in dict.fromkeys(case.category for case in cases):
                started = time.monotonic()
                batch = [case for case in cases if case.category == category]
                gc.collect()
                with PeakMemory() as memory:
                    toy_cases = [c for c in batch if not c.assignment]
                    # A category of course-assignment cases only has nothing to grade beside the toy's honest students.
                    results = (grade_hostile_batch(course, release, host, toy_cases, baseline, progress)
                               if toy_cases else [])
                    for assignment in dict.fromkeys(c.assignment for c in batch if c.assignment):
                        results += grade_hostile_batch(*courses.release(assignment), host,
                                                       [c for c in batch if c.assignment == assignment], None,
                                                       progress)
                bound = GRADER_PEAK_BOUND_BYTES if toy_cases else COURSE_PEAK_BOUND_BYTES
                if memory.rise_bytes > bound:
                    for result in results:
                        result.problems.append(f"the grader's memory rose {memory.rise_bytes // 2**20} MiB during the "
                                               f"category (bound {bound // 2**20} MiB)")
                reports.append(CategoryReport(category, CATEGORIES[category], results,
                                              round(time.monotonic() - started, 1), memory.rise_bytes))
        finally:
            if host is not None:
                host.close()
            tempfile.tempdir = previous_tempdir
    return reports


class CourseAssignments:
    """Courses built on demand from the course tree, one per assignment a case attacks, and their releases."""

    def __init__(self, workdir: Path, course_tree: Path) -> None:
        self.workdir = workdir
        self.course_tree = course_tree
        self._built: dict[str, tuple[NbgraderCourse, Path]] = {}

    def release(self, assignment: str) -> tuple[NbgraderCourse, Path]:
        if assignment not in self._built:
            Assignment(assignment, self.course_tree).validate()
            course = NbgraderCourse.create(self.workdir / assignment, self.course_tree)
            self._built[assignment] = course, course.generate(assignment) / f"{assignment}.ipynb"
        return self._built[assignment]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """nbgrader's SQLAlchemy and nbformat warnings say nothing about the students."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def main(argv: list[str] | None = None) -> int:
    """One self-test worker: ``python -m autograder.selftest --out FILE CATEGORY...`` (see `run_security_selftest`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.selftest", description=main.__doc__)
    parser.add_argument("categories", nargs="+", choices=list(CATEGORIES))
    parser.add_argument("--out", type=Path, required=True, help="where to write the reports (JSON)")
    parser.add_argument("--hostile-dir", type=Path, default=HOSTILE_DIR)
    parser.add_argument("--course-root", type=Path, default=REPO,
                        help="the course tree whose assignments cases with 'assignment:' attack")
    args = parser.parse_args(argv)
    reports = run_categories(args.categories, hostile_dir=args.hostile_dir, course_tree=args.course_root,
                             progress=lambda line: print(_PROGRESS + line, flush=True))
    args.out.write_text(json.dumps(_reports_to_json(reports)))
    return 0
