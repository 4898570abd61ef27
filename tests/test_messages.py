"""What a kernel sends, made safe (autograder/sandbox/messages.py), on forged messages: no kernel."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.sandbox import wire
from autograder.sandbox.messages import (
    DEFAULT_CAPS,
    Execution,
    OutputCollector,
    StudentCodeError,
    check_ops,
    clip,
    clip_error,
    output_size,
    strip_ansi,
    student_traceback,
    to_output,
    well_formed,
)

MSG_ID = "request-1"


def message(kind, content, parent=MSG_ID, **extra) -> dict:
    return {"header": {"msg_type": kind}, "parent_header": {"msg_id": parent}, "msg_type": kind,
            "content": content, **extra}


def nested(depth: int, leaf=0):
    """JSON-decodable nesting as deep as ``depth`` (what jupyter_client could hand over)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def as_notebook_output(kind: str, content: dict) -> dict:
    """The output in a notebook that nbformat validates (as nbgrader must write it); raises if invalid."""
    output = to_output(kind, content)
    cell = new_code_cell("x = 1")
    cell.outputs = [nbformat.from_dict(output)]
    notebook = new_notebook()
    notebook.cells = [cell]
    nbformat.validate(notebook)
    json.dumps(output)
    return output


def ident(value) -> str:
    """A short test id for a forged message (some cannot even be printed)."""
    try:
        return repr(value)[:60]
    except (ValueError, RecursionError):
        return "unprintable"


def plain(value) -> bool:
    """Only the JSON types, all the way down (walked without recursion: the junk may be deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if not all(type(key) is str for key in item):
                return False
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
        elif not (item is None or type(item) in (str, int, float, bool)):
            return False
    return True


# ----------------------------------------------------------------- well_formed: refused shapes


@pytest.mark.parametrize("msg", [
    None, 0, "status", b"bytes", [], ["parent_header"], (), {},
    {"parent_header": None, "msg_type": "stream", "content": {"text": "x"}},
    {"parent_header": "request-1", "msg_type": "stream", "content": {"text": "x"}},
    {"parent_header": [MSG_ID], "msg_type": "stream", "content": {"text": "x"}},
    {"msg_type": "stream", "content": {"text": "x"}},
    message("stream", {"text": "x"}, parent="another-request"),
    message("stream", {"text": "x"}, parent=None),
    message("stream", {"text": "x"}, parent=["request-1"]),
    message("stream", None),
    message("stream", "text"),
    message("stream", ["text"]),
    message("display_data", {"data": "text/plain"}),
    message("display_data", {"data": ["text/plain", "x"]}),
    message("display_data", {"data": None}),
    message("display_data", {}),
    message("execute_result", {"data": 5}),
    message("execute_input", {"code": "x"}),
    message("comm_open", {"data": {}}),
    message(None, {"text": "x"}),
    message(["stream"], {"text": "x"}),
    message("stream", {"text": 10 ** 5000}),  # str() of it raises ValueError
    message("stream", {"text": nested(50_000)}),  # str() of it raises RecursionError
    message("error", {"evalue": nested(50_000)}),
    message("display_data", {"data": {"text/plain": nested(50_000)}}),
    message("error", {"traceback": ["fine", 10 ** 5000]}),
], ids=ident)
def test_forged_messages_of_the_wrong_shape_are_dropped(msg):
    assert well_formed(msg, MSG_ID) is None


def test_a_dict_subclass_is_not_a_message():
    class Sneaky(dict):
        def get(self, *args):
            raise RuntimeError("never called")

    assert well_formed(Sneaky(message("stream", {"text": "x"})), MSG_ID) is None
    assert well_formed(message("stream", Sneaky(text="x")), MSG_ID) is None


# ----------------------------------------------------------------- well_formed: kept, made plain


@pytest.mark.parametrize("msg, expected", [
    (message("status", {"execution_state": "idle"}), ("status", {"execution_state": "idle"})),
    (message("status", {"execution_state": ["idle"]}), ("status", {"execution_state": "['idle']"})),
    (message("status", {}), ("status", {"execution_state": ""})),
    (message("stream", {"name": "stdout", "text": "hi\n"}), ("stream", {"name": "stdout", "text": "hi\n"})),
    (message("stream", {"name": "stderr", "text": 5}), ("stream", {"name": "stderr", "text": "5"})),
    (message("stream", {"name": "/etc/passwd", "text": None}), ("stream", {"name": "stdout", "text": "None"})),
    (message("stream", {"name": ["stdout"], "text": {"a": 1}}), ("stream", {"name": "stdout", "text": "{'a': 1}"})),
    (message("stream", {}), ("stream", {"name": "stdout", "text": ""})),
    (message("error", {}), ("error", {"ename": "Error", "evalue": "", "traceback": []})),
    (message("error", {"ename": 1, "evalue": None, "traceback": "not a list"}),
     ("error", {"ename": "1", "evalue": "None", "traceback": []})),
    (message("error", {"ename": "E", "evalue": "v", "traceback": [1, None, {"f": 2}, ["x"]]}),
     ("error", {"ename": "E", "evalue": "v", "traceback": ["1", "None", "{'f': 2}", "['x']"]})),
    (message("display_data", {"data": {"text/plain": 5, "text/html": ["<b>", "x"]}, "metadata": [1],
                              "execution_count": 3}),
     ("display_data", {"data": {"text/plain": "5", "text/html": "['<b>', 'x']"}, "metadata": {},
                       "execution_count": 3})),
    (message("display_data", {"data": {"application/json": {"a": [1, 2]}}, "metadata": {"isolated": True}}),
     ("display_data", {"data": {"application/json": {"a": [1, 2]}}, "metadata": {"isolated": True},
                       "execution_count": None})),
    (message("execute_result", {"data": {"text/plain": "4"}, "execution_count": "4"}),
     ("execute_result", {"data": {"text/plain": "4"}, "metadata": {}, "execution_count": None})),
    (message("execute_result", {"data": {"text/plain": "4"}, "execution_count": 4.0}),
     ("execute_result", {"data": {"text/plain": "4"}, "metadata": {}, "execution_count": None})),
    (message("execute_result", {"data": {"text/plain": "4"}, "execution_count": True}),
     ("execute_result", {"data": {"text/plain": "4"}, "metadata": {}, "execution_count": None})),
    (message("execute_result", {"data": {}, "execution_count": 7}),
     ("execute_result", {"data": {}, "metadata": {}, "execution_count": 7})),
], ids=ident)
def test_what_is_kept_is_plain_well_typed_content(msg, expected):
    assert well_formed(msg, MSG_ID) == expected
    assert plain(expected[1])
    if expected[0] != "status":
        as_notebook_output(*expected)


@pytest.mark.parametrize("msg", [
    message("stream", {"name": "stdout", "text": "x" * 5_000_000}),
    message("error", {"ename": "E" * 100_000, "evalue": "v" * 1_000_000, "traceback": ["frame"] * 100_000}),
    message("display_data", {"data": {f"text/x-{i}": "y" * 1000 for i in range(2000)}}),
    message("display_data", {"data": {"text/plain": "x"}, "metadata": {"deep": nested(400)}}),
    message("display_data", {"data": {"application/json": nested(400, {"k": None})}}),
    message("execute_result", {"data": {"text/plain": "x"}, "metadata": {"a": [1, {"b": nested(50)}]},
                               "execution_count": 2**70}),
    message("stream", {"name": "stdout", "text": "\x1b[31mred\x00\udcff"}, extra={"junk": nested(100)}),
], ids=lambda m: m["msg_type"])
def test_huge_and_nested_junk_never_raises_and_gives_valid_outputs(msg):
    kind, content = well_formed(msg, MSG_ID)
    assert plain(content)
    as_notebook_output(kind, content)


@pytest.mark.parametrize("mime", ["text/json", "x-json"])
def test_structured_data_under_a_mime_type_nbformat_wants_as_text(mime):
    kind, content = well_formed(message("display_data", {"data": {mime: {"a": [1]}}}), MSG_ID)
    assert plain(content)
    as_notebook_output(kind, content)


def test_a_negative_execution_count_is_dropped():
    kind, content = well_formed(message("execute_result", {"data": {"text/plain": "4"}, "execution_count": -5}),
                                MSG_ID)
    as_notebook_output(kind, content)


def test_to_output_builds_notebook_outputs():
    assert to_output("stream", {"name": "stderr", "text": "t"}) == {"output_type": "stream", "name": "stderr",
                                                                    "text": "t"}
    assert to_output("error", {"ename": "E", "evalue": "v", "traceback": ["a"]}) == {
        "output_type": "error", "ename": "E", "evalue": "v", "traceback": ["a"]}
    assert to_output("display_data", {"data": {"text/plain": "x"}, "metadata": {}, "execution_count": 3}) == {
        "output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}}
    assert to_output("execute_result", {"data": {"text/plain": "x"}, "metadata": {}, "execution_count": 3}) == {
        "output_type": "execute_result", "data": {"text/plain": "x"}, "metadata": {}, "execution_count": 3}


# ----------------------------------------------------------------- OutputCollector


def stream(text: str, parent: str = MSG_ID, name: str = "stdout") -> dict:
    return message("stream", {"name": name, "text": text}, parent=parent)


def payload(text: str, parent: str = MSG_ID) -> dict:
    return message("display_data", {"data": {wire.MIME_TYPE: text}, "metadata": {}}, parent=parent)


def idle(parent: str = MSG_ID) -> dict:
    return message("status", {"execution_state": "idle"}, parent=parent)


def error(traceback: list[str], ename: str = "ValueError", evalue: str = "bad") -> dict:
    return message("error", {"ename": ename, "evalue": evalue, "traceback": traceback})


def test_idle_of_the_request_ends_it_and_nothing_else_does():
    collector = OutputCollector(MSG_ID, 1000)
    assert collector.take(message("status", {"execution_state": "busy"})) is False
    assert collector.take(idle(parent="other")) is False
    assert collector.take(stream("x")) is False
    assert collector.take(["junk"]) is False
    assert collector.take(None) is False
    assert collector.take(idle()) is True
    assert collector.result.status == "ok" and collector.result.text() == "x"


def test_outputs_of_other_requests_are_ignored():
    collector = OutputCollector(MSG_ID, 1000)
    collector.take(stream("mine"))
    collector.take(stream("theirs", parent="other"))
    collector.take(payload("{}", parent="other"))
    assert collector.result.outputs == [{"output_type": "stream", "name": "stdout", "text": "mine"}]
    assert collector.result.payload_count == 0


def test_output_over_the_budget_is_cut_with_one_note():
    collector = OutputCollector(MSG_ID, 100)
    collector.take(stream("a" * 60))
    collector.take(stream("b" * 30))  # 90 of 100
    collector.take(stream("c" * 20))  # over: cut
    collector.take(stream("d" * 5))  # what still fits the budget is kept
    collector.take(stream("e" * 500))
    result = collector.result
    assert collector.truncated and result.truncated
    notes = [o for o in result.outputs if "output truncated" in o.get("text", "")]
    assert len(notes) == 1 and "more than 100 bytes" in notes[0]["text"]
    kept = "".join(o["text"] for o in result.outputs if o not in notes)
    assert "c" not in kept and "e" not in kept
    assert kept.startswith("a" * 60 + "b" * 30)
    assert sum(output_size(o) for o in result.outputs if o not in notes) <= 100
    assert result.status == "ok"


def test_an_error_is_kept_and_clipped_even_past_the_budget():
    collector = OutputCollector(MSG_ID, 50)
    collector.take(stream("x" * 200))  # over the budget: cut
    frames = [f"frame {i} " + "." * 1000 for i in range(100)] + ["ValueError: the real reason"]
    collector.take(error(frames, evalue="v" * 50_000))
    result = collector.result
    assert result.status == "error"
    assert "the real reason" in result.error and len(result.error) <= DEFAULT_CAPS.error_chars + 100
    (shown,) = [o for o in result.outputs if o["output_type"] == "error"]
    assert shown["traceback"][-1] == "ValueError: the real reason"  # the end of the traceback is kept
    assert "earlier traceback entries cut" in shown["traceback"][0]
    assert sum(map(len, shown["traceback"])) <= DEFAULT_CAPS.error_chars + 200
    assert len(shown["evalue"]) <= 2100
    assert sum(1 for o in result.outputs if "output truncated" in o.get("text", "")) == 1
    assert collector.take(idle()) is True


def test_the_expected_payload_is_not_counted_against_the_budget_but_a_second_one_is():
    collector = OutputCollector(MSG_ID, 100, expect_payload=True)
    big = '{"output": "' + "p" * 10_000 + '"}'
    collector.take(payload(big))
    assert collector.result.payload_count == 1 and not collector.truncated
    assert collector.budget == 100
    collector.take(stream("printed by the student\n"))
    assert not collector.truncated
    collector.take(payload(big))  # a second result: a forgery or a flood, counted like any output
    result = collector.result
    assert result.payload_count == 2 and collector.truncated
    assert result.payloads() == [big]
    assert collector.take(idle()) is True


def test_a_small_second_payload_is_kept_but_counted():
    collector = OutputCollector(MSG_ID, 1000, expect_payload=True)
    collector.take(payload('{"a": 1}'))
    collector.take(payload('{"b": 2}'))
    assert collector.result.payload_count == 2
    assert collector.result.payloads() == ['{"a": 1}', '{"b": 2}']
    assert collector.budget == 1000 - output_size({"data": {wire.MIME_TYPE: '{"b": 2}'}, "metadata": {}})


def test_without_an_expected_payload_every_payload_counts():
    collector = OutputCollector(MSG_ID, 100)
    collector.take(payload("x" * 1000))
    assert collector.truncated and collector.result.payloads() == []
    assert collector.result.payload_count == 1


def test_execution_text_joins_streams_and_tracebacks():
    execution = Execution("error", outputs=[
        {"output_type": "stream", "name": "stdout", "text": "out\n"},
        {"output_type": "display_data", "data": {"text/plain": "ignored"}, "metadata": {}},
        {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["\x1b[31mTraceback\x1b[0m", "E: v"]},
    ])
    assert execution.text() == "out\nTraceback\nE: v"


# ----------------------------------------------------------------- tracebacks, clipping, operators


def test_student_traceback_drops_the_graders_frames():
    error = {"ename": "ValueError", "evalue": "bad", "traceback": [
        "\x1b[0;31mTraceback (most recent call last)\x1b[0m",
        'File "<string>", line 3, in __autograder_call\n    secret_inputs = [0.123, 4.56]',
        'File "/usr/lib/autograder_wire.py", line 40, in invoke\n    result = fn(*args)',
        'File "<cell 2>", line 2, in double\n    raise ValueError("bad")',
        "\x1b[0;31mValueError\x1b[0m: bad",
    ]}
    text = student_traceback(error)
    assert "secret_inputs" not in text and "__autograder" not in text and "autograder_wire" not in text
    assert "in double" in text and text.endswith("ValueError: bad")
    assert "\x1b" not in text


def test_student_traceback_without_frames_names_the_error():
    assert student_traceback({"ename": "KeyError", "evalue": "'w'"}) == "KeyError: 'w'"
    assert student_traceback({"ename": "E", "evalue": "v", "traceback": ["in __autograder_call"]}) == "E: v"
    assert student_traceback({}) == "Error: "


def test_student_traceback_is_clipped_keeping_its_end():
    error = {"traceback": ["start"] + [f"frame {i} " + "x" * 1000 for i in range(100)] + ["TheError: at the end"]}
    text = student_traceback(error)
    assert len(text) <= DEFAULT_CAPS.error_chars + 100
    assert text.startswith("start") and text.endswith("TheError: at the end") and "characters cut" in text


def test_clip_keeps_start_and_end():
    assert clip("short", 10) == "short"
    assert clip("x" * 10, 10) == "x" * 10
    text = "HEAD" + "m" * 10_000 + "TAIL"
    clipped = clip(text, 1000)
    assert clipped.startswith("HEAD") and clipped.endswith("TAIL")
    assert f"[... {len(text) - 1000} characters cut ...]" in clipped
    head, _, _ = clipped.partition("\n[...")
    assert len(head) == 1000 // 5
    assert len(clipped.rpartition("...]\n")[2]) == 1000 - 1000 // 5


def test_clip_error_bounds_a_huge_error():
    content = {"ename": "N" * 1000, "evalue": "V" * 10_000, "traceback": ["f" * 50_000]}
    clipped = clip_error(content, 5000)
    assert len(clipped["ename"]) < 300 and len(clipped["evalue"]) < 2100
    assert len(clipped["traceback"]) == 1 and len(clipped["traceback"][0]) < 5100
    assert clip_error({"traceback": ["a", "b"]}, 100)["traceback"] == ["a", "b"]


def test_strip_ansi():
    assert strip_ansi("\x1b[1;31mred\x1b[0m plain") == "red plain"


@pytest.mark.parametrize("decoded", [{}, {"ops": None}, {"ops": "aten::add"}, {"ops": ["aten::add", 3]},
                                     {"ops": ("aten::add",)}])
def test_check_ops_refuses_a_result_without_its_operators(decoded):
    with pytest.raises(StudentCodeError, match=r"could not see which operators.*bans aten::convolution"):
        check_ops("conv_double", decoded, ("aten::convolution",))


def test_check_ops_names_the_banned_operator_used():
    decoded = {"ops": ["aten::add", "aten::convolution", "aten::mul"]}
    with pytest.raises(StudentCodeError, match=r"conv_double used a banned operator aten::convolution: ") as raised:
        check_ops("conv_double", decoded, ("aten::convolution", "aten::conv1d"))
    assert "aten::conv1d" not in str(raised.value)
    check_ops("conv_double", {"ops": ["aten::add"]}, ("aten::convolution",))  # nothing banned used: no error
    check_ops("conv_double", {"ops": []}, ("aten::convolution",))


def test_student_code_error_carries_the_traceback():
    error = StudentCodeError("double raised an exception", "ValueError: bad")
    assert str(error) == "double raised an exception\n\nYour code raised:\nValueError: bad"
    assert error.traceback == "ValueError: bad"
    assert str(StudentCodeError("plain")) == "plain"
