"""``selftest security``: every hostile submission graded beside honest students, one row per category."""

from __future__ import annotations

import time
from pathlib import Path

from ..selftest.runner import run_security_selftest
from ..selftest.verdicts import report_table
from . import output


def security_selftest_command(categories: list[str], workers: int, course_tree: Path) -> int:
    """``course_tree``: the tree whose assignments the cases that name one (the lookup models) attack."""
    started = time.monotonic()
    reports = run_security_selftest(categories or None, workers=workers, course_tree=course_tree,
                                    progress=lambda line: output.console.print(f"  {line}", highlight=False))
    output.console.print(report_table(reports))
    tried, contained = sum(r.tried for r in reports), sum(r.contained for r in reports)
    limits = sum(r.known_limits for r in reports)
    output.console.print(f"{contained}/{tried} hostile cases contained ({limits} known limit(s), reported above) "
                  f"in {time.monotonic() - started:.0f} s of wall time")
    return 0 if all(report.ok for report in reports) else 1
