"""Facts about the host the grader runs on: the limits it inherited, the cores it may use, its GPUs.

The sandbox (`confine`) asks here what it may grant a kernel: a process can
lower its resource limits but, without ``CAP_SYS_RESOURCE``, never raise one
past the hard limit it inherited (a ``ulimit -v`` in the shell or the service
that started the grader). A kernel's limit above the host's is clamped to it,
and said so; one below what a kernel needs at all is refused, saying which
limit and what to do. The scheduler asks `job_slots` how many jobs fit at
once: the cores the grader may use divided by each job's ``threads``, and on
GPUs their memory divided by each job's ``gpu_memory_mb``.

GPU memory caps are PyTorch's allocator setting ``per_process_memory_fraction``
(`allocator_setting`), shared with the hub's GPU policy (`hub.gpu`): a
fairness cap between honest jobs, not a security boundary.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .confine import Limits

MiB = 1024 * 1024
MEMORY_CAP_VARIABLE = "AUTOGRADER_GPU_MEMORY_CAP_MB"  # the cap in MiB, for code in the kernel that wants to know
ALLOCATOR_VARIABLE = "PYTORCH_CUDA_ALLOC_CONF"
# Measured on this project's venv (Python 3.11, ipykernel, torch 2.14 CPU and CUDA libraries): a kernel with
# torch imported needs about 3.3 GiB of virtual address space (OpenBLAS's and torch's thread arenas), and
# fails to start below it. A host limit under this floor is refused rather than clamped.
KERNEL_ADDRESS_SPACE_FLOOR_MB = 4096
_CAP_SYS_RESOURCE = 24


@dataclass(frozen=True)
class HostLimit:
    """One resource limit: prlimit's name for it, ours, and the shell's command that shows and sets it."""

    name: str  # prlimit's option: as, nproc, fsize, nofile, core
    resource: int
    label: str
    ulimit: str
    unit: int  # bytes per unit of `label`'s figure (MiB for sizes, 1 for counts)


HOST_LIMITS = {limit.name: limit for limit in (
    HostLimit("as", resource.RLIMIT_AS, "address space", "ulimit -v", MiB),
    HostLimit("nproc", resource.RLIMIT_NPROC, "processes", "ulimit -u", 1),
    HostLimit("fsize", resource.RLIMIT_FSIZE, "file size", "ulimit -f", MiB),
    HostLimit("nofile", resource.RLIMIT_NOFILE, "open files", "ulimit -n", 1),
    HostLimit("core", resource.RLIMIT_CORE, "core dumps", "ulimit -c", 1),
)}


def can_raise_limits() -> bool:
    """Whether this process holds CAP_SYS_RESOURCE, so that no inherited hard limit binds a kernel it starts."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> _CAP_SYS_RESOURCE & 1)
    except (OSError, ValueError):
        pass
    return False


def ceiling(name: str) -> int | None:
    """The most of limit ``name`` (`HOST_LIMITS`) a kernel started from here can get; None: no ceiling.

    Read at each call: a grader's limits may be lowered while it runs (tests do it with prlimit).
    """
    hard = resource.getrlimit(HOST_LIMITS[name].resource)[1]
    if hard == resource.RLIM_INFINITY or can_raise_limits():
        return None
    return hard


def clamp(name: str, wanted: int) -> int:
    """``wanted`` of limit ``name``, or the host's ceiling where that is lower."""
    top = ceiling(name)
    return wanted if top is None else min(wanted, top)


def usable_cores() -> int:
    """Cores the grader may use: its CPU affinity, and its own cgroup's CPU quota where one is set."""
    cores = len(os.sched_getaffinity(0))
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                own = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
                quota, _, period = (own / "cpu.max").read_text().partition(" ")
                if quota != "max":
                    cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


# ----------------------------------------------------------------- GPUs


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as nvidia-smi reports it: CUDA's index (PCI bus order), its PCI address, its memory."""

    index: str
    bus_id: str
    memory_mb: int


def parse_nvidia_smi(text: str) -> dict[str, GpuInfo]:
    """Read ``nvidia-smi --query-gpu=index,pci.bus_id,memory.total --format=csv,noheader,nounits``."""
    gpus = {}
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) == 3 and fields[0].isdigit() and fields[2].isdigit():
            index, bus_id, memory = fields
            # nvidia-smi writes an 8-digit PCI domain in capitals, the driver's /proc a 4-digit one in lower case.
            gpus[index] = GpuInfo(index, bus_id[-12:].lower(), int(memory))
    return gpus


@functools.cache
def nvidia_smi_inventory() -> dict[str, GpuInfo]:
    """The host's GPUs by nvidia-smi, once per process; empty where there is no nvidia-smi or it fails."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return {}
    try:
        done = subprocess.run([binary, "--query-gpu=index,pci.bus_id,memory.total",
                               "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else {}


def gpu_devices() -> list[str]:
    """The host's GPU device nodes (``/dev/nvidia*``: the GPUs', the driver's control and unified-memory nodes)."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))


def kernel_visible_devices() -> str:
    """``CUDA_VISIBLE_DEVICES`` of a kernel with gpu on: the grader's own, else GPU 0 (nvidia-smi's numbering)."""
    return os.environ.get("CUDA_VISIBLE_DEVICES", "0")


def kernel_gpus() -> list[GpuInfo]:
    """The GPUs a kernel with gpu on sees, as nvidia-smi knows them ([] where it knows none of them)."""
    inventory = nvidia_smi_inventory()
    return [inventory[d] for d in kernel_visible_devices().split(",") if d.strip() in inventory]


def memory_fraction(cap_mb: int, device_memory_mb: int) -> str:
    """``cap_mb`` as a fraction of a GPU of ``device_memory_mb``, rounded down (never above the cap), at most 1."""
    fraction = min(1.0, cap_mb / device_memory_mb)
    return f"{int(fraction * 1_000_000) / 1_000_000:.6f}"


def allocator_setting(fraction: str) -> str:
    """The value of ``PYTORCH_CUDA_ALLOC_CONF`` that caps each process at ``fraction`` of a GPU's memory."""
    return f"per_process_memory_fraction:{fraction}"


def gpu_environment(cap_mb: int) -> tuple[dict[str, str], str]:
    """The variables a kernel with gpu on gets, and a line for the protections table saying what they do."""
    env = {"CUDA_VISIBLE_DEVICES": kernel_visible_devices(), "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
           MEMORY_CAP_VARIABLE: str(cap_mb)}
    if not cap_mb:
        return env, "GPU devices visible, no memory cap of the job's own (gpu_memory_mb = 0)"
    gpus = kernel_gpus()
    if not gpus:
        return env, (f"GPU devices visible; NO memory cap: the memory of GPU {env['CUDA_VISIBLE_DEVICES']} is "
                     "unknown (nvidia-smi gave no answer), so gpu_memory_mb cannot become a fraction")
    fraction = memory_fraction(cap_mb, min(gpu.memory_mb for gpu in gpus))
    env[ALLOCATOR_VARIABLE] = allocator_setting(fraction)
    return env, f"GPU devices visible, {cap_mb} MiB of GPU memory per job (PyTorch's allocator, fraction {fraction})"


def job_slots(limits: Limits) -> int:
    """How many jobs of an assignment with ``limits`` may run at once on this host (at least 1).

    The cores the grader may use divided by the job's ``threads``; with gpu on and GPUs present, also no
    more than fit in the memory of the GPU the kernels share (cuda:0 of ``CUDA_VISIBLE_DEVICES``) at
    ``gpu_memory_mb`` each: one at a time without a cap, since two uncapped jobs could run each other
    out of memory and a parallel run must give the scores a serial one does.
    """
    slots = max(1, usable_cores() // max(1, limits.threads))
    gpus = kernel_gpus() if limits.gpu else []
    if gpus:
        slots = min(slots, gpus[0].memory_mb // limits.gpu_memory_mb if limits.gpu_memory_mb else 1)
    return max(1, slots)


def parallel_jobs(limits: Limits | None = None) -> int:
    """How many grading jobs to run at once by default: one per core the grader may use; for a GPU assignment,
    no more than share the GPU's memory (`job_slots` at one thread each).

    Not cores / threads: a kernel waits on the grader between calls, so two 2-thread jobs on two cores still
    grade about half again as many submissions per minute as one (bench/).
    """
    if limits is not None and limits.gpu:
        return job_slots(replace(limits, threads=1))
    return max(1, usable_cores())


def share_cores(workers: int) -> int:
    """Limit this grader process's torch to its share of the cores, when ``workers`` graders run at once; the share.

    Each grader's torch would otherwise start a thread per core for the reference's work, beside the kernels'
    own: on two cores, two graders and two kernels then ran slower than one of each.
    """
    import torch

    share = max(1, usable_cores() // max(1, workers))
    torch.set_num_threads(share)
    return share
