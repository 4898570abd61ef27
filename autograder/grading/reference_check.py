"""The reference solution graded by its own hidden suite: before any batch, and in the author's check.

A suite that errors, or that the course's own solutions fail, must never
grade a student: `verify_suite` runs once per suite version before a batch;
`check_reference` is also the author's stricter check (several seeds, half
of every stated tolerance), which also flags a gradient test that compares
all-zero gradients (one that every student passes).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from ..course.assignment import Assignment, read_notebook
from ..private import code_digest, private_folder
from ..sandbox.host import parallel_jobs, share_cores
from ..sandbox.kernel import StudentKernel
from .compare import Measurement, tolerance_margin
from .job import GradingRecords
from .results import TestResult
from .suite import SuiteError, SuitePlugin, load_reference

log = logging.getLogger(__name__)

GRADIENT_CHECK = "gradient tests compare nonzero reference gradients"
VERDICT_CACHE_ENV = "AUTOGRADER_VERDICT_CACHE"  # this user's shared suite verdicts, instead of ~/.cache/...


@dataclass
class Check:
    """One row of a check: what was checked, whether it held, and the detail a person acts on."""

    name: str
    ok: bool
    detail: str


def check_reference(assignment: Assignment, seeds: int | Sequence[int] = 1,
                    margin: float = 1.0) -> tuple[list[Check], list]:
    """Grade the source notebook's own solutions under each seed: each must score full marks.

    ``seeds`` is a count ``n`` for seeds 1..n, or the seeds themselves: the author's check passes the
    secret seeds it draws for the whole check, so the sample class is graded under the same ones. Rows
    are then named by the seed's place (``seed k``, the same names on every run) and their details
    carry the seed.

    With ``margin`` < 1 every tolerance a hidden test states counts only that
    share (`compare.tolerance_margin`): the solutions must clear each threshold
    with room to spare, so no student's secret seed lands on its edge. One row
    per seed, whose detail on failure holds each failing test's whole message;
    then the `GRADIENT_CHECK` row. Returns the rows and the first seed's results.
    """
    runs = _grade_reference(assignment, seeds, margin)
    checks = [full_marks_check(run.seed, run.results, margin, label=None if isinstance(seeds, int) else place)
              for place, run in enumerate(runs, start=1)]
    checks.append(gradient_check(runs))
    checks += threshold_checks(runs, margin)
    return checks, runs[0].results


def full_marks_check(seed: int, tests: list[TestResult], margin: float = 1.0, label: int | None = None) -> Check:
    """The row for one seed: every test passed, or each failure with its test, the seed and its whole message.

    The row is named after ``label`` (a secret seed's place among the check's seeds) when given, else the seed.
    """
    condition = "" if margin == 1 else f", tolerances at {margin:.0%}"
    failed = [f"{t.test_id} {t.outcome} under seed {seed}:\n{t.message or t.outcome}" for t in tests if not t.passed]
    passed = f"{len(tests)} tests passed" + ("" if label is None else f" under seed {seed}")
    name = seed if label is None else label
    return Check(f"the notebook's solutions score full marks against the reference (seed {name}{condition})",
                 not failed, "\n\n".join(failed) or passed)


def gradient_check(runs: list[SeedRun]) -> Check:
    """The row that flags tests whose reference gradients were all zero: they pass any student's gradient."""
    flagged: dict[str, str] = {}
    for run in runs:
        for test_id, calls in run.zero_gradients.items():
            flagged.setdefault(test_id, f"{test_id} (seed {run.seed}): {'; '.join(calls)} returned only zero "
                                        "gradients, so any student's gradient passes: pass grad_output=... "
                                        "or test another input")
    calls = sum(run.reference_gradient_calls for run in runs)
    return Check(GRADIENT_CHECK, not flagged, "\n".join(flagged.values()) or (
        f"{calls} reference gradient calls, none all zero" if calls else "no test calls reference.gradients"))


def threshold_checks(runs: list[SeedRun], margin: float = 1.0) -> list[Check]:
    """One row per threshold a test asserted (`assert_at_least`/`assert_at_most`), over all seeds' runs.

    The row gives what was required (usually the reference's own result) at worst and median, the notebook
    solutions' result likewise, and the least room left inside the stated allowance; it fails when a seed
    left less than the share of the allowance the check withholds (``1 - margin``).
    """
    grouped: dict[tuple[str, str], list] = {}
    for run in runs:
        for test_id, measurements in run.measurements.items():
            for measurement in measurements:
                grouped.setdefault((test_id, measurement.what), []).append(measurement)
    checks = []
    for (test_id, what), found in grouped.items():
        wants, gots = [m.want for m in found], [m.got for m in found]
        worst = min if found[0].higher_is_better else max
        # Each seed's bound has its own allowance (a factor of that seed's reference result, say): the row
        # shows the seed that kept the least of its own, and fails when one kept less than the check withholds.
        tightest = min(found, key=_share_kept)
        kept = _share_kept(tightest)
        detail = (f"{what}, over {len(runs)} seeds: wanted (the reference's result) {_num(worst(wants))} at worst, "
                  f"median {_num(statistics.median(wants))}; the notebook's solutions reached {_num(worst(gots))} at "
                  f"worst, median {_num(statistics.median(gots))}; least room {_num(tightest.room)} of the "
                  f"{_num(tightest.margin)} allowed")
        checks.append(Check(f"threshold {test_id}", kept >= 1 - margin - 1e-9, detail))
    return checks


def _share_kept(measurement: Measurement) -> float:
    """The share of its allowance a measurement left unused: 1 on the bound's base, 0 on its edge, nan first."""
    room = measurement.room
    if room != room:  # no score at all (nan): the tightest of all
        return float("-inf")
    if measurement.margin == 0:
        return 1.0 if room >= 0 else float("-inf")
    return room / measurement.margin


def _num(value: float) -> str:
    return f"{value:.4g}"


def verify_suite(assignment: Assignment, records: GradingRecords) -> None:
    """Refuse to grade anyone against a suite that errors or that the reference itself fails.

    The verdict is kept per suite version in the course directory, and in this user's private cache
    (``~/.cache/autograder-verified-suites``, or ``$AUTOGRADER_VERDICT_CACHE``) under a key of everything it
    rests on (suite, reference, solution notebook, data, autograder code, torch), so each version is verified
    once, not once per course directory. Only full marks decide it: all-zero gradients are for the author's check.
    """
    version = assignment.suite_version()
    verdict = records.root / "verified_suites" / f"{assignment.id}-{version}.ok"
    if verdict.exists():
        return
    shared = _shared_verdict(assignment, version)
    if shared is None or not shared.exists():
        run, = _grade_reference(assignment, seeds=1, margin=1.0)
        check = full_marks_check(1, run.results)
        if not check.ok:
            raise SuiteError(f"{assignment.suite_dir}: the reference solution in {assignment.source_notebook.name} "
                             "does not pass its own hidden suite; fix the suite or the reference. No student was "
                             f"graded.\n{check.detail}")
        if shared is not None:
            shared.write_text(version)
    verdict.parent.mkdir(parents=True, exist_ok=True)
    verdict.write_text(version)


def _shared_verdict(assignment: Assignment, version: str) -> Path | None:
    """Where this user's verdict on exactly this suite, reference, solution, data and code is kept, so that each
    course directory graded from one course tree does not verify it again; None where there is no private
    folder for it (then each course directory verifies, as before)."""
    key = hashlib.sha256()
    for part in (version, code_digest(), torch.__version__, str(assignment.root.resolve())):
        key.update(part.encode() + b"\0")
    for path in (assignment.source_notebook, *(assignment.data_dir / name for name in assignment.required_data())):
        key.update(path.read_bytes())
    configured = os.environ.get(VERDICT_CACHE_ENV)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autograder-verified-suites"
    try:
        folder = private_folder(Path(configured) if configured else cache)
    except OSError as exc:
        log.warning("suite verdicts are not shared between course directories: %s", exc)
        return None
    return folder / f"{assignment.id}-{key.hexdigest()[:32]}.ok"


@dataclass
class SeedRun:
    """What one run of the hidden suite against the solutions under one seed found (plain data, picklable)."""

    seed: int
    results: list[TestResult]
    zero_gradients: dict[str, list[str]]
    measurements: dict[str, list[Measurement]]
    reference_gradient_calls: int


def _grade_reference(assignment: Assignment, seeds: int | Sequence[int], margin: float,
                     workers: int | None = None) -> list[SeedRun]:
    """The source notebook's solutions graded by the hidden suite under each seed (a count n: 1..n), in order.

    The seeds are shared among ``workers`` grader processes, each with a kernel of its own (default: as many
    as grading jobs run at once here, `sandbox.host.parallel_jobs`): a kernel trains while its grader waits,
    so one process keeps about one core busy. This process grades the first share itself.
    """
    seeds = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
    workers = max(1, min(workers or parallel_jobs(assignment.limits()), len(seeds)))
    shares = [seeds[index::workers] for index in range(workers)]
    if workers == 1:
        runs = _grade_seeds(assignment, shares[0], margin)
    else:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no fork of a process that ran torch
        threads = torch.get_num_threads()
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context, initializer=share_cores,
                                 initargs=(workers,)) as pool:
            others = [pool.submit(_grade_seeds, assignment, share, margin) for share in shares[1:]]
            share_cores(workers)
            try:
                runs = _grade_seeds(assignment, shares[0], margin)
            finally:
                torch.set_num_threads(threads)
            for future in others:
                runs += future.result()
    by_seed = {run.seed: run for run in runs}
    return [by_seed[seed] for seed in seeds]


def _grade_seeds(assignment: Assignment, seeds: list[int], margin: float) -> list[SeedRun]:
    """One kernel running the solutions, the suite run against it under each of ``seeds``."""
    reference = load_reference(assignment.reference_path)
    solved = solution_sources(read_notebook(assignment.source_notebook))
    runs = []
    with StudentKernel(solved, assignment.limits(), data_dir=assignment.data_dir) as kernel:
        kernel.run_notebook()
        with tolerance_margin(margin):
            for seed in seeds:
                plugin = SuitePlugin(kernel, reference, seed)
                results = plugin.run(assignment.suite_dir)
                runs.append(SeedRun(seed, results, plugin.zero_gradients, plugin.measurements,
                                    plugin.grad_outputs.reference_calls))
    return runs


def solution_sources(notebook) -> list[str]:
    """The code cells' sources of a notebook, in order."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]
