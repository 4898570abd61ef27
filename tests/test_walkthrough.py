"""The README's new-course walk-through, run as written from an empty folder.

The commands are read from the README itself (between the walkthrough
markers), so the page an instructor follows and the test cannot drift apart.
Each command's wall time is printed (``pytest -s``) from bash's trace.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.gradebook.course_dir import read_csv

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"
_TRACE = re.compile(r"^\+ \[(\d+\.\d+)\] (.*)$")


def walkthrough_script() -> str:
    text = README.read_text()
    assert START in text and END in text, "README.md lost its walkthrough markers"
    section = text[text.index(START) + len(START):text.index(END)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert blocks, "no ```sh block between the walkthrough markers"
    return "\n".join(blocks)


def command_times(trace: str, finished: float) -> list[tuple[str, float]]:
    """(command, seconds) from bash's ``set -x`` lines, each stamped when it started."""
    steps = [(float(m.group(1)), m.group(2)) for line in trace.splitlines() if (m := _TRACE.match(line))]
    ends = [start for start, _ in steps[1:]] + [finished] if steps else []
    return [(command, end - start) for (start, command), end in zip(steps, ends, strict=True)]


def test_the_walkthrough_is_a_script_of_real_commands():
    script = walkthrough_script()
    for command in ("autograder init", "autograder new", "autograder check", "nbgrader generate_assignment",
                    "nbgrader release_assignment", "nbgrader fetch_assignment", "nbgrader submit",
                    "autograder collect", "autograder grade", "nbgrader export", "nbgrader generate_feedback",
                    "nbgrader fetch_feedback"):
        assert command in script, f"the README's walk-through lost its step {command!r}"


@pytest.mark.slow
def test_readme_walkthrough_from_an_empty_folder(tmp_path: Path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    # bash takes PS4 from the environment only when not root: set it in the script.
    traced = "PS4='+ [${EPOCHREALTIME}] '\nset -x\n" + walkthrough_script()
    run = subprocess.run(["bash", "-e", "-c", traced], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=1200)
    finished = time.time()
    timings = command_times(run.stderr, finished)
    print("\n".join(f"{seconds:7.1f} s  {command}" for command, seconds in timings))
    assert run.returncode == 0, f"the walk-through stopped:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"

    assert "FAIL" not in run.stdout.split("autograder check")[0], run.stdout  # init and new print no failure
    check = run.stdout[run.stdout.index("autograder check softmax_intro"):]
    assert "FAIL" not in check.split("Gradebook")[0], check  # the starter passes its own check
    grades = [row for row in read_csv(tmp_path / "dl101" / "grades.csv") if row["assignment"] == "softmax_intro"]
    assert [(row["student_id"], float(row["score"]), float(row["max_score"])) for row in grades] == [
        ("ann", 4.0, 5.0)]
    feedback, = (tmp_path / "ann" / "softmax_intro" / "feedback").glob("*/softmax_intro.html")
    text = feedback.read_text()
    assert "test_large_logits" in text and "subtract each row" in text
    assert "### BEGIN SOLUTION" not in text and "SUITE_VERSION" not in text
