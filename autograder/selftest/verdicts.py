"""Verdicts: whether each hostile case was contained, per category, and the report table."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from rich.table import Table

from ..gradebook.course_dir import NbgraderCourse
from ..grading.job import GradingRecords
from ..grading.results import JobResult
from .cases import HostileCase

MiB = 2**20
MAX_RECORD_BYTES = 1 * MiB  # a job record holds at most the output limit per cell and short messages


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
    peak_memory_bytes: int = 0  # the grader's highest RSS during the category, above where it started

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


def judge(case: HostileCase, course: NbgraderCourse, outcome: JobResult) -> CaseResult:
    """The case's verdict from nbgrader's gradebook, the job's outcome and its record (the host is checked elsewhere).

    ``outcome`` is what `grade_one` returned: refused before nbgrader (``refused``), failed in nbgrader (its
    reason), or the job's record.
    """
    result = CaseResult(case)
    assignment = case.graded_assignment
    result.scores = course.scores(assignment).get(case.student, {})
    record_path = GradingRecords(course.root / "grading_results").path(assignment, case.student, assignment)
    record = JobResult.load(record_path)
    if case.refused:
        # Refused: by our check before nbgrader read it (status refused), or by nbgrader itself (failed, no record).
        said = f"{outcome.status}: {outcome.error}"
        if outcome.graded or record is not None:
            result.problems.append(f"it was graded ({result.scores}) instead of refused")
        elif case.reason and not re.search(case.reason, outcome.error, re.IGNORECASE):
            result.problems.append(f"the refusal does not say /{case.reason}/: {said}")
        result.problems += [f"{cell} scored {score:g} though refused" for cell, score in result.scores.items() if score]
        for step in ("autograded", "feedback"):
            written = course.root / step / case.student / assignment
            if written.exists() or written.is_symlink():
                result.problems.append(f"{step}/{case.student}/{assignment} was written though it was refused")
        return result
    if record is None:
        result.problems.append(f"no grading record ({outcome.status}: {outcome.error})" if outcome.error
                               else "no grading record")
        return result
    if not record.graded:
        result.problems.append(f"job {record.status}: {record.error}")
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


# ----------------------------------------------------------------- reports


def report_table(reports: list[CategoryReport]) -> Table:
    """The reports as a rich Table (for the CLI)."""
    table = Table(title="Security self-test: hostile submissions graded beside honest students")
    for column, justify in (("category", "left"), ("what it tries", "left"), ("cases", "right"),
                            ("contained", "right"), ("known limits", "right"), ("wall s", "right"),
                            ("grader peak MiB", "right"), ("not contained: why", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for report in reports:
        why = "\n".join(f"{name}: {reason}" for name, reason in report.not_contained.items())
        style = None if report.ok else "red"
        table.add_row(report.category, report.title, str(report.tried), str(report.contained),
                      str(report.known_limits), f"{report.wall_s:.1f}", f"{report.peak_memory_bytes / MiB:.0f}", why,
                      style=style)
    return table


