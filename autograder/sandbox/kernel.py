"""The kernel proxy: a student's notebook running in a sandboxed Jupyter kernel.

`StudentKernel` owns one confined ipykernel process at a time (see `process`). It runs
the submission's code cells under the assignment's limits, then answers calls
from the hidden suite: ``kernel.call("mse", args, kwargs)`` sends the inputs
across in the wire format, runs the student's function in the kernel and
decodes what comes back as plain data in the trusted grader.

A cell or call that times out or kills the kernel never stops grading: the
kernel is replaced and the notebook replayed without the cells that broke it,
so the remaining tests still see the student's other functions. A function
whose call ran out of time is not called again in the same grading (one run
of the hidden suite).
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from . import calling, frames, input_watch, kept, wire
from .confine import Limits, Protection
from .input_changes import InputRule, check_inputs, note_on_error
from .messages import (
    DEFAULT_CAPS,
    Caps,
    Execution,
    KernelDied,
    OutputCollector,
    StudentCodeError,
    StudentTimeout,
    check_ops,
)
from .process import WORKDIR_PREFIX, KernelProcess
from .warm import WarmKernelProcess, ZygoteFailed, warm_enabled

log = logging.getLogger(__name__)

# Every agent module's name holds "autograder_wire", so its frames stay out of the student's traceback.
_AGENT_MODULES = {"autograder_wire": wire, "autograder_wire_frames": frames, "autograder_wire_calling": calling,
                  "autograder_wire_watch": input_watch, "autograder_wire_kept": kept}
_AGENT = """
def __autograder_install(sources):
    import types
    import IPython
    modules = {}
    for name, source in sources.items():
        modules[name] = types.ModuleType(name)
        exec(compile(source, name, "exec"), modules[name].__dict__)
    # ipykernel names each cell by a pure-Python murmur2 hash of its source (for its debugger): 4 s for a
    # call that sends 6 MB of tensors in. IPython's own compiler hashes with sha1; it takes over the cells
    # already run, so the student's tracebacks still read "Cell In[n]".
    try:
        from IPython.core.compilerop import CachingCompiler
        shell, compiler = IPython.get_ipython(), CachingCompiler()
        compiler._filename_map.update(shell.compile._filename_map)
        compiler.flags = shell.compile.flags
        shell.compile = compiler
    except Exception:
        pass  # a notebook that replaced IPython's compiler keeps its own: its calls are only slower
    codec = modules["autograder_wire"]
    codec._frames, codec.invoke = modules["autograder_wire_frames"], modules["autograder_wire_calling"].invoke
    return modules["autograder_wire_kept"].agent(codec, modules["autograder_wire_watch"],
                                                 lambda: IPython.get_ipython().user_ns,
                                                 lambda data: IPython.display.publish_display_data(data))
__autograder__ = __autograder_install(%r)
del __autograder_install
"""


_NO_HANDLES = {"target": None, "method": None, "read": False, "build": None, "keep": None, "release": []}


class StudentKernel:
    """One submission's code, alive in a sandboxed kernel, callable from the grader."""

    def __init__(self, sources: list[str], limits: Limits, *, data_dir: Path | None = None,
                 files: dict[str, Path] | None = None, require_isolation: bool = True,
                 caps: Caps = DEFAULT_CAPS, warm: bool = True) -> None:
        self.sources = sources
        self.warm = warm  # fork from this process's zygote where the host allows (`warm`); False: start cold
        self.limits = limits
        self.caps = caps
        self.data_dir = data_dir
        self.files = files or {}
        self.require_isolation = require_isolation
        self.events: list[str] = []
        self.cells: list[Execution] = []
        self.protections: list[Protection] = []
        self._peak_memory_bytes = 0
        self._broken: dict[int, Execution] = {}
        # The grader's pid in the name lets a later grader tell a folder whose owner was killed.
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
        self._process: KernelProcess | None = None
        self._notebook_deadline = 0.0
        self._unusable = ""
        # Calls that ran out of time, by (function, method): not made again until `forget_time_outs`.
        self._timed_out: set[tuple[str, str | None]] = set()
        self.generation = 0  # kernels started so far: objects kept in an earlier one are gone (`grading.handles`)

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
    def peak_memory_bytes(self) -> int:
        """The most memory any of this submission's kernels used."""
        if self._process is not None:
            self._process.record_memory()  # the live kernel's cgroup peak, read now
        current = self._process.peak_memory_bytes if self._process is not None else 0
        return max(self._peak_memory_bytes, current)

    @property
    def connection_file(self) -> Path | None:
        """The live kernel's connection file, in its runtime directory; None when no kernel runs."""
        return Path(self._process.manager.connection_file) if self._process is not None else None

    def process_tree(self) -> set[int]:
        """Host pids of the live kernel and everything under it (its sandbox's wrappers included)."""
        return {p.pid for p in self._process.processes()} if self._process is not None else set()

    def _start(self) -> None:
        self._stop()
        options = {"data_dir": self.data_dir, "files": self.files, "require_isolation": self.require_isolation,
                   "max_message_bytes": self.caps.message_bytes}
        process = None
        if self.warm and warm_enabled():
            try:
                process = WarmKernelProcess(self._workdir, self.limits, **options)
            except ZygoteFailed as exc:  # grading goes on, only slower
                log.warning("starting the kernel cold: %s", exc)
        if process is None:
            process = KernelProcess(self._workdir, self.limits, **options)
        self.protections = process.protections
        self._process = process
        self.generation += 1
        process.start()

    def _stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._peak_memory_bytes = max(self._peak_memory_bytes, self._process.peak_memory_bytes)
            self._process = None

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
        sources = {name: Path(module.__file__).read_text() for name, module in _AGENT_MODULES.items()}
        result = self._execute(_AGENT % (sources,), self.limits.call_timeout_s, what="grader set-up")
        self._unusable = "" if result.status == "ok" else (
            f"after your notebook ran, the kernel could not take calls ({result.status}: "
            f"{result.error.strip().splitlines()[-1] if result.error.strip() else 'no detail'})")
        if self._unusable:
            self.events.append(self._unusable)

    # ------------------------------------------------------------ calls

    def call(self, name: str, args: tuple = (), kwargs: dict | None = None, *, wrt: tuple = (),
             grad_output: Any = None, banned_ops: tuple[str, ...] = (), inputs: InputRule | None = None,
             handles: dict | None = None) -> dict:
        """Call the student's ``name(*args, **kwargs)`` in the kernel; return its decoded result dict.

        ``banned_ops`` (aten operator names such as ``"aten::convolution"``) makes the call fail with
        `StudentCodeError` when the kernel reports that the student's code ran one of them, forward or
        backward, and makes the result carry the call's trace (see `calling.invoke`), on which the
        grader's own verdict rests (`grading.replay`). So does ``inputs`` when the call changed
        an argument in place that the rule does not allow (see `input_changes`); with
        ``inputs.return_inputs`` the result also holds ``args`` and ``kwargs`` as the call left them.
        ``handles`` are the request's fields for objects kept in the kernel (see `kept`): the proxies
        fill them, and check the handles that come back (`grading.handles`).
        """
        if self._process is None:
            self.run_notebook()
        if self._unusable:
            raise StudentCodeError(f"{name} could not be called: {self._unusable}")
        # Each time-out costs the whole budget and a replay of the notebook: a function that used it up once
        # is not given it again, so a student stuck in a loop costs one time-out, not one per test.
        key = (name, (handles or {}).get("method"))
        if key in self._timed_out:
            raise StudentTimeout(f"{name} was not called again: earlier in this grading it did not return within "
                                 f"{self.limits.call_timeout_s:g} s (an infinite loop, or far too slow)")
        kwargs = kwargs or {}
        request = wire.encode({"name": name, "args": tuple(args), "kwargs": kwargs, "wrt": list(wrt),
                               "grad_output": grad_output, "record_ops": bool(banned_ops),
                               "watch_inputs": inputs is not None,
                               "return_inputs": inputs is not None and inputs.return_inputs,
                               **_NO_HANDLES, **(handles or {})})
        # The call's time limit covers reading its result back too: a result built to be slow to decode
        # must not hold the grader past it.
        deadline = time.monotonic() + self.limits.call_timeout_s
        result = self._execute(f"__autograder__({request!r})", self.limits.call_timeout_s, what=f"call {name}",
                               expect_payload=True)
        if result.status == "ok":
            payloads = result.payloads()
            if result.payload_count > 1:
                raise StudentCodeError(f"{name}: {result.payload_count} results came back from your kernel where "
                                       "one was expected (output that imitates the grader's result is refused)")
            if len(payloads) != 1:
                raise StudentCodeError(f"{name}: no result came back from your kernel (a result over "
                                       f"{self.caps.message_bytes // 2**20} MiB is dropped; or did your code replace "
                                       "IPython's display machinery?)")
            try:
                decoded = wire.decode(payloads[0], max_bytes=self.caps.result_bytes, deadline=deadline)
            except wire.WireTimeout:
                self.events.append(f"call {name}: its result was not read back within the time limit")
                raise StudentTimeout(f"{name} returned a result that took too long to read back: running the call "
                                     f"and reading its result took over the {self.limits.call_timeout_s:g} s "
                                     "limit (a result far too large, or built to be slow to read)") from None
            except wire.WireError as exc:
                raise StudentCodeError(f"{name} returned a value the grader cannot accept: {exc}") from None
            if type(decoded) is not dict or "output" not in decoded or (
                    wrt and type(decoded.get("grads")) is not tuple):
                raise StudentCodeError(f"{name}: malformed result from your kernel")
            if banned_ops:
                check_ops(name, decoded, banned_ops)
            if inputs is not None:
                check_inputs(name, decoded, tuple(args), kwargs, inputs)
            return decoded
        if result.status == "error":
            note = note_on_error(result, tuple(args), kwargs, inputs) if inputs is not None else ""
            raise StudentCodeError(f"{name} raised an exception{note}{self._stopped_cells_note(result.error)}",
                                   result.error)
        self.run_notebook()  # fresh kernel for the remaining tests
        if result.status == "timeout":
            self._timed_out.add(key)
            raise StudentTimeout(f"{name} did not return within {self.limits.call_timeout_s:g} s "
                                 "(an infinite loop, or far too slow)")
        raise KernelDied(f"your kernel stopped while running {name}: {result.error}")

    def forget_time_outs(self) -> None:
        """Call again the functions that ran out of time: a new grading of this kernel (another seed) starts."""
        self._timed_out.clear()

    def _stopped_cells_note(self, error: str) -> str:
        """Why a function may be missing: the cells the grader had to stop, which never defined anything."""
        if "is not defined in your notebook" not in error or not self._broken:
            return ""
        stopped = "; ".join(f"cell {index + 1}: {run.error}" for index, run in sorted(self._broken.items()))
        return f" (your notebook's cells that were stopped and skipped: {stopped})"

    # ------------------------------------------------------------ protocol

    def _execute(self, code: str, timeout: float, *, what: str, expect_payload: bool = False) -> Execution:
        """Run ``code``; collect its outputs until the kernel is idle, or stop it at the first limit it crosses."""
        process = self._process
        assert process is not None
        start = time.monotonic()
        deadline = start + timeout
        msg_id = process.client.execute(code, silent=False, store_history=False, allow_stdin=False,
                                        stop_on_error=False)
        outputs = OutputCollector(msg_id, self.limits.output_bytes, expect_payload=expect_payload,
                                  error_chars=self.caps.error_chars)
        stopped = ""
        last_memory_check = 0.0
        while not stopped:
            now = time.monotonic()
            if now > deadline:
                outputs.result.status = "timeout"
                stopped = f"stopped after {timeout:g} s (time limit)"
                self.events.append(f"{what}: time limit of {timeout:g} s reached")
                process.kill()
                break
            if now - last_memory_check > 0.25:
                last_memory_check = now
                if process.over_memory():
                    stopped = self._stop_kernel(f"memory limit of {self.limits.memory_mb} MiB exceeded")
                    break
            if not process.is_alive():
                stopped = process.death_reason()
                break
            if process.relay_failure() is not None:
                stopped = process.death_reason() if process.dies_within(1.0) else self._stop_kernel(
                    f"your kernel sent a message over the {self.caps.message_bytes // 2**20} MiB limit (all its parts "
                    "together), so the grader stopped it")
                break
            try:
                msg = process.client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            except Exception as exc:  # the kernel holds the session key: it can send anything, signed
                log.debug("%s: unreadable message from the kernel: %s", what, exc)
                continue
            if outputs.take(msg):
                if self._asked_to_exit(msg_id):
                    stopped = self._stop_kernel("your code asked the kernel to exit (exit() or quit())")
                break
        result = outputs.result
        if stopped:
            if result.status != "timeout":
                result.status = "died"
                self.events.append(f"{what}: {stopped}")
            result.error = stopped
        if outputs.truncated:
            self.events.append(f"{what}: output truncated at {self.limits.output_bytes} bytes")
        result.duration_s = time.monotonic() - start
        return result

    def _stop_kernel(self, why: str) -> str:
        assert self._process is not None
        self._process.kill()
        return why

    def _asked_to_exit(self, msg_id: str) -> bool:
        """Whether the reply to ``msg_id`` carries IPython's exit request.

        ``exit()`` lets the code finish and the kernel goes away some time
        later, when something innocent may be running; the reply names the
        code that asked, so that one is stopped and skipped instead.
        """
        assert self._process is not None
        deadline = time.monotonic() + 1.0
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = self._process.client.get_shell_msg(timeout=left)
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
