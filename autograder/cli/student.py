"""``validate``: a student's quick check of their notebook's public checks, in the sandbox.

The command imports neither torch nor nbformat nor the sandbox unless it checks the notebook itself: as root
it asks the warm validate server (`.validate_server`) first, which answers in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from . import output, validate_server

if TYPE_CHECKING:
    from ..sandbox.messages import Execution

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


def public_checks(notebook_path: Path, root: Path, *, warm: bool) -> tuple[list[str], int]:
    """The report of a notebook's public checks, a line each, and the command's exit code (1: one failed).

    ``warm``: the kernel forks from this process's zygote (the validate server's); a single check in its own
    process starts cold, as a zygote (which imports more than this notebook may) would only add to it.
    """
    from ..course.assignment import Assignment, autograded_cells, read_notebook
    from ..sandbox.confine import Limits
    from ..sandbox.kernel import StudentKernel

    notebook = read_notebook(notebook_path)
    assignment = Assignment(notebook_path.stem, root)
    limits = assignment.limits() if assignment.suite_dir.is_dir() else None
    public = autograded_cells(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    with StudentKernel([c.source for c in code_cells], limits or Limits(), data_dir=root / "data",
                       warm=warm) as kernel:
        runs = kernel.run_notebook()
    lines, failed = [], 0
    for cell, run in zip(code_cells, runs, strict=True):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in public:
            ok = run.status == "ok"
            failed += not ok
            lines.append(f"{'PASS' if ok else 'FAIL'}  {grade_id}")
            if not ok:
                lines.append("      " + what_to_do(run))
        elif run.status != "ok":
            lines.append(f"note  cell {grade_id or ''} did not run cleanly: {what_to_do(run)}")
    lines.append(f"{len(public) - failed} of {len(public)} public checks passed "
                 "(the hidden tests check more when you submit)")
    return lines, 1 if failed else 0


def validate_command(notebook_path: Path | None, root: Path, *, warm: bool = True, stop: bool = False) -> int:
    """``autograder validate``: the warm validate server's report where there is one, else a cold check here."""
    if stop:
        stopped = validate_server.stop_server()
        say("stopped the warm validate server" if stopped else "no warm validate server was running")
        return 0
    if notebook_path is None:
        return error("name the notebook to check: autograder validate NOTEBOOK")
    notebook_path = notebook_path.resolve()
    answer = None
    if warm and os.geteuid() == 0 and os.environ.get("AUTOGRADER_WARM", "1") != "0":  # where kernels start warm
        try:
            answer = validate_server.ask(notebook_path, root)
        except validate_server.CheckFailed as exc:
            return error(str(exc))
    lines, code = answer if answer is not None else public_checks(notebook_path, root, warm=False)
    for line in lines:
        say(line)
    return code


def say(line: str) -> None:
    output.console.print(line, markup=False, highlight=False)


def error(message: str) -> int:
    output.console.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    return 2
