"""Hidden suite of a01_gradient_descent: a linear neuron trained by hand, then a quadratic fitted with autograd.

Inputs come from ``rng`` (secret per grading run), so a student cannot
hard-code answers to the notebook's public examples. Exact checks compare
with the reference at float tolerances; the training checks compare whole
loss curves (the algorithm is specified step by step in the notebook) and
then ask for what the course promises: °C -> °F recovers w = 1.8, b = 32,
and the quadratic's hidden coefficients come back.
"""

import pytest
import torch

from autograder.compare import assert_close, assert_gradients_close, assert_scalar_close, assert_within_factor
from autograder.suite import grade_cell, points

SUITE_VERSION = "a01-2"

GRADIENT_HINT = "for L = mean((X @ w + b - y)^2): dL/dw = 2/n * X^T (y_hat - y) and dL/db = 2/n * sum(y_hat - y)"
TRAINING_HINT = ("start from w = zeros(d), b = 0; per epoch, take the batches in order (the last one may be "
                 "smaller) and record the loss on all the data after the epoch")


def linear_data(rng, n, d, dtype=torch.float32):
    X = rng.normal((n, d), dtype=dtype)
    w = rng.normal((d,), dtype=dtype)
    b = rng.normal((), dtype=dtype)
    y = X @ w + b + 0.1 * rng.normal((n,), dtype=dtype)
    return X, y, w, b


def celsius_to_fahrenheit(rng, n=40):
    celsius = rng.uniform((n, 1), low=-10.0, high=40.0)
    fahrenheit = 1.8 * celsius[:, 0] + 32 + 0.3 * rng.normal((n,))
    return celsius, fahrenheit


@grade_cell("test_predict")
class TestPredict:
    @points(1)
    def test_several_features(self, student, reference, rng):
        X, _, w, b = linear_data(rng, 7, 3)
        assert_close(student.predict(X, w, b), reference.predict(X, w, b), fn="predict",
                     inputs={"X": X, "w": w, "b": b}, hint="y_hat = X @ w + b, one prediction per row of X")

    @points(1)
    def test_float64_single_feature(self, student, reference, rng):
        X, _, w, b = linear_data(rng, 5, 1, dtype=torch.float64)
        assert_close(student.predict(X, w, b), reference.predict(X, w, b), fn="predict",
                     inputs={"X": X, "w": w, "b": b}, hint="keep the input's dtype (float64 here)")


@grade_cell("test_mse")
class TestMse:
    @points(1)
    def test_values(self, student, reference, rng):
        y_hat, y = rng.normal((9,)), rng.normal((9,), std=3.0)
        assert_close(student.mse(y_hat, y), reference.mse(y_hat, y), fn="mse", inputs={"y_hat": y_hat, "y": y},
                     hint="the mean of the squared differences: a 0-d tensor")

    @points(1)
    def test_autograd_flows_through(self, student, reference, rng):
        y_hat, y = rng.normal((6,), dtype=torch.float64), rng.normal((6,), dtype=torch.float64)
        _, got = student.gradients("mse", (y_hat, y), wrt=(0,))
        _, want = reference.gradients("mse", (y_hat, y), wrt=(0,))
        assert_gradients_close(got, want, fn="mse", inputs={"y_hat": y_hat, "y": y}, wrt=("y_hat",),
                               hint="compute the loss with torch operations, so autograd can differentiate it")


@grade_cell("test_mse_grad")
class TestMseGrad:
    @points(1)
    @pytest.mark.parametrize("n, d", [(1, 4), (12, 3)], ids=["one_example", "batch"])
    def test_values(self, student, reference, rng, n, d):
        X, y, w, b = linear_data(rng, n, d)
        inputs = {"X": X, "y": y, "w": w, "b": b}
        assert_close(student.mse_grad(X, y, w, b), reference.mse_grad(X, y, w, b), fn="mse_grad", inputs=inputs,
                     rtol=1e-4, atol=1e-5, hint=GRADIENT_HINT)

    @points(1)
    def test_matches_autograd_in_float64(self, student, reference, rng):
        X, y, w, b = linear_data(rng, 10, 2, dtype=torch.float64)
        inputs = {"X": X, "y": y, "w": w, "b": b}
        # What autograd says about the reference's loss: the hand-written formula must agree with it.
        _, (dw, db) = reference.gradients("loss_of_parameters", (X, y, w, b), wrt=(2, 3))
        assert_close(student.mse_grad(X, y, w, b), (dw, db), fn="mse_grad", inputs=inputs,
                     hint=GRADIENT_HINT + " (compared with autograd, float64)")


@grade_cell("test_gd_step")
class TestGdStep:
    @points(1)
    def test_values(self, student, reference, rng):
        w, dw = rng.normal((3,)), rng.normal((3,))
        b, db = rng.normal(()), rng.normal(())
        lr = float(rng.uniform((), low=0.001, high=0.5))
        assert_close(student.gd_step(w, b, dw, db, lr), reference.gd_step(w, b, dw, db, lr), fn="gd_step",
                     inputs={"w": w, "b": b, "dw": dw, "db": db, "lr": lr},
                     hint="step against the gradient: w - lr * dw and b - lr * db")

    @points(1)
    def test_float64(self, student, reference, rng):
        w, dw = rng.normal((5,), dtype=torch.float64), rng.normal((5,), dtype=torch.float64)
        b, db = rng.normal((), dtype=torch.float64), rng.normal((), dtype=torch.float64)
        assert_close(student.gd_step(w, b, dw, db, 0.1), reference.gd_step(w, b, dw, db, 0.1), fn="gd_step",
                     inputs={"w": w, "b": b, "dw": dw, "db": db, "lr": 0.1}, hint="keep the input's dtype")


@grade_cell("test_train_linear")
class TestTrainLinear:
    @points(1)
    def test_full_batch_curve(self, student, reference, rng):
        X, y, _, _ = linear_data(rng, 16, 2)
        inputs = {"X": X, "y": y, "lr": 0.1, "epochs": 5}
        assert_close(student.train_linear(X, y, 0.1, 5), reference.train_linear(X, y, 0.1, 5), fn="train_linear",
                     inputs=inputs, rtol=1e-4, atol=1e-5, check_dtype=False, hint=TRAINING_HINT)

    @points(1)
    def test_mini_batch_curve(self, student, reference, rng):
        X, y, _, _ = linear_data(rng, 10, 3)
        inputs = {"X": X, "y": y, "lr": 0.05, "epochs": 4, "batch_size": 4}
        assert_close(student.train_linear(X, y, 0.05, 4, batch_size=4),
                     reference.train_linear(X, y, 0.05, 4, batch_size=4), fn="train_linear", inputs=inputs,
                     rtol=1e-4, atol=1e-5, check_dtype=False, hint=TRAINING_HINT + " (10 rows, batches of 4, 4, 2)")

    @points(2)
    def test_learns_celsius_to_fahrenheit(self, student, reference, rng):
        celsius, fahrenheit = celsius_to_fahrenheit(rng)
        inputs = {"X": celsius, "y": fahrenheit, "lr": 0.001, "epochs": 2000, "batch_size": 8}
        w, b, losses = student.train_linear(celsius, fahrenheit, 0.001, 2000, batch_size=8)
        _, _, reference_losses = reference.train_linear(celsius, fahrenheit, 0.001, 2000, batch_size=8)
        hint = "°F = 1.8 * °C + 32: the neuron should find these weights from the examples"
        assert_scalar_close(w[0], 1.8, fn="train_linear", inputs=inputs, what="w[0]", rtol=0, atol=0.1, hint=hint)
        assert_scalar_close(b, 32.0, fn="train_linear", inputs=inputs, what="b", rtol=0, atol=1.0, hint=hint)
        # The curve must describe the parameters returned: the loss they really have on this data.
        assert_scalar_close(losses[-1], reference.loss_of_parameters(celsius, fahrenheit, w, b), fn="train_linear",
                            inputs=inputs, what="losses[-1]", rtol=1e-3, atol=1e-4,
                            hint="the last loss is mse(predict(X, w, b), y) for the w and b returned")
        assert_within_factor(losses[-1], reference_losses[-1], factor=1.5, fn="train_linear", inputs=inputs,
                             what="final loss", hint=hint)


@grade_cell("test_fit_quadratic")
class TestFitQuadratic:
    @points(1)
    def test_first_steps(self, student, reference, rng):
        x = torch.linspace(-2, 2, 20)
        y = rng.normal((20,), std=2.0)
        assert_close(student.fit_quadratic(x, y, 3, 0.01), reference.fit_quadratic(x, y, 3, 0.01),
                     fn="fit_quadratic", inputs={"x": x, "y": y, "steps": 3, "lr": 0.01}, rtol=1e-4, atol=1e-5,
                     hint="start from [1.5, 1.5, 1.5]; each step: loss, backward, then under torch.no_grad "
                          "subtract lr * grad and zero the gradient")

    @points(2)
    def test_recovers_hidden_coefficients(self, student, reference, rng):
        x = torch.linspace(-2, 2, 20)
        hidden = rng.uniform((3,), low=-3.0, high=3.0)
        y = hidden[0] * x**2 + hidden[1] * x + hidden[2] + 0.1 * rng.normal((20,))
        coefficients = student.fit_quadratic(x, y, 300, 0.05)
        assert_close(coefficients, hidden, fn="fit_quadratic", inputs={"x": x, "y": y, "steps": 300, "lr": 0.05},
                     rtol=0, atol=0.25, what="coefficients [a, b, c]",
                     hint="with these steps and learning rate the fit gets within 0.1 of a*x^2 + b*x + c")
