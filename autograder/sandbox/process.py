"""One started kernel process: sandboxed, relayed, bounded, and how it ended.

`KernelProcess` starts ipykernel inside a `Sandbox` (its cgroups joined before
anything runs), a `relay` between the kernel's sockets and the grader's
client, and a pipe for the kernel's stdout and stderr whose tail the grader
keeps in memory. Nothing the kernel holds is a host file it could fill: its
runtime directory is taken back once the sockets are bound, and its output
streams are that pipe. It says whether the kernel lives, why it died, and its
peak memory; `StudentKernel` decides what to do about it.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from traitlets import Any as AnyTrait

from . import relay
from .cgroups import GROUP_PREFIX, KernelCgroups, cgroup_roots, owned_name, owner_is_gone
from .confine import Limits, Protection, Sandbox

log = logging.getLogger(__name__)

WORKDIR_PREFIX = "autograder-"
ZYGOTE_PREFIX = "agzygote-"  # a warm zygote's folder (see `warm`); both are named prefix + grader pid + "-..."
# Messages of each channel the grader's end queues: with the relay's one, at most this many + 1 messages of
# `Caps.message_bytes` wait in the grader per channel, however fast the kernel sends (a bigger message stops
# the kernel: see `relay`).
RECEIVE_QUEUE_MESSAGES = 1
# The relay's address space beyond two whole messages: its interpreter. A flood that outruns its counting ends it.
RELAY_INTERPRETER_BYTES = 768 * 2**20
READY_POLL_S = 0.02  # how often a starting kernel is asked whether it is ready
OUTPUT_TAIL_BYTES = 64 * 1024  # of the kernel's stdout/stderr, kept for start-up errors


class SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel command runs inside a `Sandbox`."""

    sandbox = AnyTrait()
    started_elsewhere = AnyTrait(None)  # for a kernel this manager did not start: a callable saying whether it lives

    async def _async_is_alive(self) -> bool:
        if self.started_elsewhere is not None:
            return bool(self.started_elsewhere())
        return await super()._async_is_alive()

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[str(self.sandbox.python), "-m", "ipykernel_launcher", "-f", "{connection_file}",
                      "--HistoryManager.enabled=False"],
                display_name="Python 3 (sandboxed)",
                language="python",
                interrupt_mode="signal",
            )
        return self._kernel_spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0:
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return self.sandbox.wrap(super().format_kernel_cmd(extra_arguments))

    def _connect_control_socket(self) -> None:
        # The manager's own control socket would be a socket of the grader connected to the kernel, where
        # whatever the kernel sends is received unrelayed. The grader stops kernels by killing them
        # (shutdown_kernel(now=True)) and interrupts by signal, so it needs none.
        return None


class OutputTail:
    """Drains a pipe in a thread, keeping only its last ``limit`` bytes."""

    def __init__(self, read_fd: int, limit: int = OUTPUT_TAIL_BYTES) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._limit = limit
        self._thread = threading.Thread(target=self._drain, args=(read_fd,), daemon=True)
        self._thread.start()

    def _drain(self, read_fd: int) -> None:
        with open(read_fd, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._chunks[0]) >= self._limit:
                    self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        return b"".join(self._chunks)[-self._limit:].decode(errors="replace")


class KernelProcess:
    """A sandboxed ipykernel, its relay and its client, started together and stopped together."""

    def __init__(self, workdir: Path, limits: Limits, *, data_dir: Path | None, files: dict[str, Path],
                 require_isolation: bool, max_message_bytes: int) -> None:
        self.limits = limits
        self.max_message_bytes = max_message_bytes
        self.runtime = workdir / f"runtime-{uuid.uuid4().hex[:8]}"
        self.runtime.mkdir(mode=0o700)
        self.relay_dir = Path(tempfile.mkdtemp(prefix="relay-", dir=workdir))
        sandbox = Sandbox(limits, self.runtime, data_dir=data_dir, files=files, require_isolation=require_isolation)
        self.protections: list[Protection] = sandbox.check()
        roots = cgroup_roots()
        self.cgroups = KernelCgroups(roots, owned_name(GROUP_PREFIX, self.runtime.name), limits) if roots else None
        if self.cgroups is not None:
            sandbox.cgroups = self.cgroups.directories
        if os.geteuid() == 0:
            os.chown(self.runtime, sandbox.uid, sandbox.uid)
        self.manager = SandboxedKernelManager(sandbox=sandbox, transport="ipc", ip=str(self.runtime / "kernel"),
                                              connection_file=str(self.runtime / "kernel.json"))
        self.relay: subprocess.Popen | None = None
        self.client: Any = None
        self.output: OutputTail | None = None
        self.peak_memory_bytes = 0

    def start(self) -> None:
        self._launch()
        self._connect()

    def _launch(self) -> None:
        """Start the sandboxed kernel process, its output going to `output`."""
        read_fd, write_fd = os.pipe()
        try:
            self.manager.start_kernel(stdout=write_fd, stderr=write_fd)
        finally:
            os.close(write_fd)
            self.output = OutputTail(read_fd)

    def _connect(self) -> None:
        """The relay between the kernel's sockets and the grader's client, then the client, once the kernel answers."""
        info = self.manager.get_connection_info()
        spec = relay.RelaySpec(kernel_prefix=str(self.runtime / "kernel"), grader_prefix=str(self.relay_dir / "relay"),
                               ports={channel: info[f"{channel}_port"] for channel in relay.CHANNELS},
                               max_message_bytes=self.max_message_bytes,
                               address_space_bytes=2 * self.max_message_bytes + RELAY_INTERPRETER_BYTES,
                               queue_messages=RECEIVE_QUEUE_MESSAGES)
        self.relay = relay.start(spec, self.relay_dir / "relay.log")
        self.client = self.manager.client(ip=spec.grader_prefix)
        # Defaults for every socket of this client, set before its channels connect (the relay bounds what
        # a message may hold; these bound how many wait here).
        self.client.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        self.client.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE_MESSAGES)
        self.client.context.setsockopt(zmq.RECONNECT_IVL, relay.RECONNECT_MS)
        self.client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=True)
        self._wait_for_ready()
        seal_runtime_dir(self.runtime, self.manager.connection_file)

    def _wait_for_ready(self) -> None:
        """Ask for kernel_info until the kernel answers on shell and IOPub reaches the grader.

        A request sent before the relay reached the kernel is lost, and so is output published before the
        grader's subscription got through the relay: ready means a reply came, and then an IOPub message
        (each request makes the kernel publish its busy and idle status). Not jupyter_client's
        ``wait_for_ready``: it asks once a second and then waits 0.2 s on IOPub, which a warm kernel would
        spend idle. Messages left on IOPub are harmless: the grader reads only the outputs of its own requests.
        """
        deadline = time.monotonic() + self.limits.startup_timeout_s
        answered, requests = False, set()
        while True:
            requests.add(self.client.kernel_info())
            asked = time.monotonic()
            while (left := min(READY_POLL_S - (time.monotonic() - asked), deadline - time.monotonic())) > 0:
                try:
                    if answered:
                        self.client.get_iopub_msg(timeout=left)
                        return
                    reply = self.client.get_shell_msg(timeout=left)
                except queue.Empty:
                    break
                answered = answered or reply.get("parent_header", {}).get("msg_id") in requests
            if not self.is_alive():
                raise RuntimeError(f"the sandboxed kernel did not start: it died before it answered{self._tail()}")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the sandboxed kernel did not start: it did not answer within "
                                   f"{self.limits.startup_timeout_s:g} s{self._tail()}")

    def _tail(self) -> str:
        """The end of the kernel's output, for a message saying why it did not start."""
        tail = self.output.text().strip()[-2000:] if self.output else ""
        return f"\nits output:\n{tail}" if tail else ""

    # ------------------------------------------------------------ state

    def is_alive(self) -> bool:
        return self.manager.is_alive()

    def relay_failure(self) -> int | None:
        """The relay's exit status once it has stopped (`relay.OVERSIZED`: the kernel sent too much), else None."""
        return self.relay.poll() if self.relay is not None else None

    def dies_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.is_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _launched(self) -> subprocess.Popen | None:
        """The process the manager launched (the outermost sandbox wrapper), once there is one."""
        return getattr(self.manager.provisioner, "process", None) if self.manager.provisioner else None

    def _root_pid(self) -> int | None:
        """The host pid of the kernel's outermost process (its sandbox's wrapper), while there is one."""
        process = self._launched()
        return process.pid if process is not None else None

    def _exit_code(self) -> int | None:
        """How the kernel's outermost process ended, as `subprocess.Popen.poll` says it; None while it runs."""
        process = self._launched()
        return process.poll() if process is not None else None

    def death_reason(self) -> str:
        if self.cgroups is not None and self.cgroups.oom_killed():
            return f"killed: memory limit of {self.limits.memory_mb} MiB exceeded"
        code = self._exit_code()
        if code is not None and code < 0:
            return f"kernel killed by signal {-code}"
        if code is not None and code > 128:
            return f"kernel killed by signal {code - 128}"
        return f"kernel exited with status {code}" if code is not None else "kernel exited"

    def processes(self) -> list[psutil.Process]:
        """The kernel's host processes: its sandbox's wrappers and everything under them."""
        pid = self._root_pid()
        if pid is None:
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def over_memory(self) -> bool:
        """Whether the kernel's processes use more than the limit (polled only where no memory cgroup enforces it)."""
        if self.cgroups is not None and self.cgroups.path is not None:
            return False  # the cgroup enforces the limit, and `record_memory` reads its peak: no process walk
        used = 0
        for process in self.processes():
            try:
                used += process.memory_info().rss
            except psutil.Error:
                continue
        self.peak_memory_bytes = max(self.peak_memory_bytes, used)
        return (self.cgroups is None or self.cgroups.path is None) and used > self.limits.memory_mb * 2**20

    def record_memory(self) -> None:
        if self.cgroups is not None:
            self.peak_memory_bytes = max(self.peak_memory_bytes, self.cgroups.peak_bytes())

    # ------------------------------------------------------------ ending

    def kill(self) -> None:
        self.record_memory()
        try:
            self.manager.kill_kernel()
        except Exception as exc:
            log.debug("kill: %s", exc)

    def stop(self) -> None:
        """Stop the client, the kernel, the relay and the cgroups, whatever state they are in."""
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        self._end_kernel()
        self.manager.cleanup_resources()
        if self.relay is not None:
            self.relay.kill()
            self.relay.wait()
            self.relay = None
        if self.cgroups is not None:
            self.cgroups.remove()
            self.cgroups = None
        shutil.rmtree(self.relay_dir, ignore_errors=True)


    def _end_kernel(self) -> None:
        """Kill the kernel (its whole sandbox) and keep its peak memory."""
        self.record_memory()
        try:
            self.manager.shutdown_kernel(now=True)
        except Exception as exc:
            log.debug("kernel shutdown: %s", exc)


def remove_stale_workdirs(temp_root: Path | None = None) -> list[Path]:
    """Remove the kernel folders of graders that are gone (killed before they could clean up); return them."""
    removed = []
    for prefix in (WORKDIR_PREFIX, ZYGOTE_PREFIX):
        for folder in Path(temp_root or tempfile.gettempdir()).glob(f"{prefix}*-*"):
            if owner_is_gone(prefix, folder.name):
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
