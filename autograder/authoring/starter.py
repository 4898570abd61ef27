"""The starter assignment `autograder new` writes: two stubs, a hidden suite, a reference and a sample class.

It is small on purpose and complete on purpose: every file an assignment
needs, each showing the convention it follows, and `autograder check`
passes on it as written, so an author edits something that works. The
texts are `string.Template`s over ``$assignment`` (the assignment's id) and
``$title``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import nbformat

# (cell type, nbgrader metadata or None, source). Grade cells carry points; solution cells hold
# ### BEGIN/END SOLUTION, which nbgrader's release replaces with a stub.
NOTEBOOK_CELLS: list[tuple[str, dict | None, str]] = [
    ("markdown", {"grade_id": "intro", "locked": True}, """\
# $title

*Starter assignment written by `autograder new`: replace the story, the stubs and the checks with yours.*

You implement two functions a classifier ends with: **ReLU**, the activation between layers, and
**softmax**, which turns a row of scores (logits) into probabilities. Each stub says the shapes and dtypes it
takes and returns. The checks under each stub catch the obvious slips; hidden tests compare your function
with a reference on inputs you do not see, and check its gradients too."""),
    ("code", {"grade_id": "imports", "locked": True}, "import torch"),
    ("markdown", {"grade_id": "relu_intro", "locked": True}, """\
## 1. ReLU

$$\\mathrm{relu}(x) = \\max(x, 0)$$ elementwise: negative inputs become 0, the rest pass through."""),
    ("code", {"grade_id": "relu", "solution": True}, '''\
def relu(x: torch.Tensor) -> torch.Tensor:
    """max(x, 0) elementwise; same shape and dtype as ``x``."""
    ### BEGIN SOLUTION
    return torch.clamp(x, min=0)
    ### END SOLUTION'''),
    ("code", {"grade_id": "test_relu", "grade": True, "locked": True, "points": 2}, """\
assert torch.equal(relu(torch.tensor([-1.0, 0.0, 2.5])), torch.tensor([0.0, 0.0, 2.5]))
assert relu(torch.zeros(3, dtype=torch.float64)).dtype == torch.float64
# The hidden tests check more: other shapes and dtypes, and the gradient."""),
    ("markdown", {"grade_id": "softmax_intro", "locked": True}, """\
## 2. Softmax

$$\\mathrm{softmax}(z)_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$$ over the last dimension. For logits as large as
$10^4$, $e^{z}$ overflows: subtract each row's maximum first (the result does not change, since
$e^{z_i - m} / \\sum_j e^{z_j - m}$ cancels $e^{-m}$)."""),
    ("code", {"grade_id": "softmax", "solution": True}, '''\
def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension of ``logits`` (shape [..., C]); same shape and dtype, rows sum to 1."""
    ### BEGIN SOLUTION
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    exp = shifted.exp()
    return exp / exp.sum(dim=-1, keepdim=True)
    ### END SOLUTION'''),
    ("code", {"grade_id": "test_softmax", "grade": True, "locked": True, "points": 3}, """\
probabilities = softmax(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
assert probabilities.shape == (2, 3)
assert torch.allclose(probabilities.sum(dim=-1), torch.ones(2))
assert torch.allclose(probabilities[1], torch.full((3,), 1 / 3))
# The hidden tests check more: large logits, float64, the gradient."""),
]

REFERENCE = '''\
"""Reference implementations of $assignment: the hidden suite compares every student function with these."""

import torch


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, min=0)


def softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)
'''

SUITE = '''\
"""Hidden suite of $assignment: runs in the trusted grader, never in the student's kernel.

Each test's points go to the grade cell named by @grade_cell; a grade cell's points in the notebook
equal the sum of its tests' @points (`autograder check` verifies it). Inputs come from `rng`, seeded
from the course's secret, the student and the test: secret, and the same when graded again.
"""

import torch

from autograder.testing import assert_close, assert_gradients_close, grade_cell, points

SUITE_VERSION = "$assignment-1"  # change it whenever a test changes: results of another version are regraded


@grade_cell("test_relu")
class TestRelu:
    @points(1)
    def test_values(self, student, reference, rng):
        x = rng.normal((8, 5))
        assert_close(student.relu(x), reference.relu(x), fn="relu", inputs={"x": x},
                     hint="max(x, 0) elementwise, the same shape and dtype as x")

    @points(1)
    def test_gradient(self, student, reference, rng):
        x = rng.normal((6, 4), dtype=torch.float64)
        _, got = student.gradients("relu", (x,), wrt=(0,))
        _, want = reference.gradients("relu", (x,), wrt=(0,))
        assert_gradients_close(got, want, fn="relu", inputs={"x": x}, wrt=("x",))


@grade_cell("test_softmax")
class TestSoftmax:
    @points(1)
    def test_values(self, student, reference, rng):
        for dtype in (torch.float32, torch.float64):
            logits = rng.logits((5, 7), scale=3.0, dtype=dtype)
            assert_close(student.softmax(logits), reference.softmax(logits), fn="softmax",
                         inputs={"logits": logits}, hint="exp of each logit over the sum of its row's exps")

    @points(1)
    def test_large_logits(self, student, reference, rng):
        logits = rng.logits((3, 5), scale=1e4)
        assert_close(student.softmax(logits), reference.softmax(logits), fn="softmax",
                     inputs={"logits": logits}, hint="exp overflows past 88 in float32: subtract each row's max first")

    @points(1)
    def test_gradient(self, student, reference, rng):
        # The gradient of sum(softmax) is zero whatever the student wrote: gradients() therefore weighs the
        # output with a secret random grad_output by default, the same for student and reference.
        logits = rng.logits((4, 6), dtype=torch.float64)
        _, got = student.gradients("softmax", (logits,), wrt=(0,))
        _, want = reference.gradients("softmax", (logits,), wrt=(0,))
        assert_gradients_close(got, want, fn="softmax", inputs={"logits": logits}, wrt=("logits",))
'''

# A sample class: one file per student, one section per solution cell (cells without a section keep the stub).
SAMPLES = {
    "ada": '''\
# Correct, written with the library's own functions: 5/5.
# %% [relu]
def relu(x):
    return torch.nn.functional.relu(x)

# %% [softmax]
def softmax(logits):
    return torch.softmax(logits, dim=-1)
''',
    "ben": '''\
# The textbook formula without the max-shift: exp overflows for logits of 1e4 (test_large_logits): 4/5.
# %% [relu]
def relu(x):
    return x * (x > 0)

# %% [softmax]
def softmax(logits):
    exp = torch.exp(logits)
    return exp / exp.sum(dim=-1, keepdim=True)
''',
    "cy": '''\
# Softmax over the wrong dimension (columns instead of rows): relu only, 2/5.
# %% [relu]
def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))

# %% [softmax]
def softmax(logits):
    return torch.softmax(logits, dim=0)
''',
    "dee": '''\
# Handed in the release untouched: every stub raises NotImplementedError, 0/5.
''',
}

EXPECTED_SCORES = {
    "_notes": "Exact score of each sample student; why: the comment at the top of the student's file.",
    "ada": {"total": 5.0, "cells": {"test_relu": 2.0, "test_softmax": 3.0}},
    "ben": {"total": 4.0, "cells": {"test_relu": 2.0, "test_softmax": 2.0}},
    "cy": {"total": 2.0, "cells": {"test_relu": 2.0, "test_softmax": 0.0}},
    "dee": {"total": 0.0, "cells": {"test_relu": 0.0, "test_softmax": 0.0}},
}


def notebook(substitute: Callable[[str], str]) -> nbformat.NotebookNode:
    """The source notebook, with nbgrader's cell metadata as its Create Assignment toolbar writes it."""
    cells = []
    for kind, meta, source in NOTEBOOK_CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(substitute(source))
        if meta is not None:
            cell.metadata["nbgrader"] = {"grade": False, "locked": False, "schema_version": 3, "solution": False,
                                         "task": False, **meta}
        cells.append(cell)
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return book


def expected_scores_json() -> str:
    return json.dumps(EXPECTED_SCORES, indent=2) + "\n"
