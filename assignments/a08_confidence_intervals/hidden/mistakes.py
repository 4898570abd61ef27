"""The mistakes students make in a08_confidence_intervals (hidden: beside the suite, never released or mounted).

Each function below computes, from the inputs of the student's function, the wrong answer one known slip
gives; the suite compares within ``MISTAKES.diagnose(...)`` and, when a student's value fails the
comparison but reproduces exactly one of these (and that one is not also the right answer on those
inputs), the feedback names it with the notebook section that explains it. Written from the notebook's
formulas, independently of the reference. ``normal_approx_ci``'s mistakes return plain floats (the suite
compares the student's interval as two floats); ``conformal_sets``' return bool masks. The bootstrap's
slips are named by its own distributional check in the suite (its resampling is random, so no single
wrong answer can be reproduced).
"""

import math
from statistics import NormalDist

import torch

from autograder.testing import Catalogue

CATALOGUE = Catalogue()

NORMAL = "2. How sure is an accuracy? The normal approximation"
CONFORMAL = "5. Conformal prediction: a set of answers with a guarantee"


# ----------------------------------------------------------------- normal_approx_ci


def _interval(accuracy, half_width):
    return float(accuracy) - half_width, float(accuracy) + half_width


def _spread(accuracy, n):
    acc = float(accuracy)
    return math.sqrt(acc * (1 - acc) / n)


@CATALOGUE.mistake("normal_approx_ci", section=NORMAL,
                   message="your interval uses the one-sided quantile z = Phi^-1(confidence) (1.645 for 95 %): "
                           "a two-sided interval leaves (1 - confidence) / 2 in each tail, so z = "
                           "Phi^-1((1 + confidence) / 2) (1.96 for 95 %)")
def one_sided_z(accuracy, n, confidence=0.95):
    return _interval(accuracy, NormalDist().inv_cdf(confidence) * _spread(accuracy, n))


@CATALOGUE.mistake("normal_approx_ci", section=NORMAL,
                   message="your interval is clipped to [0, 1]: the normal approximation's interval is "
                           "accuracy +- z * sqrt(accuracy (1 - accuracy) / n) as it is, even where it reaches "
                           "past 1 (that overshoot is the approximation's warning that n is small)")
def clipped(accuracy, n, confidence=0.95):
    low, high = _interval(accuracy, NormalDist().inv_cdf((1 + confidence) / 2) * _spread(accuracy, n))
    return max(low, 0.0), min(high, 1.0)


@CATALOGUE.mistake("normal_approx_ci", section=NORMAL,
                   message="your interval uses z = 1.96 whatever the confidence: 1.96 belongs to 95 % only; "
                           "compute z = Phi^-1((1 + confidence) / 2) from the confidence you are given")
def z_always_196(accuracy, n, confidence=0.95):
    return _interval(accuracy, 1.96 * _spread(accuracy, n))


@CATALOGUE.mistake("normal_approx_ci", section=NORMAL,
                   message="your half-width is z * accuracy (1 - accuracy) / n, the variance: the standard error "
                           "is its square root, sqrt(accuracy (1 - accuracy) / n)")
def variance_not_standard_error(accuracy, n, confidence=0.95):
    acc = float(accuracy)
    return _interval(acc, NormalDist().inv_cdf((1 + confidence) / 2) * acc * (1 - acc) / n)


@CATALOGUE.mistake("normal_approx_ci", section=NORMAL,
                   message="your half-width divides by n outside the square root, z * sqrt(accuracy (1 - "
                           "accuracy)) / n: the standard error is sqrt(accuracy (1 - accuracy) / n), n inside")
def n_outside_the_root(accuracy, n, confidence=0.95):
    acc = float(accuracy)
    return _interval(acc, NormalDist().inv_cdf((1 + confidence) / 2) * math.sqrt(acc * (1 - acc)) / n)


# ----------------------------------------------------------------- conformal_sets


def _true_class_probs(cal_probs, cal_labels):
    return cal_probs[torch.arange(cal_probs.shape[0]), cal_labels.long()]


def _kth_smallest(values, k):
    # values sorted ascending, the k-th (1-based); +inf when there is no k-th
    ordered = torch.sort(values).values
    return ordered[k - 1] if k <= len(ordered) else torch.tensor(math.inf, dtype=values.dtype)


@CATALOGUE.mistake("conformal_sets", section=CONFORMAL,
                   message="your threshold is the k-th smallest score with k = ceil(n (1 - alpha)): the "
                           "finite-sample correction is missing, k = ceil((n + 1) (1 - alpha)) (the test point "
                           "counts as one more), so your sets cover a little less than 1 - alpha")
def no_n_plus_one(cal_probs, cal_labels, test_probs, alpha=0.1):
    scores = 1 - _true_class_probs(cal_probs, cal_labels)
    return 1 - test_probs <= _kth_smallest(scores, math.ceil(len(scores) * (1 - alpha)))


@CATALOGUE.mistake("conformal_sets", section=CONFORMAL,
                   message="your score is the probability of the true class, p, not 1 - p: a score measures how "
                           "badly the model fits the answer (large = surprising), so it is 1 - p, and a class "
                           "joins the set when 1 - p_class <= q_hat")
def score_is_the_probability(cal_probs, cal_labels, test_probs, alpha=0.1):
    scores = _true_class_probs(cal_probs, cal_labels)
    return test_probs <= _kth_smallest(scores, math.ceil((len(scores) + 1) * (1 - alpha)))


@CATALOGUE.mistake("conformal_sets", section=CONFORMAL,
                   message="your sets keep a class when its score is strictly below q_hat (<): a class whose "
                           "score equals q_hat belongs to the set too (<=), or ties break the guarantee")
def strictly_below(cal_probs, cal_labels, test_probs, alpha=0.1):
    scores = 1 - _true_class_probs(cal_probs, cal_labels)
    return 1 - test_probs < _kth_smallest(scores, math.ceil((len(scores) + 1) * (1 - alpha)))


@CATALOGUE.mistake("conformal_sets", section=CONFORMAL,
                   message="your threshold is the (k + 1)-th smallest score, as torch.quantile(scores, k / n, "
                           "interpolation='higher') gives (it counts positions from 0 over n - 1 gaps): take the "
                           "k-th smallest exactly, torch.sort(scores).values[k - 1]")
def quantile_higher_at_k_over_n(cal_probs, cal_labels, test_probs, alpha=0.1):
    scores = 1 - _true_class_probs(cal_probs, cal_labels)
    k = math.ceil((len(scores) + 1) * (1 - alpha))
    return 1 - test_probs <= torch.quantile(scores, k / len(scores), interpolation="higher")


@CATALOGUE.mistake("conformal_sets", section=CONFORMAL,
                   message="when k = ceil((n + 1) (1 - alpha)) is larger than n, your threshold is the largest "
                           "calibration score: with too few calibration examples no finite threshold keeps the "
                           "guarantee, so q_hat = +inf and every class is in every set")
def k_capped_at_n(cal_probs, cal_labels, test_probs, alpha=0.1):
    scores = 1 - _true_class_probs(cal_probs, cal_labels)
    return 1 - test_probs <= _kth_smallest(scores, min(math.ceil((len(scores) + 1) * (1 - alpha)), len(scores)))


@CATALOGUE.mistake("conformal_sets", section=CONFORMAL,
                   message="your k is ceil((n + 1) alpha): alpha is the share of errors allowed, the sets must "
                           "cover 1 - alpha, so k = ceil((n + 1) (1 - alpha))")
def alpha_taken_as_coverage(cal_probs, cal_labels, test_probs, alpha=0.1):
    scores = 1 - _true_class_probs(cal_probs, cal_labels)
    return 1 - test_probs <= _kth_smallest(scores, math.ceil((len(scores) + 1) * alpha))

