"""``validate``: a student's quick check of their notebook's public checks, in the sandbox."""

from __future__ import annotations

from pathlib import Path

from ..course.assignment import Assignment, autograded_cells, read_notebook
from ..sandbox.confine import Limits
from ..sandbox.kernel import StudentKernel
from ..sandbox.messages import Execution
from . import output

# The errors a fresh release gives, and what the student does about them.
_ADVICE = {
    "NotImplementedError": "a function this cell uses is still the stub: replace `raise NotImplementedError()` "
                           "in its solution cell with your code",
    "NameError": "this cell uses a name an earlier cell did not define: that cell failed, or was not run",
}


def what_to_do(run: Execution) -> str:
    """A failed cell's last error line, with the advice for the errors every fresh release gives."""
    last = (run.error.strip().splitlines() or [run.status])[-1]
    advice = next((text for error, text in _ADVICE.items() if last.startswith(error)), "")
    return f"{last.rstrip(':')} - {advice}" if advice else last


def validate_command(notebook_path: Path, root: Path) -> int:
    notebook = read_notebook(notebook_path)
    assignment = Assignment(notebook_path.stem, root)
    limits = assignment.limits() if assignment.suite_dir.is_dir() else None
    public = autograded_cells(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    # One kernel, once: starting a zygote (which imports more than this notebook may) would only add to it.
    with StudentKernel([c.source for c in code_cells], limits or Limits(), data_dir=root / "data",
                       warm=False) as kernel:
        runs = kernel.run_notebook()
    failed = 0
    for cell, run in zip(code_cells, runs, strict=True):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in public:
            ok = run.status == "ok"
            failed += not ok
            output.console.print(f"{'PASS' if ok else 'FAIL'}  {grade_id}")
            if not ok:
                output.console.print("      " + what_to_do(run), highlight=False)
        elif run.status != "ok":
            output.console.print(f"note  cell {grade_id or ''} did not run cleanly: {what_to_do(run)}", highlight=False)
    output.console.print(f"{len(public) - failed} of {len(public)} public checks passed "
                  "(the hidden tests check more when you submit)")
    return 1 if failed else 0
