"""The mistakes students make in a04_neural_networks (hidden: beside the suite, never released or mounted).

Each function computes, from the inputs the suite gave the student's code, the wrong answer one known
slip gives; the suite compares within ``MISTAKES.diagnose(...)`` and names a mistake only when the
student's value reproduces it (see docs/suite-authoring.md, section 14). Written from the notebook's
formulas, independently of the reference.

The training-loop mistakes are keyed by what the suite compares: ``train_classifier`` for the losses a
call returns, ``train_classifier weights`` for the single neuron's state after it. Their inputs are the
neuron's starting state, X, y, epochs, batch_size and lr; the suite uses them only where the order of the
batches cannot matter (lr = 0, or one batch of all the rows), so each mistake is deterministic.
"""

import torch
import torch.nn.functional as F
from torch import nn

from autograder.testing import Catalogue, Mistake

CATALOGUE = Catalogue()

RELU = "2. Breaking the linearity: ReLU"
NETWORK = "3. From neuron to network: `nn.Sequential`"
TRAINING = "4. Training the network: backpropagation, Adam, mini-batches"
LOANS = "6. Exercise: predicting loan approvals"

LOAN_NUMBERS = ["person_income", "loan_percent_income", "credit_history_years"]
LOAN_INTENTS = ["education", "medical", "personal", "venture"]


# ----------------------------------------------------------------- relu


@CATALOGUE.mistake("relu", section=RELU,
                   message="your relu returns 1 where x > 0 and 0 elsewhere: that is its slope (the mask x > 0); "
                           "relu keeps the value itself where x > 0")
def slope_instead_of_value(x):
    return (x > 0).to(x.dtype)


@CATALOGUE.mistake("relu", section=RELU,
                   message="your relu keeps the negative part and zeroes the positive one: max(0, x), not min(0, x)")
def negative_part(x):
    return torch.clamp(x, max=0)


@CATALOGUE.mistake("relu", section=RELU,
                   message="your relu returns |x|: negative inputs must become 0, not change sign")
def absolute_value(x):
    return x.abs()


@CATALOGUE.mistake("relu", section=RELU,
                   message="your relu lets a small slope through for negative inputs (a leaky ReLU): relu sets "
                           "them to exactly 0")
def leaky(x):
    return torch.where(x > 0, x, 0.01 * x)


# ----------------------------------------------------------------- build_mlp (its forward pass, from its own weights)


def _layers(state):
    first_w, first_b, second_w, second_b = (value.double() for value in state.values())
    return first_w, first_b, second_w, second_b


@CATALOGUE.mistake("build_mlp", section=NETWORK,
                   message="your network has no ReLU between its two layers: two Linear layers in a row are still "
                           "one straight-line model")
def no_relu(state, X):
    first_w, first_b, second_w, second_b = _layers(state)
    return ((X.double() @ first_w.T + first_b) @ second_w.T + second_b).to(X.dtype)


@CATALOGUE.mistake("build_mlp", section=NETWORK,
                   message="your network ends with a ReLU after the last Linear layer: its outputs are logits and "
                           "must be able to go negative (nothing after the last layer)")
def relu_after_output(state, X):
    first_w, first_b, second_w, second_b = _layers(state)
    return torch.relu(torch.relu(X.double() @ first_w.T + first_b) @ second_w.T + second_b).to(X.dtype)


@CATALOGUE.mistake("build_mlp", section=NETWORK,
                   message="your network ends with a sigmoid: it must return logits (nn.BCEWithLogitsLoss applies "
                           "the sigmoid itself)")
def sigmoid_output(state, X):
    first_w, first_b, second_w, second_b = _layers(state)
    return torch.sigmoid(torch.relu(X.double() @ first_w.T + first_b) @ second_w.T + second_b).to(X.dtype)


# ----------------------------------------------------------------- train_classifier


def _bce(logits, y):
    return F.binary_cross_entropy_with_logits(logits, y)


def _mse_on_sigmoid(logits, y):
    return F.mse_loss(torch.sigmoid(logits), y)


def _bce_on_sigmoid(logits, y):
    return F.binary_cross_entropy_with_logits(torch.sigmoid(logits), y)


def _bce_summed(logits, y):
    return F.binary_cross_entropy_with_logits(logits, y, reduction="sum")


def _train(start, X, y, epochs, batch_size, lr, *, loss=_bce, optimizer=torch.optim.Adam, zero_grad=True,
           epoch_loss="mean"):
    """The single neuron trained with batches in order (the suite's calls make the order irrelevant)."""
    model = nn.Linear(start["weight"].shape[1], 1)
    model.load_state_dict(start)
    step = optimizer(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        batch_losses = []
        for first in range(0, len(X), batch_size):
            rows = slice(first, first + batch_size)
            if zero_grad:
                step.zero_grad()
            value = loss(model(X[rows]).reshape(-1), y[rows])
            value.backward()
            step.step()
            batch_losses.append(value.item())
        losses.append(sum(batch_losses) if epoch_loss == "sum" else sum(batch_losses) / len(batch_losses))
    return {key: value.detach() for key, value in model.state_dict().items()}, losses


def _both(fn, message):
    """Register ``fn`` (returning state and losses) for the losses and for the weights the suite compares."""
    CATALOGUE.add("train_classifier", _mistake(f"{fn.__name__}_losses", lambda *a: fn(*a)[1], message))
    CATALOGUE.add("train_classifier weights", _mistake(f"{fn.__name__}_weights", lambda *a: fn(*a)[0], message))
    return fn


def _mistake(name, compute, message):
    return Mistake(name, compute, message, TRAINING)


def mse_on_sigmoid(*args):
    return _train(*args, loss=_mse_on_sigmoid)


def sigmoid_before_bce(*args):
    return _train(*args, loss=_bce_on_sigmoid)


def no_zero_grad(*args):
    return _train(*args, zero_grad=False)


def sgd_not_adam(*args):
    return _train(*args, optimizer=torch.optim.SGD)


_both(mse_on_sigmoid, "you train with the mean squared error of the sigmoid's outputs, as for a regression: a "
                     "classifier's loss is the binary cross-entropy of the logits, nn.BCEWithLogitsLoss()")
_both(sigmoid_before_bce, "you apply a sigmoid before nn.BCEWithLogitsLoss, which applies one itself: give it "
                         "the raw logits")
_both(no_zero_grad, "optimizer.zero_grad() is missing: backward() adds to .grad, so each step uses the sum of "
                     "all gradients so far; call zero_grad() before every backward()")
_both(sgd_not_adam, "you train with plain SGD: the assignment asks for torch.optim.Adam(model.parameters(), lr=lr)")


@CATALOGUE.mistake("train_classifier weights", section=TRAINING,
                   message="the model you were given did not change: train it, not a copy (no copy.deepcopy, no "
                           "new model); the caller's model is the trained one afterwards")
def trained_a_copy(start, X, y, epochs, batch_size, lr):
    return {key: value.clone() for key, value in start.items()}


@CATALOGUE.mistake("train_classifier", section=TRAINING,
                   message="each epoch's loss is the sum of its batches' losses: report their mean (divide by the "
                           "number of batches)")
def epoch_sum_of_batch_losses(start, X, y, epochs, batch_size, lr):
    return _train(start, X, y, epochs, batch_size, lr, epoch_loss="sum")[1]


@CATALOGUE.mistake("train_classifier", section=TRAINING,
                   message="your loss sums over the rows of a batch (reduction='sum'): nn.BCEWithLogitsLoss() "
                           "takes the mean, so the loss does not grow with the batch size")
def summed_over_rows(start, X, y, epochs, batch_size, lr):
    return _train(start, X, y, epochs, batch_size, lr, loss=_bce_summed)[1]


@CATALOGUE.mistake("train_classifier", section=TRAINING,
                   message="you return only the last epoch's loss: return the list of every epoch's loss")
def last_epoch_only(start, X, y, epochs, batch_size, lr):
    return _train(start, X, y, epochs, batch_size, lr)[1][-1]


# ----------------------------------------------------------------- loan_features


def _intents(frame, levels):
    codes = [levels.index(value) if value in levels else -1 for value in frame["loan_intent"]]
    one_hot = torch.zeros(len(codes), len(levels), dtype=torch.float64)
    for row, code in enumerate(codes):
        if code >= 0:
            one_hot[row, code] = 1.0
    return one_hot


def _numbers(frame):
    return torch.tensor(frame[LOAN_NUMBERS].to_numpy(dtype="float64"))


def _standardized(frame):
    numbers = _numbers(frame)
    return (numbers - numbers.mean(dim=0)) / numbers.std(dim=0)


@CATALOGUE.mistake("loan_features", section=LOANS,
                   message="the numeric columns are not standardized: incomes in the tens of thousands swamp the "
                           "other inputs; subtract each column's mean and divide by its standard deviation")
def not_standardized(frame):
    return torch.cat([_numbers(frame), _intents(frame, LOAN_INTENTS)], dim=1).float()


@CATALOGUE.mistake("loan_features", section=LOANS,
                   message="you dropped the first loan_intent level (drop_first=True): this exercise keeps one "
                           "column for each of the four intents (education, medical, personal, venture)")
def first_level_dropped(frame):
    return torch.cat([_standardized(frame), _intents(frame, LOAN_INTENTS[1:])], dim=1).float()


@CATALOGUE.mistake("loan_features", section=LOANS,
                   message="every column is standardized, the dummies too: standardize the three numeric columns "
                           "only and keep the dummies as 0 and 1")
def dummies_standardized(frame):
    both = torch.cat([_numbers(frame), _intents(frame, LOAN_INTENTS)], dim=1)
    return ((both - both.mean(dim=0)) / both.std(dim=0)).float()


@CATALOGUE.mistake("loan_features", section=LOANS,
                   message="the dummy columns come before the numeric ones: the numbers first, then the dummies")
def dummies_first(frame):
    return torch.cat([_intents(frame, LOAN_INTENTS), _standardized(frame)], dim=1).float()
