"""The mistakes students make in a03_binary_classification (hidden: beside the suite, never released or mounted).

Each function below computes, from the inputs of the student's function, the wrong answer one known slip
gives; the suite compares within ``MISTAKES.diagnose(...)`` and, when a student's value fails the
comparison but reproduces exactly one of these (and that one is not also the right answer on those
inputs), the feedback names it with the notebook section that explains it. Written from the notebook's
formulas, independently of the reference. The comparisons that may meet nan use ``equal_nan=True`` (the
reference never gives nan), so that a mistake whose answer is nan where the student's is can be named.
"""

import torch

from autograder.testing import Catalogue

CATALOGUE = Catalogue()

SIGMOID = "3. From a score to a probability: the sigmoid"
LOSS = "4. Why not MSE? Binary cross-entropy"
METRICS = "5. How good is a filter? Accuracy is not enough"


def _stable_sigmoid(z):
    small = torch.exp(-z.abs())
    return torch.where(z < 0, small / (1.0 + small), 1.0 / (1.0 + small))


# ----------------------------------------------------------------- sigmoid


@CATALOGUE.mistake("sigmoid", section=SIGMOID,
                   message="your sigmoid computes exp(z) / (1 + exp(z)) for every z: exp(z) overflows to inf for "
                           "large z (above 88 in float32) and inf / inf is nan. Use the max trick: for z >= 0 "
                           "compute 1 / (1 + exp(-z)), for z < 0 exp(z) / (1 + exp(z)), so exp only ever sees "
                           "-|z|")
def exp_over_one_plus_exp(z):
    return torch.exp(z) / (1 + torch.exp(z))


@CATALOGUE.mistake("sigmoid", section=SIGMOID,
                   message="your sigmoid is 1 / (1 + exp(z)), the sigmoid of -z: the sign in the exponent is "
                           "flipped (large scores must give probabilities near 1)")
def sign_flipped(z):
    return _stable_sigmoid(-z)


@CATALOGUE.mistake("sigmoid", section=SIGMOID,
                   message="your sigmoid returns float32 for a float64 input: compute in the input's dtype (no "
                           ".float(), no torch.tensor(...) of the default dtype)")
def computed_in_float32(z):
    return _stable_sigmoid(z.float())


# ----------------------------------------------------------------- bce_with_logits


def _log_sigmoid(x):
    return -torch.logaddexp(torch.zeros_like(x), -x)


@CATALOGUE.mistake("bce_with_logits", section=LOSS,
                   message="your loss takes log(sigmoid(x)) and log(1 - sigmoid(x)) directly: for a large logit "
                           "the sigmoid rounds to exactly 1 (or 0), and log(0) = -inf gives an infinite or nan "
                           "loss. Rewrite it with the logits: max(x, 0) - x * y + log(1 + exp(-|x|))")
def log_of_sigmoid(logits, targets):
    p = _stable_sigmoid(logits)
    return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()


@CATALOGUE.mistake("bce_with_logits", section=LOSS,
                   message="your loss is the mean squared error of sigmoid(x) and y, not the binary "
                           "cross-entropy: -[y log s(x) + (1 - y) log(1 - s(x))], averaged")
def mse_of_probabilities(logits, targets):
    return ((_stable_sigmoid(logits) - targets) ** 2).mean()


@CATALOGUE.mistake("bce_with_logits", section=LOSS,
                   message="your loss is the sum of the examples' losses, not their mean: divide by the number "
                           "of examples (.mean())")
def summed(logits, targets):
    return -(targets * _log_sigmoid(logits) + (1 - targets) * _log_sigmoid(-logits)).sum()


@CATALOGUE.mistake("bce_with_logits", section=LOSS,
                   message="your loss is the negative of the binary cross-entropy: the minus sign in front of "
                           "y log s(x) + (1 - y) log(1 - s(x)) is missing (a loss is never negative)")
def minus_sign_missing(logits, targets):
    return (targets * _log_sigmoid(logits) + (1 - targets) * _log_sigmoid(-logits)).mean()


@CATALOGUE.mistake("bce_with_logits", section=LOSS,
                   message="you applied the sigmoid to the logits and then the cross-entropy with logits, so "
                           "the sigmoid is applied twice: the logits go straight into the formula")
def sigmoid_twice(logits, targets):
    p = _stable_sigmoid(logits)
    return -(targets * _log_sigmoid(p) + (1 - targets) * _log_sigmoid(-p)).mean()


@CATALOGUE.mistake("bce_with_logits", section=LOSS,
                   message="your loss swaps y and 1 - y: it rewards predicting spam for ham. The term "
                           "y log s(x) belongs to the spam examples (y = 1)")
def targets_swapped(logits, targets):
    return -((1 - targets) * _log_sigmoid(logits) + targets * _log_sigmoid(-logits)).mean()


# ----------------------------------------------------------------- binary_metrics


def _counts(y_true, y_pred):
    t = torch.as_tensor(y_true).reshape(-1) != 0
    p = torch.as_tensor(y_pred).reshape(-1) != 0
    return ((t & p).sum().item(), (~t & ~p).sum().item(), (~t & p).sum().item(), (t & ~p).sum().item())


def _share(top, bottom):
    return top / bottom if bottom else 0.0


@CATALOGUE.mistake("binary_metrics", section=METRICS,
                   message="your sensitivity and specificity are swapped: sensitivity is the share of the actual "
                           "spam (y = 1) that was caught, TP / (TP + FN); specificity the share of the actual ham "
                           "let through, TN / (TN + FP)")
def sensitivity_specificity_swapped(y_true, y_pred):
    tp, tn, fp, fn = _counts(y_true, y_pred)
    return {"accuracy": _share(tp + tn, tp + tn + fp + fn), "sensitivity": _share(tn, tn + fp),
            "specificity": _share(tp, tp + fn), "precision": _share(tp, tp + fp)}


@CATALOGUE.mistake("binary_metrics", section=METRICS,
                   message="your precision is the sensitivity again, TP / (TP + FN): precision asks among the "
                           "messages predicted spam, TP / (TP + FP)")
def precision_is_recall(y_true, y_pred):
    tp, tn, fp, fn = _counts(y_true, y_pred)
    return {"accuracy": _share(tp + tn, tp + tn + fp + fn), "sensitivity": _share(tp, tp + fn),
            "specificity": _share(tn, tn + fp), "precision": _share(tp, tp + fn)}


@CATALOGUE.mistake("binary_metrics", section=METRICS,
                   message="your metrics treat ham (0) as the positive class: spam (1 / True) is the positive "
                           "class, the one sensitivity and precision are about")
def ham_is_positive(y_true, y_pred):
    tp, tn, fp, fn = _counts(y_true, y_pred)
    return {"accuracy": _share(tp + tn, tp + tn + fp + fn), "sensitivity": _share(tn, tn + fp),
            "specificity": _share(tp, tp + fn), "precision": _share(tn, tn + fn)}


@CATALOGUE.mistake("binary_metrics", section=METRICS,
                   message="a ratio whose denominator is 0 (no spam in y_true, no spam predicted, no ham, or no "
                           "messages at all) came back as nan: an undefined ratio is 0.0")
def undefined_is_nan(y_true, y_pred):
    tp, tn, fp, fn = _counts(y_true, y_pred)

    def nan_share(top, bottom):
        return top / bottom if bottom else float("nan")

    return {"accuracy": nan_share(tp + tn, tp + tn + fp + fn), "sensitivity": nan_share(tp, tp + fn),
            "specificity": nan_share(tn, tn + fp), "precision": nan_share(tp, tp + fp)}
