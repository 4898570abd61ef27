"""The mistakes students make in a01_gradient_descent (hidden: beside the suite, never released or mounted).

Each function below computes, from the inputs of the student's function, the
wrong answer one known slip gives; the suite compares within
``MISTAKES.diagnose(...)`` and, when a student's value fails the comparison but
reproduces exactly one of these (and that one is not also the right answer on
those inputs), the feedback names it with the notebook section that explains
it. Written from the notebook's formulas, independently of the reference.
"""

import torch

from autograder.testing import Catalogue

CATALOGUE = Catalogue()

NEURON = "1. A first neuron"
LOSS = "2. How wrong is the neuron? The loss"
GRADIENT = "3. Which way to turn the dials? The gradient"
STEP = "4. One step of gradient descent"
TRAINING = "5. Training: epochs and batches"
AUTOGRAD = "6. Letting PyTorch do the calculus: fitting a quadratic"


# ----------------------------------------------------------------- predict


@CATALOGUE.mistake("predict", section=NEURON,
                   message="your predictions are X @ w without the bias: add b to every prediction")
def no_bias(X, w, b):
    return X @ w


@CATALOGUE.mistake("predict", section=NEURON,
                   message="your predictions come as a column of shape (n, 1): return one value per row, "
                           "shape (n,), e.g. X @ w + b with w of shape (d,)")
def column_of_predictions(X, w, b):
    return X @ w.reshape(-1, 1) + b


@CATALOGUE.mistake("predict", section=NEURON,
                   message="you summed X * w over the examples (dim 0) instead of over the features (dim 1)")
def summed_over_examples(X, w, b):
    return (X * w).sum(dim=0) + b


@CATALOGUE.mistake("predict", section=NEURON,
                   message="your predictions are float32 for float64 inputs: compute in the input's dtype "
                           "(no .float(), no torch.tensor(...) of the default dtype)")
def computed_in_float32(X, w, b):
    return X.float() @ w.float() + b.float()


# ----------------------------------------------------------------- mse


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your loss is the sum of the squared differences, not their mean: divide by n")
def sum_of_squares(y_hat, y):
    return ((y_hat - y) ** 2).sum()


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your loss returns each squared difference: average them into one number (a 0-d tensor)")
def not_averaged(y_hat, y):
    return (y_hat - y) ** 2


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your loss is the mean absolute difference: square the differences before averaging")
def absolute_error(y_hat, y):
    return (y_hat - y).abs().mean()


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your loss is the square of the mean difference: square each difference, then average")
def square_of_mean(y_hat, y):
    return (y_hat - y).mean() ** 2


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your loss is the root of the mean squared error (RMSE): the MSE has no square root")
def root_mean_square(y_hat, y):
    return ((y_hat - y) ** 2).mean().sqrt()


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your loss is half the mean squared error (the 1/2 convention of some textbooks): "
                           "the notebook's L has no factor 1/2")
def half_mse(y_hat, y):
    return ((y_hat - y) ** 2).mean() / 2


@CATALOGUE.mistake("mse", section=LOSS,
                   message="your mse returns 6578.83, the notebook's example, whatever the inputs: compute it "
                           "from y_hat and y")
def example_loss(y_hat, y):
    return torch.tensor(6578.83)


# ----------------------------------------------------------------- mse_grad


def _residual(X, y, w, b):
    return X @ w + b - y


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your dw and db are exactly half of the expected gradients: the factor 2 from the "
                           "derivative of the square is missing?")
def half_gradient(X, y, w, b):
    error = _residual(X, y, w, b)
    return X.T @ error / len(y), error.sum() / len(y)


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your db is exactly half of the expected one (dw is right): the factor 2 is missing "
                           "from the bias's gradient?")
def half_bias_gradient(X, y, w, b):
    error = _residual(X, y, w, b)
    return 2 * X.T @ error / len(y), error.sum() / len(y)


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your dw is exactly half of the expected one (db is right): the factor 2 is missing "
                           "from the weights' gradient?")
def half_weight_gradient(X, y, w, b):
    error = _residual(X, y, w, b)
    return X.T @ error / len(y), 2 * error.sum() / len(y)


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your gradients have the wrong sign: the residual is y_hat - y (prediction minus "
                           "target), not y - y_hat")
def flipped_sign(X, y, w, b):
    error = _residual(X, y, w, b)
    return -2 * X.T @ error / len(y), -2 * error.sum() / len(y)


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your gradients are n times too large: the loss is a mean, so its gradients are "
                           "means too (divide the sums by n)")
def summed_not_averaged(X, y, w, b):
    error = _residual(X, y, w, b)
    return 2 * X.T @ error, 2 * error.sum()


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your gradients are divided by n twice (e.g. a mean of the residuals, then / n again)")
def divided_by_n_twice(X, y, w, b):
    error = _residual(X, y, w, b)
    n = len(y)
    return 2 * X.T @ error / n**2, 2 * error.sum() / n**2


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your gradients are those of a prediction without the bias: compute the residual "
                           "with predict(X, w, b) - y")
def residual_without_bias(X, y, w, b):
    error = X @ w - y
    return 2 * X.T @ error / len(y), 2 * error.sum() / len(y)


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your db is one value per example: the bias's gradient is their mean, "
                           "2/n * sum(y_hat - y), a 0-d tensor")
def bias_gradient_not_summed(X, y, w, b):
    error = _residual(X, y, w, b)
    return 2 * X.T @ error / len(y), 2 * error / len(y)


@CATALOGUE.mistake("mse_grad", section=GRADIENT,
                   message="your mse_grad returns the notebook's one-example answer (-6128.67, -162.22) "
                           "whatever the inputs: compute it from X, y, w and b")
def example_gradient(X, y, w, b):
    return torch.tensor([-6128.67]), torch.tensor(-162.22)


# ----------------------------------------------------------------- gd_step


@CATALOGUE.mistake("gd_step", section=STEP,
                   message="you stepped along the gradient (uphill): subtract lr * gradient, w - lr * dw")
def steps_uphill(w, b, dw, db, lr):
    return w + lr * dw, b + lr * db


@CATALOGUE.mistake("gd_step", section=STEP,
                   message="your step ignores the learning rate: scale the gradient by lr, w - lr * dw")
def no_learning_rate(w, b, dw, db, lr):
    return w - dw, b - db


@CATALOGUE.mistake("gd_step", section=STEP,
                   message="you divided the gradient by the learning rate: the step is w - lr * dw")
def divided_by_learning_rate(w, b, dw, db, lr):
    return w - dw / lr, b - db / lr


@CATALOGUE.mistake("gd_step", section=STEP,
                   message="you return (b, w): gd_step returns the new (w, b), in that order")
def returns_b_first(w, b, dw, db, lr):
    return b - lr * db, w - lr * dw


@CATALOGUE.mistake("gd_step", section=STEP,
                   message="your gd_step returns the notebook's example answer (6.62867, 0.16222) whatever "
                           "the inputs: compute it from w, b, dw, db and lr")
def example_step(w, b, dw, db, lr):
    return torch.tensor([6.62867]), torch.tensor(0.16222)


# ----------------------------------------------------------------- train_linear


def _train(X, y, lr, epochs, batch_size, *, gradient_scale=1.0, loss_before=False, last_batch_loss=False,
           drop_last=False):
    """Mini-batch gradient descent as the notebook specifies it, with one slip switched on."""
    n = len(X)
    size = n if batch_size is None else batch_size
    w, b = torch.zeros(X.shape[1], dtype=X.dtype), torch.zeros((), dtype=X.dtype)
    losses = []
    for _ in range(epochs):
        if loss_before:
            losses.append(((X @ w + b - y) ** 2).mean().item())
        stop = n - size + 1 if drop_last else n
        for start in range(0, stop, size):
            X_batch, y_batch = X[start:start + size], y[start:start + size]
            error = X_batch @ w + b - y_batch
            batch_loss = (error**2).mean().item()
            dw, db = 2 * X_batch.T @ error / len(y_batch), 2 * error.sum() / len(y_batch)
            w, b = w - lr * gradient_scale * dw, b - lr * gradient_scale * db
        if last_batch_loss:
            losses.append(batch_loss)
        elif not loss_before:
            losses.append(((X @ w + b - y) ** 2).mean().item())
    return w, b, losses


@CATALOGUE.mistake("train_linear", section=TRAINING,
                   message="your loss curve is one epoch late: record the loss after each epoch's steps, "
                           "not before them")
def loss_before_the_epoch(X, y, lr, epochs, batch_size=None):
    return _train(X, y, lr, epochs, batch_size, loss_before=True)


@CATALOGUE.mistake("train_linear", section=TRAINING,
                   message="your losses are those of the epoch's last batch (before its step): record the loss "
                           "on all the data, mse(predict(X, w, b), y), after the epoch")
def loss_of_the_last_batch(X, y, lr, epochs, batch_size=None):
    return _train(X, y, lr, epochs, batch_size, last_batch_loss=True)


@CATALOGUE.mistake("train_linear", section=TRAINING,
                   message="your training ignores batch_size: one step per batch of batch_size rows, in order")
def ignores_batch_size(X, y, lr, epochs, batch_size=None):
    return _train(X, y, lr, epochs, None)


@CATALOGUE.mistake("train_linear", section=TRAINING,
                   message="your training drops the last, smaller batch: it takes a step too")
def drops_the_last_batch(X, y, lr, epochs, batch_size=None):
    return _train(X, y, lr, epochs, batch_size, drop_last=True)


@CATALOGUE.mistake("train_linear", section=GRADIENT,
                   message="your training takes steps half the expected size, as with gradients missing their "
                           "factor 2: check mse_grad")
def half_gradient_steps(X, y, lr, epochs, batch_size=None):
    return _train(X, y, lr, epochs, batch_size, gradient_scale=0.5)


@CATALOGUE.mistake("train_linear", section=TRAINING,
                   message="your w and b are the least-squares best fit, found in closed form (normal equations, "
                           "lstsq): train by gradient descent from w = 0, b = 0 for the given epochs")
def closed_form_fit(X, y, lr, epochs, batch_size=None):
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1).double()
    theta = torch.linalg.lstsq(A, y.double().unsqueeze(1)).solution.squeeze(1).to(X.dtype)
    w, b = theta[:-1], theta[-1]
    return w, b, [((X @ w + b - y) ** 2).mean().item()] * epochs


@CATALOGUE.mistake("train_linear", section=TRAINING,
                   message="your w and b are the notebook's °C -> °F answer (1.8 and 32) whatever the data: "
                           "train on the data you are given")
def notebook_answer(X, y, lr, epochs, batch_size=None):
    w, b = torch.full((X.shape[1],), 1.8, dtype=X.dtype), torch.tensor(32.0, dtype=X.dtype)
    return w, b, [((X @ w + b - y) ** 2).mean().item()] * epochs


# ----------------------------------------------------------------- fit_quadratic


def _fit(x, y, steps, lr, *, start=1.5, zero_grad=True, sign=1.0, loss_scale=None):
    """Gradient descent with autograd as the notebook specifies it, with one slip switched on."""
    abc = torch.full((3,), start, dtype=x.dtype, requires_grad=True)
    for _ in range(steps):
        squares = (abc[0] * x**2 + abc[1] * x + abc[2] - y) ** 2
        loss = squares.sum() if loss_scale == "sum" else squares.mean()
        loss.backward()
        with torch.no_grad():
            abc -= sign * lr * abc.grad
            if zero_grad:
                abc.grad.zero_()
    return abc.detach()


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="the gradient is never zeroed: backward adds to .grad, so each step also repeats all "
                           "the earlier ones; call coefficients.grad.zero_() after the update")
def gradient_not_zeroed(x, y, steps, lr):
    return _fit(x, y, steps, lr, zero_grad=False)


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="your coefficients come in the order [c, b, a]: return [a, b, c], the coefficient "
                           "of x**2 first")
def reversed_coefficients(x, y, steps, lr):
    return _fit(x, y, steps, lr).flip(0)


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="your fit starts from zeros: start from [1.5, 1.5, 1.5]")
def starts_from_zeros(x, y, steps, lr):
    return _fit(x, y, steps, lr, start=0.0)


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="you stepped along the gradient (uphill): subtract lr * coefficients.grad")
def climbs_the_loss(x, y, steps, lr):
    return _fit(x, y, steps, lr, sign=-1.0)


@CATALOGUE.mistake("fit_quadratic", section=LOSS,
                   message="your fit minimizes the sum of the squared errors, not their mean: is mse a sum?")
def summed_loss(x, y, steps, lr):
    return _fit(x, y, steps, lr, loss_scale="sum")


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="your coefficients never move from [1.5, 1.5, 1.5]: is the gradient zeroed before "
                           "the update, or the update made on a copy?")
def never_moves(x, y, steps, lr):
    return torch.full((3,), 1.5, dtype=x.dtype)


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="your coefficients are the least-squares best fit, found in closed form (lstsq, solve, "
                           "normal equations): take the given steps of gradient descent from [1.5, 1.5, 1.5]")
def closed_form_quadratic(x, y, steps, lr):
    A = torch.stack([x**2, x, torch.ones_like(x)], dim=1).double()
    return torch.linalg.lstsq(A, y.double().unsqueeze(1)).solution.squeeze(1).to(x.dtype)


@CATALOGUE.mistake("fit_quadratic", section=AUTOGRAD,
                   message="your fit_quadratic returns the notebook's example answer [3, 2, 1] whatever the data: "
                           "fit the data you are given")
def example_coefficients(x, y, steps, lr):
    return torch.tensor([3.0, 2.0, 1.0])
