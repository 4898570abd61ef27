"""GPU check of the grader's GPU-aware jobs, for a host with an NVIDIA GPU (run it there, from the repo root).

    .venv/bin/python bench/gpu_check.py [--cap-mb 4096]

Prints each step and its figures, and exits 0 only when all hold:

1. a sandboxed kernel with ``gpu = true`` sees CUDA, with PyTorch's allocator capped at the job's
   ``gpu_memory_mb`` (warm and cold kernel starts alike);
2. the cap holds: a cell allocating past it fails with ``torch.OutOfMemoryError``, and the grading job
   tells the student "your code ran out of GPU memory (the job's cap is N MiB)", in the cell's error, in
   the failed tests' messages (a call past the cap) and in the sandbox's events; the job is graded, not failed;
3. two jobs run at once on the GPU, each holding most of its cap at the same time.

Not a test of `make test` (it needs a GPU); every step has a time limit, and the whole run stops after
``--deadline-s`` seconds (exit 2) rather than hang.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course.assignment import Assignment  # noqa: E402
from autograder.course.samples import fill_solutions  # noqa: E402
from autograder.grading.job import GradingRecords, grade  # noqa: E402
from autograder.sandbox import host  # noqa: E402
from autograder.sandbox.confine import Limits, SandboxUnavailable  # noqa: E402
from autograder.sandbox.kernel import StudentKernel  # noqa: E402
from autograder.selftest.cases import TOY_ROOT  # noqa: E402

PROBE = """
import json, os, torch
seen = {"cuda": torch.cuda.is_available(), "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "alloc_conf": os.environ.get("PYTORCH_CUDA_ALLOC_CONF")}
if seen["cuda"]:
    seen["device"] = torch.cuda.get_device_name(0)
    seen["total_mib"] = torch.cuda.get_device_properties(0).total_memory >> 20
    torch.empty(1, device="cuda")
    seen["fraction"] = torch.cuda.get_per_process_memory_fraction(0)
print("PROBE " + json.dumps(seen))
"""
HOLD = """
import json, time, torch
held = torch.empty({size} << 20, dtype=torch.uint8, device="cuda")
start = time.time()
time.sleep({seconds})
print("HELD " + json.dumps({{"start": start, "end": time.time(), "mib": held.numel() >> 20}}))
"""
failures: list[str] = []


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def check(ok: bool, what: str) -> None:
    print(f"   {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)


def kernel_output(kernel: StudentKernel, marker: str) -> list[dict]:
    found = []
    for run in kernel.cells:
        for line in run.text().splitlines():
            if line.startswith(marker + " "):
                found.append(json.loads(line[len(marker) + 1:]))
        if run.status != "ok":
            print(f"   cell {run.status}: {run.error.strip()[-600:]}", flush=True)
    return found


def run_kernel(sources: list[str], limits: Limits, isolation: bool) -> tuple[StudentKernel, float]:
    started = time.monotonic()
    kernel = StudentKernel(sources, limits, require_isolation=isolation)
    try:
        kernel.run_notebook()
    finally:
        kernel.close()
    for protection in kernel.protections:
        if protection.name in ("gpu", "address space", "warm start") or not protection.active:
            print(f"   protection {protection.name}: {protection.detail}", flush=True)
    for event in kernel.events:
        print(f"   event: {event}", flush=True)
    return kernel, time.monotonic() - started


def sees_cuda(limits: Limits, cap: int, isolation: bool, workdir: Path) -> Limits:
    """Step 1; returns the limits that worked (a larger address space if CUDA needed one)."""
    for warm in ("1", "0"):
        os.environ["AUTOGRADER_WARM"] = warm
        kernel, took = run_kernel([PROBE], limits, isolation)
        probe = (kernel_output(kernel, "PROBE") or [{}])[0]
        print(f"   {'warm' if warm == '1' else 'cold'} start, {took:.1f} s: {probe}", flush=True)
        if not probe.get("cuda") and warm == "1":
            bigger = dataclasses.replace(limits, address_space_mb=1 << 20)
            kernel, took = run_kernel([PROBE], bigger, isolation)
            retry = (kernel_output(kernel, "PROBE") or [{}])[0]
            print(f"   retried with address_space_mb = {1 << 20}: {retry}", flush=True)
            if retry.get("cuda"):
                print("   NOTE: CUDA needs a larger address space than the default; GPU assignments must raise "
                      "[limits] address_space_mb", flush=True)
                limits, probe = bigger, retry
        check(bool(probe.get("cuda")), f"kernel ({'warm' if warm == '1' else 'cold'}) with gpu=true sees CUDA")
        total = probe.get("total_mib", 0)
        fraction = probe.get("fraction", 0.0)
        check(bool(total) and 0 < fraction * total <= cap,
              f"allocator capped: fraction {fraction} of {total} MiB = {fraction * total:.0f} MiB <= {cap} MiB "
              f"({probe.get('alloc_conf')})")
    os.environ.pop("AUTOGRADER_WARM", None)
    return limits


def cap_holds(limits: Limits, cap: int, isolation: bool, workdir: Path) -> None:
    """Step 2: a real grading job whose cell and call allocate past the cap."""
    course = workdir / "course"
    shutil.copytree(TOY_ROOT, course, ignore=shutil.ignore_patterns("__pycache__"))
    config = course / "assignments" / "toy" / "hidden" / "assignment.toml"
    config.write_text(dataclasses.replace(limits, call_timeout_s=60.0).to_toml())  # gpu on, the cap, the rest
    toy = Assignment("toy", course)
    past = cap * 3 // 2
    notebook = fill_solutions(toy.source_notebook, {
        "double": f"def double(x):\n    torch.empty({past} << 20, dtype=torch.uint8, device='cuda')\n    return x * 2",
        "square": f"def square(x):\n    return x * x\n\nbelow = torch.empty({cap // 2} << 20, dtype=torch.uint8, "
                  f"device='cuda')\nprint('below the cap: allocated')\ndel below\n"
                  f"above = torch.empty({past} << 20, dtype=torch.uint8, device='cuda')",
    })
    started = time.monotonic()
    result = grade(notebook, toy, student="ana", notebook_name="toy", records=GradingRecords(workdir / "records"),
                   require_isolation=isolation)
    print(f"   graded in {time.monotonic() - started:.1f} s: status {result.status}, scores {result.cell_scores()}",
          flush=True)
    told = f"your code ran out of GPU memory (the job's cap is {cap} MiB)"
    for cell in result.cells:
        if cell.status != "ok":
            print(f"   cell {cell.index + 1} {cell.status}: {cell.error[:300]!r}", flush=True)
    for event in result.sandbox_events:
        print(f"   event: {event}", flush=True)
    check(result.graded, "the job is graded (an out-of-memory student is no infrastructure failure)")
    check(any(cell.error.startswith(told) for cell in result.cells), f"a cell past the cap says: {told}")
    check(any("below the cap: allocated" in "".join(o.get("text", "") for o in cell.outputs)
              for cell in result.cells), f"{cap // 2} MiB, below the cap, was allocated")
    failed = [t for t in result.tests_for("test_double") if not t.passed]
    check(bool(failed) and all(told in t.message for t in failed),
          f"a call past the cap fails its tests saying: {told}")
    check(result.cell_scores().get("test_square") == 1.0, "square, defined before the failed allocation, still scores")
    check(any(told in event for event in result.sandbox_events), "the sandbox's events say so")


def two_at_once(limits: Limits, cap: int, isolation: bool, workdir: Path) -> None:
    """Step 3: two jobs, each holding most of its cap for a few seconds, at the same time."""
    size, seconds = cap * 3 // 4, 8
    print(f"   jobs at once on this host for these limits (host.job_slots): {host.job_slots(limits)}", flush=True)
    held: dict[int, list[dict]] = {}
    errors: dict[int, str] = {}

    def job(number: int) -> None:
        try:
            kernel, took = run_kernel([HOLD.format(size=size, seconds=seconds)], limits, isolation)
            held[number] = kernel_output(kernel, "HELD")
            print(f"   job {number}: {took:.1f} s, {held[number]}", flush=True)
        except Exception:
            errors[number] = traceback.format_exc()

    threads = [threading.Thread(target=job, args=(n,), daemon=True) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for number, error in errors.items():
        print(f"   job {number} failed:\n{error}", flush=True)
    spans = [held[n][0] for n in (1, 2) if held.get(n)]
    check(len(spans) == 2, f"both jobs held {size} MiB of GPU memory")
    if len(spans) == 2:
        overlap = min(s["end"] for s in spans) - max(s["start"] for s in spans)
        check(overlap > 0, f"they held it at the same time ({overlap:.1f} s of {seconds} s overlap)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mb", type=int, default=4096, help="each job's gpu_memory_mb (default 4096)")
    parser.add_argument("--deadline-s", type=int, default=540, help="stop the whole run after this (default 540)")
    parser.add_argument("--without-gpu", action="store_true",
                        help="run the steps on a host without a GPU (they fail: a check of this script itself)")
    args = parser.parse_args()

    def out_of_time(*_: object) -> None:
        print(f"\nTIMEOUT: the check ran past {args.deadline_s} s", flush=True)
        os._exit(2)

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.deadline_s)
    cap = args.cap_mb
    step("host")
    print(f"   GPUs (nvidia-smi): {host.nvidia_smi_inventory()}", flush=True)
    print(f"   cores the grader may use: {host.usable_cores()}; uid {os.geteuid()}", flush=True)
    print(f"   address space ceiling: {host.ceiling('as')}", flush=True)
    if not host.nvidia_smi_inventory() and not args.without_gpu:
        print("FAIL: no GPU answered nvidia-smi here; run this on a host with an NVIDIA GPU", flush=True)
        return 1
    limits = Limits(gpu=True, gpu_memory_mb=cap, threads=1, startup_timeout_s=120, cell_timeout_s=120,
                    notebook_timeout_s=300)
    isolation = True
    try:
        from autograder.sandbox.confine import Sandbox
        Sandbox(limits, Path(tempfile.gettempdir())).check()
    except SandboxUnavailable as exc:
        print(f"   WARNING: no isolation on this host ({exc}); checking the GPU path unprotected", flush=True)
        isolation = False
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as workdir:
        for title, action in (("1. a kernel with gpu=true sees CUDA, its allocator capped", sees_cuda),
                              ("2. the cap holds, and running past it is told apart", cap_holds),
                              ("3. two jobs at once on the GPU", two_at_once)):
            step(title)
            started = time.monotonic()
            try:
                outcome = action(limits, cap, isolation, Path(workdir))
                if isinstance(outcome, Limits):
                    limits = outcome
            except Exception:
                traceback.print_exc()
                failures.append(f"{title}: raised")
            print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"\n{'ALL GPU CHECKS PASSED' if not failures else 'FAILED: ' + '; '.join(failures)}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
