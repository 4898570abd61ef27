"""The hub's GPU policy: who gets which GPUs, the variables their servers get, the nodes to bind, bad settings.

Fast and GPU-free: the host's GPUs are stand-in files in a folder given as
``dev_dir`` (the policy looks only at their names). The last test runs only
where there is a real GPU: it starts PyTorch under the policy's environment
and shows that the memory cap and an empty ``CUDA_VISIBLE_DEVICES`` are honoured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from autograder.hub.gpu import (
    GpuPolicy,
    GpuPolicyError,
    detect_devices,
    driver_minors,
    nvidia_smi_inventory,
    parse_driver_minors,
    parse_nvidia_smi,
    user_slot,
)

STUDENTS = [f"student{n:02d}" for n in range(40)]


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    """A host with four GPUs: their nodes, the driver's control node and the unified-memory node (stand-ins)."""
    folder = tmp_path / "dev"
    folder.mkdir()
    for name in ("nvidia0", "nvidia1", "nvidia2", "nvidia3", "nvidiactl", "nvidia-uvm", "nvidia-caps", "null"):
        (folder / name).touch()
    return folder


def policy(dev: Path, **settings) -> GpuPolicy:
    config = Config()
    for name, value in {"gpu_groups": ["gpu-students"], **settings}.items():
        setattr(config.GpuPolicy, name, value)
    config.GpuPolicy.dev_dir = str(dev)
    return GpuPolicy(config=config)


def test_a_host_without_gpus_runs_everyone_on_the_cpu(tmp_path):
    (tmp_path / "null").touch()
    cpu_host = policy(tmp_path)
    assert cpu_host.devices == []
    given = cpu_host.assignment("ana", ["gpu-students"])
    assert (given.devices, given.environment, given.device_nodes) == ([], {"CUDA_VISIBLE_DEVICES": ""}, [])


def test_the_devices_are_detected_from_the_nodes_in_numeric_order(dev):
    for n in (10, 11):
        (dev / f"nvidia{n}").touch()
    assert detect_devices(str(dev)) == ["0", "1", "2", "3", "10", "11"]
    assert policy(dev).devices == ["0", "1", "2", "3", "10", "11"]


def test_users_outside_the_gpu_groups_get_no_gpu(dev):
    given = policy(dev).assignment("ben", ["nbgrader-dl101"])
    assert (given.devices, given.environment, given.device_nodes) == ([], {"CUDA_VISIBLE_DEVICES": ""}, [])


def test_a_gpu_user_gets_one_gpu_its_nodes_and_the_driver_nodes(dev):
    given = policy(dev).assignment("ana", ["nbgrader-dl101", "gpu-students"])
    [device] = given.devices
    print("ana gets", given)
    assert given.environment == {"CUDA_VISIBLE_DEVICES": device, "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
                                 "AUTOGRADER_GPU_MEMORY_CAP_MB": "0"}
    assert given.device_nodes == [str(dev / f"nvidia{device}"), str(dev / "nvidiactl"), str(dev / "nvidia-uvm")]


def test_the_assignment_is_stable_across_hub_starts_and_spreads_users_over_the_gpus(dev):
    first = {name: policy(dev).assignment(name, ["gpu-students"]).devices for name in STUDENTS}
    again = {name: policy(dev).assignment(name, ["gpu-students"]).devices for name in STUDENTS}
    assert first == again
    load = Counter(device for devices in first.values() for device in devices)
    print(f"{len(STUDENTS)} students over 4 GPUs: {dict(sorted(load.items()))}")
    assert set(load) == {"0", "1", "2", "3"}
    assert max(load.values()) <= 2 * len(STUDENTS) // 4  # no GPU carries twice its share
    assert user_slot("ana", 4) == user_slot("ana", 4) and 0 <= user_slot("ana", 7) < 7


def test_several_gpus_per_user_are_distinct_and_wrap_around(dev):
    gpus = policy(dev, per_user_devices=3)
    for name in STUDENTS[:10]:
        devices = gpus.assignment(name, ["gpu-students"]).devices
        assert len(set(devices)) == 3, devices
        assert [int(d) for d in devices] == [(int(devices[0]) + k) % 4 for k in range(3)]
    assert len(policy(dev, per_user_devices=4).assignment("ana", ["gpu-students"]).device_nodes) == 4 + 2


def test_the_hub_hands_out_only_the_gpus_it_is_given(dev):
    given = {name: policy(dev, devices=["2", "3"]).assignment(name, ["gpu-students"]).devices[0] for name in STUDENTS}
    assert set(given.values()) == {"2", "3"}


def test_the_memory_cap_becomes_pytorchs_per_process_fraction(dev):
    given = policy(dev, memory_cap_mb=20_000, device_memory_mb=80_000).assignment("ana", ["gpu-students"])
    assert given.environment["PYTORCH_CUDA_ALLOC_CONF"] == "per_process_memory_fraction:0.250000"
    assert given.environment["AUTOGRADER_GPU_MEMORY_CAP_MB"] == "20000"
    odd = policy(dev, memory_cap_mb=10_000, device_memory_mb=81_559).assignment("ana", ["gpu-students"])
    fraction = float(odd.environment["PYTORCH_CUDA_ALLOC_CONF"].split(":")[1])
    assert fraction * 81_559 <= 10_000 < (fraction + 1e-6) * 81_559  # rounded down: never above the cap
    whole = policy(dev, memory_cap_mb=100_000, device_memory_mb=80_000).assignment("ana", ["gpu-students"])
    assert whole.environment["PYTORCH_CUDA_ALLOC_CONF"] == "per_process_memory_fraction:1.000000"
    assert "PYTORCH_CUDA_ALLOC_CONF" not in policy(dev).assignment("ana", ["gpu-students"]).environment


def test_nvidia_smis_answer_and_the_drivers_give_index_node_number_and_memory():
    answer = "0, 00000000:1A:00.0, 81559\n1, 00000000:3B:00.0, 40960\n\nNo devices were found\n"
    gpus = parse_nvidia_smi(answer)
    assert [(g.index, g.bus_id, g.memory_mb) for g in gpus.values()] == [
        ("0", "0000:1a:00.0", 81559), ("1", "0000:3b:00.0", 40960)]
    information = "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 42\nDevice Minor: \t 1\nBus Type: \t PCIe\n"
    assert parse_driver_minors({"0000:1A:00.0": information, "0000:3b:00.0": "Model: x\n"}) == {"0000:1a:00.0": "1"}


@pytest.mark.parametrize(("settings", "message"), [
    ({"devices": ["/dev/nvidia0"]}, "GpuPolicy.devices: '/dev/nvidia0' is not a GPU index; write the N of each GPU"),
    ({"devices": ["0", "0"]}, "GpuPolicy.devices lists a GPU twice (['0', '0']): list each GPU once"),
    ({"per_user_devices": 0}, "GpuPolicy.per_user_devices is 0: it must be 1 or more"),
    ({"memory_cap_mb": -1}, "GpuPolicy.memory_cap_mb is -1: it must be 0 or more"),
])
def test_a_bad_setting_is_refused_with_what_to_write(dev, settings, message):
    with pytest.raises(TraitError) as refused:
        policy(dev, **settings)
    print(refused.value)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(("settings", "message"), [
    ({"per_user_devices": 5},
     "GpuPolicy.per_user_devices is 5 but the hub has 4 GPU(s) to hand out (['0', '1', '2', '3']): lower"),
    ({"devices": ["7"]}, "GpuPolicy.devices lists GPU 7 but {dev}/nvidia7 does not exist: list only this host's"),
    ({"memory_cap_mb": 8000}, "GpuPolicy.memory_cap_mb is 8000 but the memory of GPU"),
])
def test_settings_that_do_not_fit_the_host_say_which_and_what_to_do(dev, settings, message):
    with pytest.raises(GpuPolicyError) as refused:
        policy(dev, **settings).assignment("ana", ["gpu-students"])
    print(refused.value)
    assert str(refused.value).startswith(message.format(dev=dev))


# ----------------------------------------------------------------- on a real GPU


PROBE = """
import json, os, torch
found = {"cuda": torch.cuda.is_available(), "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}
if found["cuda"]:
    total = torch.cuda.get_device_properties(0).total_memory
    found["total_mib"] = total >> 20
    found["fraction"] = torch.cuda.get_per_process_memory_fraction(0)
    cap = int(os.environ["AUTOGRADER_GPU_MEMORY_CAP_MB"]) << 20
    below = torch.empty(int(cap * 0.9), dtype=torch.uint8, device="cuda")
    found["below_cap"] = "allocated"
    try:
        above = torch.empty(int(cap * 0.2), dtype=torch.uint8, device="cuda")
        found["past_cap"] = "allocated"
    except torch.OutOfMemoryError as refused:
        found["past_cap"] = str(refused).splitlines()[0][:160]
print(json.dumps(found))
"""


@pytest.mark.skipif(not detect_devices() or not shutil.which("nvidia-smi"), reason="needs an NVIDIA GPU")
def test_pytorch_honours_the_assignment_on_a_real_gpu():
    gpus = GpuPolicy(gpu_groups=["gpu-students"], memory_cap_mb=4096)
    seen = {}
    for groups in (["gpu-students"], ["nbgrader-dl101"]):
        given = gpus.assignment("ana", groups)
        print(groups, given, nvidia_smi_inventory(), driver_minors())
        for node in given.device_nodes:
            assert Path(node).exists(), node
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "PYTORCH_CUDA"))}
        done = subprocess.run([sys.executable, "-c", PROBE], env={**env, **given.environment},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        seen[groups[0]] = json.loads(done.stdout.splitlines()[-1])
        print(seen[groups[0]])
    gpu_user, cpu_user = seen["gpu-students"], seen["nbgrader-dl101"]
    assert cpu_user == {"cuda": False, "visible": ""}
    assert gpu_user["cuda"] and gpu_user["below_cap"] == "allocated"
    assert gpu_user["fraction"] * gpu_user["total_mib"] <= 4096
    assert "per_process_memory_fraction" in gpu_user["past_cap"] or "out of memory" in gpu_user["past_cap"]
