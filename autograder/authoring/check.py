"""The course author's checks of an assignment before release.

`check_assignment` answers: do the notebook's solutions score full marks
against the reference (under several secret seeds, with half of every
tolerance a test states; a failure shows each failing test's whole message
and its seed), does every gradient test compare gradients that are not all
zero, do the release stubs score zero, does anything hidden leak into the
release, do the notebook's points match the suite's, and does the bundled
sample class get exactly its expected scores under the same seeds, with no
score moving with the seed and no correct sample passing only on a thin
margin (`class_check`)?
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..course.assignment import Assignment, CourseError, autograded_cells, read_notebook
from ..gradebook.course_dir import NbgraderCourse
from ..grading.reference_check import Check, check_reference, solution_sources
from ..grading.results import JobResult
from ..grading.suite import load_reference, run_suite
from ..sandbox.kernel import StudentKernel
from .class_check import DEFAULT_WORKERS, check_sample_class, draw_seeds, skipped_class_check
from .defaults import DEFAULT_CLASS_SEEDS, DEFAULT_SEEDS

# Share of each stated tolerance the reference must meet in the author's check.
AUTHOR_CHECK_MARGIN = 0.5
_LEAK_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "SUITE_VERSION")


def check_assignment(assignment: Assignment, seeds: int | Sequence[int] = DEFAULT_SEEDS, *,
                     sample_class: bool = True, class_seeds: int = DEFAULT_CLASS_SEEDS,
                     workers: int = DEFAULT_WORKERS) -> list[Check]:
    """Every row of the author's check; all must pass before release.

    ``seeds`` is a count of secret seeds drawn for this run (`class_check.draw_seeds`), or the seeds
    themselves to reproduce a run whose rows printed them. The notebook's solutions are graded under all
    of them (each threshold then reports its worst and median over them), the sample class under the
    first ``class_seeds`` of them. ``sample_class=False`` leaves the class out (a row says so);
    ``workers`` grader processes share it.
    """
    assignment.validate()
    seeds = draw_seeds(seeds) if isinstance(seeds, int) else list(seeds)
    if not seeds or class_seeds < 1:
        raise ValueError("check needs at least one seed, for the solutions and for the class")
    cells = autograded_cells(read_notebook(assignment.source_notebook))
    checks: list[Check] = []

    with tempfile.TemporaryDirectory(prefix="autograder-check-") as scratch:
        course = NbgraderCourse.create(Path(scratch) / "course", assignment.root)
        release_dir = course.generate(assignment.id)
        checks.append(_leak_check(assignment, release_dir))
        release = read_notebook(release_dir / assignment.source_notebook.name)

        reference_checks, first_run = check_reference(assignment, seeds, margin=AUTHOR_CHECK_MARGIN)
        checks.append(_points_check(cells, first_run))
        checks += reference_checks

        with StudentKernel(solution_sources(release), assignment.limits(), data_dir=assignment.data_dir) as kernel:
            kernel.run_notebook()
            stub_tests = run_suite(assignment.suite_dir, kernel, load_reference(assignment.reference_path), seed=1)
        passed = [t.test_id for t in stub_tests if t.passed]
        checks.append(Check("release stubs score zero", not passed,
                            f"stubs pass: {', '.join(passed)}" if passed else f"{len(stub_tests)} tests failed"))
        if sample_class:
            release_notebook = release_dir / assignment.source_notebook.name
            checks += check_sample_class(assignment, release_notebook, seeds[:class_seeds],
                                         margin=AUTHOR_CHECK_MARGIN, workers=workers)
        else:
            checks.append(skipped_class_check("--no-class"))
    return checks


def _points_check(cells: dict[str, float], tests) -> Check:
    result = JobResult("", "", "", "", "", 0, tests=tests, cell_max_points=cells)
    per_cell: dict[str, float] = {}
    for test in result.tests:
        per_cell[test.cell] = per_cell.get(test.cell, 0.0) + test.max_points
    problems = [f"{cell}: notebook says {points:g}, hidden tests add up to {per_cell.get(cell, 0):g}"
                for cell, points in cells.items() if per_cell.get(cell, 0.0) != points]
    problems += [f"hidden tests feed {cell!r}, which is not an autograded cell of the notebook"
                 for cell in per_cell if cell not in cells]
    return Check("points: notebook grade cells = hidden tests", not problems,
                 "; ".join(problems) or f"{len(cells)} cells, {sum(cells.values()):g} points")


def _leak_check(assignment: Assignment, release_dir: Path) -> Check:
    secret_lines = set()
    for path in [*assignment.suite_files(), assignment.reference_path]:
        if path.suffix == ".py":
            secret_lines |= {line.strip() for line in path.read_text().splitlines()
                             if len(line.strip()) > 40 and not line.strip().startswith(("#", '"""', "def "))}
    leaks = []
    for path in sorted(release_dir.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        leaks += [f"{path.name}: contains {marker!r}" for marker in _LEAK_MARKERS if marker in text]
        leaks += [f"{path.name}: contains a line of the hidden suite or reference" for line in secret_lines
                  if line in text][:1]
        if path.name in {p.name for p in assignment.suite_files()} | {assignment.reference_path.name}:
            leaks.append(f"{path.name}: a hidden file was copied into the release")
    if not any(release_dir.rglob("*.ipynb")):
        raise CourseError(f"nbgrader produced no notebook in {release_dir}")
    return Check("nothing hidden leaks into the release", not leaks, "; ".join(leaks) or
                 f"{sum(1 for p in release_dir.rglob('*') if p.is_file())} release files scanned")
