"""Hidden suite of a03_binary_classification: sigmoid, BCE with logits, the metrics, and the spam filter.

Inputs come from ``rng`` (secret per grading run). ``sigmoid`` and ``bce_with_logits`` are compared with
the reference (which matches ``torch.sigmoid`` and ``F.binary_cross_entropy_with_logits``, values and
gradients, within float32's defaults; ``tests/test_a03.py`` checks it) on ordinary inputs, float32 and
float64, several shapes, and inputs up to |z| = 1e4, where a textbook formula overflows: ``exp(z) /
(1 + exp(z))`` gives nan, ``log(sigmoid(x))`` gives inf or nan, and ``1 / (1 + exp(-z))`` has correct
values but a nan gradient at z = -1e4 (autograd meets inf / inf). Those comparisons use
``equal_nan=True`` so that a student's nan can be matched with the mistake that gives it (the reference
never gives nan: nothing is loosened). ``binary_metrics`` is compared as a dict (exact keys; Python
floats or 0-d tensors accepted) for bool, int and float inputs, undefined ratios (0.0) and no messages.

The threshold test (fair-threshold rules of docs/suite-authoring.md, section 11): the real SMS Spam
Collection, cut once into the students' 3,549 messages (``data/sms_spam/sms_spam.tsv``, mounted) and
985 hidden ones (``hidden/data/sms_spam_test.tsv``, never in a kernel; no hidden text appears in the
students' file, not even inside a longer message: ``data/sms_spam/build_split.py``). Per run, a secret
3,000 of the students' messages train the student's filter and the reference's, and a secret 800 of
the hidden ones test them; only the texts enter the kernel, the predictions come back and the suite
scores them. The student must reach the reference's accuracy minus 0.03 AND its sensitivity minus
0.20. Measured over 20 secret draws of this kind (train and test subsets, seeds 0-19 of a script
calling the functions directly), single thread:

- the reference (counts, one neuron, 150 full-batch Adam steps, lr 0.02) reached accuracy 0.965 at
  worst (median 0.974) and sensitivity 0.757 at worst (median 0.810);
- eight other honest styles (TF-IDF or counts, the top-1,000 words, binary counts, full batch or
  mini-batches of 32 or 64, 5 to 300 epochs, Adam or SGD, even MSE on the sigmoid, which this easy data
  forgives) ended at most 0.005 below the reference's accuracy and 0.047 below its sensitivity (TF-IDF,
  8 epochs of mini-batches of 64: ben's style), most of them above it: at the author check's half
  margins (0.015 and 0.10) an honest filter keeps 3 and 2.1 times the worst shortfall seen. Sensitivity
  is the noisier score (each of the about 107 spam messages among the 800 counts 0.009), hence its
  wider margin; it is there to fail a filter that lets the spam through, whose sensitivity is near 0;
- a filter that predicts ham for everything (an under-trained neuron: SGD at lr 0.5 for 100 steps on
  TF-IDF; a lookup in whatever labelled data the sandbox can read, where the hidden texts are not)
  reaches accuracy 0.855 to 0.87 and sensitivity 0: far outside both margins; one that predicts spam
  for everything (a threshold of 0 on probabilities) has accuracy about 0.13.

The longest honest call (a dense count matrix trained 300 full-batch SGD steps) took 3.8 s on an idle
core and 13 s with the two-core machine loaded about seven times over; ``call_timeout_s``
(assignment.toml) is 20 s.
"""

from pathlib import Path

import torch

from autograder.testing import (
    ComparisonError,
    assert_at_least,
    assert_close,
    assert_gradients_close,
    grade_cell,
    load_catalogue,
    points,
    read_verified,
)

SUITE_VERSION = "a03-3"

MISTAKES = load_catalogue(Path(__file__).with_name("mistakes.py"))

HERE = Path(__file__).resolve().parent
PUBLIC = HERE.parents[2] / "data" / "sms_spam" / "sms_spam.tsv"
PUBLIC_SHA256 = "4653a76e333ac200d4d5c9af38439216c40cbee51c4c9ebecb807d612d022637"
HIDDEN = HERE / "data" / "sms_spam_test.tsv"
HIDDEN_SHA256 = "7b38045cf45cf859d3c7e275fdab6e9b8f75d9a17100f5540754cfdd6e141884"
TRAIN_SIZE, TEST_SIZE = 3000, 800
ACCURACY_MARGIN, SENSITIVITY_MARGIN = 0.03, 0.20

SIGMOID_HINT = ("sigmoid(z) = 1 / (1 + exp(-z)) elementwise, same shape and dtype as z, computed so that exp "
                "never overflows: for z >= 0 use 1 / (1 + exp(-z)), for z < 0 exp(z) / (1 + exp(z))")
BCE_HINT = ("the mean over the examples of -[y log s(x) + (1 - y) log(1 - s(x))], computed from the logits "
            "x without taking log(sigmoid(x)): max(x, 0) - x * y + log(1 + exp(-|x|)); a 0-d tensor")
METRICS_HINT = ("a dict with exactly the keys accuracy, sensitivity, specificity, precision (spam = 1 / True is "
                "the positive class): (TP + TN) / n, TP / (TP + FN), TN / (TN + FP), TP / (TP + FP); an "
                "undefined ratio (denominator 0) is 0.0")
FILTER_HINT = ("train_spam_filter(texts, labels) fits a scikit-learn vectorizer on the texts and trains one "
               "neuron (nn.Linear(vocabulary size, 1)) with nn.BCEWithLogitsLoss; predict(texts) transforms "
               "with the same fitted vectorizer and returns logits > 0 (or sigmoid(logits) > 0.5) as a bool "
               "tensor of shape (n,)")


# ----------------------------------------------------------------------------------------------- helpers

def extreme_values(rng, n, dtype):
    """n values mixing ordinary ones with huge ones of either sign (up to 1e4), in a secret order."""
    scale = torch.tensor([1e4, 1e3, 100.0, 30.0, 3.0], dtype=torch.float64)
    picks = rng.integers(0, len(scale), (n,))
    signs = torch.where(rng.uniform((n,), dtype=torch.float64) < 0.5, -1.0, 1.0)
    values = signs * scale[picks] * rng.uniform((n,), low=0.5, high=1.0, dtype=torch.float64)
    values[0], values[1] = 1e4, -1e4
    return values[torch.randperm(n, generator=rng.generator)].to(dtype)


def targets_like(rng, logits):
    return (rng.uniform(tuple(logits.shape), dtype=torch.float64) < 0.5).to(logits.dtype)


def labels(rng, n, p=0.5):
    return rng.uniform((n,), dtype=torch.float64) < p


def telling_apart(rng, n, p_spam, p_wrong):
    """Labels and predictions whose four counts (TP, TN, FP, FN) are non-zero and all different.

    Equal counts make two metrics equal (FP = FN gives precision = sensitivity), so a student who
    swapped one formula for the other would pass by chance under some secret seeds; redrawing until the
    counts differ keeps every such swap visible whatever the seed.
    """
    for _ in range(1000):
        y_true = labels(rng, n, p_spam)
        y_pred = torch.where(labels(rng, n, p_wrong), ~y_true, y_true)
        counts = [int((y_true & y_pred).sum()), int((~y_true & ~y_pred).sum()),
                  int((~y_true & y_pred).sum()), int((y_true & ~y_pred).sum())]
        if min(counts) > 0 and len(set(counts)) == 4:
            return y_true, y_pred
    raise AssertionError(f"no telling labels in 1000 draws of {n} (p_spam={p_spam}, p_wrong={p_wrong})")


def seed_from(rng):
    return int(rng.integers(0, 2**31 - 1, ()))


def check_sigmoid(student, reference, z, hint=SIGMOID_HINT):
    with MISTAKES.diagnose("sigmoid", z):
        assert_close(student.sigmoid(z), reference.sigmoid(z), fn="sigmoid", inputs={"z": z}, equal_nan=True,
                     hint=hint)


def check_bce(student, reference, logits, targets, hint=BCE_HINT):
    with MISTAKES.diagnose("bce_with_logits", logits, targets):
        assert_close(student.bce_with_logits(logits, targets), reference.bce_with_logits(logits, targets),
                     fn="bce_with_logits", inputs={"logits": logits, "targets": targets}, equal_nan=True,
                     hint=hint)


def check_metrics(student, reference, y_true, y_pred, hint=METRICS_HINT):
    with MISTAKES.diagnose("binary_metrics", y_true, y_pred):
        assert_close(student.binary_metrics(y_true, y_pred), reference.binary_metrics(y_true, y_pred),
                     fn="binary_metrics", inputs={"y_true": y_true, "y_pred": y_pred}, check_dtype=False,
                     equal_nan=True, hint=hint)


# ----------------------------------------------------------------------------------------------- sigmoid

@grade_cell("test_sigmoid")
class TestSigmoid:
    @points(1)
    def test_float32_matrix(self, student, reference, rng):
        check_sigmoid(student, reference, rng.normal((6, 5), std=4.0))

    @points(1)
    def test_float64_and_other_shapes(self, student, reference, rng):
        check_sigmoid(student, reference, rng.normal((), dtype=torch.float64, std=3.0),
                      hint=SIGMOID_HINT + " (a 0-d input gives a 0-d output; float64 stays float64)")
        check_sigmoid(student, reference, rng.normal((3, 4, 2), dtype=torch.float64, std=3.0),
                      hint=SIGMOID_HINT + " (float64 stays float64)")

    @points(1)
    def test_huge_inputs(self, student, reference, rng):
        for dtype in (torch.float32, torch.float64):
            check_sigmoid(student, reference, extreme_values(rng, 16, dtype),
                          hint=SIGMOID_HINT + ". Here |z| reaches 1e4: no inf, no nan")

    @points(1)
    def test_gradient(self, student, reference, rng):
        z = torch.cat([rng.normal((10,), std=3.0), extreme_values(rng, 8, torch.float32)])
        _, got = student.gradients("sigmoid", (z,), wrt=(0,))
        _, want = reference.gradients("sigmoid", (z,), wrt=(0,))
        assert_gradients_close(got, want, fn="sigmoid", inputs={"z": z}, wrt=("z",),
                               hint="use torch operations only (no .item(), .numpy() or .detach()), so autograd "
                                    "can differentiate sigmoid; the slope s(z) (1 - s(z)) is 0, not nan, at "
                                    "|z| = 1e4: 1 / (1 + exp(-z)) meets inf / inf in its gradient at z = -1e4, "
                                    "so only ever take exp of -|z|")


# ----------------------------------------------------------------------------------------------- bce_with_logits

@grade_cell("test_bce_with_logits")
class TestBceWithLogits:
    @points(1)
    def test_float32_vector(self, student, reference, rng):
        logits = rng.normal((24,), std=3.0)
        check_bce(student, reference, logits, targets_like(rng, logits))

    @points(1)
    def test_float64_column(self, student, reference, rng):
        logits = rng.normal((15, 1), dtype=torch.float64, std=2.0)
        check_bce(student, reference, logits, targets_like(rng, logits),
                  hint=BCE_HINT + " (float64 stays float64; any shape, logits and targets alike)")

    @points(1)
    def test_huge_logits(self, student, reference, rng):
        logits = extreme_values(rng, 20, torch.float32)
        check_bce(student, reference, logits, targets_like(rng, logits),
                  hint=BCE_HINT + ". Here |x| reaches 1e4: a confidently wrong logit costs about |x|, a "
                                  "confidently right one about 0, never inf or nan")

    @points(1)
    def test_gradient(self, student, reference, rng):
        logits = torch.cat([rng.normal((12,), std=3.0), extreme_values(rng, 6, torch.float32)])
        targets = targets_like(rng, logits)
        _, got = student.gradients("bce_with_logits", (logits, targets), wrt=(0,))
        _, want = reference.gradients("bce_with_logits", (logits, targets), wrt=(0,))
        with MISTAKES.diagnose_gradients("bce_with_logits", (logits, targets), wrt=(0,)):
            assert_gradients_close(got, want, fn="bce_with_logits", inputs={"logits": logits, "targets": targets},
                                   wrt=("logits",),
                                   hint="the gradient of the mean BCE w.r.t. each logit is (s(x) - y) / n: use "
                                        "torch operations only, and a formula that stays finite at |x| = 1e4")


# ----------------------------------------------------------------------------------------------- binary_metrics

@grade_cell("test_binary_metrics")
class TestBinaryMetrics:
    @points(1)
    def test_booleans(self, student, reference, rng):
        y_true, y_pred = telling_apart(rng, 40, 0.3, 0.2)  # right about 80 % of the time
        check_metrics(student, reference, y_true, y_pred)

    @points(1)
    def test_integers_and_floats(self, student, reference, rng):
        y_true, y_pred = telling_apart(rng, 30, 0.4, 0.3)
        check_metrics(student, reference, y_true.long(), y_pred,
                      hint=METRICS_HINT + " (int64 labels 0/1, bool predictions)")
        check_metrics(student, reference, y_true.float(), y_pred.float(),
                      hint=METRICS_HINT + " (float32 labels 0.0/1.0)")

    @points(1)
    def test_undefined_ratios_are_zero(self, student, reference, rng):
        y_pred = labels(rng, 12, 0.5)
        y_pred[0], y_pred[1] = True, False
        hint = METRICS_HINT + " (here a ratio has no examples to count: it is 0.0, not nan)"
        check_metrics(student, reference, torch.zeros(12, dtype=torch.bool), y_pred, hint=hint)  # no spam
        check_metrics(student, reference, torch.ones(12, dtype=torch.bool), y_pred, hint=hint)  # no ham
        check_metrics(student, reference, y_pred, torch.zeros(12, dtype=torch.bool), hint=hint)  # nothing flagged

    @points(1)
    def test_no_messages(self, student, reference, rng):
        empty = torch.zeros(0, dtype=torch.bool)
        check_metrics(student, reference, empty, empty,
                      hint=METRICS_HINT + " (no messages at all: every ratio is undefined, so 0.0)")


# ----------------------------------------------------------------------------------------------- the filter

@grade_cell("test_spam_filter")
@points(4)
def test_filters_secret_messages(student, reference, rng):
    texts, spam = reference.read_sms(read_verified(PUBLIC, PUBLIC_SHA256))
    hidden_texts, hidden_spam = reference.read_sms(read_verified(HIDDEN, HIDDEN_SHA256))
    rows = torch.randperm(len(texts), generator=rng.generator)[:TRAIN_SIZE]
    picked = torch.randperm(len(hidden_texts), generator=rng.generator)[:TEST_SIZE]
    train_texts, train_labels = [texts[i] for i in rows.tolist()], spam[rows]
    test_texts, truth = [hidden_texts[i] for i in picked.tolist()], hidden_spam[picked]
    inputs = {"texts": train_texts, "labels": train_labels}
    call = "train_spam_filter(texts, labels).predict(test_texts)"

    model = student.keep.train_spam_filter(train_texts, train_labels)
    predicted = model.predict(test_texts)  # only the texts enter the kernel; their labels stay here
    if not (isinstance(predicted, torch.Tensor) and predicted.dtype == torch.bool
            and tuple(predicted.shape) == (TEST_SIZE,)):
        got = (f"a {str(predicted.dtype).replace('torch.', '')} tensor of shape {list(predicted.shape)}"
               if isinstance(predicted, torch.Tensor) else f"a {type(predicted).__name__}")
        raise ComparisonError(f"{call} on {TEST_SIZE} secret messages -> got {got}; expected a bool tensor of "
                              f"shape [{TEST_SIZE}], True = spam.\nHint: {FILTER_HINT}")
    if bool(predicted.all()) or not bool(predicted.any()):
        kind = "spam" if bool(predicted.all()) else "ham"
        cause = ("a threshold of 0 on probabilities (sigmoid(logits) > 0 is always true)?" if kind == "spam"
                 else "a neuron that has not learned yet (more epochs, a larger learning rate, "
                      "BCEWithLogitsLoss on the logits)?")
        raise ComparisonError(f"{call} on {TEST_SIZE} secret messages -> every message was predicted {kind}: "
                              f"{cause}\nHint: {FILTER_HINT}")
    got = reference.binary_metrics(truth, predicted)
    want = reference.binary_metrics(truth, reference.train_spam_filter(train_texts, train_labels,
                                                                      seed=seed_from(rng)).predict(test_texts))
    assert_at_least(got["accuracy"], want["accuracy"], ACCURACY_MARGIN, fn=call, inputs=inputs,
                    what=f"accuracy on {TEST_SIZE} secret messages (at least the reference's minus "
                         f"{ACCURACY_MARGIN})", hint=FILTER_HINT)
    assert_at_least(got["sensitivity"], want["sensitivity"], SENSITIVITY_MARGIN, fn=call, inputs=inputs,
                    what=f"sensitivity (share of the spam caught) on {TEST_SIZE} secret messages (at least the "
                         f"reference's minus {SENSITIVITY_MARGIN})",
                    hint=FILTER_HINT + ". A filter that lets most spam through can still look accurate: about "
                                       "86 % of the messages are ham")
