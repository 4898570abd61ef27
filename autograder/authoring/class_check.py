"""The bundled sample class graded under several secret seeds, in the author's check.

`check` grading only the notebook's own solution cannot see a score that
hangs on the seed: a correct student's code written another way may miss a
tight float32 tolerance under one secret seed only, and score 4/4 in one
course and 3/4 in another. So `check_sample_class` grades every sample
student (``assignments/samples/<id>/``) under each seed as a real job
scores it (`JobResult.cell_scores`), and gives three rows:

- `CLASS_MATCH`: every cell of every student matches ``expected_scores.json``
  under every seed (on failure: the student, the seed and the failing tests'
  whole messages);
- `CLASS_STABLE`: no student's total moves with the seed;
- `THIN_MARGINS`: no test passes a student in a cell expected at full marks
  only at its full tolerance and fails at the author's margin (half of every
  stated tolerance): that correct student passes by luck of the draw, and
  another correct one (or seed) may fail it.

Cost: each seed runs the suite at the margin first, then only the tests that
failed there on an assertion again at full tolerance, with the same inputs (a
test's inputs hang on the seed and its id alone). Tolerances only widen from
one run to the other, so a test that passed at the margin passes at full, and
one stopped by the student's code (an exception, a time-out, a dead kernel)
stops the same way: the full-tolerance outcome of every test, at the cost of
about one suite run per seed. A student's notebook runs once per kernel, not
per seed (the kernel is restarted after a call that kills it or times out, as
in a job). Grader processes share the class (`grade_class`): a sample that
times out costs seconds per seed, so an idle process takes over its seeds.
Seeds are drawn secretly per run (`draw_seeds`) and printed in the detail,
so a failure can be reproduced by passing them back.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import secrets
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import ModuleType

import pytest

from ..course.assignment import Assignment, autograded_cells
from ..course.samples import build_submission, expected_scores, sample_students
from ..grading.compare import tolerance_margin
from ..grading.job import submission_hash
from ..grading.reference_check import Check
from ..grading.results import JobResult, TestResult
from ..grading.suite import SuitePlugin, load_reference
from ..sandbox.host import share_cores
from ..sandbox.kernel import StudentKernel

CLASS_MATCH = "sample class scores match expected_scores.json under every seed"
CLASS_STABLE = "no sample student's score moves with the seed"
THIN_MARGINS = "no test passes a correct sample only within half its tolerance"
CLASS_ROWS = (CLASS_MATCH, CLASS_STABLE, THIN_MARGINS)
CLASS_SKIPPED = "sample class graded under every seed"
DEFAULT_WORKERS = 3  # grader processes: most of a sample's time is waiting on its kernel, not the grader's CPU


@dataclass
class SampleGrading:
    """One sample student graded under one seed: the job's result, and its full-marks cells' tests at the margin.

    ``at_margin`` holds, for each test that passed at full tolerance in a cell expected at full marks, its
    outcome at the margin.
    """

    student: str
    seed: int
    result: JobResult
    at_margin: list[TestResult] = field(default_factory=list)


def draw_seeds(count: int) -> list[int]:
    """``count`` secret seeds for one check run: unknown in advance, short enough to read and pass back."""
    if count < 1:
        raise ValueError(f"at least one seed is needed, got {count}")
    return [secrets.randbelow(10**9) for _ in range(count)]


def check_sample_class(assignment: Assignment, release_notebook: Path, seeds: Sequence[int],
                       margin: float = 0.5, workers: int = DEFAULT_WORKERS) -> list[Check]:
    """Grade the sample class built on ``release_notebook`` under every seed: the three rows.

    Without a sample class (no ``expected_scores.json``) one row says the check was skipped.
    """
    samples_dir = assignment.samples_dir
    if not (samples_dir / "expected_scores.json").is_file():
        return [skipped_class_check(f"no sample class at {samples_dir} (expected_scores.json)")]
    expected = expected_scores(samples_dir)
    problems: list[str] = []
    full_cells: dict[str, set[str]] = {}
    for sample in sample_students(samples_dir):
        try:
            cells = autograded_cells(build_submission(release_notebook, sample))
        except ValueError as exc:
            problems.append(f"{sample.stem}: cannot build the submission: {exc}")
            continue
        full_cells[sample.stem] = {cell for cell, points in expected.get(sample.stem, {}).get("cells", {}).items()
                                   if points == cells.get(cell)}
    problems += [f"{student}: in expected_scores.json but has no {student}.py" for student in expected
                 if not (samples_dir / f"{student}.py").is_file()]
    gradings, failures = grade_class(assignment, release_notebook, full_cells, seeds, margin, workers)
    return class_checks(gradings, expected, seeds, margin, problems + failures)


def skipped_class_check(why: str) -> Check:
    """The one row a check without the sample class gives: it passes, and says why nothing was graded."""
    return Check(CLASS_SKIPPED, True, f"skipped: {why}")


class SampleGrader:
    """One sample student's submission alive in a kernel (its notebook run once), graded one seed at a time."""

    def __init__(self, assignment: Assignment, reference: ModuleType, student: str, release_notebook: Path) -> None:
        self.assignment, self.reference, self.student = assignment, reference, student
        notebook = build_submission(release_notebook, assignment.samples_dir / f"{student}.py")
        self.cells = autograded_cells(notebook)
        self.sha, self.version = submission_hash(notebook), assignment.suite_version()
        sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        self.kernel = StudentKernel(sources, assignment.limits(), data_dir=assignment.data_dir)
        started = time.monotonic()
        try:
            self.kernel.run_notebook()
        except BaseException:
            self.kernel.close()
            raise
        self.notebook_s = time.monotonic() - started

    def grade(self, seed: int, full_cells: set[str], margin: float) -> SampleGrading:
        """The job's result under ``seed``, and the margin outcomes of its passing tests in ``full_cells``."""
        suite_dir = self.assignment.suite_dir
        with tolerance_margin(margin):
            at_margin = SuitePlugin(self.kernel, self.reference, seed).run(suite_dir)
        again = {t.test_id for t in at_margin if not t.passed and not t.student_error}
        full = {t.test_id: t for t in
                (_SelectedTests(self.kernel, self.reference, seed, again).run(suite_dir) if again else [])}
        tests = [full.get(t.test_id, t) for t in at_margin]
        result = JobResult(student=self.student, assignment=self.assignment.id, notebook=self.assignment.id,
                           submission_sha256=self.sha, suite_version=self.version, seed=seed, tests=tests,
                           cell_max_points=self.cells)
        margin_of = {t.test_id: t for t in at_margin}
        return SampleGrading(self.student, seed, result,
                             [margin_of[t.test_id] for t in tests if t.passed and t.cell in full_cells])

    def close(self) -> None:
        self.kernel.close()


class _SelectedTests(SuitePlugin):
    """A run of the suite limited to some tests (by id); each sees the inputs it saw in the full run."""

    def __init__(self, kernel: StudentKernel, reference: ModuleType, seed: int, test_ids: set[str]) -> None:
        super().__init__(kernel, reference, seed)
        self.test_ids = test_ids

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        super().pytest_collection_modifyitems(items)
        kept = [item for item in items if item.nodeid.split("::", 1)[-1] in self.test_ids]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def grade_class(assignment: Assignment, release_notebook: Path, full_cells: dict[str, set[str]],
                seeds: Sequence[int], margin: float = 0.5,
                workers: int = DEFAULT_WORKERS) -> tuple[list[SampleGrading], list[str]]:
    """Every student of ``full_cells`` (student -> cells expected at full marks) under every seed.

    ``workers`` grader processes share the (student, seed) gradings. A process keeps one student's kernel
    and takes that student's next seed; done with it, a student nobody has started, else a seed of the
    student with the most left whose seeds cost more than a fresh run of its notebook (one that times out).
    Returns the gradings and, per grading that could not run, why.
    """
    pending = {student: list(seeds) for student in full_cells}
    started: set[str] = set()
    cost: dict[str, tuple[float, float]] = {}  # student -> (notebook seconds, seconds per seed)
    gradings: list[SampleGrading] = []
    failures: list[str] = []

    def next_task(holding: str | None) -> tuple[str, int] | None:
        student = holding if holding is not None and pending.get(holding) else None
        student = student or next((s for s in pending if s not in started and pending[s]), None)
        if student is None:
            costly = [s for s in pending if pending[s] and s in cost and cost[s][0] < cost[s][1]]
            student = max(costly, key=lambda s: len(pending[s]), default=None)
        if student is None:
            return None
        started.add(student)
        return student, pending[student].pop(0)

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no fork of a process that ran torch
    pipes, holding, running = [], {}, {}
    for _ in range(max(1, min(workers, len(full_cells)))):
        ours, theirs = context.Pipe()
        process = context.Process(target=_worker, args=(theirs, assignment, release_notebook, margin, workers),
                                  daemon=True)
        process.start()
        theirs.close()
        pipes.append((ours, process))
        holding[ours] = None
    try:
        idle = list(holding)
        while idle or running:
            for conn in list(idle):
                task = next_task(holding[conn])
                if task is not None:
                    idle.remove(conn)
                    holding[conn], running[conn] = task[0], task
                    conn.send((*task, full_cells[task[0]]))
            if not running:
                break
            for conn in wait(list(running)):
                student, seed = running.pop(conn)
                try:
                    outcome, value, timing = conn.recv()
                except EOFError:
                    failures.append(f"{student} under seed {seed}: the grader process died while grading it")
                    del holding[conn]
                    continue
                if outcome == "ok":
                    gradings.append(value)
                    cost[student] = timing
                else:
                    failures.append(value)
                idle.append(conn)
    finally:
        for conn, process in pipes:
            if conn in running and process.is_alive():  # stopped early: interrupted, it closes its kernel and ends
                os.kill(process.pid, signal.SIGINT)
            with contextlib.suppress(OSError):  # unless it has ended already
                conn.send(None)
        for _, process in pipes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failures += [f"{student} under seed {seed}: not graded" for student, left in pending.items() for seed in left]
    order = {student: index for index, student in enumerate(full_cells)}
    gradings.sort(key=lambda g: (order[g.student], list(seeds).index(g.seed)))
    return gradings, failures


def _worker(conn: Connection, assignment: Assignment, release_notebook: Path, margin: float, workers: int) -> None:
    """A grader process: grade (student, seed, full cells) tasks until told None, keeping one student's kernel."""
    share_cores(workers)
    reference = load_reference(assignment.reference_path)
    grader: SampleGrader | None = None
    try:
        while (task := conn.recv()) is not None:
            student, seed, full_cells = task
            try:
                if grader is None or grader.student != student:
                    if grader is not None:
                        grader.close()
                        grader = None
                    grader = SampleGrader(assignment, reference, student, release_notebook)
                started = time.monotonic()
                grading = grader.grade(seed, full_cells, margin)
                conn.send(("ok", grading, (grader.notebook_s, time.monotonic() - started)))
            except Exception as exc:  # one sample that cannot be graded is a row's detail, not a crash
                conn.send(("error", f"{student} under seed {seed}: could not be graded: {type(exc).__name__}: "
                                    f"{exc}", None))
    finally:
        if grader is not None:
            grader.close()


def class_checks(gradings: list[SampleGrading], expected: dict[str, dict], seeds: Sequence[int],
                 margin: float = 0.5, problems: Sequence[str] = ()) -> list[Check]:
    """The three rows from the gradings (pure: the tests build gradings by hand)."""
    return [match_check(gradings, expected, seeds, problems), stability_check(gradings, seeds),
            thin_margin_check(gradings, margin)]


def match_check(gradings: list[SampleGrading], expected: dict[str, dict], seeds: Sequence[int],
                problems: Sequence[str] = ()) -> Check:
    """Per student and seed, each cell whose score differs from expected_scores.json, with its failing tests."""
    failures = list(problems)
    graded = {g.student for g in gradings}
    failures += [f"{student}: graded, but expected_scores.json has no entry for it" for student in sorted(graded)
                 if student not in expected]
    for grading in gradings:
        want = expected.get(grading.student)
        if want is not None:
            failures += _mismatches(grading, want)
    seed_list = ", ".join(map(str, seeds))
    if failures:
        return Check(CLASS_MATCH, False, "\n\n".join(failures) + f"\n\n(seeds of this run: {seed_list})")
    return Check(CLASS_MATCH, True, f"{len(graded)} students x {len(seeds)} seeds, every cell as expected "
                                    f"(seeds {seed_list})")


def _mismatches(grading: SampleGrading, want: dict) -> list[str]:
    result, where = grading.result, f"{grading.student} under seed {grading.seed}"
    scores, want_cells = result.cell_scores(), want.get("cells", {})
    found = []
    for cell in sorted(set(scores) | set(want_cells)):
        got, expected = scores.get(cell), want_cells.get(cell)
        if got == expected:
            continue
        if expected is None:
            found.append(f"{where}: {cell} scored {got:g}, and expected_scores.json gives it no score")
            continue
        if got is None:
            found.append(f"{where}: expected_scores.json scores {cell}, which is not a grade cell of the notebook")
            continue
        tests = result.tests_for(cell)
        why = [f"{t.test_id} {t.outcome}:\n{t.message or t.outcome}" for t in tests if not t.passed]
        if got > expected:  # what it should have failed
            why = [f"passed: {', '.join(t.test_id for t in tests if t.passed)}", *why]
        found.append(f"{where}: {cell} scored {got:g} / {result.cell_max_points[cell]:g}, expected {expected:g}"
                     + "".join(f"\n{text}" for text in why))
    if "total" in want and result.score != want["total"] and not found:
        found.append(f"{where}: total {result.score:g}, expected {want['total']:g} (the cells in "
                     "expected_scores.json do not add up to its total)")
    return found


def stability_check(gradings: list[SampleGrading], seeds: Sequence[int]) -> Check:
    """Students whose total differs between seeds, with the seeds behind each total."""
    totals: dict[str, dict[float, list[int]]] = {}
    for grading in gradings:
        totals.setdefault(grading.student, {}).setdefault(grading.result.score, []).append(grading.seed)
    moving = [f"{student}: " + "; ".join(f"{score:g} under {_seeds(on)}" for score, on in sorted(by_score.items()))
              for student, by_score in totals.items() if len(by_score) > 1]
    if moving:
        return Check(CLASS_STABLE, False, "\n".join(moving))
    return Check(CLASS_STABLE, True, f"{len(totals)} students, each the same total under all {len(seeds)} seeds")


def thin_margin_check(gradings: list[SampleGrading], margin: float = 0.5) -> Check:
    """Tests that pass a student in a full-marks cell at full tolerance, but fail at ``margin`` of it."""
    flagged: dict[tuple[str, str], tuple[TestResult, list[int]]] = {}
    for grading in gradings:
        for test in grading.at_margin:
            if not test.passed:
                flagged.setdefault((test.test_id, grading.student), (test, []))[1].append(grading.seed)
    share = "half its tolerance" if margin == 0.5 else f"{margin:.0%} of its tolerance"
    rows = [f"test {test_id} passes student {student} only within {share} under {_seeds(on)}: a correct "
            f"solution written differently may fail it\n{first.message or first.outcome}"
            for (test_id, student), (first, on) in flagged.items()]
    if rows:
        return Check(THIN_MARGINS, False, "\n\n".join(rows))
    checked = sum(len(grading.at_margin) for grading in gradings)
    return Check(THIN_MARGINS, True, f"{checked} passes in full-marks cells also pass at {margin:.0%} of their "
                                     "tolerances")


def _seeds(seeds: Sequence[int]) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
