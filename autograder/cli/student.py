"""``validate``: a student's quick check of their notebook's public checks, in the sandbox."""

from __future__ import annotations

from pathlib import Path

from ..course.assignment import Assignment, autograded_cells, read_notebook
from ..sandbox.confine import Limits
from ..sandbox.kernel import StudentKernel
from . import output


def validate_command(notebook_path: Path, root: Path) -> int:
    notebook = read_notebook(notebook_path)
    assignment = Assignment(notebook_path.stem, root)
    limits = assignment.limits() if assignment.suite_dir.is_dir() else None
    public = autograded_cells(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    with StudentKernel([c.source for c in code_cells], limits or Limits(), data_dir=root / "data") as kernel:
        runs = kernel.run_notebook()
    failed = 0
    for cell, run in zip(code_cells, runs, strict=True):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in public:
            ok = run.status == "ok"
            failed += not ok
            output.console.print(f"{'PASS' if ok else 'FAIL'}  {grade_id}")
            if not ok:
                output.console.print("      " + (run.error.strip().splitlines() or [run.status])[-1], highlight=False)
        elif run.status != "ok":
            output.console.print(f"note  cell {grade_id or ''} did not run cleanly: "
                          f"{(run.error.strip().splitlines() or [run.status])[-1]}", highlight=False)
    output.console.print(f"{len(public) - failed} of {len(public)} public checks passed "
                  "(the hidden tests check more when you submit)")
    return 1 if failed else 0
