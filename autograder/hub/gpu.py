"""Which GPUs a user's kernels get on the classroom hub, and how much of their memory.

This module owns the decision only. The spawner applies it: it adds
`GpuAssignment.environment` to the single-user server's environment and binds
`GpuAssignment.device_nodes` into the server's sandbox (and nothing else of
``/dev/nvidia*``). The grading service can ask the same policy for its
sandboxed kernels.

- Who: members of any hub group in ``gpu_groups``; everyone else, and everyone
  on a host without GPUs, gets ``CUDA_VISIBLE_DEVICES=""`` and no device nodes,
  so torch runs on the CPU with no change to the course.
- Which: ``per_user_devices`` consecutive GPUs starting at a stable hash of the
  username, so a user keeps their GPUs across restarts and users spread over the
  host's GPUs without the hub keeping any state.
- How much: ``memory_cap_mb`` becomes ``PYTORCH_CUDA_ALLOC_CONF=per_process_memory_fraction:F``,
  which PyTorch's CUDA allocator (2.9 and later; the course pins 2.14) reads
  when it starts, in every process of the server: kernels, terminals, scripts,
  with no start-up hook to install. The allocator refuses an allocation that
  would take the process past F of the GPU's memory with ``torch.OutOfMemoryError``.
  It is a fairness cap between honest users sharing a GPU, not a security
  boundary: code in the kernel can raise its own fraction, or allocate outside
  PyTorch's allocator (CuPy, raw CUDA), and the CUDA context (a few hundred MiB)
  is not counted. A hard per-user partition needs MIG, which this policy does
  not manage.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from traitlets import Int, List, TraitError, Unicode, default, validate
from traitlets.config import Configurable

# The GPU inventory and the allocator's cap are the sandbox's too (grading jobs' ``gpu_memory_mb``): one copy.
from ..sandbox.host import (  # noqa: F401 (GpuInfo and parse_nvidia_smi: this module's names too)
    ALLOCATOR_VARIABLE,
    MEMORY_CAP_VARIABLE,
    GpuInfo,
    allocator_setting,
    memory_fraction,
    nvidia_smi_inventory,
    parse_nvidia_smi,
)

# Besides its own /dev/nvidiaN, a CUDA process needs the driver's control node and the unified-memory nodes.
CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")


class GpuPolicyError(ValueError):
    """The GPU settings do not fit this host; the message says which setting and what to do."""


@dataclass(frozen=True)
class GpuAssignment:
    """What one user's server gets: GPU indices, the variables to set, the device nodes to bind."""

    devices: list[str]
    environment: dict[str, str]
    device_nodes: list[str]


def parse_driver_minors(informations: dict[str, str]) -> dict[str, str]:
    """PCI address -> N of /dev/nvidiaN, from the driver's ``/proc/driver/nvidia/gpus/<address>/information``."""
    minors = {}
    for address, text in informations.items():
        if found := re.search(r"^Device Minor:\s*(\d+)", text, re.MULTILINE):
            minors[address.lower()] = found.group(1)
    return minors


@functools.cache
def driver_minors() -> dict[str, str]:
    """This host's PCI address -> device node number; CUDA's index and the node number can differ."""
    folder = Path("/proc/driver/nvidia/gpus")
    if not folder.is_dir():
        return {}
    return parse_driver_minors({p.name: (p / "information").read_text(errors="replace")
                                for p in folder.iterdir() if (p / "information").is_file()})


def detect_devices(dev_dir: str = "/dev") -> list[str]:
    """GPU indices of this host: nvidia-smi's, else the N of each ``/dev/nvidiaN``; [] without GPUs."""
    found = nvidia_smi_inventory() if dev_dir == "/dev" else {}
    if found:
        return sorted(found, key=int)
    numbers = (m.group(1) for p in Path(dev_dir).glob("nvidia*") if (m := re.fullmatch(r"nvidia(\d+)", p.name)))
    return sorted(numbers, key=int)


def user_slot(username: str, slots: int) -> int:
    """A stable number in [0, slots) for a username: the same on every hub start, spread evenly over names."""
    digest = hashlib.sha256(username.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % slots


class GpuPolicy(Configurable):
    """The hub's GPU settings (``c.GpuPolicy.*``, or ``[hub] gpu_groups`` in the roster)."""

    gpu_groups = List(Unicode(), help="""Hub groups whose members' kernels get GPUs (e.g. ["nbgrader-dl101"]).
        Users in none of them run on the CPU. Empty (the default): nobody gets a GPU.""").tag(config=True)
    devices = List(Unicode(), help="""GPU indices the hub may hand out, as CUDA numbers them in PCI bus order
        (nvidia-smi's index), e.g. ["0", "1"]. Default: every GPU of the host (nvidia-smi, else /dev/nvidiaN);
        [] on a host without GPUs.""").tag(config=True)
    per_user_devices = Int(1, help="GPUs each GPU user gets (at least 1, at most len(devices)).").tag(config=True)
    memory_cap_mb = Int(0, help="""GPU memory each process of a GPU user may take through PyTorch, in MiB
        (0: no cap). Set as PYTORCH_CUDA_ALLOC_CONF=per_process_memory_fraction; a fairness cap, not a
        security boundary.""").tag(config=True)
    device_memory_mb = Int(0, help="""Memory of one GPU in MiB, to turn memory_cap_mb into a fraction.
        0 (the default): asked of nvidia-smi (the smallest of the user's GPUs).""").tag(config=True)
    dev_dir = Unicode("/dev", help="""Where the device nodes live. Anywhere but /dev (tests' folders of stand-ins),
        the GPUs are those of the folder alone, and nvidia-smi is not asked.""").tag(config=True)

    @default("devices")
    def _detected_devices(self) -> list[str]:
        return detect_devices(self.dev_dir)

    @validate("devices")
    def _check_devices(self, proposal) -> list[str]:
        devices = list(proposal["value"])
        for device in devices:
            if not device.isdigit():
                raise TraitError(f"GpuPolicy.devices: {device!r} is not a GPU index; write the N of each GPU, "
                                 "as nvidia-smi numbers them, e.g. ['0', '1']")
        if len(set(devices)) != len(devices):
            raise TraitError(f"GpuPolicy.devices lists a GPU twice ({devices}): list each GPU once")
        return devices

    @validate("per_user_devices", "memory_cap_mb", "device_memory_mb")
    def _check_counts(self, proposal) -> int:
        name, value = proposal["trait"].name, proposal["value"]
        least = 1 if name == "per_user_devices" else 0
        if value < least:
            raise TraitError(f"GpuPolicy.{name} is {value}: it must be {least} or more")
        return value

    def gets_gpu(self, groups: list[str]) -> bool:
        return bool(self.devices) and any(group in self.gpu_groups for group in groups)

    def assignment(self, username: str, groups: list[str]) -> GpuAssignment:
        """The GPUs, environment and device nodes of ``username``'s server, given their hub groups."""
        if not self.gets_gpu(groups):
            return GpuAssignment(devices=[], environment={"CUDA_VISIBLE_DEVICES": ""}, device_nodes=[])
        devices = self._devices_of(username)
        environment = {
            "CUDA_VISIBLE_DEVICES": ",".join(devices),
            # CUDA's own default order (fastest first) need not match nvidia-smi's numbers, which `devices` uses.
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
            MEMORY_CAP_VARIABLE: str(self.memory_cap_mb),
        }
        if self.memory_cap_mb:
            environment[ALLOCATOR_VARIABLE] = allocator_setting(self.memory_fraction(devices))
        return GpuAssignment(devices=devices, environment=environment, device_nodes=self._nodes_of(devices))

    def memory_fraction(self, devices: list[str]) -> str:
        """``memory_cap_mb`` as a fraction of the smallest of ``devices``, rounded down (never above the cap)."""
        total = self.device_memory_mb or min(
            (info.memory_mb for d in devices if (info := self._inventory().get(d))), default=0)
        if not total:
            raise GpuPolicyError(f"GpuPolicy.memory_cap_mb is {self.memory_cap_mb} but the memory of GPU "
                                 f"{','.join(devices)} is unknown (no answer from nvidia-smi): set "
                                 "GpuPolicy.device_memory_mb to one GPU's memory in MiB")
        return memory_fraction(self.memory_cap_mb, total)

    def _devices_of(self, username: str) -> list[str]:
        count, available = self.per_user_devices, self.devices
        if count > len(available):
            raise GpuPolicyError(f"GpuPolicy.per_user_devices is {count} but the hub has {len(available)} GPU(s) "
                                 f"to hand out ({available}): lower per_user_devices")
        start = user_slot(username, len(available))
        return [available[(start + k) % len(available)] for k in range(count)]

    def _inventory(self) -> dict[str, GpuInfo]:
        return nvidia_smi_inventory() if self.dev_dir == "/dev" else {}

    def _nodes_of(self, devices: list[str]) -> list[str]:
        inventory = self._inventory()
        nodes = []
        for device in devices:
            minor = driver_minors().get(inventory[device].bus_id, device) if device in inventory else device
            node = Path(self.dev_dir) / f"nvidia{minor}"
            if not node.exists():
                raise GpuPolicyError(f"GpuPolicy.devices lists GPU {device} but {node} does not exist: list only "
                                     "this host's GPUs (nvidia-smi -L), or leave devices unset to detect them")
            nodes.append(str(node))
        return nodes + [str(Path(self.dev_dir) / n) for n in CONTROL_NODES if (Path(self.dev_dir) / n).exists()]
