"""Hidden suite of a08_confidence_intervals: the normal-approximation interval, the percentile bootstrap, and
split conformal prediction sets, with their coverage on a hidden split.

Inputs come from ``rng`` (secret per grading run). ``normal_approx_ci`` and ``conformal_sets`` are
deterministic and compared with the reference: the interval as two floats (a tuple of Python floats or
0-d tensors) at ``rtol = 1e-5, atol = 1e-6`` (float32 arithmetic on a float32 accuracy stays within 1e-7),
the mask exactly. Every probability the suite sends is a multiple of 2^-20 (rows summing exactly to 1),
so ``1 - p``, ``1 - (1 - p)`` and every comparison are exact in float32 and float64 alike and any honest
way of writing "score <= q_hat" gives the same mask; alpha and n are drawn so that (n + 1)(1 - alpha)
lies at least 1e-3 from an integer, so any honest computation of k = ceil((n + 1)(1 - alpha)) agrees.
The exact tests send the calibration rows again among the test rows, and one row whose score lies
strictly between the (k - 1)-th and k-th smallest calibration scores: a test entry then sits exactly on
q_hat, on every other calibration score and inside the gap below q_hat, so a threshold that differs at
all (no (n + 1) correction, the (k + 1)-th score, strict <) changes the mask, and no two of those slips
give the same mask (the feedback can name each). The draws make k < n, k differ from ceil(n (1 - alpha)),
and the (k - 1)-th, k-th and (k + 1)-th smallest scores differ, so each slip shows under every seed.

The bootstrap (its resampling is the student's own: any generator, any percentile convention) is held to
(1) reproducibility: the same seed twice gives the same interval; (2) exact answers where resampling cannot
vary (all right, all wrong, one example, one round: lower = upper, a possible accuracy k / n); and (3) its
distribution. Resampling n labelled examples with replacement from a test set with r right answers gives
exactly K ~ Binomial(n, r / n) right answers: F, the exact bootstrap distribution of the accuracy K / n,
is known (``reference.bootstrap_cdf``). With B = n_rounds rounds, the student's lower bound L must sit at
F's percentile q = (1 - confidence) / 2: F(L) >= q - delta and F(L-) <= q + delta (F(L-) = P(K / n < L));
the upper bound U likewise at 1 - q. Any percentile convention (interpolated, nearest rank, 0- or 1-based)
lies between the order statistics ceil(qB) - 1 and floor(qB) + 2, so failing either inequality needs the
empirical CDF of the B resampled accuracies to stray from F by more than t = delta - 1/B at one fixed
point (the largest lattice point with F < q - delta, or the smallest with F > q + delta; the bound below
is worst where F there is q -+ delta); Bernstein's inequality bounds each of those four events per call by
exp(-B t^2 / (2 (v + t / 3))), v = (q + delta)(1 - q - delta). ``percentile_slack`` takes delta as twice
the smallest value that keeps the four events of all ``BOOTSTRAP_CALLS`` calls of a grading under 1e-6
together, so that a correct bootstrap fails with probability below 1e-6 even at the author check's half
tolerance (and far below at the full one). B = 20,000: delta = 0.0265 at q = 0.1, 0.0309 at q = 0.15.
Confidence is 0.8 or 0.7 in these tests: the common slip of taking the (1 - c) and c percentiles then puts
the lower bound at the 20 % or 30 % point, and even after F's largest step there it lies beyond q + delta
by at least 12 standard deviations of the resampling (worst case computed over n of 600 to 900 and
accuracies of 0.66 to 0.94), so it fails under every seed. Resampling y_true and y_pred separately puts the
accuracy at chance level, far outside.

The coverage test: a hidden split whose labels never enter the kernel, drawn from a stated process. A
model's scores z ~ N(0, s^2 I_K) (K from 5 to 12 classes, s from 1.5 to 3) give its probabilities
softmax(z), sent as multiples of 2^-20; the true label is drawn from softmax(t z), t from 0.6 to 1.6
(t < 1: an overconfident model), so the probabilities are miscalibrated but every example is drawn
independently of the others, which is all the conformal guarantee needs. 20,000 calibration rows (with
labels) and 20,000 test rows (without) go in; the grader scores the returned mask against the labels
it kept. For continuous scores the coverage given the calibration set is Beta(k, n + 1 - k); with ties
it is only larger. So the number of covered test rows is at least BetaBinomial(m, k, n + 1 - k): for
n = m = 20,000 and alpha up to 0.15 (drawn from 0.05 to 0.15), a correct solution falls below
1 - alpha - 0.03 with probability 2.7e-16 (1.8e-5 at the author check's half tolerance, 0.015; scipy's
betabinom.cdf). The sets must also be no larger on average than the reference's (the same sets, as the
function is deterministic) plus 0.1 class: an all-True mask covers everything and fails there.
"""

import math
from pathlib import Path

import torch

from autograder.testing import (
    ComparisonError,
    assert_at_least,
    assert_at_most,
    assert_close,
    describe_inputs,
    grade_cell,
    load_catalogue,
    points,
)

SUITE_VERSION = "a08-1"

MISTAKES = load_catalogue(Path(__file__).with_name("mistakes.py"))

RESOLUTION = 2.0**-20                 # every probability sent is a multiple of this: exact arithmetic
INTERVAL_RTOL, INTERVAL_ATOL = 1e-5, 1e-6
BOOTSTRAP_ROUNDS = 20_000
BOOTSTRAP_CALLS = 4                   # distributional calls per grading (two tests of two calls)
FAILURE_BUDGET = 1e-6                 # for a correct bootstrap, all calls together
COVERAGE_ROWS, COVERAGE_MARGIN, SIZE_SLACK = 20_000, 0.03, 0.1
ALPHAS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)

NORMAL_HINT = ("accuracy +- z * sqrt(accuracy (1 - accuracy) / n), z = Phi^-1((1 + confidence) / 2) the "
               "two-sided quantile of the standard normal (statistics.NormalDist().inv_cdf), not clipped to "
               "[0, 1]; a tuple (lower, upper) of two Python floats")
BOOTSTRAP_HINT = ("resample the n (y_true, y_pred) pairs with replacement n_rounds times with a generator seeded "
                  "by seed (torch.Generator().manual_seed(seed)), compute each resample's accuracy, and return "
                  "the (1 - confidence) / 2 and (1 + confidence) / 2 percentiles of those accuracies as two "
                  "Python floats")
CONFORMAL_HINT = ("scores = 1 - cal_probs[i, cal_labels[i]]; k = ceil((n + 1) (1 - alpha)); q_hat = the k-th "
                  "smallest score (+inf when k > n); the mask is (1 - test_probs) <= q_hat, a bool tensor of "
                  "shape (m, K)")


# ----------------------------------------------------------------------------------------------- helpers

def as_interval(value, call, hint):
    """The student's (lower, upper) as two floats; a clear message for anything else."""
    if type(value) in (tuple, list) and len(value) == 2:
        bounds = []
        for bound in value:
            if type(bound) in (int, float):
                bounds.append(float(bound))
            elif isinstance(bound, torch.Tensor) and bound.dim() == 0 and bound.dtype.is_floating_point:
                bounds.append(float(bound))
            else:
                break
        else:
            return tuple(bounds)
    got = (f"a {type(value).__name__} of {len(value)}" if type(value) in (tuple, list)
           else f"a tensor of shape {list(value.shape)}" if isinstance(value, torch.Tensor)
           else f"a {type(value).__name__}")
    raise ComparisonError(f"{call} -> got {got}; expected a tuple (lower, upper) of two Python floats (or 0-d "
                          f"float tensors).\nHint: {hint}")


def check_normal(student, reference, *args, hint=NORMAL_HINT):
    names = ("accuracy", "n", "confidence")[:len(args)]
    inputs = dict(zip(names, args, strict=True))
    call = f"normal_approx_ci({describe_inputs(inputs)})"
    got = as_interval(student.normal_approx_ci(*args), call, hint)
    with MISTAKES.diagnose("normal_approx_ci", *args):
        assert_close(got, reference.normal_approx_ci(*args), fn="normal_approx_ci", inputs=inputs,
                     rtol=INTERVAL_RTOL, atol=INTERVAL_ATOL, check_dtype=False, what="(lower, upper)", hint=hint)


def not_near_integer(n, alpha):
    product = (n + 1) * (1 - alpha)
    return abs(product - round(product)) > 1e-3


def quantized_probs(rng, rows, classes, scale, dtype):
    """Probabilities softmax(z), z ~ N(0, scale^2), as multiples of 2^-20 whose rows sum exactly to 1.

    Returns the probabilities and the scores z (to draw labels from)."""
    z = rng.normal((rows, classes), dtype=torch.float64, std=scale)
    probs = torch.floor(torch.softmax(z, dim=1) / RESOLUTION) * RESOLUTION
    top = probs.argmax(dim=1)
    rest = probs.sum(dim=1) - probs[torch.arange(rows), top]
    probs[torch.arange(rows), top] = 1.0 - rest  # exact: every term is a multiple of 2^-20
    return probs.to(dtype), z


def conformal_case(rng, n_range, m_range, dtype, repeats=False):
    """Calibration data and test rows for an exact comparison, drawn until every threshold slip shows.

    The test rows are fresh rows plus the calibration rows again, in a secret order. ``repeats``: a third of
    the calibration examples are copies of others (same probabilities, same label), so scores tie.
    """
    for _ in range(1000):
        n = int(rng.integers(*n_range, ()))
        alpha = ALPHAS[int(rng.integers(0, len(ALPHAS), ()))]
        classes = int(rng.integers(3, 11, ()))
        m = int(rng.integers(*m_range, ()))
        copies = n // 3 if repeats else 0
        probs, _ = quantized_probs(rng, n - copies + m, classes, float(rng.uniform((), low=1.0, high=3.0)), dtype)
        labels = torch.multinomial(probs.double(), 1, generator=rng.generator).reshape(-1)
        rows = torch.cat([torch.arange(n - copies), rng.integers(0, n - copies, (copies,))])
        rows = rows[torch.randperm(n, generator=rng.generator)]
        cal_probs, cal_labels = probs[rows], labels[rows]
        k, k_without = math.ceil((n + 1) * (1 - alpha)), math.ceil(n * (1 - alpha))
        scores = torch.sort(1 - cal_probs[torch.arange(n), cal_labels]).values
        # k < n, and the (k - 1)-th, k-th and (k + 1)-th smallest scores all different: every slip shows
        if not (not_near_integer(n, alpha) and k < n and k != k_without and scores[k - 2] < scores[k - 1] < scores[k]):
            continue
        # One more test row, with a score strictly between the (k - 1)-th and k-th smallest (a multiple of
        # 2^-21: still exact in float32), so "strictly below q_hat" and "no (n + 1)" never give the same mask.
        between = torch.zeros(1, classes, dtype=torch.float64)
        middle = (scores[k - 2].double() + scores[k - 1].double()) / 2
        between[0, 0], between[0, 1] = 1 - middle, middle
        test = torch.cat([probs[n - copies:], cal_probs, between.to(dtype)])
        test_probs = test[torch.randperm(len(test), generator=rng.generator)]
        return cal_probs, cal_labels, test_probs, alpha
    raise AssertionError(f"no telling conformal case in 1000 draws (n in {n_range})")


def check_conformal(student, reference, cal_probs, cal_labels, test_probs, alpha, hint=CONFORMAL_HINT):
    inputs = {"cal_probs": cal_probs, "cal_labels": cal_labels, "test_probs": test_probs, "alpha": alpha}
    with MISTAKES.diagnose("conformal_sets", cal_probs, cal_labels, test_probs, alpha=alpha):
        assert_close(student.conformal_sets(cal_probs, cal_labels, test_probs, alpha),
                     reference.conformal_sets(cal_probs, cal_labels, test_probs, alpha), fn="conformal_sets",
                     inputs=inputs, what="mask", hint=hint)


# ----------------------------------------------------------------------------------------------- bootstrap helpers

def bernstein_bound(t, v, rounds):
    """P(the empirical CDF of `rounds` draws strays by more than t on one side at a point of variance <= v)."""
    return math.exp(-rounds * t * t / (2 * (v + t / 3))) if t > 0 else 1.0


def percentile_slack(q, rounds=BOOTSTRAP_ROUNDS):
    """Twice the smallest delta (to 1e-5) whose four events per call, over all calls, stay under FAILURE_BUDGET.

    Twice: the author check grades at half of every stated tolerance, and must hold there too.
    """
    half = 1.0 / rounds
    while True:
        level = min(q + half, 0.5)
        if 4 * BOOTSTRAP_CALLS * bernstein_bound(half - 1.0 / rounds, level * (1 - level), rounds) <= FAILURE_BUDGET:
            return 2 * half
        half += 1e-5


def bootstrap_data(rng, dtype):
    """n labelled examples, a secret share of them right: (y_true, y_pred) of the given dtype."""
    n = int(rng.integers(600, 901, ()))
    right = rng.uniform((n,), dtype=torch.float64) < float(rng.uniform((), low=0.7, high=0.9))
    if dtype.is_floating_point:  # 0/1 labels, as a binary classifier's
        y_true = (rng.uniform((n,), dtype=torch.float64) < 0.4).to(dtype)
        return y_true, torch.where(right, y_true, 1 - y_true)
    y_true = rng.integers(0, 10, (n,))
    wrong = (y_true + rng.integers(1, 10, (n,))) % 10
    return y_true, torch.where(right, y_true, wrong)


def place(cdf, n, value):
    """F(value) and F(value-) of the bootstrap distribution F of K / n (cdf[j] = P(K <= j))."""
    # A bound computed in float32 lands within about n * 6e-8 of its lattice point k / n: 1e-3 of a step
    # absorbs that, and no percentile convention interpolates that close to a lattice point.
    position = value * n
    at_most = math.floor(position + 1e-3)
    below = math.ceil(position - 1e-3) - 1

    def share(j):
        return 0.0 if j < 0 else float(cdf[min(j, n)])
    return share(at_most), share(below)


def check_percentiles(student, reference, y_true, y_pred, confidence, rng):
    seed = int(rng.integers(0, 2**31 - 1, ()))
    inputs = {"y_true": y_true, "y_pred": y_pred, "n_rounds": BOOTSTRAP_ROUNDS, "confidence": confidence,
              "seed": seed}
    call = f"bootstrap_ci({describe_inputs(inputs)})"
    lower, upper = as_interval(student.bootstrap_ci(y_true, y_pred, BOOTSTRAP_ROUNDS, confidence, seed), call,
                               BOOTSTRAP_HINT)
    n = len(y_true)
    n_right = int((y_true == y_pred).sum())
    cdf = reference.bootstrap_cdf(n_right, n)
    q = (1 - confidence) / 2
    delta = percentile_slack(q)
    found = []
    for name, value, level in (("lower", lower, q), ("upper", upper, 1 - q)):
        at_or_below, below = place(cdf, n, value)
        found.append(f"{name} bound {value:.4f}: {below:.1%} of the bootstrap accuracies lie below it, "
                     f"{at_or_below:.1%} at or below it (expected the {level:.1%} point, +- {delta:.1%})")
        try:
            assert_at_least(at_or_below, level, delta, fn="bootstrap_ci", inputs=inputs,
                            what=f"share of the bootstrap distribution at or below the {name} bound",
                            hint=BOOTSTRAP_HINT)
            assert_at_most(below, level, delta, fn="bootstrap_ci", inputs=inputs,
                           what=f"share of the bootstrap distribution below the {name} bound", hint=BOOTSTRAP_HINT)
        except ComparisonError as failure:
            raise ComparisonError(diagnose_percentiles(cdf, n, lower, upper, confidence, delta)
                                  + "\n".join(found) + "\n" + str(failure)) from None


def diagnose_percentiles(cdf, n, lower, upper, confidence, delta):
    """A first line naming the slip when the bounds sit at the (1 - c) and c percentiles (not (1 -+ c) / 2)."""
    def sits_at(value, level):
        at_or_below, below = place(cdf, n, value)
        return at_or_below >= level - delta and below <= level + delta

    if sits_at(lower, 1 - confidence) and sits_at(upper, confidence):
        return (f"Likely mistake: your bounds are the {1 - confidence:.0%} and {confidence:.0%} percentiles: an "
                f"interval at confidence {confidence:.0%} leaves {(1 - confidence) / 2:.0%} in each tail, so the "
                f"percentiles are (1 - confidence) / 2 and (1 + confidence) / 2 (notebook section \"3. The "
                f"bootstrap: resampling the test set\")\n")
    if lower > upper:
        return "Your lower bound is above your upper bound.\n"
    return ""


# ----------------------------------------------------------------------------------------------- normal_approx_ci

@grade_cell("test_normal_approx_ci")
class TestNormalApproxCi:
    @points(1)
    def test_values(self, student, reference, rng):
        for confidence in (0.8, 0.9, 0.99):
            n = int(rng.integers(200, 5000, ()))
            accuracy = int(rng.integers(int(0.55 * n), int(0.95 * n), ())) / n
            check_normal(student, reference, accuracy, n, confidence)

    @points(1)
    def test_tensor_accuracy(self, student, reference, rng):
        for dtype in (torch.float32, torch.float64):
            n = int(rng.integers(100, 2000, ()))
            right = rng.uniform((n,), dtype=torch.float64) < float(rng.uniform((), low=0.6, high=0.9))
            accuracy = right.to(dtype).mean()  # as a student computes it: a 0-d tensor
            check_normal(student, reference, accuracy, n,
                         hint=NORMAL_HINT + " (accuracy may be a 0-d tensor, as (y_true == y_pred).float().mean() "
                                            "gives: float(accuracy) turns it into a Python float; the default "
                                            "confidence is 0.95)")

    @points(1)
    def test_accuracy_zero_and_one(self, student, reference, rng):
        for accuracy in (0.0, 1.0):
            for n in (1, int(rng.integers(2, 500, ()))):
                check_normal(student, reference, accuracy, n, 0.9,
                             hint=NORMAL_HINT + " (accuracy 0 or 1 gives an interval of width 0; n = 1 is a "
                                                "test set of one example)")

    @points(1)
    def test_not_clipped(self, student, reference, rng):
        n = int(rng.integers(15, 40, ()))
        check_normal(student, reference, (n - 1) / n, n, 0.95,
                     hint=NORMAL_HINT + ". One mistake on a small test set: the interval reaches past 1, and that "
                                        "is the approximation's honest answer (do not clip it)")


# ----------------------------------------------------------------------------------------------- bootstrap_ci

@grade_cell("test_bootstrap_ci")
class TestBootstrapCi:
    @points(1)
    def test_same_seed_same_interval(self, student, reference, rng):
        # Four seeds, each twice. A bootstrap that ignores the seed gives two intervals that differ: on 3,000 to
        # 5,000 examples the percentiles' positions among 400 rounds vary by a few steps of 1 / n, so two
        # unseeded calls agree on both bounds rarely (about 1 time in 100), and on all four pairs practically never.
        n = int(rng.integers(3000, 5001, ()))
        y_true = rng.integers(0, 10, (n,))
        y_pred = torch.where(rng.uniform((n,), dtype=torch.float64) < 0.8, y_true, (y_true + 1) % 10)
        for seed in rng.integers(0, 2**31 - 1, (4,)).tolist():
            inputs = {"y_true": y_true, "y_pred": y_pred, "n_rounds": 400, "confidence": 0.9, "seed": seed}
            call = f"bootstrap_ci({describe_inputs(inputs)})"
            first = as_interval(student.bootstrap_ci(y_true, y_pred, 400, 0.9, seed), call, BOOTSTRAP_HINT)
            second = as_interval(student.bootstrap_ci(y_true, y_pred, 400, 0.9, seed), call, BOOTSTRAP_HINT)
            assert_close(second, first, fn="bootstrap_ci", inputs=inputs, rtol=0, atol=0, check_dtype=False,
                         what="the second call's (lower, upper), against the first's",
                         hint="the same seed must give the same interval: draw every resample from "
                              "torch.Generator().manual_seed(seed) (or np.random.default_rng(seed)), never from the "
                              "global random state left as it is")
        y_true, y_pred = y_true[:800], y_pred[:800]
        defaults = as_interval(student.bootstrap_ci(y_true, y_pred), "bootstrap_ci(y_true, y_pred)", BOOTSTRAP_HINT)
        spelled = as_interval(student.bootstrap_ci(y_true, y_pred, 1000, 0.95, 0), "bootstrap_ci(y_true, y_pred, "
                              "1000, 0.95, 0)", BOOTSTRAP_HINT)
        assert_close(defaults, spelled, fn="bootstrap_ci", inputs={"y_true": y_true, "y_pred": y_pred}, rtol=0,
                     atol=0, check_dtype=False, what="(lower, upper) with the defaults, against n_rounds=1000, "
                     "confidence=0.95, seed=0 spelled out",
                     hint="keep the defaults of the signature: n_rounds=1000, confidence=0.95, seed=0")

    @points(1)
    def test_percentiles_of_class_labels(self, student, reference, rng):
        for confidence in (0.8, 0.7):
            y_true, y_pred = bootstrap_data(rng, torch.int64)
            check_percentiles(student, reference, y_true, y_pred, confidence, rng)

    @points(1)
    def test_percentiles_of_float_labels(self, student, reference, rng):
        for dtype, confidence in ((torch.float32, 0.7), (torch.float64, 0.8)):
            y_true, y_pred = bootstrap_data(rng, dtype)
            check_percentiles(student, reference, y_true, y_pred, confidence, rng)

    @points(1)
    def test_where_resampling_cannot_vary(self, student, reference, rng):
        n = int(rng.integers(20, 200, ()))
        labels = rng.integers(0, 10, (n,))
        hint = BOOTSTRAP_HINT + (": every resample of a test set that is all right has accuracy 1 (all wrong: 0; "
                                 "one example: its own 0 or 1), so both bounds are that accuracy")
        for y_true, y_pred in ((labels, labels.clone()), (labels, (labels + 1) % 10), (labels[:1], labels[:1])):
            inputs = {"y_true": y_true, "y_pred": y_pred, "n_rounds": 200, "confidence": 0.9, "seed": 7}
            call = f"bootstrap_ci({describe_inputs(inputs)})"
            got = as_interval(student.bootstrap_ci(y_true, y_pred, 200, 0.9, 7), call, hint)
            assert_close(got, reference.bootstrap_ci(y_true, y_pred, 200, 0.9, 7), fn="bootstrap_ci", inputs=inputs,
                         rtol=INTERVAL_RTOL, atol=INTERVAL_ATOL, check_dtype=False, what="(lower, upper)", hint=hint)
        y_true, y_pred = bootstrap_data(rng, torch.int64)
        inputs = {"y_true": y_true, "y_pred": y_pred, "n_rounds": 1, "confidence": 0.9, "seed": 3}
        call = f"bootstrap_ci({describe_inputs(inputs)})"
        lower, upper = as_interval(student.bootstrap_ci(y_true, y_pred, 1, 0.9, 3), call, BOOTSTRAP_HINT)
        right = round(lower * len(y_true))
        if not (lower == upper and abs(lower * len(y_true) - right) < 1e-3):  # float32's rounding allowed
            raise ComparisonError(f"{call} -> got ({lower:.6g}, {upper:.6g}); with one round there is one resampled "
                                  f"accuracy, so lower = upper = that accuracy, a multiple of 1 / {len(y_true)}.\n"
                                  f"Hint: use n_rounds resamples (not a fixed number), each of n = len(y_true) "
                                  f"examples")


# ----------------------------------------------------------------------------------------------- conformal_sets

@grade_cell("test_conformal_sets")
class TestConformalSets:
    @points(1)
    def test_matches_the_reference(self, student, reference, rng):
        check_conformal(student, reference, *conformal_case(rng, (60, 400), (20, 80), torch.float32))

    @points(1)
    def test_float64_small_calibration_sets(self, student, reference, rng):
        for n_range in ((12, 40), (40, 120)):
            check_conformal(student, reference, *conformal_case(rng, n_range, (5, 30), torch.float64),
                            hint=CONFORMAL_HINT + " (float64 probabilities work alike)")

    @points(1)
    def test_tied_scores(self, student, reference, rng):
        for dtype in (torch.float32, torch.float64):
            check_conformal(student, reference, *conformal_case(rng, (30, 200), (10, 40), dtype, repeats=True),
                            hint=CONFORMAL_HINT + ". Here a third of the calibration examples repeat others, so "
                                                  "scores tie, and the test rows repeat calibration rows: a class "
                                                  "whose score equals q_hat is in the set (<=)")

    @points(1)
    def test_too_few_calibration_examples(self, student, reference, rng):
        classes = int(rng.integers(3, 8, ()))
        for n, alpha in ((1, 0.1), (int(rng.integers(2, 9, ())), 0.1), (int(rng.integers(2, 19, ())), 0.05)):
            probs, _ = quantized_probs(rng, n + 6, classes, 2.0, torch.float32)
            probs[n] = 0.0
            probs[n, 0] = 1.0  # a test row sure of class 0: the other classes score 1, above every calibration score
            labels = rng.integers(0, classes, (n,))
            check_conformal(student, reference, probs[:n], labels, probs[n:], alpha,
                            hint=CONFORMAL_HINT + f". Here k = ceil((n + 1)(1 - alpha)) > n = {n}: no calibration "
                                                  "score is high enough, q_hat = +inf and every set holds every class")


# ----------------------------------------------------------------------------------------------- coverage

@grade_cell("test_coverage")
@points(2)
def test_coverage_on_a_hidden_split(student, reference, rng):
    classes = int(rng.integers(5, 13, ()))
    scale = float(rng.uniform((), low=1.5, high=3.0))
    temperature = float(rng.uniform((), low=0.6, high=1.6))
    alpha = round(float(rng.uniform((), low=0.05, high=0.15)), 3)
    rows = 2 * COVERAGE_ROWS
    probs, z = quantized_probs(rng, rows, classes, scale, torch.float32)
    labels = torch.multinomial(torch.softmax(temperature * z, dim=1), 1, generator=rng.generator).reshape(-1)
    cal_probs, cal_labels = probs[:COVERAGE_ROWS], labels[:COVERAGE_ROWS]
    test_probs, test_labels = probs[COVERAGE_ROWS:], labels[COVERAGE_ROWS:]
    inputs = {"cal_probs": cal_probs, "cal_labels": cal_labels, "test_probs": test_probs, "alpha": alpha}
    call = "conformal_sets(cal_probs, cal_labels, test_probs, alpha)"

    mask = student.conformal_sets(cal_probs, cal_labels, test_probs, alpha)  # the test labels stay here
    shape = (COVERAGE_ROWS, classes)
    if not (isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and tuple(mask.shape) == shape):
        got = (f"a {str(mask.dtype).replace('torch.', '')} tensor of shape {list(mask.shape)}"
               if isinstance(mask, torch.Tensor) else f"a {type(mask).__name__}")
        raise ComparisonError(f"{call} on {COVERAGE_ROWS} secret test rows of {classes} classes -> got {got}; "
                              f"expected a bool tensor of shape [{COVERAGE_ROWS}, {classes}].\nHint: {CONFORMAL_HINT}")
    coverage = float(mask[torch.arange(COVERAGE_ROWS), test_labels].double().mean())
    size = float(mask.sum(dim=1).double().mean())
    want_size = float(reference.conformal_sets(cal_probs, cal_labels, test_probs, alpha).sum(dim=1).double().mean())
    assert_at_least(coverage, 1 - alpha, COVERAGE_MARGIN, fn="conformal_sets", inputs=inputs,
                    what=f"coverage (share of the {COVERAGE_ROWS} secret test rows whose true class is in the set, "
                         f"at least 1 - alpha minus {COVERAGE_MARGIN})", hint=CONFORMAL_HINT)
    assert_at_most(size, want_size, SIZE_SLACK, fn="conformal_sets", inputs=inputs,
                   what=f"mean set size on the {COVERAGE_ROWS} secret test rows (at most the reference's plus "
                        f"{SIZE_SLACK} class)",
                   hint=CONFORMAL_HINT + ". Sets that hold every class cover everything and say nothing: conformal "
                                         "sets are as small as the guarantee allows")
