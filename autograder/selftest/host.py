"""The host, watched from outside: listeners to reach, a bystander kernel, what a job left behind."""

from __future__ import annotations

import gc
import glob
import os
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch

from ..sandbox.confine import SANDBOX_UID
from ..sandbox.kernel import StudentCodeError, StudentKernel
from ..sandbox.warm import zygote_pids
from .cases import REPO, SELFTEST_LIMITS

VICTIM_SOURCE = "import torch\nSENTINEL = 42\ndef double(x):\n    return x + x\ndef sentinel():\n    return SENTINEL"
MiB = 2**20
MEMORY_SLACK_BYTES = 256 * MiB  # growth of the grader's RSS over a case (or over the whole run) that is harm
DISK_SLACK_BYTES = 128 * MiB
SETTLE_S = 15.0  # how long processes get to go away after a job
# The most the grader's memory may rise above where it stood before a category, at any moment during it: a few
# of the largest messages a kernel may send (see sandbox.process), as they are received, parsed and dropped.
GRADER_PEAK_BOUND_BYTES = 512 * MiB
# A category of the course's own assignments (the lookup models) grades their real suites, whose references train
# and keep models in the grader (a07's ResNets, a06's CNN and its images): their honest peak, plus the same slack.
COURSE_PEAK_BOUND_BYTES = 1024 * MiB
_WORKER_ENV = "AUTOGRADER_SELFTEST_WORKER"  # set in the self-test's worker processes


# ----------------------------------------------------------------- the host, watched from outside


@dataclass
class Snapshot:
    children: set[int]
    rss: int
    free_bytes: int
    temp_dirs: set[str]
    connections: int


class Host:
    """Listeners an attacker would like to reach, another student's live kernel, and checks of the host."""

    def __init__(self, workdir: Path, tree: Path, course_root: Path, kernels_dir: Path) -> None:
        self.workdir, self.tree, self.course_root, self.kernels_dir = workdir, tree, course_root, kernels_dir
        self.connections = 0
        self._stop = threading.Event()
        self._tcp = socket.create_server(("127.0.0.1", 0))
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", 0))
        self.unix_path = str(workdir / "host.sock")
        self._unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._unix.bind(self.unix_path)
        self._unix.listen()
        self.abstract_name = f"autograder-selftest-{os.getpid()}"
        self._abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._abstract.bind("\0" + self.abstract_name)
        self._abstract.listen()
        self._listeners = [self._tcp, self._udp, self._unix, self._abstract]
        for listener in self._listeners:
            listener.settimeout(0.2)
            threading.Thread(target=self._count, args=(listener,), daemon=True).start()
        self.victim = StudentKernel([VICTIM_SOURCE], SELFTEST_LIMITS)
        self.victim.run_notebook()
        self.baseline_rss = 0

    def _count(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                if listener.type == socket.SOCK_DGRAM:
                    listener.recvfrom(65536)
                else:
                    listener.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def placeholders(self) -> dict[str, str]:
        """Host facts a case may use (``@@NAME@@``): the attacker is assumed to know the layout."""
        runtime = self.victim.connection_file
        return {"PORT": str(self._tcp.getsockname()[1]), "UDP_PORT": str(self._udp.getsockname()[1]),
                "UNIX_SOCKET": self.unix_path, "ABSTRACT_SOCKET": self.abstract_name,
                "VICTIM_RUNTIME": str(runtime.parent) if runtime else "/nonexistent",
                "COURSE_DIR": str(self.course_root), "TREE_DIR": str(self.tree), "REPO": str(REPO),
                "VENV": str(Path(sys.executable).parent.parent)}

    def victim_tree(self) -> set[int]:
        return self.victim.process_tree()

    def snapshot(self) -> Snapshot:
        return Snapshot(children=self._children(), rss=_rss(), free_bytes=shutil.disk_usage(self.workdir).free,
                        temp_dirs=self._kernel_dirs(), connections=self.connections)

    def _kernel_dirs(self) -> set[str]:
        return set(glob.glob(os.path.join(self.kernels_dir, "autograder-*")))

    def leftover_processes(self) -> list[psutil.Process]:
        """Sandbox-uid processes that are neither this grader's live bystander nor another grader's kernels."""
        graders = {os.getpid()} | sibling_graders()
        bystander = self.victim_tree()
        left = []
        for process in sandbox_processes():
            if process.pid in bystander:
                continue
            try:
                ancestors = {parent.pid for parent in process.parents()}
            except psutil.Error:
                continue
            if os.getpid() in ancestors or not ancestors & graders:
                left.append(process)  # this grader's, after its job ended; or nobody's (escaped, orphaned)
        return left

    def _children(self) -> set[int]:
        try:
            # Warm zygotes outlive every job by design (the kernels they fork do not, and are counted).
            return {p.pid for p in psutil.Process().children(recursive=True)} - self.victim_tree() - zygote_pids()
        except psutil.Error:
            return set()

    def problems(self, before: Snapshot, markers: tuple[str, ...] = ()) -> list[str]:
        """What a job left on the host, compared with ``before``: empty when the host is as it was."""
        found = []
        deadline = time.monotonic() + SETTLE_S
        while True:
            sandboxed = self.leftover_processes()
            children = self._children() - before.children
            if (not sandboxed and not children) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if sandboxed:
            found.append(f"{len(sandboxed)} process(es) of uid {SANDBOX_UID} left running: "
                         + ", ".join(f"{p.pid} {_name(p)}" for p in sandboxed[:5])
                         + " (if another grader runs on this host, its kernels count too: run the self-test"
                         " again with nothing else grading)")
        if children:
            found.append(f"{len(children)} new child process(es) of the grader left: {sorted(children)[:5]}")
        found += [f"marker {path} exists on the host" for path in self.markers_present(markers)]
        if self.connections != before.connections:
            found.append(f"the host's listeners got {self.connections - before.connections} connection(s)")
        gc.collect()
        rss = _rss()
        if rss - before.rss > MEMORY_SLACK_BYTES:
            found.append(f"the grader's memory grew by {(rss - before.rss) // MiB} MiB during the job")
        if self.baseline_rss and rss - self.baseline_rss > 2 * MEMORY_SLACK_BYTES:
            found.append(f"the grader's memory is {(rss - self.baseline_rss) // MiB} MiB above its baseline")
        free = shutil.disk_usage(self.workdir).free
        if before.free_bytes - free > DISK_SLACK_BYTES:
            found.append(f"the host's disk lost {(before.free_bytes - free) // MiB} MiB")
        temp_dirs = self._kernel_dirs() - before.temp_dirs
        if temp_dirs:
            found.append(f"kernel folders left on the host: {sorted(temp_dirs)[:3]}")
        return found

    def markers_present(self, markers: tuple[str, ...] = ()) -> list[str]:
        facts = self.placeholders()
        paths = set()
        for marker in markers:
            for name, value in facts.items():
                marker = marker.replace(f"@@{name}@@", value)
            paths.add(marker)
        present = {path for path in paths if os.path.lexists(path)}
        for folder in ("/", "/tmp", "/usr", "/etc", "/root", "/work", str(REPO), facts["VENV"],
                       os.path.join(facts["VENV"], "lib", "python3.11", "site-packages")):
            present.update(glob.glob(os.path.join(folder, "*autograder-hostile*")))
            present.update(glob.glob(os.path.join(folder, "*autograder_hostile*")))
        present.update(str(p) for p in self.workdir.rglob("*autograder-hostile*"))
        return sorted(present)

    def victim_problems(self) -> list[str]:
        """Another student's kernel, alive through the whole run, must still answer as before."""
        x = torch.arange(4.0)
        try:
            if not torch.equal(self.victim.call("double", (x,))["output"], x + x):
                return ["another student's live kernel now answers wrongly"]
            if self.victim.call("sentinel")["output"] != 42:
                return ["another student's live kernel had its state changed"]
        except StudentCodeError as exc:
            return [f"another student's live kernel stopped answering: {str(exc).splitlines()[0]}"]
        return []

    def close(self) -> None:
        self._stop.set()
        self.victim.close()
        for listener in self._listeners:
            listener.close()


def sibling_graders() -> set[int]:
    """The other self-test workers of this run (they share the host, and the sandbox's uid)."""
    if os.environ.get(_WORKER_ENV) != "1":
        return set()
    try:
        return {p.pid for p in psutil.Process(os.getppid()).children()} - {os.getpid()}
    except psutil.Error:
        return set()


def sandbox_processes() -> list[psutil.Process]:
    """Processes running as the sandbox's uid, anywhere on the host."""
    found = []
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None and SANDBOX_UID in (uids.real, uids.effective):
            found.append(process)
    return found


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return "?"


def _rss() -> int:
    return psutil.Process().memory_info().rss


class PeakMemory:
    """The grader's highest RSS above a starting point, sampled in a thread every 20 ms while in use."""

    def __init__(self) -> None:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    @property
    def rise_bytes(self) -> int:
        return max(0, self.peak - self.base)
