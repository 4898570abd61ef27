"""Warm sandboxes: kernels forked from a zygote that imported torch once, each confined on its own.

A cold kernel costs a bubblewrap start, an interpreter, ipykernel and ``import torch`` (seconds of CPU) for
every submission. `Zygote` pays that once per grader process and sandbox shape: it starts
`zygote_server` inside the same bubblewrap sandbox a cold kernel gets, which imports the course's packages
and then forks, per kernel, a process with fresh namespaces, home, /tmp, cgroups, rlimits and uid (see
`zygote_server` for the layers). `WarmKernelProcess` is a `KernelProcess` whose kernel comes from there;
everything after the start (the relay, the client, limits, memory, how it ended) is the same.

The warm path is taken where it can give every protection of the cold one: as root with a working bwrap.
Elsewhere, or with ``AUTOGRADER_WARM=0`` in the grader's environment, kernels start cold.
"""

from __future__ import annotations

import array
import atexit
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import psutil

from .confine import SANDBOX_HOME, Limits, MiB, Protection, Sandbox, bwrap_binary, python_prefixes
from .process import ZYGOTE_PREFIX, KernelProcess, OutputTail

# What a kernel imports on starting (ipykernel's debugger pulls in debugpy), and what the course's notebooks do.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "IPython.extensions.storemagic", "pdb",
           "numpy", "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data", "pandas",
           "matplotlib", "matplotlib.pyplot", "sklearn")
MAX_ZYGOTES = 2  # per grader process: each holds torch and the rest in memory (a few hundred MiB)
STAGED = "/run/autograder"  # inside the zygote: what each kernel re-mounts into its fresh home and /tmp
FRESH_PER_KERNEL = (Path("/tmp"), Path(SANDBOX_HOME), Path("/dev/shm"))  # each kernel gets new, empty ones
_SERVER = Path(__file__).with_name("zygote_server.py")


def warm_enabled() -> bool:
    """Whether kernels start warm here: root, a bwrap that works, and not switched off."""
    return os.environ.get("AUTOGRADER_WARM", "1") != "0" and os.geteuid() == 0 and bwrap_binary() is not None


class ZygoteFailed(RuntimeError):
    """The zygote could not start or stopped answering; the kernel starts cold instead."""


class Zygote:
    """One sandboxed zygote process and the control socket the grader sends kernel requests on."""

    def __init__(self, sandbox: Sandbox, modules: tuple[str, ...] = PRELOAD) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"{ZYGOTE_PREFIX}{os.getpid()}-"))
        os.chmod(self.root, 0o711)  # kernels' runtime folders below it are reached by name only
        self.sandbox = replace(sandbox, runtime_dir=self.root, cgroups=())
        grader_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = grader_end
        self.kernels = 0  # live kernels forked from it: it is not closed under them
        read_fd, write_fd = os.pipe()
        source = _SERVER.read_text() + f"\nmain({zygote_end.fileno()}, {modules!r})\n"
        argv = [str(bwrap_binary()), *self.sandbox._bwrap_args(), *self._staging_args(), "--cap-add", "ALL", "--",
                str(self.sandbox.python), "-c", source]
        try:
            self.process = subprocess.Popen(argv, pass_fds=(zygote_end.fileno(),), stdin=subprocess.DEVNULL,
                                            stdout=write_fd, stderr=write_fd)
        finally:
            zygote_end.close()
            os.close(write_fd)
        self.output = OutputTail(read_fd)
        self.control.settimeout(sandbox.limits.startup_timeout_s)
        try:
            ready = self.control.recv(16)
        except OSError:
            ready = b""
        self.control.settimeout(None)
        if ready != b"ready":
            self.close()
            raise ZygoteFailed(f"the zygote did not start: {self.output.text()[-2000:].strip() or 'no output'}")

    def _staging_args(self) -> list[str]:
        """bwrap arguments that stage, outside the home and /tmp each kernel replaces, what it mounts back in."""
        args = ["--perms", "0755", "--dir", f"{STAGED}/kernel"]
        for staged, prefix in self.covered_prefixes().items():
            args += ["--ro-bind", prefix, staged]
        if self.sandbox.data_dir is not None and self.sandbox.data_dir.is_dir():
            args += ["--ro-bind", str(self.sandbox.data_dir), f"{STAGED}/data"]
        for name, source in sorted(self.sandbox.files.items()):
            args += ["--ro-bind", str(source), f"{STAGED}/files/{name}"]
        return args

    def read_only(self) -> dict[str, str]:
        """Home entries -> staged paths: the course data and the extra files, as a cold kernel's home has them."""
        entries = {name: f"{STAGED}/files/{name}" for name in self.sandbox.files}
        if self.sandbox.data_dir is not None and self.sandbox.data_dir.is_dir():
            entries["data"] = f"{STAGED}/data"
        return entries

    def covered_prefixes(self) -> dict[str, str]:
        """Staged paths -> the interpreter's folders that a kernel's fresh /tmp or home would cover (a venv in a
        checkout under /tmp, say): each kernel binds them back where they were."""
        covered = [str(prefix) for prefix in python_prefixes(self.sandbox.python)
                   if any(prefix.is_relative_to(top) for top in FRESH_PER_KERNEL)]
        return {f"{STAGED}/prefix{index}": prefix for index, prefix in enumerate(covered)}

    def alive(self) -> bool:
        return self.process.poll() is None

    def pids(self) -> set[int]:
        """Host pids of the zygote's own processes (bwrap's two and the server), not of the kernels it forked."""
        found: set[int] = set()
        try:
            process = psutil.Process(self.process.pid)
            while process.pid not in found:
                found.add(process.pid)
                if process.exe() != self.process.args[0]:
                    break  # the server, below bwrap's own processes
                process = process.children()[0]
        except (psutil.Error, IndexError):
            pass
        return found

    def request(self, message: dict, fds: list[int]) -> None:
        try:
            self.control.sendmsg([json.dumps(message).encode()],
                                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        except OSError as exc:
            raise ZygoteFailed(f"the zygote stopped taking requests: {exc}") from None

    def close(self) -> None:
        self.control.close()
        if self.process.poll() is None:
            self.process.kill()  # bwrap's --die-with-parent takes the zygote and every kernel along
        self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_zygotes: OrderedDict[tuple, Zygote] = OrderedDict()


def _key(sandbox: Sandbox) -> tuple:
    environment = {k: v for k, v in sandbox.environment().items() if k != "JUPYTER_RUNTIME_DIR"}
    return (str(sandbox.python), str(sandbox.data_dir), tuple(sorted((k, str(v)) for k, v in sandbox.files.items())),
            sandbox.uid, sandbox.limits.gpu, tuple(sorted(environment.items())))


_zygotes_lock = threading.Lock()  # the hub's grading service starts kernels from several threads


def zygote_for(sandbox: Sandbox) -> Zygote:
    """This process's live zygote for ``sandbox``'s shape, with one more kernel counted on it (`release` it after).

    Started when there is none; to make room, the oldest idle zygote goes (one whose kernels still run stays:
    they would die with it).
    """
    key = _key(sandbox)
    with _zygotes_lock:
        zygote = _zygotes.pop(key, None)
        if zygote is not None and not zygote.alive():
            zygote.close()
            zygote = None
        if zygote is None:
            idle = [k for k, z in _zygotes.items() if not z.kernels]
            for old_key in idle[:max(0, len(_zygotes) + 1 - MAX_ZYGOTES)]:
                _zygotes.pop(old_key).close()
            zygote = Zygote(sandbox)
        zygote.kernels += 1
        _zygotes[key] = zygote
        return zygote


def release(zygote: Zygote) -> None:
    """One kernel forked from ``zygote`` is gone."""
    with _zygotes_lock:
        zygote.kernels -= 1


def zygote_pids() -> set[int]:
    """The host pids of this process's zygotes: infrastructure that outlives a job by design."""
    return {pid for zygote in _zygotes.values() for pid in zygote.pids()}


@atexit.register
def close_zygotes() -> None:
    while _zygotes:
        _zygotes.popitem()[1].close()


class WarmKernelProcess(KernelProcess):
    """A `KernelProcess` whose kernel is forked from this process's zygote instead of started cold."""

    def __init__(self, workdir: Path, limits: Limits, **kwargs) -> None:
        # The zygote first: its start takes seconds, and a kernel's cgroups (made below) should not wait empty.
        self.zygote: Zygote | None = zygote_for(Sandbox(limits, workdir, data_dir=kwargs.get("data_dir"),
                                                        files=kwargs.get("files") or {}))
        try:
            super().__init__(workdir, limits, **kwargs)
        except BaseException:  # no kernel will come of it: the zygote may go
            release(self.zygote)
            raise
        # The runtime folder must lie under the zygote's, which its sandbox binds; a kernel sees only its own.
        shutil.rmtree(self.runtime, ignore_errors=True)
        self.runtime = self.zygote.root / self.runtime.name
        self.runtime.mkdir(mode=0o700)
        sandbox = self.manager.sandbox
        sandbox.runtime_dir = self.runtime
        if os.geteuid() == 0:
            os.chown(self.runtime, sandbox.uid, sandbox.uid)
        self.manager.ip = str(self.runtime / "kernel")
        self.manager.connection_file = str(self.runtime / "kernel.json")
        self.protections = [*self.protections, Protection(
            "warm start", True, "forked from a zygote that imported the course's packages once; own mount, PID, IPC, "
                                f"UTS and network namespaces, fresh home and /tmp, uid {sandbox.uid}, no capabilities")]
        self.pid: int | None = None
        self._pidfd: int | None = None
        self._report: socket.socket | None = None
        self._exit_status: int | None = None
        self._errors: list[str] = []

    def _launch(self) -> None:
        sandbox = self.manager.sandbox
        self.manager.write_connection_file()
        self.manager.started_elsewhere = self.is_alive  # it started no kernel: ask here whether it lives
        read_fd, write_fd = os.pipe()
        self.output = OutputTail(read_fd)
        grader_end, kernel_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        grader_end.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._report = grader_end
        cgroup_fds = [os.open(group / "cgroup.procs", os.O_WRONLY) for group in sandbox.cgroups]
        try:
            self.zygote.request(self._request(sandbox), [kernel_end.fileno(), write_fd, *cgroup_fds])
        finally:
            for fd in (kernel_end.detach(), write_fd, *cgroup_fds):
                os.close(fd)
        self.pid = self._started()
        self._pidfd = os.pidfd_open(self.pid)

    def _request(self, sandbox: Sandbox) -> dict:
        limits = self.limits
        return {"runtime": str(self.runtime), "runtime_root": str(self.zygote.root),
                "connection_file": self.manager.connection_file, "home": SANDBOX_HOME,
                "disk_bytes": limits.disk_mb * MiB, "uid": sandbox.uid, "read_only": self.zygote.read_only(),
                "bind_back": self.zygote.covered_prefixes(),
                "environment": sandbox.environment(), "rlimits": sandbox.rlimits()}

    def _started(self) -> int:
        """The kernel's host pid, from the credentials of its first report (or why it did not start)."""
        assert self._report is not None
        self._report.settimeout(self.limits.startup_timeout_s)
        try:
            data, ancillary, _, _ = self._report.recvmsg(65536, socket.CMSG_SPACE(struct.calcsize("3i")))
        except OSError as exc:
            raise RuntimeError(f"the sandboxed kernel did not start: no word from the zygote ({exc})"
                               + self._tail()) from None
        message = json.loads(data or b"{}")
        credentials = [payload for level, kind, payload in ancillary
                       if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
        if not message.get("started") or not credentials:
            raise RuntimeError("the sandboxed kernel did not start: "
                               f"{message.get('error') or 'the zygote gave no reason'}{self._tail()}")
        return struct.unpack("3i", credentials[0][:struct.calcsize("3i")])[0]

    # ------------------------------------------------------------ state

    def is_alive(self) -> bool:
        if self._pidfd is None:
            return False
        return not select.select([self._pidfd], [], [], 0)[0]

    def _read_reports(self) -> None:
        """Take what init and the intermediate reported after the start: an error before ipykernel ran, the exit."""
        if self._exit_status is not None or self._report is None:
            return
        self._report.settimeout(0.5)
        try:
            while data := self._report.recv(65536):
                message = json.loads(data)
                if "error" in message:
                    self._errors.append(str(message["error"]).strip()[-2000:])
                if "exit" in message:
                    self._exit_status = int(message["exit"])
                    return
        except (OSError, ValueError):
            pass

    def _tail(self) -> str:
        self._read_reports()
        return super()._tail() + "".join(f"\nits start:\n{error}" for error in self._errors)

    def _root_pid(self) -> int | None:
        return self.pid if self.pid is not None and self.is_alive() else None

    def _exit_code(self) -> int | None:
        """How init ended, as its intermediate reported: the kernel's exit code, 128 + the signal that killed the
        kernel, or minus the signal that killed init itself (the grader, killing the whole namespace)."""
        self._read_reports()
        return None if self._exit_status is None else os.waitstatus_to_exitcode(self._exit_status)

    # ------------------------------------------------------------ ending

    def kill(self) -> None:
        self.record_memory()
        if self._pidfd is not None and self.is_alive():
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)  # PID 1 of its namespace: all of it goes
            except ProcessLookupError:
                pass

    def _end_kernel(self) -> None:
        self.kill()
        deadline = time.monotonic() + 5
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.record_memory()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self._report is not None:
            self._report.close()
            self._report = None

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.runtime, ignore_errors=True)
        if self.zygote is not None:
            release(self.zygote)
            self.zygote = None


__all__ = ["PRELOAD", "WarmKernelProcess", "Zygote", "ZygoteFailed", "warm_enabled",
           "zygote_for", "zygote_pids"]
