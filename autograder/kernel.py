"""The kernel proxy: a student's notebook running in a sandboxed Jupyter kernel.

`StudentKernel` owns one confined ipykernel process (see `sandbox`). It runs
the submission's code cells under the assignment's limits, then answers calls
from the hidden suite: ``kernel.call("mse", args, kwargs)`` sends the inputs
across in the wire format, runs the student's function in the kernel and
decodes what comes back as plain data in the trusted grader.

A cell or call that times out or kills the kernel never stops grading: the
kernel is replaced and the notebook replayed without the cells that broke it,
so the remaining tests still see the student's other functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from traitlets import Any as AnyTrait
from zmq.utils.monitor import recv_monitor_message

from . import wire
from .sandbox import KernelCgroups, Limits, Sandbox, cgroup_roots

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Largest message the grader takes from a kernel: a full-size result plus its JSON escaping. ZeroMQ drops
# the connection on a bigger one before the grader allocates it (the kernel's next messages still arrive).
MAX_MESSAGE_BYTES = wire.MAX_PAYLOAD_BYTES + wire.MAX_PAYLOAD_BYTES // 4
# Messages the grader's end queues before the kernel's end has to wait (or drop): bounds the grader's
# memory when a kernel floods it with large messages faster than they are read.
RECEIVE_QUEUE_MESSAGES = 64
MAX_ERROR_CHARS = 10_000
WORKDIR_PREFIX = "autograder-"
_AGENT = """
def __autograder_install(source):
    import types
    import IPython
    codec = types.ModuleType("autograder_wire")
    exec(compile(source, "autograder_wire", "exec"), codec.__dict__)
    def call(request):
        request = codec.decode(request)
        function = IPython.get_ipython().user_ns.get(request["name"])
        if not callable(function):
            raise NameError(
                f"{request['name']} is not defined in your notebook: "
                "check that the cell defining it runs without errors"
            )
        result = codec.invoke(function, request["args"], request["kwargs"], tuple(request["wrt"]),
                              request["grad_output"], record_ops=request["record_ops"])
        IPython.display.publish_display_data({codec.MIME_TYPE: codec.encode(result)})
    return call
__autograder__ = __autograder_install(%r)
del __autograder_install
"""


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def student_traceback(error: dict) -> str:
    """The traceback of an error message without the grader's own frames.

    The frame of the agent call holds the hidden inputs, so it must never reach
    the student's feedback.
    """
    frames = [strip_ansi(str(frame)) for frame in error.get("traceback", [])]
    kept = [frame for frame in frames if "__autograder" not in frame and "autograder_wire" not in frame]
    return clip("\n".join(kept) or f"{error.get('ename', 'Error')}: {error.get('evalue', '')}", MAX_ERROR_CHARS)


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its start and its end (where the error is)."""
    if len(text) <= limit:
        return text
    head = limit // 5
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[len(text) - (limit - head):]}"


class StudentCodeError(AssertionError):
    """The student's code failed while a hidden test needed it."""

    def __init__(self, message: str, traceback: str = "") -> None:
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


class SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel command runs inside a `Sandbox`."""

    sandbox = AnyTrait()

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[str(self.sandbox.python), "-m", "ipykernel_launcher", "-f", "{connection_file}",
                      "--HistoryManager.enabled=False"],
                display_name="Python 3 (sandboxed)",
                language="python",
                interrupt_mode="message",
            )
        return self._kernel_spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0:
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return self.sandbox.wrap(super().format_kernel_cmd(extra_arguments))


class StudentKernel:
    """One submission's code, alive in a sandboxed kernel, callable from the grader."""

    def __init__(self, sources: list[str], limits: Limits, *, data_dir: Path | None = None,
                 files: dict[str, Path] | None = None, require_isolation: bool = True) -> None:
        self.sources = sources
        self.limits = limits
        self.data_dir = data_dir
        self.files = files or {}
        self.require_isolation = require_isolation
        self.events: list[str] = []
        self.cells: list[Execution] = []
        self.peak_memory_bytes = 0
        self.protections: list = []
        self._broken: dict[int, Execution] = {}
        # The grader's pid in the name lets a later grader tell a folder whose owner was killed.
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
        self._km: SandboxedKernelManager | None = None
        self._kc = None
        self._memory: KernelCgroups | None = None
        self._iopub_monitor: zmq.Socket | None = None
        self._notebook_deadline = 0.0
        self._unusable = ""

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> StudentKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_notebook(self) -> list[Execution]:
        """Execute every code cell once, replaying around cells that kill or hang the kernel."""
        self._notebook_deadline = time.monotonic() + self.limits.notebook_timeout_s
        while True:
            self._start()
            runs = self._execute_cells()
            if runs is not None:
                self.cells = runs
                self._install_agent()
                return runs

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    @property
    def connection_file(self) -> Path | None:
        """The live kernel's connection file, in its runtime directory; None when no kernel runs."""
        return Path(self._km.connection_file) if self._km is not None else None

    def process_tree(self) -> set[int]:
        """Host pids of the live kernel and everything under it (its sandbox's wrappers included)."""
        return {p.pid for p in self._processes()}

    def _start(self) -> None:
        self._stop()
        runtime = self._workdir / f"runtime-{uuid.uuid4().hex[:8]}"
        runtime.mkdir(mode=0o700)
        sandbox = Sandbox(self.limits, runtime, data_dir=self.data_dir, files=self.files,
                          require_isolation=self.require_isolation)
        self.protections = sandbox.check()
        roots = cgroup_roots()
        if roots:
            self._memory = KernelCgroups(roots, f"autograder-{runtime.name}", self.limits)
            sandbox.cgroups = self._memory.directories
        if os.geteuid() == 0:
            os.chown(runtime, sandbox.uid, sandbox.uid)
        km = SandboxedKernelManager(sandbox=sandbox, transport="ipc", ip=str(runtime / "kernel"),
                                    connection_file=str(runtime / "kernel.json"))
        with open(runtime.parent / "kernel.log", "ab") as kernel_log:
            km.start_kernel(stdout=kernel_log, stderr=kernel_log)
        self._km = km
        self._kc = km.client()
        # Default options for every socket of this client; set before the channels connect.
        self._kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._kc.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE_MESSAGES)
        self._kc.start_channels()
        # ZeroMQ drops the connection on an oversized message and does not come back: watch for that.
        self._iopub_monitor = self._kc.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        try:
            self._kc.wait_for_ready(timeout=self.limits.startup_timeout_s)
        except RuntimeError as exc:
            raise RuntimeError(f"the sandboxed kernel did not start: {exc}") from exc
        seal_runtime_dir(runtime, km.connection_file)

    def _stop(self) -> None:
        if self._kc is not None:
            if self._iopub_monitor is not None:
                with contextlib.suppress(zmq.ZMQError):
                    self._kc.iopub_channel.socket.disable_monitor()
                self._iopub_monitor.close(linger=0)
                self._iopub_monitor = None
            self._kc.stop_channels()
            self._kc = None
        if self._km is not None:
            self._record_memory()
            try:
                self._km.shutdown_kernel(now=True)
            except Exception as exc:
                log.debug("kernel shutdown: %s", exc)
            self._km.cleanup_resources()
            self._km = None
        if self._memory is not None:
            self._memory.remove()
            self._memory = None

    # ------------------------------------------------------------ notebook

    def _execute_cells(self) -> list[Execution] | None:
        runs = []
        for index, source in enumerate(self.sources):
            if index in self._broken:
                runs.append(self._broken[index])
                continue
            remaining = self._notebook_deadline - time.monotonic()
            if remaining <= 0:
                runs.append(Execution("timeout", error="not run: the notebook's time limit was used up"))
                continue
            timeout = min(self.limits.cell_timeout_s, remaining)
            result = self._execute(source, timeout, what=f"cell {index + 1}")
            runs.append(result)
            if result.status in ("timeout", "died"):
                self._broken[index] = result
                return None  # replay from a fresh kernel without this cell
        return runs

    def _install_agent(self) -> None:
        source = Path(wire.__file__).read_text()
        result = self._execute(_AGENT % source, self.limits.call_timeout_s, what="grader set-up")
        self._unusable = "" if result.status == "ok" else (
            f"after your notebook ran, the kernel could not take calls ({result.status}: "
            f"{result.error.strip().splitlines()[-1] if result.error.strip() else 'no detail'})")
        if self._unusable:
            self.events.append(self._unusable)

    # ------------------------------------------------------------ calls

    def call(self, name: str, args: tuple = (), kwargs: dict | None = None, *, wrt: tuple = (),
             grad_output: Any = None, banned_ops: tuple[str, ...] = ()) -> dict:
        """Call the student's ``name(*args, **kwargs)`` in the kernel; return its decoded result dict.

        ``banned_ops`` (aten operator names such as ``"aten::convolution"``) makes the call fail with
        `StudentCodeError` when the student's code ran one of them, forward or backward (see
        `wire.invoke`; the kernel reports, the grader decides).
        """
        if self._kc is None:
            self.run_notebook()
        if self._unusable:
            raise StudentCodeError(f"{name} could not be called: {self._unusable}")
        request = wire.encode({"name": name, "args": tuple(args), "kwargs": kwargs or {}, "wrt": list(wrt),
                               "grad_output": grad_output, "record_ops": bool(banned_ops)})
        result = self._execute(f"__autograder__({request!r})", self.limits.call_timeout_s, what=f"call {name}",
                               expect_payload=True)
        if result.status == "ok":
            payloads = result.payloads()
            if result.payload_count > 1:
                raise StudentCodeError(f"{name}: {result.payload_count} results came back from your kernel where "
                                       "one was expected (output that imitates the grader's result is refused)")
            if len(payloads) != 1:
                raise StudentCodeError(f"{name}: no result came back from your kernel (a result over "
                                       f"{MAX_MESSAGE_BYTES // 2**20} MiB is dropped; or did your code replace "
                                       "IPython's display machinery?)")
            try:
                decoded = wire.decode(payloads[0])
            except wire.WireError as exc:
                raise StudentCodeError(f"{name} returned a value the grader cannot accept: {exc}") from None
            if type(decoded) is not dict or "output" not in decoded or (
                    wrt and type(decoded.get("grads")) is not tuple):
                raise StudentCodeError(f"{name}: malformed result from your kernel")
            if banned_ops:
                check_ops(name, decoded, banned_ops)
            return decoded
        if result.status == "error":
            raise StudentCodeError(f"{name} raised an exception{self._stopped_cells_note(result.error)}",
                                   result.error)
        self.run_notebook()  # fresh kernel for the remaining tests
        if result.status == "timeout":
            raise StudentTimeout(f"{name} did not return within {self.limits.call_timeout_s:g} s "
                                 "(an infinite loop, or far too slow)")
        raise KernelDied(f"your kernel stopped while running {name}: {result.error}")

    def _stopped_cells_note(self, error: str) -> str:
        """Why a function may be missing: the cells the grader had to stop, which never defined anything."""
        if "is not defined in your notebook" not in error or not self._broken:
            return ""
        stopped = "; ".join(f"cell {index + 1}: {run.error}" for index, run in sorted(self._broken.items()))
        return f" (your notebook's cells that were stopped and skipped: {stopped})"

    # ------------------------------------------------------------ protocol

    def _execute(self, code: str, timeout: float, *, what: str, expect_payload: bool = False) -> Execution:
        assert self._kc is not None and self._km is not None
        start = time.monotonic()
        deadline = start + timeout
        msg_id = self._kc.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        result = Execution("ok")
        budget = self.limits.output_bytes
        last_memory_check = 0.0
        while True:
            now = time.monotonic()
            if now > deadline:
                result.status = "timeout"
                result.error = f"stopped after {timeout:g} s (time limit)"
                self.events.append(f"{what}: time limit of {timeout:g} s reached")
                self._kill()
                break
            if now - last_memory_check > 0.25:
                last_memory_check = now
                if self._over_memory():
                    result.status = "died"
                    result.error = f"memory limit of {self.limits.memory_mb} MiB exceeded"
                    self.events.append(f"{what}: {result.error}")
                    self._kill()
                    break
            if not self._km.is_alive():
                result.status = "died"
                result.error = self._death_reason()
                self.events.append(f"{what}: {result.error}")
                break
            if self._iopub_lost():
                result.status = "died"
                if self._dies_within(1.0):
                    result.error = self._death_reason()
                else:
                    result.error = (f"your kernel sent a message over the {MAX_MESSAGE_BYTES // 2**20} MiB limit, "
                                    "so the grader stopped listening to it")
                    self._kill()
                self.events.append(f"{what}: {result.error}")
                break
            try:
                msg = self._kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            except Exception as exc:  # the kernel holds the session key: it can send anything, signed
                log.debug("%s: unreadable message from the kernel: %s", what, exc)
                continue
            accepted = _well_formed(msg, msg_id)
            if accepted is None:
                continue
            kind, content = accepted
            if kind == "status" and content["execution_state"] == "idle":
                if self._asked_to_exit(msg_id):
                    result.status = "died"
                    result.error = "your code asked the kernel to exit (exit() or quit())"
                    self.events.append(f"{what}: {result.error}")
                    self._kill()
                break
            if kind == "error":
                result.status = "error"
                result.error = student_traceback(content)
                content = _clip_error(content, max(budget, MAX_ERROR_CHARS))
            if kind in ("stream", "display_data", "execute_result", "error"):
                carries_payload = kind == "display_data" and wire.MIME_TYPE in (content.get("data") or {})
                result.payload_count += carries_payload
                # The one result a call expects is bounded by the wire format, not by the output budget;
                # anything else that looks like a result (a forgery, a flood) is output like any other.
                size = 0 if carries_payload and expect_payload and result.payload_count == 1 else _output_size(content)
                if budget - size < 0:
                    if not result.truncated:
                        result.truncated = True
                        self.events.append(f"{what}: output truncated at {self.limits.output_bytes} bytes")
                        result.outputs.append({"output_type": "stream", "name": "stdout",
                                               "text": f"\n[output truncated: more than "
                                                       f"{self.limits.output_bytes} bytes]\n"})
                    if kind != "error":
                        continue
                budget -= size
                result.outputs.append(_to_output(kind, content))
        result.duration_s = time.monotonic() - start
        return result

    def _iopub_lost(self) -> bool:
        """Whether the output channel was disconnected: the kernel died, or sent more than a message may hold."""
        monitor = self._iopub_monitor
        while monitor is not None and monitor.poll(0):
            try:
                event = recv_monitor_message(monitor)
            except (zmq.ZMQError, ValueError):
                continue
            if event.get("event") == zmq.EVENT_DISCONNECTED:
                return True
        return False

    def _dies_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self._km is not None and self._km.is_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _asked_to_exit(self, msg_id: str) -> bool:
        """Whether the reply to ``msg_id`` carries IPython's exit request.

        ``exit()`` lets the code finish and the kernel goes away some time
        later, when something innocent may be running; the reply names the
        code that asked, so that one is stopped and skipped instead.
        """
        assert self._kc is not None
        deadline = time.monotonic() + 1.0
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = self._kc.get_shell_msg(timeout=left)
            except queue.Empty:
                return False
            except Exception as exc:  # forged or broken replies are the kernel's own problem
                log.debug("unreadable reply from the kernel: %s", exc)
                continue
            try:
                if reply["parent_header"].get("msg_id") != msg_id:
                    continue  # a stale reply of an earlier request
                payloads = reply["content"].get("payload") or []
                return any(type(p) is dict and p.get("source") == "ask_exit" and not p.get("keepkernel")
                           for p in payloads)
            except (TypeError, AttributeError, KeyError):
                return False
        return False

    def _kill(self) -> None:
        if self._km is not None:
            self._record_memory()
            try:
                self._km.kill_kernel()
            except Exception as exc:
                log.debug("kill: %s", exc)

    def _death_reason(self) -> str:
        if self._memory is not None and self._memory.oom_killed():
            return f"killed: memory limit of {self.limits.memory_mb} MiB exceeded"
        code = None
        if self._km is not None and self._km.provisioner is not None:
            process = getattr(self._km.provisioner, "process", None)
            code = process.poll() if process is not None else None
        if code is not None and code < 0:
            return f"kernel killed by signal {-code}"
        if code is not None and code > 128:
            return f"kernel killed by signal {code - 128}"
        return f"kernel exited with status {code}" if code is not None else "kernel exited"

    def _over_memory(self) -> bool:
        used = self._tree_rss()
        self.peak_memory_bytes = max(self.peak_memory_bytes, used)
        return (self._memory is None or self._memory.path is None) and used > self.limits.memory_mb * 2**20

    def _tree_rss(self) -> int:
        total = 0
        for process in self._processes():
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _processes(self) -> list[psutil.Process]:
        process = getattr(self._km.provisioner, "process", None) if self._km and self._km.provisioner else None
        if process is None:
            return []
        try:
            root = psutil.Process(process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _record_memory(self) -> None:
        if self._memory is not None:
            self.peak_memory_bytes = max(self.peak_memory_bytes, self._memory.peak_bytes())


def remove_stale_workdirs(temp_root: Path | None = None) -> list[Path]:
    """Remove the kernel folders of graders that are gone (killed before they could clean up); return them."""
    removed = []
    for folder in Path(temp_root or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*-*"):
        owner = folder.name.removeprefix(WORKDIR_PREFIX).partition("-")[0]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def seal_runtime_dir(runtime: Path, connection_file: str) -> None:
    """Take the kernel's runtime directory back once its sockets are bound.

    It is the one host directory the sandbox shares (the IPC sockets live
    there), so anything the kernel could write into it would land on the
    host's disk, unbounded by the sandbox's private tmpfs. The kernel never
    needs it again after binding, so it becomes the grader's alone.
    """
    if os.geteuid() == 0:
        os.chown(connection_file, 0, 0)
        os.chown(runtime, 0, 0)
    os.chmod(connection_file, 0o600)
    os.chmod(runtime, 0o700)


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


def _output_size(content: dict) -> int:
    size = len(str(content.get("metadata") or ""))
    if "text" in content:
        return size + len(str(content["text"]))
    if "data" in content:
        return size + sum(len(str(k)) + len(str(v)) for k, v in dict(content["data"]).items())
    return size + sum(len(str(line)) for line in content.get("traceback", [])) + len(str(content.get("evalue", "")))


def _clip_error(content: dict, limit: int) -> dict:
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


def _well_formed(msg: Any, msg_id: str) -> tuple[str, dict] | None:
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
            plain = {str(mime): value if str(mime).endswith("json") and type(value) in (dict, list) else str(value)
                     for mime, value in data.items()}
            metadata = content.get("metadata")
            count = content.get("execution_count")
            return kind, {"data": plain, "metadata": metadata if type(metadata) is dict else {},
                          "execution_count": count if type(count) is int else None}
        if kind == "error":
            traceback = content.get("traceback")
            return kind, {"ename": str(content.get("ename", "Error")), "evalue": str(content.get("evalue", "")),
                          "traceback": [str(line) for line in traceback] if type(traceback) is list else []}
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError):
        return None
    return None


def _to_output(kind: str, content: dict) -> dict:
    if kind == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if kind == "error":
        return {"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                "traceback": content["traceback"]}
    output = {"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {})}
    if kind == "execute_result":
        output["execution_count"] = content.get("execution_count")
    return output
