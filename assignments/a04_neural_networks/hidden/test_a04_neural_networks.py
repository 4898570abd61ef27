"""Hidden suite of a04_neural_networks: ReLU, a two-layer network, its training loop, and two threshold tests.

Inputs come from ``rng`` (secret per grading run). Models live in the kernel that made them: the suite
holds handles (``student.keep.build_mlp(...)``, ``student.keep.single_neuron(...)``), loads the same
secret starting weights into the student's model and the reference's, trains each with its own side's
``train_classifier`` and reads back only what it needs (state_dicts, logits on test inputs). Labels of
the held-out test sets never enter the kernel: the kernel returns logits, the suite computes accuracy.

The training-loop tests run on the notebook's locked ``single_neuron`` (a plain ``nn.Linear(d, 1)``), so
a wrong ``build_mlp`` costs only the ``build_mlp`` and threshold tests. Each pins one part of the spec
where honest styles agree and the usual slips do not:

- ``lr = 0``: Adam then leaves the model as it is, so every epoch's loss is the mean BCE-with-logits of
  the starting model, whatever the order of the batches (they are all the same size here). MSE, a
  sigmoid before ``BCEWithLogitsLoss``, a sum instead of a mean, per-batch or last-only losses all miss.
- one batch of all the rows (``batch_size = n``): shuffling cannot matter, so ten epochs from the same
  start must land on the reference's Adam iterate (``rtol = 1e-4, atol = 1e-5`` on the parameters,
  ``rtol = 1e-4, atol = 1e-6`` on the losses). Measured over 300 seeds (lr 0.02, 0.05, 0.1): honest
  styles (the notebook's loop, a DataLoader with ``sigmoid`` + ``BCELoss`` and a weighted epoch mean)
  differ from the reference by at most 2.7e-7 in any parameter and 3.3e-7 relative in the
  losses. The nearest miss of a slip over the same seeds, in multiples of the full tolerance: MSE on the
  sigmoid more than 9 times (parameters and losses), no ``zero_grad`` 7.3 times (losses) and more than 9
  times (parameters); a copy trained instead of the model given does not move it at all.
- shuffling: one epoch of 8 batches of 8 must not land where the reference's in-order batches land.
  Over 300 seeds a shuffled epoch ended at least 7.4e-3 away (max over the parameters) from the
  in-order one; in-order loops in other styles end within 3e-7 of it. The test fails below 1e-4.

Threshold tests (fair-threshold rules of docs/suite-authoring.md, section 11):

- ``test_learns_a_secret_nonlinear_boundary``: a rotated, shifted XOR of the plane (secret angle and
  offset), 500 training and 1,000 test points; the student's ``build_mlp(2, 16, 1)`` from the secret
  starting weights, trained by the student's ``train_classifier`` (40 epochs, batches of 64, lr 0.03),
  must reach the reference's test accuracy minus 0.08. Over 20 seeds the reference reached 0.975 at
  worst (median 0.988); two other shuffles from the same start ended at most 0.008 below it; a network
  without its ReLU (Linear, Linear) reached 0.644 at best. At the author check's half margin (0.04) an
  honest run keeps 5 times the worst shortfall seen.
- ``test_predicts_loan_approvals``: 600 training and 1,000 test applications from the notebook's loan
  generator (secret seeds), features by the student's ``loan_features``, the student's
  ``build_mlp(7, 16, 1)`` from the secret starting weights the reference starts from too (features of
  another width: the student's own start), 40 epochs, batches of 64, lr 0.01; test accuracy at least the
  reference's minus 0.08. Over 20 seeds the reference reached 0.870 at worst (median 0.900), 5 % of the
  labels being flipped noise; two other shuffles from the same start ended at most 0.016 below it;
  features without standardization reach about 0.5. At the author check's half margin (0.04) an honest
  run keeps 2.5 times the worst shortfall seen.

Feedback names the mistake (``hidden/mistakes.py``) where a student's value reproduces a known one: a relu
that returns its slope or |x|, a network without its ReLU or ending in one, training with MSE, a sigmoid
before BCE-with-logits, no ``zero_grad``, plain SGD, a copy trained, the last loss only, loan features not
standardized or with the dummies first. The training mistakes are compared only where the order of the
batches cannot matter (lr = 0, one batch of all the rows), so each is deterministic.

The threshold runs are a few hundred Adam steps on a 16-neuron network (well under a second on one
idle core); ``call_timeout_s`` (assignment.toml) leaves room for a loaded grading machine.
"""

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from autograder.testing import (
    ComparisonError,
    assert_at_least,
    assert_close,
    assert_gradients_close,
    grade_cell,
    load_catalogue,
    points,
)

SUITE_VERSION = "a04-2"

MISTAKES = load_catalogue(Path(__file__).with_name("mistakes.py"))

RELU_HINT = "relu(x) = max(0, x) elementwise, for any shape and dtype, as a new tensor (x unchanged)"
MLP_HINT = "nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))"
TRAIN_HINT = ("nn.BCEWithLogitsLoss on the logits (no sigmoid before it), torch.optim.Adam(model.parameters(), "
              "lr=lr); per batch: zero_grad, forward, loss, backward, step")

XOR_EPOCHS, XOR_BATCH, XOR_LR, XOR_HIDDEN, XOR_MARGIN = 40, 64, 0.03, 16, 0.08
LOAN_EPOCHS, LOAN_BATCH, LOAN_LR, LOAN_HIDDEN, LOAN_MARGIN = 40, 64, 0.01, 16, 0.08
SHUFFLE_MIN_GAP = 1e-4
FULL_EPOCHS = 10


# ----------------------------------------------------------------------------------------------- helpers

def separable_data(rng, n, d):
    """n rows of d features and 0/1 labels on either side of a secret plane, with some overlap."""
    X = rng.normal((n, d))
    w = rng.normal((d,))
    y = ((X @ w + 0.5 * rng.normal((n,))) > 0).float()
    return X, y


def neuron_start(rng, d):
    return {"weight": rng.normal((1, d), std=0.5), "bias": rng.normal((1,), std=0.5)}


def neuron_on(side, start):
    model = side.keep.single_neuron(start["weight"].shape[1])
    model.load_state_dict(start)
    return model


def bce_of(state, X, y):
    logits = X.double() @ state["weight"].double().T + state["bias"].double()
    return F.binary_cross_entropy_with_logits(logits.reshape(-1), y.double()).item()


def as_state(value, fn, inputs):
    if type(value) is not dict:
        raise ComparisonError(f"{fn}: model.state_dict() did not come back as a dict of tensors")
    return value


def mlp_start(rng, n_in, n_hidden, n_out=1):
    """PyTorch's own initial distribution for Linear layers, drawn from the secret seed (reference key names)."""
    bound_in, bound_hidden = 1 / math.sqrt(n_in), 1 / math.sqrt(n_hidden)
    return {
        "0.weight": rng.uniform((n_hidden, n_in), low=-bound_in, high=bound_in),
        "0.bias": rng.uniform((n_hidden,), low=-bound_in, high=bound_in),
        "2.weight": rng.uniform((n_out, n_hidden), low=-bound_hidden, high=bound_hidden),
        "2.bias": rng.uniform((n_out,), low=-bound_hidden, high=bound_hidden),
    }


def check_mlp_shapes(state, n_in, n_hidden, n_out, call):
    """The student's state_dict must hold Linear(n_in, n_hidden) then Linear(n_hidden, n_out), in order."""
    want = [(n_hidden, n_in), (n_hidden,), (n_out, n_hidden), (n_out,)]
    got = [tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__ for value in state.values()]
    if got != want:
        raise ComparisonError(
            f"{call} -> its parameters (model.state_dict(), in order) have shapes {got}; expected {want}: "
            f"Linear({n_in}, {n_hidden}) then Linear({n_hidden}, {n_out}).\nHint: {MLP_HINT}")


def mlp_on(side, start, n_in, n_hidden):
    """The side's build_mlp(n_in, n_hidden, 1), loaded with the starting weights (matched by order)."""
    model = side.keep.build_mlp(n_in, n_hidden, 1)
    state = model.state_dict()
    check_mlp_shapes(state, n_in, n_hidden, 1, f"build_mlp({n_in}, {n_hidden}, 1)")
    model.load_state_dict(dict(zip(state, start.values(), strict=True)))
    return model


def accuracy(logits, labels, fn, call):
    if not isinstance(logits, torch.Tensor) or logits.shape not in ((len(labels), 1), (len(labels),)):
        shape = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ComparisonError(f"{call}: the trained model's output on {len(labels)} test rows has shape {shape}; "
                              f"expected [{len(labels)}, 1]")
    return ((logits.reshape(-1).double() > 0).double() == labels.double()).double().mean().item()


def secret_xor(rng, n):
    """A rotated, shifted XOR: class 1 where the two rotated coordinates have the same sign."""
    theta = float(rng.uniform((), high=math.pi))
    offset = rng.uniform((2,), low=-0.3, high=0.3)
    X = rng.normal((n, 2))
    rotation = torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    u = X @ rotation.T - offset
    return X, ((u[:, 0] * u[:, 1]) > 0).float()


def seed_from(rng):
    return int(rng.integers(0, 2**31 - 1, ()))


# ----------------------------------------------------------------------------------------------- relu

@grade_cell("test_relu")
class TestRelu:
    @points(1)
    def test_float32_matrix(self, student, reference, rng):
        x = rng.normal((5, 7))
        with MISTAKES.diagnose("relu", x):
            assert_close(student.relu(x), reference.relu(x), fn="relu", inputs={"x": x}, hint=RELU_HINT)

    @points(1)
    def test_float64_vector(self, student, reference, rng):
        x = rng.normal((11,), dtype=torch.float64, std=3.0)
        with MISTAKES.diagnose("relu", x):
            assert_close(student.relu(x), reference.relu(x), fn="relu", inputs={"x": x},
                         hint=RELU_HINT + " (float64 stays float64)")

    @points(1)
    def test_zeros_and_three_dimensions(self, student, reference, rng):
        x = rng.normal((2, 3, 4))
        x[0, 1] = 0.0
        x[1, :, 2] = 0.0
        assert_close(student.relu(x), reference.relu(x), fn="relu", inputs={"x": x},
                     hint=RELU_HINT + "; relu(0) = 0")
        zeros = torch.zeros(6)
        assert_close(student.relu(zeros), reference.relu(zeros), fn="relu", inputs={"x": zeros}, hint=RELU_HINT)

    @points(1)
    def test_gradient(self, student, reference, rng):
        x = rng.normal((6, 5))
        _, got = student.gradients("relu", (x,), wrt=(0,))
        _, want = reference.gradients("relu", (x,), wrt=(0,))
        assert_gradients_close(got, want, fn="relu", inputs={"x": x}, wrt=("x",),
                               hint="use torch operations only (no .item(), .numpy() or .detach()), and no "
                                    "in-place change of x, so autograd can differentiate relu: slope 1 where "
                                    "x > 0, 0 where x < 0")


# ----------------------------------------------------------------------------------------------- build_mlp

def mlp_sizes(rng):
    return int(rng.integers(2, 7, ())), int(rng.integers(5, 13, ())), int(rng.integers(1, 4, ()))


@grade_cell("test_build_mlp")
class TestBuildMlp:
    @points(1)
    def test_structure(self, student, rng):
        n_in, n_hidden, n_out = mlp_sizes(rng)
        call = f"build_mlp({n_in}, {n_hidden}, {n_out})"
        model = student.keep.build_mlp(n_in, n_hidden, n_out)
        if model.type_name != "torch.nn.modules.container.Sequential":
            raise ComparisonError(f"{call} returned a {model.type_name}; expected a torch.nn.Sequential.\n"
                                  f"Hint: {MLP_HINT}")
        check_mlp_shapes(as_state(model.state_dict(), "build_mlp", ()), n_in, n_hidden, n_out, call)

    @points(2)
    def test_forward_is_linear_relu_linear(self, student, reference, rng):
        n_in, n_hidden, n_out = mlp_sizes(rng)
        call = f"build_mlp({n_in}, {n_hidden}, {n_out})"
        model = student.keep.build_mlp(n_in, n_hidden, n_out)
        state = as_state(model.state_dict(), "build_mlp", ())
        check_mlp_shapes(state, n_in, n_hidden, n_out, call)
        # The reference network with the student's own weights: both must compute the same function.
        twin = reference.build_mlp(n_in, n_hidden, n_out)
        twin.load_state_dict(dict(zip(twin.state_dict(), state.values(), strict=True)))
        X = rng.normal((9, n_in))
        with torch.no_grad():
            want = twin(X)
        with MISTAKES.diagnose("build_mlp", state, X):
            assert_close(model(X), want, fn=call, inputs={"X": X}, rtol=1e-5, atol=1e-6, what="model(X)",
                         hint=MLP_HINT + ": a ReLU between the two layers, nothing after the last one")


# ----------------------------------------------------------------------------------------------- train_classifier

@grade_cell("test_train_classifier")
class TestTrainClassifier:
    @points(1)
    def test_one_loss_per_epoch(self, student, rng):
        X, y = separable_data(rng, 48, 3)
        epochs = int(rng.integers(3, 7, ()))
        model = neuron_on(student, neuron_start(rng, 3))
        losses = student.train_classifier(model, X, y, epochs, 16, 0.05)
        if type(losses) is not list or len(losses) != epochs:
            got = f"a list of {len(losses)} values" if type(losses) is list else f"a {type(losses).__name__}"
            raise ComparisonError(
                f"train_classifier(...) -> got {got}; expected a list of {epochs} floats, one per epoch "
                f"(48 rows in batches of 16: 3 batches per epoch).\nHint: after each epoch append the mean of "
                "that epoch's mini-batch losses (loss.item()), and return the list")
        for index, loss in enumerate(losses):
            number = loss if isinstance(loss, (int, float)) and not isinstance(loss, bool) else None
            if isinstance(loss, torch.Tensor) and loss.dim() == 0:
                number = float(loss)
            if number is None or not math.isfinite(number):
                raise ComparisonError(f"train_classifier(...) -> losses[{index}] is {loss!r:.40}; expected a finite "
                                      "Python float.\nHint: loss.item() turns a 0-d tensor into a float")

    @points(2)
    def test_loss_is_mean_bce_with_logits(self, student, rng):
        # With lr = 0 Adam leaves the model as it is: every epoch's loss is the starting model's mean BCE.
        X, y = separable_data(rng, 64, 3)
        start = neuron_start(rng, 3)
        inputs = {"model": "single_neuron(3)", "X": X, "y": y, "epochs": 2, "batch_size": 16, "lr": 0.0}
        losses = student.train_classifier(neuron_on(student, start), X, y, 2, 16, 0.0)
        expected = bce_of(start, X, y)
        with MISTAKES.diagnose("train_classifier", start, X, y, 2, 16, 0.0):
            assert_close(losses, [expected, expected], fn="train_classifier", inputs=inputs, rtol=1e-4, atol=1e-6,
                         check_dtype=False, what="losses",
                         hint="with lr = 0 the model does not move, so each epoch's loss is the mean binary "
                              "cross-entropy of the logits: nn.BCEWithLogitsLoss() (mean over each batch; no "
                              "sigmoid before it, not MSE), averaged over the epoch's batches")

    @points(2)
    def test_full_batch_adam_steps(self, student, reference, rng):
        X, y = separable_data(rng, 40, 3)
        start = neuron_start(rng, 3)
        lr = [0.02, 0.05, 0.1][int(rng.integers(0, 3, ()))]
        inputs = {"model": "single_neuron(3)", "X": X, "y": y, "epochs": FULL_EPOCHS, "batch_size": 40, "lr": lr}
        mine, theirs = neuron_on(student, start), neuron_on(reference, start)
        student.train_classifier(mine, X, y, FULL_EPOCHS, 40, lr)
        reference.train_classifier(theirs, X, y, FULL_EPOCHS, 40, lr, seed=seed_from(rng))
        with MISTAKES.diagnose("train_classifier weights", start, X, y, FULL_EPOCHS, 40, lr):
            assert_close(as_state(mine.state_dict(), "train_classifier", inputs), theirs.state_dict(),
                         fn="train_classifier", inputs=inputs, rtol=1e-4, atol=1e-5, what="model.state_dict()",
                         hint=f"one batch of all 40 rows, so the order cannot matter: {FULL_EPOCHS} Adam steps "
                              "from the same start must give the same weights. " + TRAIN_HINT + "; train the model "
                              "you are given, not a copy")

    @points(1)
    def test_full_batch_loss_curve(self, student, reference, rng):
        X, y = separable_data(rng, 40, 3)
        start = neuron_start(rng, 3)
        lr = [0.02, 0.05, 0.1][int(rng.integers(0, 3, ()))]
        inputs = {"model": "single_neuron(3)", "X": X, "y": y, "epochs": FULL_EPOCHS, "batch_size": 40, "lr": lr}
        got = student.train_classifier(neuron_on(student, start), X, y, FULL_EPOCHS, 40, lr)
        want = reference.train_classifier(neuron_on(reference, start), X, y, FULL_EPOCHS, 40, lr, seed=seed_from(rng))
        with MISTAKES.diagnose("train_classifier", start, X, y, FULL_EPOCHS, 40, lr):
            assert_close(got, want, fn="train_classifier", inputs=inputs, rtol=1e-4, atol=1e-6, check_dtype=False,
                         what="losses",
                         hint="each epoch's loss is the mean of its mini-batch losses, each taken in the batch's "
                              "forward pass (before its step); here one batch per epoch. " + TRAIN_HINT)

    @points(1)
    def test_trains_the_model_it_is_given(self, student, rng):
        X, y = separable_data(rng, 64, 3)
        start = neuron_start(rng, 3)
        model = neuron_on(student, start)
        student.train_classifier(model, X, y, 3, 16, 0.05)
        after = as_state(model.state_dict(), "train_classifier", ())
        moved = max((after[key].double() - start[key].double()).abs().max().item() for key in start)
        if moved < 1e-3 or not bce_of(after, X, y) < bce_of(start, X, y):
            raise ComparisonError(
                "train_classifier(model: single_neuron(3), X: float32[64, 3], y: float32[64], epochs: 3, "
                "batch_size: 16, lr: 0.05) -> the model passed in "
                + ("did not change" if moved < 1e-3 else "did not get a lower loss on its training data")
                + ".\nHint: the optimizer must update model.parameters() of the model you are given (no "
                  "copy.deepcopy, no new model): the caller's model is the trained one afterwards")

    @points(1)
    def test_shuffles_the_batches(self, student, reference, rng):
        X, y = separable_data(rng, 64, 3)
        start = neuron_start(rng, 3)
        mine, in_order = neuron_on(student, start), neuron_on(reference, start)
        student.train_classifier(mine, X, y, 1, 8, 0.05)
        reference.train_classifier(in_order, X, y, 1, 8, 0.05, shuffle=False)
        got, want = as_state(mine.state_dict(), "train_classifier", ()), in_order.state_dict()
        gap = max((got[key].double() - want[key].double()).abs().max().item() for key in want)
        if gap < SHUFFLE_MIN_GAP:
            raise ComparisonError(
                "train_classifier(model: single_neuron(3), X: float32[64, 3], y: float32[64], epochs: 1, "
                "batch_size: 8, lr: 0.05) -> the model ends exactly where batches taken in order (rows 0-7, "
                "8-15, ...) lead.\nHint: draw a new random order of the rows in every epoch "
                "(torch.randperm(n), or a DataLoader with shuffle=True) before cutting the batches")


# ----------------------------------------------------------------------------------------------- loan_features

@grade_cell("test_loan_features")
class TestLoanFeatures:
    @points(2)
    def test_standardized_numbers_then_dummies(self, student, reference, rng):
        # Standardizing with the sample (n - 1) or population (n) standard deviation differs by 0.2 % here
        # (300 rows): at most about 0.01 on a value of 4, inside the half tolerance (0.005 + 0.005 * 4).
        frame = reference.make_loans(300, seed_from(rng)).drop(columns=["loan_status"])
        with MISTAKES.diagnose("loan_features", frame):
            assert_close(student.loan_features(frame), reference.loan_features(frame), fn="loan_features",
                         inputs={"frame": frame}, rtol=0.01, atol=0.01,
                         hint="a float32 tensor (n, 7): person_income, loan_percent_income, credit_history_years, "
                              "each standardized with the frame's mean and standard deviation, then the "
                              "loan_intent dummies (education, medical, personal, venture); no other column")


# ----------------------------------------------------------------------------------------------- thresholds

@grade_cell("test_network")
class TestNetwork:
    @points(2)
    def test_learns_a_secret_nonlinear_boundary(self, student, reference, rng):
        X, labels = secret_xor(rng, 1500)
        X_train, y_train, X_test, y_test = X[:500], labels[:500], X[500:], labels[500:]
        start = mlp_start(rng, 2, XOR_HIDDEN)
        inputs = {"X": X_train, "y": y_train, "epochs": XOR_EPOCHS, "batch_size": XOR_BATCH, "lr": XOR_LR}
        call = f"build_mlp(2, {XOR_HIDDEN}, 1) trained by train_classifier"

        mine = mlp_on(student, start, 2, XOR_HIDDEN)
        student.train_classifier(mine, X_train, y_train, XOR_EPOCHS, XOR_BATCH, XOR_LR)
        got = accuracy(mine(X_test), y_test, "train_classifier", call)
        theirs = mlp_on(reference, start, 2, XOR_HIDDEN)
        reference.train_classifier(theirs, X_train, y_train, XOR_EPOCHS, XOR_BATCH, XOR_LR, seed=seed_from(rng))
        want = accuracy(theirs(X_test), y_test, "train_classifier", call)
        assert_at_least(got, want, XOR_MARGIN, fn=call, inputs=inputs,
                 what=f"accuracy on 1000 secret test points (at least the reference's minus {XOR_MARGIN})",
                 hint="these points follow a secret boundary no straight line separates (a rotated, shifted "
                      "XOR); from the same starting weights the reference's network learns it. Check the ReLU "
                      "between the layers of build_mlp, and " + TRAIN_HINT)


@grade_cell("test_loans")
class TestLoans:
    @points(2)
    def test_predicts_loan_approvals(self, student, reference, rng):
        train = reference.make_loans(600, seed_from(rng))
        test = reference.make_loans(1000, seed_from(rng))
        y_train = torch.tensor(train["loan_status"].to_numpy()).float()
        y_test = torch.tensor(test["loan_status"].to_numpy()).float()
        train_frame, test_frame = train.drop(columns=["loan_status"]), test.drop(columns=["loan_status"])

        start = mlp_start(rng, 7, LOAN_HIDDEN)

        def accuracy_of(side, **seed):
            X = side.loan_features(train_frame)
            X_test = side.loan_features(test_frame)
            for name, value, rows in (("train", X, 600), ("test", X_test, 1000)):
                if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[0] != rows \
                        or value.dtype != torch.float32:
                    described = (f"{value.dtype}{list(value.shape)}" if isinstance(value, torch.Tensor)
                                 else type(value).__name__)
                    raise ComparisonError(
                        f"loan_features(frame of {rows} {name} applications) -> got {described}; expected a "
                        f"float32 tensor of shape [{rows}, 7].\nHint: pd.get_dummies(...).astype(\"float32\"), "
                        "then torch.tensor(....to_numpy())")
            if X.shape[1] != X_test.shape[1]:
                raise ComparisonError(f"loan_features gave {X.shape[1]} columns for one frame and "
                                      f"{X_test.shape[1]} for another: the same columns for every frame")
            d = X.shape[1]
            if d == 7:  # the features asked for: the same secret starting weights on both sides
                model = mlp_on(side, start, d, LOAN_HIDDEN)
            else:  # other features: the student's network starts from its own weights
                model = side.keep.build_mlp(d, LOAN_HIDDEN, 1)
            side.train_classifier(model, X, y_train, LOAN_EPOCHS, LOAN_BATCH, LOAN_LR, **seed)
            return accuracy(model(X_test), y_test, "train_classifier", "the loan network")

        got = accuracy_of(student)
        want = accuracy_of(reference, seed=seed_from(rng))
        call = f"build_mlp(d, {LOAN_HIDDEN}, 1) on loan_features, trained by train_classifier"
        assert_at_least(got, want, LOAN_MARGIN, fn=call,
                 inputs={"epochs": LOAN_EPOCHS, "batch_size": LOAN_BATCH, "lr": LOAN_LR},
                 what=f"accuracy on 1000 secret test applications (at least the reference's minus {LOAN_MARGIN})",
                 hint="features: the three numeric columns standardized (mean 0, standard deviation 1), then "
                      "the four loan_intent dummies, as float32; the network and its training as in parts 3 "
                      "and 4")
