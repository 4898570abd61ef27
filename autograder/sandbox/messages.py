"""Everything a kernel sends, made safe to keep: well-formedness, sizes, outputs, tracebacks.

The kernel holds its session key, so it can send any message, signed, in any
shape. These functions turn what arrives into plain, bounded, well-typed
notebook outputs (or drop it), without a kernel: they are tested on forged
messages directly. They also define the errors a call into student code
raises in a hidden test (`StudentCodeError` and its kinds), and tell an error
of the student's code that ran the GPU out of memory (`gpu_out_of_memory`)
from the grader's own failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import wire

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Output data nbformat keeps as JSON; any other MIME type's data must be text.
_JSON_MIME = re.compile(r"^application/(.*\+)?json$")
# A GPU allocation refused: PyTorch's error (torch.OutOfMemoryError, "CUDA out of memory. Tried to allocate ...",
# also past the job's per_process_memory_fraction) or CUDA's own. The host's RAM running out is not one of them.
_GPU_OUT_OF_MEMORY = re.compile(r"\b(torch\.(cuda\.)?)?OutOfMemoryError\b|CUDA out of memory|CUDA error: out of memory")
GPU_OUT_OF_MEMORY = "your code ran out of GPU memory"


@dataclass(frozen=True)
class Caps:
    """How much the grader keeps of what a kernel sends back, and of what it writes into feedback.

    One course sets them in its ``nbgrader_config.py`` as traitlets of
    `SandboxedGrading` (``c.SandboxedGrading.max_result_bytes = ...``); these
    are the defaults, declared once.
    """

    result_bytes: int = wire.MAX_PAYLOAD_BYTES  # one call's result, in the wire format
    error_chars: int = 10_000  # a traceback from the student's code
    feedback_chars: int = 4_000  # one hidden test's message in the feedback

    @property
    def message_bytes(self) -> int:
        """The largest message the grader takes from a kernel, all frames together: a full result and its escaping."""
        return self.result_bytes + self.result_bytes // 4


DEFAULT_CAPS = Caps()


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def student_traceback(error: dict, limit: int = DEFAULT_CAPS.error_chars) -> str:
    """The traceback of an error message without the grader's own frames.

    The frame of the agent call holds the hidden inputs, so it must never reach
    the student's feedback.
    """
    frames = [strip_ansi(str(frame)) for frame in error.get("traceback", [])]
    kept = [frame for frame in frames if "__autograder" not in frame and "autograder_wire" not in frame]
    return clip("\n".join(kept) or f"{error.get('ename', 'Error')}: {error.get('evalue', '')}", limit)


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its start and its end (where the error is)."""
    if len(text) <= limit:
        return text
    head = limit // 5
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[len(text) - (limit - head):]}"


def gpu_out_of_memory(error: str) -> bool:
    """Whether an error of the student's code (a cell's or a call's traceback) is the GPU running out of memory."""
    return _GPU_OUT_OF_MEMORY.search(error) is not None


def gpu_memory_note(cap_mb: int) -> str:
    """That the student's code ran the GPU out of memory, and the job's cap (``gpu_memory_mb``; 0: none)."""
    cap = f"the job's cap is {cap_mb} MiB" if cap_mb else "the job has no cap of its own; the GPU itself was full"
    return f"{GPU_OUT_OF_MEMORY} ({cap})"


def gpu_memory_advice(cap_mb: int) -> str:
    """What a student whose code ran the GPU out of memory is told: `gpu_memory_note`, and what to do."""
    return (f"{gpu_memory_note(cap_mb)}: use smaller batches (or a smaller model), free the tensors you no longer "
            "need (del them, then torch.cuda.empty_cache()), and compute under torch.no_grad() where you need no "
            "gradients")


class StudentCodeError(AssertionError):
    """The student's code failed while a hidden test needed it.

    One that ran the GPU out of memory says so first, before the traceback (which a feedback's length may
    cut); the grading job adds the job's cap and what to do (`gpu_memory_advice`).
    """

    def __init__(self, message: str, traceback: str = "") -> None:
        if gpu_out_of_memory(traceback):
            message = f"{message}: {GPU_OUT_OF_MEMORY}"
        super().__init__(message + (f"\n\nYour code raised:\n{traceback}" if traceback else ""))
        self.traceback = traceback


class StudentTimeout(StudentCodeError):
    """A call into the student's code ran past its time limit."""


class KernelDied(StudentCodeError):
    """The student's kernel exited or was killed during a call."""


@dataclass
class Execution:
    """What one piece of code did in the kernel."""

    status: str  # ok | error | timeout | died
    outputs: list[dict] = field(default_factory=list)
    error: str = ""
    duration_s: float = 0.0
    truncated: bool = False
    payload_count: int = 0  # result payloads seen, kept or not

    def payloads(self) -> list[str]:
        return [o["data"][wire.MIME_TYPE] for o in self.outputs
                if o.get("output_type") == "display_data" and wire.MIME_TYPE in o.get("data", {})]

    def text(self) -> str:
        parts = []
        for output in self.outputs:
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif output.get("output_type") == "error":
                parts.append(strip_ansi("\n".join(output.get("traceback", []))))
        return "".join(parts)


def check_ops(name: str, decoded: dict, banned_ops: tuple[str, ...]) -> None:
    """Refuse a result whose call ran a banned aten operator (the names the kernel reported)."""
    ops = decoded.get("ops")
    if type(ops) is not list or not all(type(op) is str for op in ops):
        raise StudentCodeError(f"{name}: the grader could not see which operators your code used "
                               f"(this exercise bans {', '.join(banned_ops)})")
    used = [op for op in banned_ops if op in ops]
    if used:
        raise StudentCodeError(f"{name} used a banned operator {', '.join(used)}: this exercise asks you to "
                               "implement it without that operator (however it is reached: an alias, a module, "
                               "torch.ops, a library function that calls it)")


def output_size(content: dict) -> int:
    size = len(str(content.get("metadata") or ""))
    if "text" in content:
        return size + len(str(content["text"]))
    if "data" in content:
        return size + sum(len(str(k)) + len(str(v)) for k, v in dict(content["data"]).items())
    return size + sum(len(str(line)) for line in content.get("traceback", [])) + len(str(content.get("evalue", "")))


def clip_error(content: dict, limit: int) -> dict:
    """An error message of bounded size: its name, value and the end of its traceback."""
    frames = [str(frame) for frame in content.get("traceback", [])]
    kept: list[str] = []
    for frame in reversed(frames):
        if len(frame) + sum(map(len, kept)) > limit:
            if not kept:
                kept.append(clip(frame, limit))
            break
        kept.append(frame)
    if len(kept) < len(frames):
        kept.append(f"[... {len(frames) - len(kept)} earlier traceback entries cut ...]")
    return {**content, "ename": clip(str(content.get("ename", "")), 200),
            "evalue": clip(str(content.get("evalue", "")), 2000), "traceback": kept[::-1]}


def well_formed(msg: Any, msg_id: str) -> tuple[str, dict] | None:
    """(kind, content) of an output message of the request ``msg_id``, in plain well-typed form; else None.

    Everything from the kernel is student-controlled: a message with the wrong
    shape must neither break the grading job nor end up in a notebook that
    nbgrader can no longer write.
    """
    try:
        if type(msg) is not dict or type(msg.get("parent_header")) is not dict:
            return None
        if msg["parent_header"].get("msg_id") != msg_id or type(msg.get("content")) is not dict:
            return None
        kind, content = msg.get("msg_type"), msg["content"]
        if kind == "status":
            return kind, {"execution_state": str(content.get("execution_state", ""))}
        if kind == "stream":
            name = content.get("name") if content.get("name") in ("stdout", "stderr") else "stdout"
            return kind, {"name": name, "text": str(content.get("text", ""))}
        if kind in ("display_data", "execute_result"):
            data = content.get("data")
            if type(data) is not dict:
                return None
            plain = {str(mime): value if _JSON_MIME.match(str(mime)) and type(value) in (dict, list) else str(value)
                     for mime, value in data.items()}
            metadata = content.get("metadata")
            count = content.get("execution_count")
            return kind, {"data": plain, "metadata": metadata if type(metadata) is dict else {},
                          "execution_count": count if type(count) is int and count >= 0 else None}
        if kind == "error":
            traceback = content.get("traceback")
            return kind, {"ename": str(content.get("ename", "Error")), "evalue": str(content.get("evalue", "")),
                          "traceback": [str(line) for line in traceback] if type(traceback) is list else []}
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError):
        return None
    return None


def to_output(kind: str, content: dict) -> dict:
    if kind == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if kind == "error":
        return {"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                "traceback": content["traceback"]}
    output = {"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {})}
    if kind == "execute_result":
        output["execution_count"] = content.get("execution_count")
    return output


class OutputCollector:
    """The outputs of one request, taken message by message within an output budget.

    ``take`` returns True once the kernel reports the request done (idle).
    The one result a call expects is bounded by the wire format, not by the
    budget; anything else that looks like a result (a forgery, a flood) counts
    as output like any other, and is counted in ``result.payload_count``.
    """

    def __init__(self, msg_id: str, output_bytes: int, *, expect_payload: bool = False,
                 error_chars: int = DEFAULT_CAPS.error_chars) -> None:
        self.msg_id = msg_id
        self.error_chars = error_chars
        self.output_bytes = output_bytes
        self.expect_payload = expect_payload
        self.budget = output_bytes
        self.result = Execution("ok")

    @property
    def truncated(self) -> bool:
        return self.result.truncated

    def take(self, msg: Any) -> bool:
        accepted = well_formed(msg, self.msg_id)
        if accepted is None:
            return False
        kind, content = accepted
        if kind == "status":
            return content["execution_state"] == "idle"
        if kind == "error":
            self.result.status = "error"
            self.result.error = student_traceback(content, self.error_chars)
            content = clip_error(content, max(self.budget, self.error_chars))
        carries_payload = kind == "display_data" and wire.MIME_TYPE in (content.get("data") or {})
        self.result.payload_count += carries_payload
        expected = carries_payload and self.expect_payload and self.result.payload_count == 1
        size = 0 if expected else output_size(content)
        if size > self.budget:
            if not self.result.truncated:
                self.result.truncated = True
                self.result.outputs.append({"output_type": "stream", "name": "stdout",
                                            "text": f"\n[output truncated: more than {self.output_bytes} bytes]\n"})
            if kind != "error":  # an error is kept, clipped, so the student sees why their code stopped
                return False
        self.budget -= size
        self.result.outputs.append(to_output(kind, content))
        return False
