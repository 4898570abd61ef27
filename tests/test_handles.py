"""Objects that live in the kernel: handles (issued, checked, lost on restart) and DataFrames as data."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import types

import numpy
import pandas as pd
import pytest
import torch

from autograder.grading.handles import MAX_HANDLES, Handle, HandleError, KernelHandles, LocalHandles
from autograder.grading.proxies import ReferenceProxy, StudentProxy
from autograder.sandbox import frames, kept, wire
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel
from autograder.sandbox.messages import Caps, StudentCodeError, StudentTimeout

# ----------------------------------------------------------------- DataFrames on the wire


def roundtrip(value):
    return wire.decode(wire.encode(value))


def test_a_frame_crosses_with_its_columns_dtypes_and_index():
    frame = pd.DataFrame({"age": numpy.array([3, 5, 9], dtype=numpy.int32), "km": [1.5, numpy.nan, 2.0],
                          "make": ["vw", None, "fiat"], "used": [True, False, True],
                          "colour": pd.Categorical(["red", "blue", "red"], categories=["red", "blue", "green"]),
                          7: numpy.zeros(3, dtype=numpy.float32)}, index=pd.Index([10, 4, 2], name="row"))
    back = roundtrip({"frame": frame})["frame"]
    pd.testing.assert_frame_equal(back, frame, check_column_type=False)
    assert list(back.columns) == ["age", "km", "make", "used", "colour", 7]
    assert back["colour"].cat.categories.tolist() == ["red", "blue", "green"]
    ranged = roundtrip(pd.DataFrame({"x": [1.0, 2.0]}, index=pd.RangeIndex(5, 9, 2)))
    assert isinstance(ranged.index, pd.RangeIndex) and ranged.index.tolist() == [5, 7]
    assert roundtrip(pd.DataFrame()).shape == (0, 0)


@pytest.mark.parametrize("frame, reason", [
    (pd.DataFrame({"when": pd.to_datetime(["2020-01-01"])}), "dtype datetime64"),
    (pd.DataFrame({"mixed": pd.Series(["a", 1], dtype=object)}), "holds a int"),
    (pd.DataFrame({"x": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)])), "MultiIndex"),
    (pd.DataFrame({("a", "b"): [1]}), "MultiIndex|column names"),
    (pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}), "dtype Int64"),
])
def test_frames_that_cannot_be_plain_data_are_refused_by_name(frame, reason):
    with pytest.raises(frames.FrameError, match=reason):
        wire.encode(frame)


def column(kind, values):
    return {"kind": kind, "values": values}


GOOD = {"names": ["x"], "columns": [column("numeric", numpy.zeros(2))], "index": {"kind": "range", "start": 0,
                                                                                   "stop": 2, "step": 1},
        "index_name": None}


@pytest.mark.parametrize("tree", [
    {**GOOD, "extra": 1},
    {**GOOD, "names": ["x", "y"]},
    {**GOOD, "names": [["x"]]},
    {**GOOD, "names": ["x" * 201]},
    {**GOOD, "columns": [column("numeric", numpy.zeros(3))]},  # another length than the index
    {**GOOD, "columns": [column("numeric", ["a", "b"])]},
    {**GOOD, "columns": [column("bool", numpy.zeros(2))]},
    {**GOOD, "columns": [column("string", ["a", 1])]},
    {**GOOD, "columns": [column("object", ["a", "b"])]},
    {**GOOD, "columns": [column("numeric", numpy.zeros((2, 1)))]},
    {**GOOD, "columns": [{"kind": "category", "categories": column("string", ["a"]), "ordered": False,
                          "codes": numpy.array([0, 5])}]},  # a code past the categories
    {**GOOD, "columns": [{"kind": "category", "categories": column("string", ["a", "a"]), "ordered": False,
                          "codes": numpy.array([0, 1])}]},  # repeated categories
    {**GOOD, "index": {"kind": "range", "start": 0, "stop": 2, "step": 0}},
    {**GOOD, "index": {"kind": "range", "start": 0, "stop": 2**62, "step": 1}},
])
def test_forged_frame_trees_are_refused(tree):
    with pytest.raises(wire.WireError):
        roundtrip_tree = wire.encode(tree).replace('{"__dict__"', '{"__frame__":{"__dict__"', 1) + "}"
        wire.decode(roundtrip_tree)


# ----------------------------------------------------------------- handles on the wire and in the kernel's table


@pytest.mark.parametrize("body", [
    {"id": 1, "type": "x"}, {"id": "", "type": "x"}, {"id": "a" * 65, "type": "x"}, {"id": "a\nb", "type": "x"},
    {"id": "é", "type": "x"}, {"id": "a", "type": "x" * 257}, {"id": "a", "type": None}, {"id": "a"},
])
def test_malformed_handle_references_are_refused(body):
    with pytest.raises(wire.WireError, match=r"handle|malformed|unknown tag"):
        wire.decode(wire.encode({"output": 1}).replace("1", f'{{"__handle__":{json.dumps(body)}}}'))


def test_the_kernels_table_keeps_what_is_not_data_and_names_known_objects_by_their_handle():
    table = kept.Table(wire.HandleRef)
    model, predictor = torch.nn.Linear(2, 1), (lambda frame: 0)
    keeper = table.keeper("abc")
    payload = wire.encode({"output": (model, predictor, model, torch.ones(1))}, keeper)
    assert table.objects == {}  # nothing kept before the whole result is encoded
    keeper.commit()
    output = wire.decode(payload)["output"]
    assert [ref.id for ref in output[:3]] == ["abc.0", "abc.1", "abc.0"]
    assert output[0].type_name == "torch.nn.modules.linear.Linear" and torch.equal(output[3], torch.ones(1))
    # Without a prefix, only objects already kept come back as handles; a module as its state_dict otherwise.
    assert wire.decode(wire.encode(model, table.keeper(None))).id == "abc.0"
    assert type(wire.decode(wire.encode(torch.nn.ReLU(), table.keeper(None)))) is wire.ModuleState
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode(object(), table.keeper(None))
    args = [torch.ones(1), {"m": output[0]}]
    resolved = table.resolve(args)
    assert resolved[1]["m"] is model and resolved[0] is args[0]
    plain = [torch.ones(1), {"m": 1}]
    assert table.resolve(plain) is plain  # no handle inside: the very same list (changes in place stay visible)
    table.release(["abc.0", 5, None])
    with pytest.raises(LookupError):
        table.get(output[0])


def test_the_kernels_table_is_bounded_and_names_types_by_their_real_class():
    table = kept.Table(wire.HandleRef)
    table.objects = {f"x.{n}": (object(), "object") for n in range(kept.MAX_HANDLES)}
    with pytest.raises(RuntimeError, match=f"at most {kept.MAX_HANDLES}"):
        wire.encode(object(), table.keeper("y"))

    class Liar:
        __class__ = property(lambda self: torch.Tensor)
        __qualname__ = "torch.Tensor"

    Liar.__qualname__ = "Li\nar"
    assert kept.type_name(Liar()) == f"{__name__}.Liar"


@pytest.mark.parametrize("name", ["predict", "state_dict", "eval", "forward"])
def test_plain_names(name):
    assert kept.plain_name(name)


@pytest.mark.parametrize("name", ["_private", "__class__", "__del__", "import", "a.b", "a b", "", "x" * 101, 3, "ä"])
def test_names_that_are_not_plain_are_refused(name):
    assert not kept.plain_name(name)


# ----------------------------------------------------------------- the grader's checks of what comes back


class FakeKernel:
    def __init__(self):
        self.generation, self.events = 1, []


def issued(table, kernel, n=1):
    _, prefix = table.request(kernel, keep=True)
    refs = [wire.HandleRef(f"{prefix}.{i}", "torch.nn.modules.linear.Linear") for i in range(n)]
    return table.receive({"output": refs}, prefix, "build", owner=None)["output"]


def test_only_handles_issued_for_this_call_are_accepted():
    kernel, table = FakeKernel(), KernelHandles(1)
    first, = issued(table, kernel)
    assert isinstance(first, Handle) and first.description == "the Linear from build"
    _, prefix = table.request(kernel, keep=True)
    again = table.receive({"output": [wire.HandleRef(first._id, first.type_name)]}, prefix, "f", None)["output"]
    assert again[0] is first
    for forged in (wire.HandleRef("0123456789abcdef.0", "x"), wire.HandleRef(f"{prefix}.1000", "x"),
                   wire.HandleRef(f"{prefix}.-1", "x"), wire.HandleRef(f"{prefix}.00001", "x"),
                   wire.HandleRef(prefix, "x")):
        with pytest.raises(StudentCodeError, match="never issued"):
            table.receive({"output": forged}, prefix, "f", None)
    with pytest.raises(StudentCodeError, match="never issued"):  # a plain call issues nothing
        table.receive({"output": wire.HandleRef(f"{prefix}.0", "x")}, None, "f", None)
    with pytest.raises(StudentCodeError, match="type changed"):
        table.receive({"output": wire.HandleRef(first._id, "torch.Tensor")}, None, "f", None)


def test_handles_are_bounded_released_when_dropped_and_lost_with_their_kernel():
    kernel, table = FakeKernel(), KernelHandles(1)
    handles = issued(table, kernel, 10)
    dropped = handles.pop()._id
    gc.collect()
    request, _ = table.request(kernel, keep=False)
    assert request["release"] == [dropped] and dropped not in table.types
    table.types.update({f"x.{n}": "object" for n in range(MAX_HANDLES)})
    with pytest.raises(StudentCodeError, match=f"at most {MAX_HANDLES}"):
        issued(table, kernel)
    kernel.generation, kernel.events = 2, ["call spin: time limit of 4 s reached"]
    table.request(kernel, keep=False)
    with pytest.raises(StudentCodeError, match=r"the Linear from build was lost when your kernel restarted "
                                               r"\(call spin: time limit"):
        table.refs(([handles[0]], {}), kernel)
    with pytest.raises(HandleError, match="another student's kernel"):
        KernelHandles(2).ref(handles[0], kernel)


def test_method_and_attribute_names_are_checked_on_the_graders_side():
    handle = Handle(None, None, "a.0", "x.Model", "build")
    for bad in ("__class__", "_secret", "import"):
        with pytest.raises(HandleError, match="not a plain public"):
            handle.call(bad)
        with pytest.raises(HandleError):
            handle.attribute(bad)
    with pytest.raises(AttributeError):
        handle.__len__  # noqa: B018
    assert copy.deepcopy([handle])[0] is handle
    with pytest.raises(HandleError, match="cannot be pickled"):
        pickle.dumps(handle)


# ----------------------------------------------------------------- the reference's handles


# The training functions both sides run: the reference's copy here, the student's in the kernel's cell.
TRAINING_FUNCTIONS = '''
def build_mlp(n_in, n_hidden, n_out):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(n_in, n_hidden), torch.nn.ReLU(), torch.nn.Linear(n_hidden, n_out))


def train(model, loader, epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total)
    return losses


def train_price_model(frame):
    mean = float(frame["price"].mean())
    return lambda test: torch.full((len(test),), mean)
'''


def reference_module():
    namespace = {"torch": torch}
    exec(TRAINING_FUNCTIONS, namespace)
    return types.SimpleNamespace(**{name: namespace[name] for name in ("build_mlp", "train", "train_price_model")})


def trained(proxy, X, y):
    """One test body for both sides: build, train on a loader of the test's data, read back plain data."""
    model = proxy.keep.build_mlp(2, 8, 1)
    before = model.state_dict()
    losses = proxy.train(model, proxy.data_loader(X, y, batch_size=8, shuffle=True, seed=5), 3)
    assert model.eval() is model
    return before, losses, model.state_dict(), model(X[:4]), model.attribute("training")


def test_the_reference_keeps_real_objects_behind_the_same_interface():
    reference = ReferenceProxy(reference_module())
    X = torch.randn(32, 2)
    before, losses, after, predictions, training = trained(reference, X, X.sum(1, keepdim=True))
    assert losses[-1] < losses[0] and not training and predictions.shape == (4, 1)
    assert not torch.equal(before["0.weight"], after["0.weight"])  # trained in place, and read back as copies
    with pytest.raises(HandleError, match="lives in the student's kernel"):
        reference.train(Handle(None, KernelHandles(1), "a.0", "x.Model", "build_mlp"), None, 1)
    predictor = reference.keep.train_price_model(pd.DataFrame({"price": [1.0, 3.0]}))
    assert torch.equal(predictor(pd.DataFrame({"price": [0.0]})), torch.tensor([2.0]))
    with pytest.raises(HandleError, match="batch_size"):
        reference.data_loader(X, X, batch_size=0)
    with pytest.raises(HandleError, match="differ in length"):
        reference.data_loader(X, X[:3])


def test_loaders_with_one_seed_give_the_same_batches():
    X = torch.arange(20.0)
    batches = [[b[0].tolist() for b in kept.make_data_loader(X, batch_size=4, shuffle=True, seed=9)] for _ in "ab"]
    assert batches[0] == batches[1] and batches[0] != [X[i:i + 4].tolist() for i in range(0, 20, 4)]


def test_local_handles_are_one_per_object():
    handles = LocalHandles()
    model = torch.nn.Linear(1, 1)
    assert handles.wrap(model, "a", None) is handles.wrap(model, "b", None)


# ----------------------------------------------------------------- real kernels

CELLS = ['''
import IPython
import pandas as pd
import torch


''' + TRAINING_FUNCTIONS + '''

def make_dummies(frame, columns):
    return pd.get_dummies(frame, columns=columns, drop_first=True, dtype="float32")


class SpamFilter:
    def __init__(self, words):
        self.words = words

    def predict(self, texts):
        return torch.tensor([any(w in t for w in self.words) for t in texts])


def train_spam_filter(texts, labels):
    return SpamFilter(["win", "free"])


class Trouble:
    def forward_in_place(self, x):
        x.mul_(2)
        return x

    def raises(self):
        raise ValueError("no prediction today")

    def huge(self):
        return torch.zeros(2_000_000)

    def spins(self):
        while True:
            pass

    def convolves(self, x):
        return torch.nn.functional.conv1d(x.reshape(1, 1, -1), torch.ones(1, 1, 1)).reshape(-1)

    def __del__(self):
        raise RuntimeError("not going quietly")


class Grumpy:
    def __getattr__(self, name):
        raise KeyError(name)


def trouble():
    return Trouble()


def grumpy():
    return Grumpy()


def _table():
    agent = IPython.get_ipython().user_ns["__autograder__"]
    return next(c.cell_contents for c in agent.__closure__ if hasattr(c.cell_contents, "objects"))


def forge(kind):
    table, value = _table(), torch.nn.Linear(1, 1)
    if kind == "new":
        table.objects["feedfacefeedface.0"] = (value, "torch.Tensor")
        table.ids[id(value)] = "feedfacefeedface.0"
        return value
    handle_id = next(iter(table.objects))  # one the grader issued, under another type
    table.objects[handle_id] = (table.objects[handle_id][0], "builtins.str")
    return table.objects[handle_id][0]
''']


@pytest.mark.slow
def test_one_test_body_trains_the_students_model_and_the_references_alike():
    X = torch.randn(48, 2, generator=torch.Generator().manual_seed(1))
    y = X.sum(1, keepdim=True)
    namespace: dict = {}
    exec(CELLS[0].replace("import IPython\n", ""), namespace)  # the reference: the same code, in the grader
    reference = ReferenceProxy(types.SimpleNamespace(**namespace))
    with StudentKernel(CELLS, Limits(call_timeout_s=8), require_isolation=False) as kernel:
        kernel.run_notebook()
        student = StudentProxy(kernel)
        got, want = trained(student, X, y), trained(reference, X, y)
        assert got[1] == pytest.approx(want[1]) and got[1][-1] < got[1][0]
        for got_state, want_state in ((got[0], want[0]), (got[2], want[2])):
            assert got_state.keys() == want_state.keys()
            assert all(torch.allclose(got_state[k], want_state[k]) for k in got_state)
        assert torch.allclose(got[3], want[3]) and got[4] is False
        frame = pd.DataFrame({"age": [1, 4, 2], "make": ["vw", "fiat", "vw"], "price": [1.0, 2.0, 4.5]})
        dummies = student.make_dummies(frame, ["make"])
        pd.testing.assert_frame_equal(dummies, reference.make_dummies(frame, ["make"]), check_column_type=False)
        predictor = student.keep.train_price_model(frame)
        assert predictor.type_name == "builtins.function" and predictor.origin == "train_price_model"
        assert torch.equal(predictor(frame.iloc[:2]), reference.keep.train_price_model(frame)(frame.iloc[:2]))
        spam = student.keep.train_spam_filter(["win now", "hi"], [True, False])
        assert spam.predict(["free money", "lunch?"]).tolist() == [True, False]
        assert spam.attribute("words") == ["win", "free"]
        with pytest.raises(StudentCodeError, match="cannot send a value of type"):
            student.train_price_model(frame)  # without keep, a result is plain data or nothing
        with pytest.raises(HandleError, match="belongs to the reference"):
            student.train(reference.keep.build_mlp(2, 8, 1), student.data_loader(X, y), 1)
        with pytest.raises(HandleError, match="lives in the student's kernel"):
            reference.train(student.keep.build_mlp(2, 8, 1), reference.data_loader(X, y), 1)


@pytest.mark.slow
def test_hostile_objects_and_forged_handles_fail_their_calls_cleanly():
    caps = Caps(result_bytes=1 << 20)
    with StudentKernel(CELLS, Limits(call_timeout_s=4), require_isolation=False, caps=caps) as kernel:
        kernel.run_notebook()
        student = StudentProxy(kernel)
        model = student.keep.build_mlp(2, 4, 1)
        with pytest.raises(StudentCodeError, match="never issued"):
            student.forge("new")
        with pytest.raises(StudentCodeError, match="type changed"):
            student.forge("known")
        trouble = student.keep.trouble()
        with pytest.raises(StudentCodeError, match=r"the Trouble from trouble, its forward_in_place changed its "
                                                   r"argument `x` in place"):
            trouble.forward_in_place(torch.ones(3))
        with pytest.raises(StudentCodeError, match="no prediction today"):
            trouble.raises()
        with pytest.raises(StudentCodeError, match="used a banned operator aten::convolution"):
            student.banning("aten::convolution").keep.trouble().convolves(torch.ones(3))
        with pytest.raises(StudentCodeError, match="KeyError"):
            student.keep.grumpy().predict([1])
        with pytest.raises(StudentCodeError, match="not a public method"):
            student._send("x", (), {}, target=trouble, method="__class__")  # a forged name, past the grader's check
        del trouble
        gc.collect()
        assert model.attribute("training") is True  # the release of Trouble (its __del__ raises) harms nothing
        with pytest.raises(StudentTimeout, match="did not return within 4 s"):
            student.keep.trouble().spins()
        with pytest.raises(StudentCodeError, match=r"the Sequential from build_mlp was lost when your kernel "
                                                   r"restarted \(call .*time limit of 4 s reached\)"):
            model.state_dict()
        with pytest.raises(StudentCodeError, match="over the 1 MiB limit"):  # the grader stops a kernel that floods
            student.keep.trouble().huge()
        assert student.keep.build_mlp(2, 4, 1).attribute("training") is True


def test_an_object_a_reference_handle_stands_for_comes_back_as_that_handle():
    def fit(model, data):
        return model

    reference = ReferenceProxy(types.SimpleNamespace(fit=fit, build=lambda: torch.nn.Linear(1, 1)))
    model = reference.keep.build()
    assert reference.fit(model, [1]) is model
    output, args, kwargs = reference.call_in_place("fit", model, data=[2])
    assert output is model and args[0] is model and kwargs == {"data": [2]}
