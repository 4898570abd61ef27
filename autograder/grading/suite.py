"""The pytest plugin behind the hidden suites.

A hidden suite is an ordinary pytest file run in the trusted grader. It gets:

- ``student``: calls the student's functions in their sandboxed kernel and
  returns plain data (``student.mse(y_hat, y)``, ``student.gradients(...)``);
  a gradient call without ``grad_output`` differentiates ``sum(output * g)``
  for a secret random ``g``, the same for both sides of one test
  (`GradOutputs`), so no gradient check is vacuous by accident; a call
  that changes one of its arguments in place fails, naming it, unless the
  suite allows it (``student.mutating("params")``, see `proxies`);
- ``reference``: the reference module behind the same interface;
- ``rng``: inputs drawn from a generator seeded by the job's secret seed and
  the test's id, so each test sees the same inputs whatever else runs;
- ``@points(n)`` and ``@grade_cell("test_x")``: what a test is worth and
  which nbgrader grade cell its points go to.

`run_suite` runs one suite against one kernel and returns a `TestResult` per
test; messages shown to students come from the assertion, never from the
hidden test's source. `SuitePlugin.run` does the same and keeps what the
author's check also needs (`SuitePlugin.zero_gradients`, and each test's
threshold `SuitePlugin.measurements`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from ..sandbox.kernel import StudentCodeError, StudentKernel
from .compare.failures import _DEFAULT_TOLERANCES
from .compare.thresholds import Measurement, recording_measurements
from .proxies import ReferenceProxy, StudentProxy
from .results import TestResult


def points(value: float) -> pytest.MarkDecorator:
    """Mark a hidden test as worth ``value`` points."""
    return pytest.mark.points(value)


def grade_cell(cell_id: str) -> pytest.MarkDecorator:
    """Mark a hidden test (or a class/module of them) as feeding nbgrader grade cell ``cell_id``."""
    return pytest.mark.grade_cell(cell_id)


class GradOutputs:
    """The default ``grad_output`` of a test's gradient calls, and the reference's calls that came back zero.

    ``gradients(...)`` differentiates ``sum(output * grad_output)``. With ones, the default of
    ``torch.autograd``, that is the gradient of ``sum(output)``, which for some functions is zero
    whatever the code (softmax: its outputs always sum to 1), so a check of it passes every student.
    Without ``grad_output`` a call here therefore weighs the output with a secret random ``g``
    (standard normal, float64, cast to the output's dtype), drawn from the test's own secret seed
    (`SecretRandom`) and the output's shape: both proxies of one test, in any order, get the same
    ``g`` for outputs of the same shape, and other tests and seeds another. An output of one element
    keeps ones: a random scale would add nothing, and its gradient stays the plain one (a suite
    may compare it with a student's hand-written gradient).

    The plugin calls `start` before each test. `zero_gradients` lists, per test id, the reference's
    gradient calls whose gradients were all zero (None, or no element beyond the dtype's default
    ``atol``): a comparison with them passes an all-zero gradient, so the author's check flags them.
    """

    def __init__(self, job_seed: int, reference: ModuleType | None = None) -> None:
        self.job_seed = job_seed
        self.reference = reference
        self.test_id = ""
        self.reference_calls = 0
        self.zero_gradients: dict[str, list[str]] = {}

    def start(self, test_id: str) -> None:
        self.test_id = test_id

    def default_for(self, output: Any) -> torch.Tensor | None:
        """The secret weights for ``output`` in the current test; None (ones) for one element or no tensor."""
        if type(output) is not torch.Tensor or output.numel() <= 1:
            return None
        shape = tuple(output.shape)
        test_seed = SecretRandom(self.job_seed, self.test_id).seed
        digest = hashlib.sha256(f"{test_seed}:grad_output:{shape}".encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
        return torch.randn(shape, generator=generator, dtype=torch.float64)

    def note_reference(self, name: str, wrt: tuple[int, ...], given: bool, grads: tuple) -> None:
        self.reference_calls += 1
        if all(_negligible(grad) for grad in grads):
            how = "the grad_output it passes" if given else "the default grad_output"
            self.zero_gradients.setdefault(self.test_id, []).append(
                f"reference.gradients({name!r}, wrt={tuple(wrt)!r}) with {how}")


def _negligible(grad: Any) -> bool:
    """None, or a tensor whose every element is within its dtype's default atol of zero (exactly zero if none)."""
    if grad is None:
        return True
    if type(grad) is not torch.Tensor:
        return False
    atol = _DEFAULT_TOLERANCES.get(grad.dtype, (0.0, 0.0))[1]
    return bool((grad.detach().abs() <= atol).all())


class SecretRandom:
    """Random inputs for one test, reproducible from (job seed, test id) and unknown to students."""

    def __init__(self, job_seed: int, test_id: str) -> None:
        digest = hashlib.sha256(f"{job_seed}:{test_id}".encode()).digest()
        self.seed = int.from_bytes(digest[:8], "little") & (2**63 - 1)
        self.generator = torch.Generator().manual_seed(self.seed)

    def normal(self, shape: tuple[int, ...] | int, dtype: torch.dtype = torch.float32, mean: float = 0.0,
               std: float = 1.0) -> torch.Tensor:
        sample = torch.randn(_shape(shape), generator=self.generator, dtype=torch.float64)
        return (sample * std + mean).to(dtype)

    def uniform(self, shape: tuple[int, ...] | int, low: float = 0.0, high: float = 1.0,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
        sample = torch.rand(_shape(shape), generator=self.generator, dtype=torch.float64)
        return (sample * (high - low) + low).to(dtype)

    def integers(self, low: int, high: int, shape: tuple[int, ...] | int) -> torch.Tensor:
        return torch.randint(low, high, _shape(shape), generator=self.generator)

    def logits(self, shape: tuple[int, ...] | int, scale: float = 1.0,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return self.normal(shape, dtype=dtype, std=scale)


def _shape(shape: tuple[int, ...] | int) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, int) else tuple(shape)


class SuitePlugin:
    """Fixtures and result collection for one run of a hidden suite."""

    def __init__(self, kernel: StudentKernel, reference: ModuleType, seed: int) -> None:
        self.kernel = kernel
        self.reference = reference
        self.seed = seed
        self.message_chars = kernel.caps.feedback_chars
        self.results: list[TestResult] = []
        self.problems: list[str] = []
        self.grad_outputs = GradOutputs(seed, reference)
        self.measurements: dict[str, list[Measurement]] = {}

    @property
    def zero_gradients(self) -> dict[str, list[str]]:
        """Per test id: the reference's gradient calls that returned only zero gradients (see `GradOutputs`)."""
        return self.grad_outputs.zero_gradients

    def run(self, suite_dir: Path) -> list[TestResult]:
        """Run the hidden suite in ``suite_dir``; raise `SuiteError` if the suite is broken."""
        self.kernel.forget_time_outs()  # each run grades afresh, even in a kernel an earlier run used
        try:
            with contextlib.redirect_stdout(io.StringIO()) as pytest_output, _plain_asserts():
                code = pytest.main(
                    [str(suite_dir), "-q", "--no-header", *_UNUSED_PLUGINS, "--import-mode=importlib",
                     # Rewritten asserts would print the compared values, hidden inputs included, to the student.
                     "--assert=plain", "--rootdir", str(suite_dir), "-o", "python_files=test_*.py", "-o", "addopts=",
                     "--tb=short"],
                    plugins=[self, PlainFailureReports()],
                )
        finally:
            _forget_suite_modules(suite_dir)
        if self.problems or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
                                     pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.INTERRUPTED):
            problems = "\n".join(self.problems) or pytest_output.getvalue()[-self.message_chars:]
            raise SuiteError(f"hidden suite {suite_dir} is broken (pytest exit {int(code)}):\n{problems}")
        return self.results

    @pytest.fixture(scope="session")
    def student(self) -> StudentProxy:
        return StudentProxy(self.kernel, grad_outputs=self.grad_outputs)

    @pytest.fixture(name="reference", scope="session")
    def reference_fixture(self) -> ReferenceProxy:
        return ReferenceProxy(self.reference, self.grad_outputs)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> SecretRandom:
        return SecretRandom(self.seed, _test_id(request.node))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.grad_outputs.start(_test_id(item))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        with recording_measurements() as recorded:
            yield
        if recorded:
            self.measurements[_test_id(item)] = recorded

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(value): points a hidden test is worth")
        config.addinivalue_line("markers", "grade_cell(cell_id): the nbgrader grade cell a test feeds")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if item.get_closest_marker("points") is None or item.get_closest_marker("grade_cell") is None:
                self.problems.append(f"{item.nodeid}: every hidden test needs @points(n) and @grade_cell(id)")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.problems.append(f"{report.nodeid or 'suite'} could not be collected:\n{report.longreprtext}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.results.append(self._result(item, call, report))

    def _result(self, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> TestResult:
        worth = float(item.get_closest_marker("points").args[0]) if item.get_closest_marker("points") else 0.0
        cell_mark = item.get_closest_marker("grade_cell")
        outcome, message = "passed", ""
        if report.failed:
            error = call.excinfo.value if call.excinfo else None
            if isinstance(error, AssertionError):
                outcome, message = "failed", str(error) or "a hidden check failed (the test states no detail)"
            else:
                # The test itself broke; usually the student's result had an unexpected type.
                outcome = "error"
                message = f"the test could not check your result: {type(error).__name__}: {error}"
        elif report.skipped:
            outcome = "skipped"
        return TestResult(
            test_id=_test_id(item),
            cell=cell_mark.args[0] if cell_mark else "",
            max_points=worth,
            points=worth if outcome == "passed" else 0.0,
            outcome=outcome,
            message=message[:self.message_chars],
            duration_s=round(report.duration, 3),
            student_error=isinstance(call.excinfo.value, StudentCodeError) if call.excinfo else False,
        )


# pytest's plugins a hidden suite does without, each a cost in every job: no cache or reports written, no
# garbage collection forced at the end of a session to find unraisable exceptions (a tenth of a second each in
# a grader that has torch loaded), no doctests.
_UNUSED_PLUGINS = [arg for name in ("cacheprovider", "unraisableexception", "threadexception", "faulthandler",
                                    "pastebin", "junitxml", "doctest", "stepwise", "setuponly", "setupplan")
                   for arg in ("-p", f"no:{name}")]


class PlainFailureReports:
    """Reports of the failures students cause without pytest's source-annotated traceback.

    A failed check (an ``AssertionError``) or an error in the student's code (`StudentCodeError`) reaches the
    student through its message alone (`SuitePlugin._result`); the traceback pytest would build for it,
    parsing the suite's source for each frame, took most of a failing job's grading time and no one reads it.
    Every other failure (the test itself broke) keeps pytest's report for the suite's author.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
        error = call.excinfo.value if call.excinfo is not None else None
        if not isinstance(error, AssertionError | StudentCodeError):
            return None
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
                                 f"{type(error).__name__}: {error}", call.when,
                                 [(f"Captured {key} {when}", content) for when, key, content in item._report_sections],
                                 call.duration, call.start, call.stop, user_properties=item.user_properties)


@contextlib.contextmanager
def _plain_asserts() -> Iterator[None]:
    """No import hook rewrites the suite's asserts while it runs.

    ``--assert=plain`` keeps the suite's own pytest from rewriting them; a pytest session around the grader
    (the project's tests, a course's CI) has its own hook, which would rewrite any ``test_*.py`` it imports.
    """
    hooks = [(index, finder) for index, finder in enumerate(sys.meta_path)
             if type(finder).__name__ == "AssertionRewritingHook"]
    for _, finder in hooks:
        sys.meta_path.remove(finder)
    try:
        yield
    finally:
        for index, finder in hooks:
            sys.meta_path.insert(index, finder)


def load_reference(path: Path) -> ModuleType:
    """Import a reference module from its file, under a private name."""
    name = f"_autograder_reference_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no reference module at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_suite(suite_dir: Path, kernel: StudentKernel, reference: ModuleType, seed: int) -> list[TestResult]:
    """Run the hidden suite in ``suite_dir`` against ``kernel``; raise `SuiteError` if the suite is broken."""
    return SuitePlugin(kernel, reference, seed).run(suite_dir)


def _forget_suite_modules(suite_dir: Path) -> None:
    """Drop the suite's modules from ``sys.modules`` after a run.

    pytest's importlib mode names a suite file's module after the file alone and reuses a module
    already imported under that name: without this, a suite edited since, or another suite with a
    file of the same name, would run the first one's code in the same process.
    """
    prefix = os.path.join(os.path.abspath(suite_dir), "")
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if type(path) is str and os.path.abspath(path).startswith(prefix):
            del sys.modules[name]


def _test_id(item: pytest.Item) -> str:
    """A test's id within its suite (``TestDouble::test_values``): what its results and its secret seed use."""
    return item.nodeid.split("::", 1)[-1]


class SuiteError(RuntimeError):
    """The hidden suite itself is broken: no student may be graded against it."""
