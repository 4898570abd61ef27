"""The reference solution graded by its own hidden suite: before any batch, and in the author's check.

A suite that errors, or that the course's own solutions fail, must never
grade a student: `verify_suite` runs once per suite version before a batch;
`check_reference` is also the author's stricter check (several seeds, half
of every stated tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..course.assignment import Assignment, read_notebook
from ..sandbox.kernel import StudentKernel
from .compare import tolerance_margin
from .job import GradingRecords
from .suite import SuiteError, load_reference, run_suite


@dataclass
class Check:
    """One row of a check: what was checked, whether it held, and the detail a person acts on."""

    name: str
    ok: bool
    detail: str


def check_reference(assignment: Assignment, seeds: int = 1, margin: float = 1.0) -> tuple[list[Check], list]:
    """Grade the source notebook's own solutions under ``seeds`` seeds: each must score full marks.

    With ``margin`` < 1 every tolerance a hidden test states counts only that
    share (`compare.tolerance_margin`): the solutions must clear each threshold
    with room to spare, so no student's secret seed lands on its edge.
    """
    reference = load_reference(assignment.reference_path)
    solved = solution_sources(read_notebook(assignment.source_notebook))
    with StudentKernel(solved, assignment.limits(), data_dir=assignment.data_dir) as kernel:
        kernel.run_notebook()
        with tolerance_margin(margin):
            runs = [run_suite(assignment.suite_dir, kernel, reference, seed) for seed in range(1, seeds + 1)]
    checks = []
    condition = "" if margin == 1 else f", tolerances at {margin:.0%}"
    for seed, tests in enumerate(runs, start=1):
        failed = [f"{t.test_id}: {t.message.splitlines()[0] if t.message else t.outcome}"
                  for t in tests if not t.passed]
        checks.append(Check(f"reference scores full marks (seed {seed}{condition})", not failed,
                            "; ".join(failed) or f"{len(tests)} tests passed"))
    return checks, runs[0]


def verify_suite(assignment: Assignment, records: GradingRecords) -> None:
    """Refuse to grade anyone against a suite that errors or that the reference itself fails.

    The verdict is kept per suite version, so each version is verified once.
    """
    version = assignment.suite_version()
    verdict = records.root / "verified_suites" / f"{assignment.id}-{version}.ok"
    if verdict.exists():
        return
    checks, _ = check_reference(assignment, seeds=1)
    failed = [check for check in checks if not check.ok]
    if failed:
        raise SuiteError(f"{assignment.suite_dir}: the reference solution in {assignment.source_notebook.name} does "
                         f"not pass its own hidden suite ({failed[0].detail}); fix the suite or the reference. "
                         "No student was graded.")
    verdict.parent.mkdir(parents=True, exist_ok=True)
    verdict.write_text(version)


def solution_sources(notebook) -> list[str]:
    """The code cells' sources of a notebook, in order."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]
