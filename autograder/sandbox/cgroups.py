"""Per-kernel cgroups: a memory limit, a process count and a CPU quota of each kernel's own.

`cgroup_roots` finds, per controller, a directory under which this process
may create groups (cgroup v2 has one for all, v1 one per controller);
`KernelCgroups` creates one kernel's groups, reads its peak memory and OOM
kills, and removes them (killing what is left inside). Every group's name
starts with its grader's pid (`owned_name`), so that a grader sweeping up
after a killed one never takes a group another live grader has just made.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from .confine import Limits

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# Per controller: the files that show a cgroup directory of ours can carry that limit (cgroup v2, v1).
CGROUP_LIMIT_FILES = {"memory": ("memory.max", "memory.limit_in_bytes"), "pids": ("pids.max",),
                      "cpu": ("cpu.max", "cpu.cfs_quota_us")}
CPU_PERIOD_US = 100_000
GROUP_PREFIX = "autograder-"


def owned_name(prefix: str, name: str) -> str:
    """``prefix`` + this grader's pid + ``-name``: what `owner_is_gone` reads the owner back from."""
    return f"{prefix}{os.getpid()}-{name}"


def owner_is_gone(prefix: str, owned: str) -> bool:
    """Whether the grader that made ``owned`` (named by `owned_name`) has exited; a name without a pid is not
    ours to judge. A live grader's group may be empty only because its kernel has not joined it yet."""
    owner = owned.removeprefix(prefix).partition("-")[0]
    return owner.isdigit() and not psutil.pid_exists(int(owner))


def cgroup_root() -> Path | None:
    """A cgroup directory under which this process may create per-kernel memory groups."""
    return cgroup_roots().get("memory")


@functools.cache
def cgroup_roots() -> dict[str, Path]:
    """Per controller (memory, pids, cpu): a cgroup directory under which this process may create kernels' groups.

    cgroup v2 has one directory for all; v1 one per controller. A controller
    is missing where no directory of ours can carry its limit.
    """
    lines = open("/proc/self/cgroup").read().splitlines()
    unified = Path("/sys/fs/cgroup")
    roots: dict[str, Path] = {}
    for controller, limit_files in CGROUP_LIMIT_FILES.items():
        candidates = []
        if (unified / "cgroup.controllers").exists():
            candidates += [unified / line[3:].lstrip("/") for line in lines if line.startswith("0::")]
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                candidates.append(unified / controller / path.lstrip("/"))
        for candidate in candidates:
            probe = candidate / owned_name(GROUP_PREFIX, "probe")
            try:
                probe.mkdir()
            except OSError:
                continue
            usable = any((probe / name).exists() for name in limit_files)
            with contextlib.suppress(OSError):
                probe.rmdir()
            if usable:
                roots[controller] = candidate
                break
    return roots


class KernelCgroups:
    """One kernel's cgroups: a hard memory limit (and its peak usage), a process count, a CPU quota."""

    def __init__(self, roots: dict[str, Path], name: str, limits: Limits) -> None:
        self.paths = {controller: root / name for controller, root in roots.items()}
        for path in self.paths.values():
            path.mkdir(exist_ok=True)
        if "memory" in self.paths:
            self._limit_memory(self.paths["memory"], limits.memory_mb * MiB)
        if "pids" in self.paths:
            (self.paths["pids"] / "pids.max").write_text(str(limits.processes))
        if "cpu" in self.paths:
            quota = max(1, limits.threads) * CPU_PERIOD_US
            cpu = self.paths["cpu"]
            if (cpu / "cpu.max").exists():
                (cpu / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
            else:
                (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (cpu / "cpu.cfs_quota_us").write_text(str(quota))

    @property
    def directories(self) -> tuple[Path, ...]:
        """The distinct directories to join (one under cgroup v2)."""
        return tuple(dict.fromkeys(self.paths.values()))

    @property
    def path(self) -> Path | None:
        return self.paths.get("memory")

    @property
    def v2(self) -> bool:
        return self.path is not None and (self.path / "memory.max").exists()

    @staticmethod
    def _limit_memory(path: Path, limit_bytes: int) -> None:
        if (path / "memory.max").exists():
            (path / "memory.max").write_text(str(limit_bytes))
            if (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            swap = path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    swap.write_text(str(limit_bytes))
                except OSError:
                    pass

    def peak_bytes(self) -> int:
        if self.path is None:
            return 0
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        try:
            return int((self.path / name).read_text())
        except (OSError, ValueError):
            return 0

    def oom_killed(self) -> bool:
        if self.path is None:
            return False
        try:
            if self.v2:
                events = dict(line.split() for line in (self.path / "memory.events").read_text().splitlines())
                return int(events.get("oom_kill", 0)) > 0
            control = dict(line.split() for line in (self.path / "memory.oom_control").read_text().splitlines())
            return int(control.get("oom_kill", 0)) > 0 or int((self.path / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def remove(self) -> None:
        """Kill what is left in the groups and remove them, waiting up to 5 s for the killed to be gone."""
        for path in self.directories:
            deadline, pause = time.monotonic() + 5, 0.002
            while True:
                try:
                    for pid in (path / "cgroup.procs").read_text().split():
                        try:
                            os.kill(int(pid), 9)
                        except ProcessLookupError:
                            pass
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        log.warning("could not remove cgroup %s", path)
                        break
                    # A killed kernel leaves its group within milliseconds: wait in short steps, then longer ones.
                    time.sleep(pause)
                    pause = min(2 * pause, 0.1)


def remove_stale_cgroups() -> None:
    """Empty per-kernel cgroups left by graders that were killed; ones still in use refuse to go."""
    for root in set(cgroup_roots().values()):
        for group in root.glob(f"{GROUP_PREFIX}*"):
            if not owner_is_gone(GROUP_PREFIX, group.name):
                continue
            with contextlib.suppress(OSError):
                if not (group / "cgroup.procs").read_text().strip():
                    group.rmdir()
