"""Inputs changed in place: the kernel notices, the grader fails the call naming the argument, unless allowed."""

from __future__ import annotations

import types

import numpy
import pandas
import pytest
import torch

from autograder.grading.proxies import ReferenceProxy, StudentProxy
from autograder.grading.suite import GradOutputs
from autograder.sandbox import wire
from autograder.sandbox.confine import Limits
from autograder.sandbox.input_changes import (
    InputRule,
    ReportError,
    check_inputs,
    note_on_error,
    read_report,
)
from autograder.sandbox.input_watch import MAX_CHANGES, InputWatch
from autograder.sandbox.kernel import StudentKernel
from autograder.sandbox.messages import Execution, StudentCodeError

# ----------------------------------------------------------------- the watch (runs in the kernel)


def watched(function, *args, **kwargs):
    watch = InputWatch(function)
    try:
        watch(*args, **kwargs)
    except ValueError:
        pass
    return watch.report()


def test_the_watch_names_changed_tensors_by_their_parameter_and_path():
    def step(w, b, params, lr, *, state):
        w -= lr
        params[1]["bias"].mul_(2)
        params[0] = torch.zeros(1)  # the caller's list: changed, its old tensor not
        state["n"] += 1

    params = [torch.ones(1), {"bias": torch.ones(2), "w": torch.ones(2)}]
    report = watched(step, torch.ones(3), torch.ones(()), params, 0.1, state={"n": 1})
    assert report == {"changed": [[0], [2], [2, 1, "bias"], ["state"]], "names": ["w", "b", "params", "lr"]}


def test_values_that_look_the_same_are_unchanged_and_any_bit_that_differs_is_a_change():
    assert watched(lambda x, y: (x * 2, y.copy()), torch.tensor([float("nan"), 1.0]), numpy.ones(3))["changed"] == []
    assert watched(lambda x: x.t_(), torch.ones(2, 3))["changed"] == [[0]]  # same values, another shape
    assert watched(lambda x: x.neg_().neg_(), torch.tensor([0.0]))["changed"] == []  # -(-0.0) is 0.0 again

    def retype(x):
        x.data = x.data.double()

    assert watched(retype, torch.ones(2))["changed"] == [[0]]
    assert watched(lambda x: x.__setitem__(0, -0.0), torch.zeros(2))["changed"] == [[0]]  # -0.0 == 0.0, not bitwise
    assert watched(lambda a: a.__setitem__(0, 5), numpy.zeros(3))["changed"] == [[0]]


def test_data_frames_changed_in_place_are_caught():
    frame = pandas.DataFrame({"x": [1.0, 2.0], "intent": ["a", "b"]})

    def add_column(df):
        df["x2"] = df["x"] * 2

    def set_a_value(df):
        df.loc[0, "x"] = 9.0

    def retype(df):
        df["x"] = df["x"].astype("float32")

    for change in (add_column, set_a_value, retype, lambda df: df.drop(columns=["intent"], inplace=True)):
        assert watched(change, frame.copy())["changed"] == [[0]]
    assert watched(lambda df: df.assign(x2=df.x * 2), frame)["changed"] == []  # a new frame
    assert watched(lambda df: pandas.get_dummies(df, columns=["intent"]), frame)["changed"] == []
    lists = pandas.DataFrame({"tags": [["a"], ["b"]]})  # cells pandas cannot hash: shape, columns, dtypes still
    assert watched(lambda df: df.__setitem__("n", 1), lists)["changed"] == [[0]]


def test_a_function_that_changes_an_input_and_then_raises_is_still_caught():
    def half_done(w):
        w.add_(1)
        raise ValueError("not finished")

    assert watched(half_done, torch.ones(2)) == {"changed": [[0]], "names": ["w"]}


def test_positions_without_a_parameter_name_are_unnamed():
    assert watched(lambda *xs: xs[1].add_(1), torch.ones(1), torch.ones(1)) == {"changed": [[1]], "names": [None, None]}


# ----------------------------------------------------------------- the grader's side: the report is student data

ARGS = (torch.ones(3), [torch.ones(2), {"bias": torch.ones(1)}], (torch.ones(1),), 0.5)
KWARGS = {"state": {"m": torch.zeros(1)}}
NAMES = ["w", "params", "pair", "lr"]


@pytest.mark.parametrize("report", [
    None, [], "w", {"changed": []}, {"changed": [], "names": NAMES, "extra": 1},
    {"changed": [], "names": NAMES[:2]},  # one name per argument sent
    {"changed": [], "names": ["w", "__import__('os').system('x')", "pair", "lr"]},
    {"changed": [], "names": ["w", "<b>params</b>", "pair", "lr"]},
    {"changed": [], "names": ["w", "p" * 101, "pair", "lr"]},
    {"changed": [[0]] * (MAX_CHANGES + 1), "names": NAMES},
    {"changed": [[4]], "names": NAMES},  # no fifth argument was sent
    {"changed": [[-1]], "names": NAMES},
    {"changed": [[True]], "names": NAMES},
    {"changed": [["nowhere"]], "names": NAMES},  # no such keyword was sent
    {"changed": [[]], "names": NAMES},
    {"changed": [0], "names": NAMES},
    {"changed": [[0, 0]], "names": NAMES},  # into a tensor
    {"changed": [[1, 5]], "names": NAMES},
    {"changed": [[1, 1, "weight"]], "names": NAMES},
    {"changed": [[1, 1, ["bias"]]], "names": NAMES},  # an unhashable key
    {"changed": [[1, 1, torch.ones(1)]], "names": NAMES},
    {"changed": [[2]], "names": NAMES},  # a tuple cannot change
    {"changed": [[3]], "names": NAMES},  # nor can a float
    {"changed": [[1, *[0] * 40]], "names": NAMES},
])
def test_malformed_or_forged_reports_are_refused(report):
    with pytest.raises(ReportError):
        read_report(report, ARGS, KWARGS)
    with pytest.raises(StudentCodeError, match="could not read which inputs your function changed"):
        check_inputs("step", {"output": 1, "inputs": report}, ARGS, KWARGS, InputRule())


def test_a_valid_report_names_what_was_sent_and_the_rule_decides():
    report = {"changed": [[0], [1, 1, "bias"], ["state", "m"]], "names": ["weights", None, None, None]}
    changes = read_report(report, ARGS, KWARGS)
    assert [c.label for c in changes] == ["weights", "argument 2[1]['bias']", "state['m']"]
    with pytest.raises(StudentCodeError) as failed:
        check_inputs("step", {"output": 1, "inputs": report}, ARGS, KWARGS, InputRule())
    assert str(failed.value).startswith("step changed its arguments `weights`, `argument 2[1]['bias']` and "
                                        "`state['m']` in place (e.g. `weights -= ...`")
    # Positions, the student's own names, the reference's names and keywords all allow.
    reference_names = ("w", "params", "pair", "lr")
    check_inputs("step", {"inputs": report}, ARGS, KWARGS, InputRule((0, 1, "state")))
    check_inputs("step", {"inputs": report}, ARGS, KWARGS, InputRule(("weights", "params", "state"), reference_names))
    with pytest.raises(StudentCodeError, match=r"its argument `state\['m'\]` in place"):
        check_inputs("step", {"inputs": report}, ARGS, KWARGS, InputRule(("w", "params"), reference_names))


def test_a_call_that_raised_tells_what_it_had_changed():
    def execution(payload, error="ValueError: boom"):
        outputs = [{"output_type": "display_data", "data": {wire.MIME_TYPE: payload}}]
        return Execution("error", outputs=outputs, error=error, payload_count=1)

    report = {"changed": [[0]], "names": NAMES}
    note = note_on_error(execution(wire.encode({"raised": True, "inputs": report})), ARGS, KWARGS, InputRule())
    assert note.startswith("; before raising, it changed its argument `w` in place")
    assert note_on_error(execution(wire.encode({"raised": True, "inputs": report})), ARGS, KWARGS,
                         InputRule(("w",))) == ""
    for forged in ("not json", wire.encode({"raised": True, "inputs": {"changed": [[9]], "names": NAMES}}),
                   wire.encode([1, 2])):
        assert note_on_error(execution(forged), ARGS, KWARGS, InputRule()) == ""
    leaf = Execution("error", error="RuntimeError: a leaf Variable that requires grad is being used in an in-place "
                                    "operation.")
    assert "autograd refuses" in note_on_error(leaf, ARGS, KWARGS, InputRule())


# ----------------------------------------------------------------- the reference, watched the same way


def reference_proxy(**functions):
    return ReferenceProxy(types.SimpleNamespace(**functions))


def test_the_reference_is_held_to_the_same_rule_and_never_touches_the_suites_inputs():
    def sgd_(params, grads, lr):
        for p, g in zip(params, grads, strict=True):
            p.sub_(lr * g)

    params, grads = [torch.ones(2)], [torch.ones(2)]
    reference = reference_proxy(sgd_=sgd_, double=lambda x: x * 2)
    with pytest.raises(RuntimeError, match=r"the reference's sgd_ changed its argument `params\[0\]` in place"):
        reference.sgd_(params, grads, 0.5)
    output, args, kwargs = reference.mutating("params").call_in_place("sgd_", params, grads, 0.5)
    assert output is None and kwargs == {} and torch.equal(args[0][0], torch.full((2,), 0.5))
    assert torch.equal(params[0], torch.ones(2))  # the suite's own inputs
    assert torch.equal(reference.double(torch.ones(1)), torch.full((1,), 2.0))
    with pytest.raises(TypeError, match="positions"):
        reference.mutating(1.5)


# ----------------------------------------------------------------- real kernels

CELLS = ["""
import torch

def gd_step(w, b, dw, db, lr):
    w -= lr * dw
    b -= lr * db
    return w, b

def gd_step_right(w, b, dw, db, lr):
    new_w = w.clone()
    new_w -= lr * dw
    return new_w, b - lr * db

def nested(params, state):
    params[1].mul_(2)
    state["momentum"].add_(1)
    return 0

def replaces_an_item(params):
    params[0] = params[0] - 1
    return params

def half_done(w):
    w.add_(1)
    raise ValueError("not finished")

def sgd_(params, grads, lr):
    for p, g in zip(params, grads):
        p.sub_(lr * g)

def square_in_place(x):
    x.mul_(x)
    return x

def dummies_in_place(df, columns):
    for column in columns:
        for level in sorted(df[column].unique())[1:]:
            df[f"{column}_{level}"] = (df[column] == level).astype("float32")
    df.drop(columns=columns, inplace=True)
    return df

def plus(x):
    return x + 1

def square_under_no_grad(x):
    with torch.no_grad():
        x.mul_(2)
    return x * x
"""]
FAST = Limits(cell_timeout_s=20, call_timeout_s=8, notebook_timeout_s=120, memory_mb=1536)


@pytest.fixture(scope="module")
def student():
    reference = types.ModuleType("reference")
    reference.gd_step = lambda w, b, dw, db, lr: (w - lr * dw, b - lr * db)
    grad_outputs = GradOutputs(7, reference)
    grad_outputs.start("test_mutation")
    with StudentKernel(CELLS, FAST) as kernel:
        kernel.run_notebook()
        yield StudentProxy(kernel, grad_outputs=grad_outputs)


@pytest.mark.slow
def test_a_function_that_changes_its_inputs_fails_naming_them(student):
    w, b, dw, db = torch.ones(3), torch.ones(()), torch.ones(3), torch.ones(())
    with pytest.raises(StudentCodeError) as failed:
        student.gd_step(w, b, dw, db, 0.1)
    assert str(failed.value) == (
        "gd_step changed its arguments `w` and `b` in place (e.g. `w -= ...`, `w[...] = ...` or `w.add_(...)`): "
        "return new tensors and leave the caller's inputs unchanged")
    assert torch.equal(w, torch.ones(3))  # the grader's own never change: the kernel has its copy
    new_w, new_b = student.gd_step_right(w, b, dw, db, 0.1)  # cloning first, then in place: fine
    assert torch.allclose(new_w, torch.full((3,), 0.9)) and torch.allclose(new_b, torch.tensor(0.9))
    # Allowed where the suite says so (by name or position), and only there.
    assert len(student.mutating("w", 1).gd_step(w, b, dw, db, 0.1)) == 2
    with pytest.raises(StudentCodeError, match=r"changed its argument `b` in place"):
        student.mutating("w").gd_step(w, b, dw, db, 0.1)


@pytest.mark.slow
def test_a_data_frame_changed_in_place_fails_naming_it(student):
    frame = pandas.DataFrame({"weight": [1.0, 2.0, 3.0], "origin": ["USA", "Japan", "USA"]})
    with pytest.raises(StudentCodeError) as failed:
        student.dummies_in_place(frame, ["origin"])
    assert str(failed.value) == (
        "dummies_in_place changed its argument `df` in place (e.g. `df[...] = ...` or `df.drop(..., inplace=True)`): "
        "work on a copy (`df.copy()`, `df.assign(...)`, `pd.get_dummies(df, ...)`) and leave the caller's inputs "
        "unchanged")
    assert list(frame.columns) == ["weight", "origin"]


@pytest.mark.slow
def test_nested_containers_are_watched(student):
    params, state = [torch.ones(2), torch.ones(2)], {"momentum": torch.zeros(2)}
    with pytest.raises(StudentCodeError, match=r"changed its arguments `params\[1\]` and `state\['momentum'\]`"):
        student.nested(params, state)
    with pytest.raises(StudentCodeError, match=r"changed its argument `params` in place \(e\.g\. `params\[\.\.\.\] = "):
        student.replaces_an_item(params)


@pytest.mark.slow
def test_a_function_that_changes_an_input_then_raises_says_both(student):
    with pytest.raises(StudentCodeError) as failed:
        student.half_done(torch.ones(2))
    message = str(failed.value)
    assert message.startswith("half_done raised an exception; before raising, it changed its argument `w` in place")
    assert "not finished" in message and "autograder_wire" not in message


@pytest.mark.slow
def test_a_function_meant_to_update_in_place_gives_back_what_it_did(student):
    params, grads = [torch.ones(2), torch.ones(3)], [torch.ones(2), torch.ones(3)]
    output, args, kwargs = student.mutating("params").call_in_place("sgd_", params, grads, lr=0.5)
    assert output is None and kwargs == {"lr": 0.5}
    assert [t.tolist() for t in args[0]] == [[0.5, 0.5], [0.5, 0.5, 0.5]]
    assert torch.equal(params[0], torch.ones(2))
    with pytest.raises(StudentCodeError, match=r"changed its arguments `params\[0\]` and `params\[1\]` in place"):
        student.call_in_place("sgd_", params, grads, lr=0.5)


@pytest.mark.slow
def test_gradient_calls_are_watched_and_autograds_refusal_is_explained(student):
    x, ones = torch.ones(3), torch.ones(3)
    with pytest.raises(StudentCodeError, match="autograd refuses for an input it differentiates"):
        student.gradients("square_in_place", (x,), wrt=(0,), grad_output=ones)
    with pytest.raises(StudentCodeError, match="changed its argument `x` in place"):
        student.gradients("square_under_no_grad", (x,), wrt=(0,), grad_output=ones)


@pytest.mark.slow
def test_the_watch_does_not_count_as_the_students_operators(student):
    # The watch copies and hashes tensors: none of that may trip a rule on the student's operators.
    banned = student.banning("aten::clone", "aten::view", "aten::detach", "aten::_to_copy", "aten::_reshape_alias")
    assert torch.equal(banned.plus(torch.ones(2)), torch.full((2,), 2.0))
