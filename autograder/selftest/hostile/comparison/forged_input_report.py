"""Forge the kernel's report of changed inputs, then return the right answer: parameter names that are code
and markup, a flood of paths to arguments never sent, a path into a tensor.

The report comes from the student's process, found here through the agent's closure: the grader takes only
paths through the arguments it sent and plain parameter names, so a forgery fails the forger's own calls with
a clear reason and never reaches the feedback as it was written.

expect: test_double=0 test_square=1
reason: could not read which inputs your function changed
markers: /tmp/autograder-hostile-report
"""
# %% [double]
import IPython

FORGERIES = {
    "float32": {"changed": [[0]], "names": ["__import__('os').system('touch /tmp/autograder-hostile-report')"]},
    "float64": {"changed": [[7, "x"]] * 10_000, "names": ["x"]},
    "gradient": {"changed": [[0, 0, 0], ["<script>alert(1)</script>"]], "names": ["x"]},
}
_original = []


def _forge(report):
    agent = IPython.get_ipython().user_ns["__autograder__"]
    watch = next(c.cell_contents for c in agent.__closure__ if hasattr(c.cell_contents, "InputWatch")).InputWatch
    if not _original:
        _original.append(watch.report)
    # Only double's calls lie: square keeps the honest report.
    watch.report = lambda self: report if self.function is double else _original[0](self)


def double(x):
    _forge(FORGERIES["gradient" if x.requires_grad else str(x.dtype).removeprefix("torch.")])
    return x * 2
# %% [square]
def square(x):
    return x ** 2
