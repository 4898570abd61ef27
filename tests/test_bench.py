"""Smoke tests of the benches (bench/grading_bench.py, bench/validate_bench.py): their tables come out whole, with
finite numbers.

The slow test runs the bench's own code on two of a01's sample students, one round, workers 1 and 2: real stock
nbgrader, real sandboxed grading (about 45 s on an idle 2-core machine, more on a busy one). The fast one builds
the table from figures recorded in such a run. Neither checks a time: those belong to the bench's report.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import Assignment
from autograder.sandbox.warm import warm_enabled

REPO = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("grading_bench", REPO / "bench" / "grading_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["grading_bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_table_on_two_a01_students(tmp_path: Path) -> None:
    bench = load_bench()
    lines: list[str] = []
    figures = bench.bench_assignment(Assignment("a01_gradient_descent", REPO), tmp_path / "a01", rounds=1, workers=2,
                                     limit=2, say=lines.append)
    summary = bench.summarize(figures)
    row = summary["row"]
    assert list(row) == bench.COLUMNS
    assert row["subs"] == 2 and row["N"] == 2
    numbers = [value for value in row.values() if isinstance(value, float)]
    assert len(numbers) == 8 and all(math.isfinite(value) and value > 0 for value in numbers), row
    assert len(figures.stock_s) == len(figures.ours_1_s) == len(figures.ours_n_s) == 1
    assert len(figures.overheads_s) == 2  # one per job of the serial run
    assert len(figures.stock_scores) == 2 and figures.ours_scores_as_expected
    assert len(lines) == 1 and "round 1/1" in lines[0]
    table = bench.format_table([row]).splitlines()
    assert len(table) == 3 and all(column in table[0] for column in bench.COLUMNS)
    assert table[2].split()[0] == "a01_gradient_descent"
    assert "stock scored 2/2" in bench.checks_line(summary)
    json.dumps(summary)  # what --json writes


def test_table_from_recorded_figures() -> None:
    bench = load_bench()
    # Recorded on the 2-core dev machine: two a01 students, one round (stock 6.3 s, ours-1 9.2 s, ours-2 7.5 s).
    figures = bench.Figures("a01_gradient_descent", students=2, workers=2, stock_s=[6.3], ours_1_s=[9.2],
                            ours_n_s=[7.5], overheads_s=[1.18, 1.22], job_walls_s=[4.4, 4.5],
                            stock_scores={"alice": 16.0, "bob": 16.0})
    summary = bench.summarize(figures)
    row = summary["row"]
    assert list(row) == bench.COLUMNS
    assert row["stock/min"] == pytest.approx(2 * 60 / 6.3) and row["ours-1/min"] == pytest.approx(2 * 60 / 9.2)
    assert row["ours-1/stock"] == pytest.approx(6.3 / 9.2) and row["scaling N/1"] == pytest.approx(9.2 / 7.5)
    assert (row["overhead med s"], row["overhead max s"]) == (pytest.approx(1.2), 1.22)
    assert summary["extra"]["outside job s"] == pytest.approx(9.2 / 2 - 4.45)
    table = bench.format_table([row, {**row, "assignment": "a02_tabular_regression"}]).splitlines()
    assert len(table) == 4 and table[0].split("  ")[0].strip() == "assignment"
    assert [line.split()[0] for line in table[2:]] == ["a01_gradient_descent", "a02_tabular_regression"]
    assert "2/2 submissions" in bench.checks_line(summary) and "warned" not in bench.checks_line(summary)


def test_bench_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    for argv, said in ((["--rounds", "0"], "--rounds must be 1 or more"),
                       (["--assignment", "a99_nothing"], "no sample class for a99_nothing")):
        with pytest.raises(SystemExit):
            bench.parse_args(argv)
        assert said in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not warm_enabled(), reason="the warm validate server serves where kernels start warm")
def test_validate_bench_reports_every_column_for_a01() -> None:
    """bench/validate_bench.py on a01, one round: a row per notebook, every figure finite, the server stopped."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / "validate_bench.py"), "--assignment",
                           "a01_gradient_descent", "--rounds", "1"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.split("\n\n")[-1].strip().splitlines()
    assert table[0].split() == ["notebook", "first", "s", "cold", "med", "s", "cold", "max", "s", "warm", "med", "s",
                                "warm", "max", "s", "cold/warm"]
    assert [line.split()[0] for line in table[1:]] == ["a01_gradient_descent/release", "a01_gradient_descent/alice"]
    assert all(math.isfinite(float(value)) and float(value) > 0 for line in table[1:] for value in line.split()[1:])
