"""The mistakes students make in a05_multiclass_mnist (hidden: beside the suite, never released or mounted).

Each function below computes, from the inputs of the student's function, the wrong answer one known
slip gives; the suite compares within ``MISTAKES.diagnose(...)`` and, when a student's value fails the
comparison but reproduces exactly one of these (and that one is not also the right answer on those
inputs), the feedback names it with the notebook section that explains it. Written from the notebook's
formulas, independently of the reference.

Not catalogued, because a comparison cannot name them: a softmax without the max shift (its nan or inf
never equals anything; the plain message says "got nan or inf" and the hint names the shift), the log of
a softmax in the cross entropy (right for ordinary logits, inf for large ones: the same), and the
training loop's slips (its model and loader are handles, which a mistake cannot take: the hints of the
training tests name them).
"""

import torch

from autograder.testing import Catalogue

CATALOGUE = Catalogue()

ONE_HOT = "2. Ten classes: one-hot encoding"
SOFTMAX = "3. From ten scores to ten probabilities: softmax"
CROSS_ENTROPY = "4. How wrong is the network? The cross-entropy loss"


def _hot(labels, num_classes, dtype=torch.float32):
    return (labels.unsqueeze(-1) == torch.arange(num_classes)).to(dtype)


def _probabilities(logits, dim):
    exps = (logits - logits.max(dim=dim, keepdim=True).values).exp()
    return exps / exps.sum(dim=dim, keepdim=True)


def _per_example(logits, labels):
    top = logits.max(dim=1, keepdim=True).values
    log_sum_exp = top.squeeze(1) + (logits - top).exp().sum(dim=1).log()
    return log_sum_exp - logits[torch.arange(len(labels)), labels]


# ----------------------------------------------------------------- one_hot


@CATALOGUE.mistake("one_hot", section=ONE_HOT,
                   message="your one-hot rows are int64 (F.one_hot's dtype): the targets are floats, add .float()")
def integer_rows(labels, num_classes):
    return _hot(labels, num_classes, torch.int64)


@CATALOGUE.mistake("one_hot", section=ONE_HOT,
                   message="your rows are as wide as the largest label + 1, not num_classes: pass num_classes "
                           "(a batch need not contain every class)")
def width_from_largest_label(labels, num_classes):
    return _hot(labels, int(labels.max()) + 1)


@CATALOGUE.mistake("one_hot", section=ONE_HOT,
                   message="your one-hot rows are float64: return float32 (torch's default float dtype)")
def double_rows(labels, num_classes):
    return _hot(labels, num_classes, torch.float64)


@CATALOGUE.mistake("one_hot", section=ONE_HOT,
                   message="your result is transposed: one row per label (shape (n, num_classes)), not one "
                           "row per class")
def one_row_per_class(labels, num_classes):
    return _hot(labels, num_classes).T


# ----------------------------------------------------------------- softmax


@CATALOGUE.mistake("softmax", section=SOFTMAX,
                   message="your softmax always normalizes over the last dimension: use the dim you are given")
def always_last_dim(logits, dim=-1):
    return _probabilities(logits, -1)


@CATALOGUE.mistake("softmax", section=SOFTMAX,
                   message="your softmax normalizes over dimension 0 (down the batch): each row of scores, along "
                           "dim, must sum to 1")
def over_dim_zero(logits, dim=-1):
    return _probabilities(logits, 0)


@CATALOGUE.mistake("softmax", section=SOFTMAX,
                   message="your softmax divides by the sum over the whole tensor: sum along dim only "
                           "(keepdim=True), so each row sums to 1")
def whole_tensor_sum(logits, dim=-1):
    exps = (logits - logits.max()).exp()
    return exps / exps.sum()


@CATALOGUE.mistake("softmax", section=SOFTMAX,
                   message="your softmax returns the log of the probabilities (log-softmax): exponentiate, "
                           "exp(z_i - m) / sum_j exp(z_j - m)")
def log_probabilities(logits, dim=-1):
    return _probabilities(logits, dim).log()


@CATALOGUE.mistake("softmax", section=SOFTMAX,
                   message="your softmax returns float32 for float64 logits: keep the input's dtype (no "
                           ".float(), no torch.tensor(...) of the default dtype)")
def computed_in_float32(logits, dim=-1):
    return _probabilities(logits.float(), dim)


# ----------------------------------------------------------------- cross_entropy


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss is the sum over the batch, not the mean: divide by the batch size")
def summed_over_batch(logits, labels):
    return _per_example(logits, labels).sum()


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss returns one value per example: average them into one number (a 0-d tensor)")
def not_averaged(logits, labels):
    return _per_example(logits, labels)


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss has the wrong sign: it is -log p_y = logsumexp(z) - z_y (positive)")
def negated(logits, labels):
    return -_per_example(logits, labels).mean()


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss is divided by the number of classes too: -(one_hot * log p).mean() averages "
                           "over all batch x classes entries; sum over the classes, then average over the batch")
def mean_over_classes_too(logits, labels):
    return _per_example(logits, labels).mean() / logits.shape[1]


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss applies softmax to the logits first (softmax twice): the cross-entropy "
                           "takes the raw scores")
def softmax_twice(logits, labels):
    return _per_example(_probabilities(logits, 1), labels).mean()


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss is the mean squared error between the softmax and the one-hot targets: "
                           "use -log p_y = logsumexp(z) - z_y")
def squared_error_of_probabilities(logits, labels):
    target = _hot(labels, logits.shape[1], logits.dtype)
    return ((_probabilities(logits, 1) - target) ** 2).mean()


@CATALOGUE.mistake("cross_entropy", section=CROSS_ENTROPY,
                   message="your loss is float32 for float64 logits: keep the logits' dtype")
def loss_in_float32(logits, labels):
    return _per_example(logits.float(), labels).mean()
