"""Tests for autograder.compare: what passes, what fails, and how failures read."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from autograder.grading.compare import (
    ComparisonError,
    assert_close,
    assert_gradients_close,
    assert_scalar_close,
    assert_within_factor,
    describe_inputs,
    relative_error,
    tolerance_margin,
)

SECRET = 0.123456  # an input value that must never show up in a message


def mse_inputs() -> dict:
    torch.manual_seed(0)
    return {
        "X": torch.full((64, 3), SECRET),
        "y": torch.full((64,), SECRET),
        "w": torch.full((3,), SECRET),
        "b": torch.tensor(SECRET),
    }


def failure(check, /, *args, **kwargs) -> str:
    with pytest.raises(ComparisonError) as info:
        check(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


# ----------------------------------------------------------------- describe_inputs


def test_describe_inputs_by_name_shows_shapes_dtypes_and_short_scalars():
    text = describe_inputs({**mse_inputs(), "lr": 0.1, "mode": "train", "sizes": [1, 2, 3], "opts": {"p": 1}})
    assert text == (
        "X: float32[64, 3], y: float32[64], w: float32[3], b: float32[], lr: 0.1, mode: 'train', "
        "sizes: list[3], opts: dict['p']"
    )
    assert "0.123" not in text


def test_describe_inputs_positional_numpy_and_long_strings():
    text = describe_inputs((np.zeros((2, 5)), torch.zeros(4, dtype=torch.int64), "x" * 200, None, True))
    assert text.startswith("np.float64[2, 5], int64[4], 'xxx")
    assert text.endswith("...', None, True")
    assert len(text) < 100


# ----------------------------------------------------------------- passing values


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7])),
        (np.arange(4.0), np.arange(4.0)),
        (3, 3),
        (0.1 + 0.2, 0.3),
        ("relu", "relu"),
        (None, None),
        ([torch.ones(2), {"w": torch.zeros(3), "n": 2}], (torch.ones(2), {"n": 2, "w": torch.zeros(3)})),
        (torch.tensor([float("nan"), 1.0]), torch.tensor([float("nan"), 1.0])),
    ],
)
def test_equal_values_pass(actual, expected):
    assert_close(actual, expected, fn="f", equal_nan=True)


def test_equal_modules_pass_and_module_matches_its_state_dict():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    twin.load_state_dict(model.state_dict())
    assert_close(twin, model, fn="build_model")
    assert_close(dict(model.state_dict()), model, fn="build_model")


def test_tolerances_are_configurable():
    assert_close(torch.tensor([1.0]), torch.tensor([1.01]), fn="f", atol=0.02)
    assert_close(torch.tensor([1.0]), torch.tensor([1.01]), fn="f", rtol=0.02)
    text = failure(assert_close, torch.tensor([1.0]), torch.tensor([1.0 + 1e-6]), fn="f", rtol=0, atol=0)
    assert "values are not equal" in text
    assert "allowed" not in text


# ----------------------------------------------------------------- kinds of mismatch


def test_dtype_mismatch_float64_vs_float32():
    text = failure(assert_close, torch.ones(3, dtype=torch.float64), torch.ones(3), fn="f")
    assert text == "f() -> result: dtype mismatch: expected float32, got float64."
    assert_close(torch.ones(3, dtype=torch.float64), torch.ones(3), fn="f", check_dtype=False)


def test_shape_mismatch():
    text = failure(assert_close, torch.zeros(64, 1), torch.zeros(64), fn="predict", inputs={"X": torch.zeros(64, 3)})
    assert text == "predict(X: float32[64, 3]) -> result: shape mismatch: expected [64], got [64, 1]."


def test_value_mismatch_message_reads_like_torch():
    inputs = mse_inputs()
    actual = (torch.tensor([0.5211, 1.52, 3.0]), torch.tensor(0.0))
    expected = (torch.tensor([1.0421, 3.04, 3.0]), torch.tensor(0.0))
    text = failure(assert_close, actual, expected, fn="mse_grad", inputs=inputs, hint="check the 2/N factor")
    lines = text.splitlines()
    assert lines[0] == (
        "mse_grad(X: float32[64, 3], y: float32[64], w: float32[3], b: float32[]) -> result[0]: values are not close."
    )
    assert lines[1] == "Mismatched elements: 2 / 3 (66.7%)"
    assert lines[2].startswith("Greatest absolute difference: 1.52 at index (1,) (up to 1e-05 allowed)")
    assert lines[3].startswith("Greatest relative difference: 0.5 at index (1,) (up to 1.3e-06 allowed)")
    assert lines[4] == "First mismatch at index (0,): expected 1.0421, got 0.5211"
    assert lines[5] == "Hint: check the 2/N factor"
    assert "0.123" not in text  # the input values stay secret


def test_first_mismatch_shows_enough_digits_to_differ():
    f64 = torch.float64
    text = failure(assert_close, torch.tensor([1.0000001], dtype=f64), torch.tensor([1.000001], dtype=f64), fn="f")
    assert "First mismatch at index (0,): expected 1.000001, got 1.0000001" in text


def test_nan_where_reference_is_finite_is_reported():
    text = failure(
        assert_close, torch.tensor([[1.0, float("nan")], [3.0, 5.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]), fn="f"
    )
    assert "Mismatched elements: 2 / 4 (50.0%)" in text
    assert "got nan or inf at 1 element(s) where the expected values are finite, first at index (0, 1)" in text
    assert "Greatest absolute difference: 1 at index (1, 1)" in text
    assert "First mismatch at index (0, 1): expected 2, got nan" in text


def test_nan_in_both_needs_equal_nan():
    text = failure(assert_close, torch.tensor([float("nan")]), torch.tensor([float("nan")]), fn="f")
    assert "equal_nan=True" in text


def test_integer_tensors_compare_exactly():
    text = failure(assert_close, torch.tensor([1, 2, 3]), torch.tensor([1, 2, 4]), fn="argmax_rows")
    assert "values are not equal" in text
    assert "First mismatch at index (2,): expected 4, got 3" in text


def test_nested_path_is_in_the_message():
    actual = [torch.ones(1), {"w": torch.ones(2), "b": torch.zeros(1)}]
    expected = (torch.ones(1), {"w": torch.tensor([1.0, 7.0]), "b": torch.zeros(1)})
    text = failure(assert_close, actual, expected, fn="init_params")
    assert text.startswith("init_params() -> result[1]['w']: values are not close.")


def test_length_and_key_mismatches():
    text = failure(assert_close, (1, 2, 3), (1, 2), fn="f", what="shapes")
    assert text == "f() -> shapes: length mismatch: expected 2 items, got 3."
    text = failure(assert_close, {"w": 1, "bias": 2}, {"w": 1, "b": 2}, fn="f")
    assert text.splitlines() == ["f() -> result: keys do not match.", "Missing keys: 'b'", "Unexpected keys: 'bias'"]


def test_strings_and_none():
    assert "strings differ: expected 'relu', got 'tanh'" in failure(assert_close, "tanh", "relu", fn="f")
    assert "type mismatch: expected a Tensor, got None" in failure(assert_close, None, torch.ones(1), fn="f")


def test_python_float_vs_tensor():
    text = failure(assert_close, 1.0, torch.tensor(1.0), fn="f")
    assert text == "f() -> result: type mismatch: expected a Tensor, got float."
    assert_close(1.0, torch.tensor(1.0), fn="f", check_dtype=False)
    assert_close(torch.tensor(2.0), 2.0, fn="f", check_dtype=False)
    text = failure(assert_close, torch.tensor(2.5), 2.0, fn="f", check_dtype=False)
    assert "Expected 2, got 2.5" in text


def test_numpy_array_vs_tensor():
    text = failure(assert_close, np.ones(3, dtype=np.float32), torch.ones(3), fn="f")
    assert "type mismatch: expected a Tensor, got numpy.ndarray np.float32[3]" in text
    assert_close(np.ones(3, dtype=np.float32), torch.ones(3), fn="f", check_dtype=False)


def test_device_is_checked():
    meta = torch.empty(3, device="meta")
    text = failure(assert_close, meta, torch.zeros(3), fn="f")
    assert "device mismatch: expected cpu, got meta" in text


# ----------------------------------------------------------------- impostors


class SneakyTensor(torch.Tensor):
    pass


class EqualsEverything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class ArrayImpostor:
    shape = (3,)
    dtype = torch.float32

    def __array__(self, dtype=None, copy=None):
        return np.ones(3, dtype=np.float32)

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class LyingList(list):
    def __iter__(self):
        return iter([torch.ones(2)])

    def __len__(self):
        return 1


def test_tensor_subclass_is_rejected():
    sneaky = torch.ones(3).as_subclass(SneakyTensor)
    text = failure(assert_close, sneaky, torch.ones(3), fn="f")
    assert "type mismatch: expected a Tensor, got SneakyTensor (a subclass of torch.Tensor" in text


@pytest.mark.parametrize("impostor", [EqualsEverything(), ArrayImpostor()])
def test_objects_pretending_to_be_tensors_are_rejected(impostor):
    text = failure(assert_close, impostor, torch.ones(3), fn="f", check_dtype=False)
    assert f"type mismatch: expected a Tensor, got {type(impostor).__name__}." in text
    assert "got" in failure(assert_close, impostor, "abc", fn="f")
    assert "got" in failure(assert_close, impostor, 1.0, fn="f", check_dtype=False)


def test_container_subclass_cannot_lie_about_its_items():
    lying = LyingList([torch.zeros(2), torch.zeros(2)])
    text = failure(assert_close, lying, [torch.ones(2)], fn="f")
    assert "length mismatch: expected 1 items, got 2" in text


# ----------------------------------------------------------------- modules


def test_module_state_dict_mismatches():
    torch.manual_seed(0)
    reference = torch.nn.Linear(3, 2)
    student = torch.nn.Linear(3, 2)
    student.load_state_dict(reference.state_dict())
    with torch.no_grad():
        student.bias[1] += 1.0
    text = failure(assert_close, student, reference, fn="train_step")
    assert text.startswith("train_step() -> result.state_dict()['bias']: values are not close.")
    assert "First mismatch at index (1,)" in text

    text = failure(assert_close, torch.nn.Linear(3, 2, bias=False), reference, fn="f")
    assert "keys do not match" in text and "Missing keys: 'bias'" in text
    text = failure(assert_close, torch.nn.Linear(4, 2), reference, fn="f")
    assert "result.state_dict()['weight']: shape mismatch: expected [2, 3], got [2, 4]" in text
    assert "expected a module or its state_dict, got Tensor" in failure(assert_close, torch.ones(2), reference, fn="f")


# ----------------------------------------------------------------- gradients


def test_gradients_match():
    grads = (torch.ones(3), torch.tensor(2.0))
    assert_gradients_close(grads, (torch.ones(3), torch.tensor(2.0)), fn="mse", wrt=("w", "b"))
    assert_gradients_close((None, torch.tensor(2.0)), (torch.zeros(3), torch.tensor(2.0)), fn="mse", wrt=("w", "b"))


def test_missing_gradient_is_explained():
    inputs = mse_inputs()
    text = failure(
        assert_gradients_close,
        (None, torch.tensor(2.0)),
        (torch.ones(3), torch.tensor(2.0)),
        fn="mse",
        inputs=inputs,
        wrt=("w", "b"),
    )
    assert text == (
        "mse(X: float32[64, 3], y: float32[64], w: float32[3], b: float32[]) -> gradient of mse w.r.t. w: "
        "no gradient reached w: was it detached or computed under no_grad?"
    )


def test_unexpected_and_wrong_gradients():
    text = failure(assert_gradients_close, (torch.ones(3),), (None,), fn="mse", wrt=("w",))
    assert "a gradient reached w, but the reference's mse does not depend on w" in text
    text = failure(
        assert_gradients_close,
        (torch.ones(3), torch.tensor(1.0)),
        (torch.ones(3), torch.tensor(2.0)),
        fn="mse",
        wrt=("w", "b"),
        hint="d/db of the mean is 2 * mean(residual)",
    )
    assert text.startswith("mse() -> gradient of mse w.r.t. b: values are not close.")
    assert text.endswith("Hint: d/db of the mean is 2 * mean(residual)")
    text = failure(assert_gradients_close, (torch.ones(3),), (torch.ones(3), torch.ones(1)), fn="mse")
    assert "length mismatch: expected 2 gradients, got 1" in text


# ----------------------------------------------------------------- scalars


def test_relative_error_values():
    error = relative_error(torch.tensor([1.0, 0.0, -2.0]), np.array([1.1, 0.0, 2.0]))
    assert error.dtype == torch.float64
    expected = torch.tensor([0.1 / 2.1, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(error, expected, rtol=1e-6, atol=1e-7)
    assert relative_error(3.0, 3.0).item() == 0.0
    with pytest.raises(ValueError, match="equal shapes"):
        relative_error(torch.ones(3), torch.ones(3, 1))
    with pytest.raises(TypeError):
        relative_error(EqualsEverything(), torch.ones(1))


def test_scalar_close_accepts_numbers_and_0d_tensors():
    assert_scalar_close(torch.tensor(0.6931472), math.log(2), fn="loss")
    assert_scalar_close(2, torch.tensor(2.0, dtype=torch.float64), fn="count")
    text = failure(assert_scalar_close, torch.tensor(0.712), math.log(2), fn="loss", inputs=mse_inputs())
    assert "-> result: values are not close." in text
    assert "Expected 0.69315, got 0.712" in text
    assert "Absolute difference: 0.0188" in text
    assert "0.123" not in text
    assert "shape mismatch: expected a scalar (0-d), got Tensor of shape [1]" in failure(
        assert_scalar_close, torch.ones(1), 1.0, fn="loss"
    )
    assert "got nan where a finite value is expected" in failure(assert_scalar_close, math.nan, 1.0, fn="loss")
    assert "type mismatch" in failure(assert_scalar_close, EqualsEverything(), 1.0, fn="loss")


def test_within_factor_both_ways():
    assert_within_factor(0.5, 0.3, factor=2.0, fn="train", what="final loss")
    assert_within_factor(torch.tensor(0.0), 0.0, factor=1.5, fn="train", what="final loss")
    text = failure(assert_within_factor, 0.9, 0.3, factor=2.0, fn="train", what="final loss", hint="lower the lr")
    assert text.splitlines() == [
        "train() -> final loss: got 0.9, more than 2 x the reference's 0.3 (limit 0.6).",
        "Hint: lower the lr",
    ]
    assert "got nan" in failure(assert_within_factor, math.nan, 0.3, factor=2.0, fn="train", what="final loss")


def test_tolerance_margin_tightens_stated_thresholds_only():
    # The author's check: what passes a stated threshold only just must fail at half of it.
    assert_scalar_close(1.86, 1.8, fn="train", rtol=0, atol=0.1)
    assert_within_factor(0.5, 0.3, factor=2.0, fn="train", what="final loss")
    assert_close(torch.tensor([1.07]), torch.tensor([1.0]), fn="fit", rtol=0, atol=0.1)
    with tolerance_margin(0.5):
        assert "values are not close" in failure(assert_scalar_close, 1.86, 1.8, fn="train", rtol=0, atol=0.1)
        assert "more than 1.5 x" in failure(assert_within_factor, 0.5, 0.3, factor=2.0, fn="train", what="loss")
        assert "values are not close" in failure(assert_close, torch.tensor([1.07]), torch.tensor([1.0]), fn="fit",
                                                 rtol=0, atol=0.1)
        assert_close(torch.tensor([1.0 + 1e-6]), torch.tensor([1.0]), fn="fit")  # dtype defaults are kept
    assert_scalar_close(1.86, 1.8, fn="train", rtol=0, atol=0.1)  # and restored after the block
    with pytest.raises(ValueError, match="share"):
        tolerance_margin(0.0).__enter__()
