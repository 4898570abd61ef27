"""Hidden suite of a05_multiclass_mnist: one_hot, softmax, cross_entropy, the 784-100-10 network, its
training loop, and the accuracy it reaches on 1,000 hidden handwritten digits.

Inputs come from ``rng`` (secret per grading run). ``softmax`` and ``cross_entropy`` are compared with the
reference at the dtype's default tolerances (float32 and float64, logits up to +-1e4, several shapes,
a batch of one), their gradients with secret weights of the outputs (a 0-d loss keeps 1), and once each under
a ban of the library's softmax, log-softmax and NLL operators (the notebook asks for them by hand).

Models live in the kernel that made them (handles). The training-loop tests run on the notebook's locked
``linear_classifier`` (Flatten, Linear(784, 10)), so a wrong ``build_digit_classifier`` costs only its own
and the threshold test; each side gets a loader the grader builds over the same 96 public training
digits with the same shuffling seed, so both see the same batches in the same order, and the same secret
starting weights. Two epochs of three batches of 32: honest styles (``nn.CrossEntropyLoss``, the
student's own ``cross_entropy``, ``log_softmax`` + ``nll_loss``, a batch-weighted epoch mean) land on
the reference's Adam iterate within float32 rounding; the tolerances (``rtol = 1e-4, atol = 1e-5`` on the
weights, ``rtol = 1e-4, atol = 1e-6`` on the losses) are those of a04's identical checks. A missing
``zero_grad``, a softmax before the loss, a summed loss or plain SGD miss by far more.

The threshold test (fair-threshold rules of docs/suite-authoring.md, section 11): the student's
``build_digit_classifier()``, loaded with secret starting weights (PyTorch's own distribution), trained by
the student's ``train_digit_classifier`` for 8 epochs over a loader the grader builds in the kernel over
a secret 1,500 of the 3,200 public training digits (batches of 50, a secret shuffling seed), with the
pixels and the class names permuted by a secret permutation (a fully connected network learns permuted
pixels exactly as well, and a model that looks the digits up in files it can read sees only scrambled
images). The 1,000 hidden test digits (``hidden/data``, never in a kernel), permuted the same way, go in;
logits come back, which must be what the returned weights compute (the reference's network with those
weights), and the grader scores them against the hidden labels. The accuracy must reach the reference's
(same start, same batches) minus 0.05. Measured over 12 seeds (one thread, outside the grader): the
reference reached 0.886 at worst (median 0.891); a second shuffle of the batches from the same start
ended at most 0.009 below it, so the author check's half margin (0.025) leaves nearly 3 times the worst
shortfall of a different batch order, and an honest student, who gets the reference's batch order,
differs by float32 rounding only. A loop without ``zero_grad`` reaches 0.56 to 0.78; a softmax before
the loss still learns (its slip is caught by the training tests). Training takes about 0.3 s of one idle
core on each side; sending the digits into the kernel costs more on a loaded machine (1,500 digits are
4.7 MB; 3,200 took over 10 s of one call under heavy load), which is why a subset is sent.
"""

import functools
import io
import math
from pathlib import Path

import numpy as np
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

SUITE_VERSION = "a05-2"

MISTAKES = load_catalogue(Path(__file__).with_name("mistakes.py"))

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = ROOT / "data" / "mnist_5k" / "mnist_public.npz"
PUBLIC_SHA256 = "fba0cdae69a5c13377aeb30eda1c88ff6c1ecdcb21e99171388e72e17944d22c"
HIDDEN = Path(__file__).with_name("data") / "mnist_test.npz"
HIDDEN_SHA256 = "5e65a05623e12a41c45a38ce81fe4ddfbedb3d5f259c82b437e33086001e8bfe"

LIBRARY_OPS = ("aten::_softmax", "aten::_log_softmax", "aten::nll_loss_forward", "aten::nll_loss2d_forward")
THRESHOLD_ROWS, THRESHOLD_EPOCHS, THRESHOLD_BATCH, THRESHOLD_MARGIN = 1500, 8, 50, 0.05
LOOP_ROWS, LOOP_BATCH, LOOP_EPOCHS = 96, 32, 2

ONE_HOT_HINT = ("a float32 tensor with one more dimension of size num_classes: 1.0 at each label's class, 0.0 "
                "elsewhere (F.one_hot(labels, num_classes).float() does it)")
SOFTMAX_HINT = "exp(z_i - m) / sum_j exp(z_j - m) along dim, m the largest score along dim; same shape and dtype"
CE_HINT = ("the mean over the batch of logsumexp(z) - z[label], a 0-d tensor of the logits' dtype; "
           "it must match F.cross_entropy(logits, labels)")
BUILD_HINT = "nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))"
TRAIN_HINT = ("nn.CrossEntropyLoss() on the logits (no softmax before it), torch.optim.Adam(model.parameters(), "
              "lr=1e-3); for each (images, labels) batch of the loader, in its order: zero_grad, forward, loss, "
              "backward, step")


# ----------------------------------------------------------------------------------------------- helpers

@functools.cache
def _archive(path, sha256):
    with np.load(io.BytesIO(read_verified(path, sha256)), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def public_digits():
    """The 3,200 public training digits: float32 images (n, 28, 28) in [0, 1] and int64 labels."""
    digits = _archive(PUBLIC, PUBLIC_SHA256)
    return (torch.from_numpy(digits["train_images"]).float() / 255,
            torch.from_numpy(digits["train_labels"]).long())


def hidden_digits():
    """The 1,000 hidden test digits (never sent to a kernel with their labels)."""
    digits = _archive(HIDDEN, HIDDEN_SHA256)
    return torch.from_numpy(digits["images"]).float() / 255, torch.from_numpy(digits["labels"]).long()


def seed_from(rng):
    return int(rng.integers(0, 2**31 - 1, ()))


def linear_start(rng, n_in, n_out):
    """PyTorch's initial distribution for Linear(n_in, n_out), drawn from the secret seed."""
    bound = 1 / math.sqrt(n_in)
    return [rng.uniform((n_out, n_in), low=-bound, high=bound), rng.uniform((n_out,), low=-bound, high=bound)]


def as_state(value, fn):
    if type(value) is not dict:
        raise ComparisonError(f"{fn}: model.state_dict() did not come back as a dict of tensors")
    return value


def check_shapes(state, want, call):
    got = [tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__ for value in state.values()]
    if got != want:
        raise ComparisonError(f"{call} -> its parameters (model.state_dict(), in order) have shapes {got}; "
                              f"expected {want}.\nHint: {BUILD_HINT}")


CLASSIFIER_SHAPES = [(100, 784), (100,), (10, 100), (10,)]


def load_start(model, start, want, call):
    """Load the starting weights into a kept model, matched by order after checking the shapes."""
    state = as_state(model.state_dict(), call)
    check_shapes(state, want, call)
    model.load_state_dict(dict(zip(state, start, strict=True)))
    return model


def loop_setup(rng):
    """A few public digits, a secret start for linear_classifier, and one shuffling seed for both loaders."""
    images, labels = public_digits()
    rows = torch.randperm(len(images), generator=rng.generator)[:LOOP_ROWS]
    return images[rows], labels[rows], linear_start(rng, 784, 10), seed_from(rng)


def run_loop(side, setup, epochs=LOOP_EPOCHS):
    X, y, start, seed = setup
    model = load_start(side.keep.linear_classifier(), start, [(10, 784), (10,)], "linear_classifier()")
    loader = side.data_loader(X, y, batch_size=LOOP_BATCH, shuffle=True, seed=seed)
    losses = side.train_digit_classifier(model, loader, epochs)
    return model, losses


LOOP_INPUTS = {"model": "linear_classifier()", "loader": f"{LOOP_ROWS} digits in shuffled batches of {LOOP_BATCH}",
               "epochs": LOOP_EPOCHS}


def uniform_logits(rng, shape, size, dtype=torch.float32):
    return rng.uniform(shape, low=-size, high=size, dtype=dtype)


# ----------------------------------------------------------------------------------------------- one_hot

@grade_cell("test_one_hot")
class TestOneHot:
    @points(1)
    def test_vector_of_labels(self, student, reference, rng):
        present = int(rng.integers(3, 8, ()))
        num_classes = present + int(rng.integers(1, 4, ()))  # wider than the largest label present
        labels = rng.integers(0, present, (int(rng.integers(5, 12, ())),))
        with MISTAKES.diagnose("one_hot", labels, num_classes):
            assert_close(student.one_hot(labels, num_classes), reference.one_hot(labels, num_classes), fn="one_hot",
                         inputs={"labels": labels, "num_classes": num_classes}, hint=ONE_HOT_HINT)

    @points(1)
    def test_batch_of_label_rows(self, student, reference, rng):
        labels = rng.integers(0, 10, (3, int(rng.integers(2, 6, ()))))
        with MISTAKES.diagnose("one_hot", labels, 10):
            assert_close(student.one_hot(labels, 10), reference.one_hot(labels, 10), fn="one_hot",
                         inputs={"labels": labels, "num_classes": 10},
                         hint=ONE_HOT_HINT + "; labels of shape (a, b) give (a, b, num_classes)")

    @points(1)
    def test_single_label(self, student, reference, rng):
        label = rng.integers(0, 10, ())
        with MISTAKES.diagnose("one_hot", label, 12):
            assert_close(student.one_hot(label, 12), reference.one_hot(label, 12), fn="one_hot",
                         inputs={"labels": label, "num_classes": 12},
                         hint=ONE_HOT_HINT + "; a single label (a 0-d tensor) gives one row of shape (num_classes,)")


# ----------------------------------------------------------------------------------------------- softmax

@grade_cell("test_softmax")
class TestSoftmax:
    @points(1)
    def test_rows(self, student, reference, rng):
        logits = rng.logits((int(rng.integers(2, 9, ())), 10), scale=3.0)
        with MISTAKES.diagnose("softmax", logits):
            assert_close(student.softmax(logits), reference.softmax(logits), fn="softmax",
                         inputs={"logits": logits}, hint=SOFTMAX_HINT + " (dim=-1 by default)")

    @points(1)
    def test_any_dim(self, student, reference, rng):
        logits = rng.logits((3, 5, 4), scale=2.0)
        for dim in (1, 0):
            with MISTAKES.diagnose("softmax", logits, dim=dim):
                assert_close(student.softmax(logits, dim=dim), reference.softmax(logits, dim=dim), fn="softmax",
                             inputs={"logits": logits, "dim": dim},
                             hint=SOFTMAX_HINT + ": the max and the sum along dim, with keepdim=True")

    @points(1)
    def test_float64(self, student, reference, rng):
        logits = rng.logits((6, 10), scale=4.0, dtype=torch.float64)
        with MISTAKES.diagnose("softmax", logits):
            assert_close(student.softmax(logits), reference.softmax(logits), fn="softmax",
                         inputs={"logits": logits}, hint=SOFTMAX_HINT + " (float64 stays float64)")

    @points(1)
    def test_large_logits(self, student, reference, rng):
        for dtype in (torch.float32, torch.float64):
            logits = uniform_logits(rng, (5, 10), 1e4, dtype)
            with MISTAKES.diagnose("softmax", logits):
                assert_close(student.softmax(logits), reference.softmax(logits), fn="softmax",
                             inputs={"logits": logits},
                             hint="logits up to +-1e4: exp overflows (inf, then inf / inf = nan) unless you subtract "
                                  "each row's largest score first")

    @points(1)
    def test_gradient(self, student, reference, rng):
        logits = rng.logits((5, 7), scale=2.0)
        weights = rng.normal((5, 7))  # explicit secret weights of the outputs, so a mistake's gradient can be named
        _, got = student.gradients("softmax", (logits,), wrt=(0,), grad_output=weights)
        _, want = reference.gradients("softmax", (logits,), wrt=(0,), grad_output=weights)
        with MISTAKES.diagnose_gradients("softmax", (logits,), wrt=(0,), grad_output=weights):
            assert_gradients_close(got, want, fn="softmax", inputs={"logits": logits}, wrt=("logits",),
                                   hint="use torch operations only (no .item(), .numpy() or .detach()), so "
                                        "autograd can differentiate softmax")

    @points(1)
    def test_written_by_hand(self, student, reference, rng):
        logits = rng.logits((4, 10), scale=3.0)
        with MISTAKES.diagnose("softmax", logits):
            assert_close(student.banning(*LIBRARY_OPS).softmax(logits), reference.softmax(logits), fn="softmax",
                         inputs={"logits": logits},
                         hint="write softmax from exp, max and sum: not F.softmax, torch.softmax, nn.Softmax or "
                              "log_softmax")


# ----------------------------------------------------------------------------------------------- cross_entropy

def ce_inputs(rng, n, classes=10, scale=3.0, dtype=torch.float32):
    return rng.logits((n, classes), scale=scale, dtype=dtype), rng.integers(0, classes, (n,))


@grade_cell("test_cross_entropy")
class TestCrossEntropy:
    @points(1)
    def test_batch(self, student, reference, rng):
        logits, labels = ce_inputs(rng, int(rng.integers(4, 17, ())))
        with MISTAKES.diagnose("cross_entropy", logits, labels):
            assert_close(student.cross_entropy(logits, labels), reference.cross_entropy(logits, labels),
                         fn="cross_entropy", inputs={"logits": logits, "labels": labels}, hint=CE_HINT)

    @points(1)
    def test_batch_of_one(self, student, reference, rng):
        logits, labels = ce_inputs(rng, 1, classes=int(rng.integers(3, 11, ())))
        with MISTAKES.diagnose("cross_entropy", logits, labels):
            assert_close(student.cross_entropy(logits, labels), reference.cross_entropy(logits, labels),
                         fn="cross_entropy", inputs={"logits": logits, "labels": labels},
                         hint=CE_HINT + "; a batch of one example still gives a 0-d tensor")

    @points(1)
    def test_large_logits(self, student, reference, rng):
        for dtype in (torch.float32, torch.float64):
            logits, labels = uniform_logits(rng, (6, 10), 1e4, dtype), rng.integers(0, 10, (6,))
            with MISTAKES.diagnose("cross_entropy", logits, labels):
                assert_close(student.cross_entropy(logits, labels), reference.cross_entropy(logits, labels),
                             fn="cross_entropy", inputs={"logits": logits, "labels": labels},
                             hint="logits up to +-1e4: log(softmax(z)) gives log(0) = -inf; compute "
                                  "logsumexp(z) - z[label] with the log-sum-exp shifted by the row's largest score")

    @points(1)
    def test_gradient(self, student, reference, rng):
        logits, labels = ce_inputs(rng, 8, dtype=torch.float64)
        _, got = student.gradients("cross_entropy", (logits, labels), wrt=(0,))
        _, want = reference.gradients("cross_entropy", (logits, labels), wrt=(0,))
        with MISTAKES.diagnose_gradients("cross_entropy", (logits, labels), wrt=(0,)):
            assert_gradients_close(got, want, fn="cross_entropy", inputs={"logits": logits, "labels": labels},
                                   wrt=("logits",),
                                   hint="the gradient of the mean loss is (softmax(z) - one_hot(y)) / batch: use "
                                        "torch operations only (no .item(), .numpy() or .detach())")

    @points(1)
    def test_written_by_hand(self, student, reference, rng):
        logits, labels = ce_inputs(rng, 6)
        with MISTAKES.diagnose("cross_entropy", logits, labels):
            assert_close(student.banning(*LIBRARY_OPS).cross_entropy(logits, labels),
                         reference.cross_entropy(logits, labels), fn="cross_entropy",
                         inputs={"logits": logits, "labels": labels},
                         hint="write the loss from the log-sum-exp (torch.logsumexp is fine): not F.cross_entropy, "
                              "nn.CrossEntropyLoss, F.log_softmax or F.nll_loss")


# ----------------------------------------------------------------------------------------------- build_digit_classifier

@grade_cell("test_build_digit_classifier")
class TestBuildDigitClassifier:
    @points(1)
    def test_structure(self, student):
        model = student.keep.build_digit_classifier()
        check_shapes(as_state(model.state_dict(), "build_digit_classifier"), CLASSIFIER_SHAPES,
                     "build_digit_classifier()")

    @points(2)
    def test_forward_is_flatten_linear_relu_linear(self, student, reference, rng):
        model = student.keep.build_digit_classifier()
        state = as_state(model.state_dict(), "build_digit_classifier")
        check_shapes(state, CLASSIFIER_SHAPES, "build_digit_classifier()")
        twin = reference.build_digit_classifier()  # the reference network with the student's own weights
        twin.load_state_dict(dict(zip(twin.state_dict(), state.values(), strict=True)))
        images = rng.uniform((7, 28, 28))
        with torch.no_grad():
            want = twin(images)
        assert_close(model(images), want, fn="build_digit_classifier()", inputs={"images": images}, rtol=1e-5,
                     atol=1e-6, what="model(images)",
                     hint=BUILD_HINT + ": images (b, 28, 28) flattened to (b, 784), a ReLU between the layers, "
                                       "no softmax at the end")


# ----------------------------------------------------------------------------------------------- train_digit_classifier

@grade_cell("test_train_digit_classifier")
class TestTrainDigitClassifier:
    @points(1)
    def test_one_loss_per_epoch(self, student, rng):
        X, y, start, seed = loop_setup(rng)
        epochs = int(rng.integers(2, 5, ()))
        _, losses = run_loop(student, (X, y, start, seed), epochs)
        if type(losses) is not list or len(losses) != epochs:
            got = f"a list of {len(losses)} values" if type(losses) is list else f"a {type(losses).__name__}"
            raise ComparisonError(
                f"train_digit_classifier(model, loader, {epochs}) -> got {got}; expected a list of {epochs} floats, "
                f"one per epoch ({LOOP_ROWS} digits in batches of {LOOP_BATCH}: 3 batches per epoch).\nHint: after "
                "each epoch append the mean of that epoch's batch losses (loss.item()), and return the list")
        for index, loss in enumerate(losses):
            number = loss if isinstance(loss, (int, float)) and not isinstance(loss, bool) else None
            if number is None or not math.isfinite(number):
                raise ComparisonError(f"train_digit_classifier(...) -> losses[{index}] is {loss!r:.40}; expected a "
                                      "finite Python float.\nHint: loss.item() turns a 0-d tensor into a float")

    @points(2)
    def test_adam_steps_over_the_loaders_batches(self, student, reference, rng):
        setup = loop_setup(rng)
        mine, _ = run_loop(student, setup)
        theirs, _ = run_loop(reference, setup)
        assert_close(as_state(mine.state_dict(), "train_digit_classifier"), theirs.state_dict(),
                     fn="train_digit_classifier", inputs=LOOP_INPUTS, rtol=1e-4, atol=1e-5, what="model.state_dict()",
                     hint="from the same start over the same batches, six Adam steps must give the same weights. "
                          + TRAIN_HINT + "; train the model you are given, not a copy")

    @points(1)
    def test_loss_curve(self, student, reference, rng):
        setup = loop_setup(rng)
        _, got = run_loop(student, setup)
        _, want = run_loop(reference, setup)
        assert_close(got, want, fn="train_digit_classifier", inputs=LOOP_INPUTS, rtol=1e-4, atol=1e-6,
                     check_dtype=False, what="losses",
                     hint="each epoch's loss is the mean of its batch losses, each the mean cross-entropy of the "
                          "batch's logits in its forward pass (before its step). " + TRAIN_HINT)

    @points(1)
    def test_trains_the_model_it_is_given(self, student, reference, rng):
        setup = loop_setup(rng)
        X, y, start, _ = setup
        mine, _ = run_loop(student, setup)
        after = as_state(mine.state_dict(), "train_digit_classifier")
        moved = max((value.double() - first.double()).abs().max().item()
                    for value, first in zip(after.values(), start, strict=True))

        def loss_of(weights):
            logits = X.reshape(len(X), -1).double() @ weights[0].double().T + weights[1].double()
            return reference.cross_entropy(logits, y).item()

        if moved < 1e-4 or not loss_of(list(after.values())) < loss_of(start):
            raise ComparisonError(
                "train_digit_classifier(model: linear_classifier(), loader, epochs: 2) -> the model passed in "
                + ("did not change" if moved < 1e-4 else "did not get a lower loss on its training digits")
                + ".\nHint: the optimizer must update model.parameters() of the model you are given (no "
                  "copy.deepcopy, no new model), going downhill: the caller's model is the trained one afterwards")


# ----------------------------------------------------------------------------------------------- hidden digits

@grade_cell("test_digits")
class TestDigits:
    @points(3)
    def test_reads_hidden_digits(self, student, reference, rng):
        images, labels = public_digits()
        rows = torch.randperm(len(images), generator=rng.generator)[:THRESHOLD_ROWS]
        images, labels = images[rows], labels[rows]
        test_images, test_labels = hidden_digits()
        pixels, names = torch.randperm(784, generator=rng.generator), torch.randperm(10, generator=rng.generator)
        X = images.reshape(len(images), -1)[:, pixels].reshape(images.shape)
        y = names[labels]
        X_test = test_images.reshape(len(test_images), -1)[:, pixels].reshape(test_images.shape)
        y_test = names[test_labels]  # stays here: only X_test enters the kernel
        start = [*linear_start(rng, 784, 100), *linear_start(rng, 100, 10)]
        seed = seed_from(rng)
        call = "build_digit_classifier() trained by train_digit_classifier"
        inputs = {"loader": f"{len(X)} training digits in shuffled batches of {THRESHOLD_BATCH}",
                  "epochs": THRESHOLD_EPOCHS}

        def accuracy(side):
            model = load_start(side.keep.build_digit_classifier(), start, CLASSIFIER_SHAPES, "build_digit_classifier()")
            loader = side.data_loader(X, y, batch_size=THRESHOLD_BATCH, shuffle=True, seed=seed)
            side.train_digit_classifier(model, loader, THRESHOLD_EPOCHS)
            logits = model(X_test)
            if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (len(X_test), 10):
                shape = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                raise ComparisonError(f"{call}: the trained model's output on {len(X_test)} test digits has shape "
                                      f"{shape}; expected [{len(X_test)}, 10]")
            if side is student:  # the logits must be what the network computes from its weights
                twin = reference.build_digit_classifier()
                state = as_state(model.state_dict(), call)
                twin.load_state_dict(dict(zip(twin.state_dict(), state.values(), strict=True)))
                with torch.no_grad():
                    computed = twin(X_test)
                assert_close(logits, computed, fn=call, inputs={"images": X_test}, rtol=1e-4, atol=1e-4,
                             what="model(images)",
                             hint="the trained model's scores must be what Flatten, Linear(784, 100), ReLU, "
                                  "Linear(100, 10) compute from its own weights")
            return (logits.argmax(dim=1) == y_test).double().mean().item()

        got = accuracy(student)
        want = accuracy(reference)
        assert_at_least(got, want, THRESHOLD_MARGIN, fn=call, inputs=inputs,
                        what=f"accuracy on {len(X_test)} hidden digits (at least the reference's minus "
                             f"{THRESHOLD_MARGIN})",
                        hint="the grader trains your network from the same start over the same batches as the "
                             "course's solution, on the training digits with their pixels and class names "
                             "shuffled by a secret permutation. " + TRAIN_HINT)
