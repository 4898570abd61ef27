"""How long a student waits for ``autograder validate``: cold (a kernel of its own) against the warm validate server.

For each assignment the bench releases it with nbgrader and checks two notebooks, as a student would from a
terminal (``autograder validate``, a new process each time): the fresh release (every check fails on a stub)
and the first sample student's submission (the checks run the student's code). It times, side by side:

- **cold**: ``autograder validate --cold``: the command starts its own kernel, as a single check without a server;
- **first**: the check that finds no server: it checks cold and starts one beside it (so it shares the cores);
- **warm**: every later check, answered by the server.

Rounds alternate cold and warm checks to spread machine noise. Each check's report must be the cold check's,
line for line, or the bench stops. It is a benchmark, not a test: nothing in it checks a time.

    .venv/bin/python bench/validate_bench.py [--assignment ID ...] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench folder is no package
from grading_bench import REPO, BenchError, machine

from autograder.cli.validate_server import FOLDER_ENV
from autograder.course.assignment import Assignment, assignments_with_samples
from autograder.course.samples import build_submission, sample_students
from autograder.gradebook.course_dir import NbgraderCourse

AUTOGRADER = str(Path(sys.executable).with_name("autograder"))


def check(notebook: Path, env: dict[str, str], *options: str) -> tuple[float, str]:
    """One ``autograder validate`` of ``notebook``, as a new process: its seconds and its report."""
    started = time.monotonic()
    done = subprocess.run([AUTOGRADER, "validate", "--course-root", str(REPO), *options, str(notebook)], env=env,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise BenchError(f"autograder validate {notebook} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return elapsed, done.stdout


def notebooks(assignment: Assignment, workdir: Path) -> dict[str, Path]:
    """The fresh release of ``assignment`` and its first sample student's submission, each named after it."""
    release = NbgraderCourse.create(workdir / "course", REPO).generate(assignment.id) / f"{assignment.id}.ipynb"
    sample = sample_students(assignment.samples_dir)[0]
    submitted = workdir / sample.stem / f"{assignment.id}.ipynb"
    submitted.parent.mkdir(parents=True)
    nbformat.write(build_submission(release, sample), submitted)
    return {"release": release, sample.stem: submitted}


def bench_notebook(notebook: Path, env: dict[str, str], rounds: int) -> dict[str, float]:
    """First, cold and warm seconds of one notebook, with a fresh server; stops it afterwards."""
    first, expected = check(notebook, env)
    deadline = time.monotonic() + 120
    while not (Path(env[FOLDER_ENV]) / "server.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    check(notebook, env)  # the server's first answer may wait for its warm-up to end
    cold, warm = [], []
    for _ in range(rounds):
        for times, options in ((cold, ("--cold",)), (warm, ())):
            seconds, report = check(notebook, env, *options)
            if report != expected:
                raise BenchError(f"{notebook}: a {'cold' if options else 'warm'} check reported otherwise than the "
                                 f"first:\n{report}\n---\n{expected}")
            times.append(seconds)
    subprocess.run([AUTOGRADER, "validate", "--stop"], env=env, capture_output=True, timeout=60)
    return {"first s": first, "cold med s": statistics.median(cold), "cold max s": max(cold),
            "warm med s": statistics.median(warm), "warm max s": max(warm),
            "cold/warm": statistics.median(cold) / statistics.median(warm)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", action="append", default=[],
                        help="an assignment to check (repeatable; default: every one with a sample class)")
    parser.add_argument("--rounds", type=int, default=5, help="cold and warm checks per notebook (default 5)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the warm validate server serves where kernels start warm: run this as root", file=sys.stderr)
        return 1
    info = machine()
    print(f"machine: {info['usable_cores']} of {info['cores']} cores usable ({info['cpu']}), load "
          f"{info['load_1min']} at start; Python {info['python']}; code {info['code']}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="validate-bench-"))
    env = {**os.environ, FOLDER_ENV: str(workdir / "server")}
    (workdir / "server").mkdir(mode=0o700)
    rows = []
    try:
        for assignment_id in args.assignment or assignments_with_samples(REPO):
            assignment = Assignment(assignment_id, REPO)
            for name, notebook in notebooks(assignment, workdir / assignment_id).items():
                rows.append({"notebook": f"{assignment_id}/{name}", **bench_notebook(notebook, env, args.rounds)})
                print(f"{rows[-1]['notebook']}: done", flush=True)
    except BenchError as exc:
        print(f"bench stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        subprocess.run([AUTOGRADER, "validate", "--stop"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)
    columns = ["notebook", "first s", "cold med s", "cold max s", "warm med s", "warm max s", "cold/warm"]
    width = max(len(row["notebook"]) for row in rows)
    print()
    print("  ".join([columns[0].ljust(width), *(name.rjust(10) for name in columns[1:])]))
    for row in rows:
        print("  ".join([row["notebook"].ljust(width), *(f"{row[name]:10.2f}" for name in columns[1:])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
