"""GPU-aware jobs: the per-job GPU memory cap, and a job that runs the GPU out of memory told from a broken grader.

On the CPU: the student's code raises ``torch.OutOfMemoryError`` itself, as
PyTorch does past the job's cap (``bench/gpu_check.py`` shows the real thing
on a GPU). How many jobs fit at once (`host.job_slots`) is checked against
stand-in GPU inventories, the way `test_hub_gpu` uses stand-in device nodes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.course.assignment import Assignment
from autograder.course.samples import fill_solutions
from autograder.grading.job import GradingRecords, grade
from autograder.grading.results import JobStatus
from autograder.sandbox import host
from autograder.sandbox.confine import Limits
from autograder.sandbox.messages import StudentCodeError, gpu_memory_advice, gpu_out_of_memory
from autograder.selftest.cases import TOY_ROOT

OOM = "raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity')"


def toy_course(root: Path, limits: str) -> Assignment:
    """The toy course with ``limits`` added to its assignment's [limits] table."""
    shutil.copytree(TOY_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    config = root / "assignments" / "toy" / "hidden" / "assignment.toml"
    config.write_text(config.read_text().replace("[limits]\n", f"[limits]\n{limits}\n"))
    return Assignment("toy", root)


@pytest.mark.slow
def test_a_job_that_runs_the_gpu_out_of_memory_is_graded_and_told_why(tmp_path):
    toy = toy_course(tmp_path / "course", "gpu = true\ngpu_memory_mb = 1024")
    notebook = fill_solutions(toy.source_notebook, {
        "double": f"def double(x):\n    {OOM}",
        "square": f"def square(x):\n    return x * x\n\n{OOM}",  # the cell fails after defining square
    })
    result = grade(notebook, toy, student="ana", notebook_name="toy", records=GradingRecords(tmp_path / "records"))

    assert result.status is JobStatus.GRADED and result.cell_scores() == {"test_double": 0.0, "test_square": 1.0}
    told = "your code ran out of GPU memory (the job's cap is 1024 MiB): use smaller batches"
    failed_cells = [cell for cell in result.cells if cell.status == "error"]
    assert failed_cells and failed_cells[-1].error.startswith(told) and "OutOfMemoryError" in failed_cells[-1].error
    double_tests = result.tests_for("test_double")
    assert double_tests and all(t.student_error and told in t.message for t in double_tests)
    assert f"cell {failed_cells[-1].index + 1}: your code ran out of GPU memory (the job's cap is 1024 MiB)" in (
        result.sandbox_events)
    # one event per cell (square's, and the notebook's own check of double) and per hidden test of double
    assert sum("ran out of GPU memory" in event for event in result.sandbox_events) == len(failed_cells) + len(
        double_tests)
    assert len(failed_cells) == 2 and all(cell.error.startswith(told) for cell in failed_cells)


@pytest.mark.slow
def test_a_kernel_that_fails_to_start_stays_an_infrastructure_error(tmp_path):
    # 256 MiB of address space: too little for the interpreter to import torch, whatever the student wrote
    toy = toy_course(tmp_path / "course", "gpu = true\ngpu_memory_mb = 1024\naddress_space_mb = 256\n"
                                          "startup_timeout_s = 8")
    records = GradingRecords(tmp_path / "records")
    notebook = fill_solutions(toy.source_notebook, {})
    with pytest.raises(RuntimeError, match="did not start") as failed:
        grade(notebook, toy, student="ana", notebook_name="toy", records=records)
    assert "GPU memory" not in str(failed.value)
    assert not records.path("toy", "ana", "toy").exists()  # nothing recorded: the job is graded again later


@pytest.mark.parametrize(("error", "is_gpu"), [
    ("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", True),
    ("torch.OutOfMemoryError: CUDA out of memory.", True),
    ("RuntimeError: CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported", True),
    ("RuntimeError: [enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory", False),
    ("MemoryError", False),
    ("NameError: name 'OutOfMemory' is not defined", False),
])
def test_only_the_gpus_memory_is_told_as_such(error, is_gpu):
    assert gpu_out_of_memory(error) is is_gpu
    told = StudentCodeError("train raised an exception", error)
    assert str(told).startswith("train raised an exception: your code ran out of GPU memory") is is_gpu


def test_the_advice_names_the_cap_or_its_absence():
    assert gpu_memory_advice(2048).startswith("your code ran out of GPU memory (the job's cap is 2048 MiB): ")
    assert gpu_memory_advice(0).startswith(
        "your code ran out of GPU memory (the job has no cap of its own; the GPU itself was full): use smaller")


# ----------------------------------------------------------------- how many jobs at once


@pytest.fixture
def gpu_host(monkeypatch):
    """A host of 64 cores and one 80 GiB GPU (stand-ins for what `host` would read)."""
    monkeypatch.setattr(host, "usable_cores", lambda: 64)
    monkeypatch.setattr(host, "nvidia_smi_inventory", lambda: {"0": host.GpuInfo("0", "0000:1a:00.0", 81920)})
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return monkeypatch


def test_jobs_at_once_are_the_cores_over_each_jobs_threads(gpu_host):
    assert host.job_slots(Limits(threads=2)) == 32
    assert host.job_slots(Limits(threads=3)) == 21
    assert host.job_slots(Limits(threads=128)) == 1


def test_gpu_jobs_at_once_also_fit_the_gpus_memory_at_each_jobs_cap(gpu_host):
    assert host.job_slots(Limits(gpu=True, gpu_memory_mb=20480, threads=1)) == 4
    assert host.job_slots(Limits(gpu=True, gpu_memory_mb=4096, threads=4)) == 16  # the cores bind first
    assert host.job_slots(Limits(gpu=True, threads=1)) == 1  # no cap: one at a time, as a serial run
    assert host.job_slots(Limits(gpu=False, gpu_memory_mb=20480, threads=1)) == 64  # a CPU job ignores the GPU
    gpu_host.setattr(host, "nvidia_smi_inventory", lambda: {})  # no GPU here: gpu jobs run on the CPU
    assert host.job_slots(Limits(gpu=True, gpu_memory_mb=20480, threads=1)) == 64


def test_the_cap_becomes_pytorchs_fraction_of_the_kernels_gpu(gpu_host):
    env, said = host.gpu_environment(20480)
    assert env["PYTORCH_CUDA_ALLOC_CONF"] == "per_process_memory_fraction:0.250000"
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and env["AUTOGRADER_GPU_MEMORY_CAP_MB"] == "20480"
    assert "20480 MiB of GPU memory per job" in said
    gpu_host.setattr(host, "nvidia_smi_inventory", lambda: {})
    env, said = host.gpu_environment(20480)
    assert "PYTORCH_CUDA_ALLOC_CONF" not in env and "NO memory cap" in said
    assert "PYTORCH_CUDA_ALLOC_CONF" not in host.gpu_environment(0)[0]
