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
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from traitlets import Any as AnyTrait

from . import wire
from .sandbox import Limits, MemoryGroup, Sandbox, cgroup_root

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
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
                              request["grad_output"])
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
    frames = [strip_ansi(frame) for frame in error.get("traceback", [])]
    kept = [frame for frame in frames if "__autograder" not in frame and "autograder_wire" not in frame]
    return "\n".join(kept) or f"{error.get('ename', 'Error')}: {error.get('evalue', '')}"


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
        self._workdir = Path(tempfile.mkdtemp(prefix="autograder-"))
        self._km: SandboxedKernelManager | None = None
        self._kc = None
        self._memory: MemoryGroup | None = None
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

    def _start(self) -> None:
        self._stop()
        runtime = self._workdir / f"runtime-{uuid.uuid4().hex[:8]}"
        runtime.mkdir(mode=0o700)
        sandbox = Sandbox(self.limits, runtime, data_dir=self.data_dir, files=self.files,
                          require_isolation=self.require_isolation)
        self.protections = sandbox.check()
        root = cgroup_root()
        if root is not None:
            self._memory = MemoryGroup(root, f"autograder-{runtime.name}", self.limits.memory_mb * 2**20)
            sandbox.cgroup = self._memory.path
        if os.geteuid() == 0:
            os.chown(runtime, sandbox.uid, sandbox.uid)
        km = SandboxedKernelManager(sandbox=sandbox, transport="ipc", ip=str(runtime / "kernel"),
                                    connection_file=str(runtime / "kernel.json"))
        with open(runtime.parent / "kernel.log", "ab") as kernel_log:
            km.start_kernel(stdout=kernel_log, stderr=kernel_log)
        self._km = km
        self._kc = km.client()
        self._kc.start_channels()
        try:
            self._kc.wait_for_ready(timeout=self.limits.startup_timeout_s)
        except RuntimeError as exc:
            raise RuntimeError(f"the sandboxed kernel did not start: {exc}") from exc

    def _stop(self) -> None:
        if self._kc is not None:
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
             grad_output: Any = None) -> dict:
        """Call the student's ``name(*args, **kwargs)`` in the kernel; return its decoded result dict."""
        if self._kc is None:
            self.run_notebook()
        if self._unusable:
            raise StudentCodeError(f"{name} could not be called: {self._unusable}")
        request = wire.encode({"name": name, "args": tuple(args), "kwargs": kwargs or {}, "wrt": list(wrt),
                               "grad_output": grad_output})
        result = self._execute(f"__autograder__({request!r})", self.limits.call_timeout_s, what=f"call {name}")
        if result.status == "ok":
            payloads = result.payloads()
            if len(payloads) != 1:
                raise StudentCodeError(f"{name}: no result came back from your kernel (did your code replace "
                                       "IPython's display machinery?)")
            try:
                decoded = wire.decode(payloads[0])
            except wire.WireError as exc:
                raise StudentCodeError(f"{name} returned a value the grader cannot accept: {exc}") from None
            if type(decoded) is not dict or "output" not in decoded:
                raise StudentCodeError(f"{name}: malformed result from your kernel")
            return decoded
        if result.status == "error":
            raise StudentCodeError(f"{name} raised an exception", result.error)
        self.run_notebook()  # fresh kernel for the remaining tests
        if result.status == "timeout":
            raise StudentTimeout(f"{name} did not return within {self.limits.call_timeout_s:g} s "
                                 "(an infinite loop, or far too slow)")
        raise KernelDied(f"your kernel stopped while running {name}: {result.error}")

    # ------------------------------------------------------------ protocol

    def _execute(self, code: str, timeout: float, *, what: str) -> Execution:
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
            try:
                msg = self._kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "error":
                result.status = "error"
                result.error = student_traceback(content)
            if kind in ("stream", "display_data", "execute_result", "error"):
                size = _output_size(content)
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
        return self._memory is None and used > self.limits.memory_mb * 2**20

    def _tree_rss(self) -> int:
        process = getattr(self._km.provisioner, "process", None) if self._km and self._km.provisioner else None
        if process is None:
            return 0
        try:
            root = psutil.Process(process.pid)
            return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return 0

    def _record_memory(self) -> None:
        if self._memory is not None:
            self.peak_memory_bytes = max(self.peak_memory_bytes, self._memory.peak_bytes())


def _output_size(content: dict) -> int:
    if "text" in content:
        return len(content["text"])
    if "data" in content:
        # The agent's own result payload is not student output; the wire format bounds it.
        return sum(len(str(v)) for k, v in content["data"].items() if k != wire.MIME_TYPE)
    return sum(len(line) for line in content.get("traceback", []))


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
