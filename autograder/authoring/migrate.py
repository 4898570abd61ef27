"""``autograder migrate``: an assignment's inline nbgrader tests moved into a hidden suite beside it.

Inline tests (`gradebook.inline`) run in the student's kernel. `migrate` writes
what grades from outside instead:

- ``assignments/<id>/hidden/test_<id>.py``: one pytest test per autograded
  grade cell, with ``@grade_cell``/``@points`` of that cell; the cell's test
  code (its hidden tests included) calls the student's functions through the
  ``student`` proxy. What cannot be translated faithfully (a test that
  rebinds or deletes a student's function, catches the student's exceptions,
  uses a name the notebook defines outside its solutions, is not plain
  Python) becomes a test that fails with a ``TODO(autograder migrate)`` and
  the inline code beside it, so the suite cannot grade before the author
  has rewritten it;
- ``assignments/<id>/hidden/assignment.toml``: the default limits, to tune;
- ``reference/<id>.py``: a stub made of the notebook's solution cells.

It never replaces an existing suite or reference unless ``force``, and
edits the source notebook only with ``strip_inline`` (its hidden-tests
blocks removed, so the release no longer carries them: the suite holds them).
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..course.assignment import Assignment, CourseError, read_notebook

HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|\Z)",
                          re.MULTILINE | re.DOTALL)
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.MULTILINE)
TODO = "TODO(autograder migrate)"
LIMITS_TEMPLATE = """# Grading settings of {id} (hidden: beside the suite, never in the release), written by
# `autograder migrate` with the defaults commented out (docs/configuration.md). Run
# `autograder check {id}` and give each timeout a few times the reference's time.
[limits]
# notebook_timeout_s = 300
# cell_timeout_s = 60
# call_timeout_s = 30
# memory_mb = 4096

[data]
files = []
"""


@dataclass
class MigratedTest:
    grade_id: str
    name: str
    translated: bool
    why: str = ""  # what kept it from being translated


@dataclass
class Migration:
    """What `migrate` wrote and what the author must review."""

    assignment: Assignment
    notebooks: list[Path]
    written: list[Path] = field(default_factory=list)
    stripped: list[Path] = field(default_factory=list)
    tests: list[MigratedTest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def source_notebooks(assignment: Assignment) -> list[Path]:
    """The assignment's source notebooks: the course tree's layout, else nbgrader's own (``source/<id>/``)."""
    for folder in (assignment.source_notebook.parent, assignment.root / "source" / assignment.id):
        found = sorted(path for path in folder.glob("*.ipynb") if path.is_file())
        if found:
            return found
    raise CourseError(f"assignment {assignment.id}: no source notebook under {assignment.source_notebook.parent} "
                      f"or {assignment.root / 'source' / assignment.id}; give the course tree (or nbgrader course "
                      "directory) that holds it as COURSE_ROOT")


def migrate(assignment: Assignment, *, force: bool = False, strip_inline: bool = False) -> Migration:
    """Write the hidden suite, limits and reference stub of ``assignment`` from its notebooks' inline tests."""
    notebooks = source_notebooks(assignment)
    suite = assignment.suite_dir / f"test_{assignment.id}.py"
    existing = [p for p in (*assignment.suite_dir.glob("test_*.py"), assignment.config_path,
                            assignment.reference_path) if p.exists()]
    if existing and not force:
        raise CourseError(f"assignment {assignment.id} already has {', '.join(str(p) for p in existing)}: "
                          "migrate never replaces a suite or reference; pass --force to overwrite them")
    parsed = [(path, read_notebook(path)) for path in notebooks]
    migration = Migration(assignment, notebooks)
    solutions = [cell for _, nb in parsed for cell in nb.cells if _is(cell, "solution") and cell.cell_type == "code"]
    student_names = _defined_functions("\n\n".join(_strip_solution_markers(c.source) for c in solutions))
    imports = _notebook_imports([c for _, nb in parsed for c in nb.cells
                                 if c.cell_type == "code" and not _is(c, "grade")])
    bodies = []
    for _, nb in parsed:
        for cell in nb.cells:
            if cell.cell_type == "code" and _is(cell, "grade") and not _is(cell, "solution"):
                meta = cell.metadata["nbgrader"]
                test, body = _test_for(meta["grade_id"], float(meta.get("points", 0)), cell.source,
                                       student_names, imports, {t.name for t in migration.tests})
                migration.tests.append(test)
                bodies.append(body)
    if not migration.tests:
        raise CourseError(f"assignment {assignment.id}: no autograded grade cells in {', '.join(map(str, notebooks))}; "
                          "nothing to migrate")
    assignment.suite_dir.mkdir(parents=True, exist_ok=True)
    suite.write_text(_suite_module(assignment.id, notebooks, sorted(imports.values()), bodies))
    assignment.config_path.write_text(LIMITS_TEMPLATE.format(id=assignment.id))
    assignment.reference_path.parent.mkdir(parents=True, exist_ok=True)
    assignment.reference_path.write_text(_reference_stub(assignment.id, solutions, sorted(imports.values())))
    migration.written = [suite, assignment.config_path, assignment.reference_path]
    if strip_inline:
        for path, nb in parsed:
            if _strip_hidden(nb):
                nbformat.write(nb, path)
                migration.stripped.append(path)
    migration.notes = _review_notes(migration, strip_inline)
    return migration


def _test_for(grade_id: str, points: float, source: str, student: set[str], imports: dict[str, str],
              taken: set[str]) -> tuple[MigratedTest, str]:
    name = "test_" + re.sub(r"\W", "_", grade_id.removeprefix("test_"))
    while name in taken:
        name += "_"
    code = source.replace("### BEGIN HIDDEN TESTS", "# hidden tests:").replace("### END HIDDEN TESTS", "")
    header = f"@grade_cell({grade_id!r})\n@points({points:g})\ndef {name}(student):\n"
    try:
        tree = ast.parse(code)
        body = _translate(tree, student, set(imports))
    except SyntaxError as exc:
        body, why = None, f"not plain Python ({exc.msg}, line {exc.lineno}): IPython magics or a syntax error"
    except _Untranslatable as exc:
        body, why = None, str(exc)
    if body is not None:
        return MigratedTest(grade_id, name, True), header + _indent(body) + "\n"
    commented = "\n".join(f"    # {line}" if line else "    #" for line in source.splitlines())
    advice = (f"{TODO}: not translated: {why}. Rewrite it with the `student` proxy (docs/suite-authoring.md), "
              "then delete the pytest.fail line. The inline test, as the notebook has it:")
    todo = (textwrap.indent(textwrap.fill(advice, 110), "    # ") + "\n"
            f"{commented}\n    pytest.fail({TODO!r} + ': {name} was not translated, see its comment')\n")
    return MigratedTest(grade_id, name, False, why), header + todo


class _Untranslatable(Exception):
    pass


def _translate(tree: ast.Module, student: set[str], imported: set[str]) -> str:
    """The test's code with each call of a student function made through ``student``; raise what it cannot do."""
    local = {t.id for node in ast.walk(tree) for t in _targets(node) if isinstance(t, ast.Name)}
    local |= {a.arg for node in ast.walk(tree) if isinstance(node, ast.arguments)
              for a in (*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg) if a is not None}
    local |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    local |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
              for a in n.names}
    rebound = sorted(local & student) or sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                                                  and isinstance(n.ctx, ast.Del) and n.id in student})
    if rebound:
        raise _Untranslatable(f"it rebinds or deletes the student's `{rebound[0]}` in the kernel, which a test "
                              "outside the kernel cannot do")
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            raise _Untranslatable("it declares global names, which live in the student's kernel")
        if not isinstance(node, ast.Name):
            continue
        if node.id in student and node.id not in local:
            if not isinstance(node.ctx, ast.Load) or id(node) not in called:
                raise _Untranslatable(f"it uses the student's `{node.id}` other than by calling it (as a value "
                                      "passed on or kept), which a test outside the kernel cannot do")
        elif (isinstance(node.ctx, ast.Load) and node.id not in local | imported | student
              and not hasattr(builtins, node.id)):
            raise _Untranslatable(f"it uses `{node.id}`, which the notebook defines outside its solution cells "
                                  "(or the student does): the suite runs outside the kernel and cannot see it")
    for node in ast.walk(tree):  # after the names: a test that rebinds a student's function says that first
        if isinstance(node, ast.Try) and any(isinstance(n, ast.Name) and n.id in student for n in ast.walk(node)):
            raise _Untranslatable("it catches what a student function raises; through the proxy that arrives as "
                                  "a StudentCodeError, not the exception the notebook's code raised")

    class Proxy(ast.NodeTransformer):
        def visit_Call(self, call: ast.Call) -> ast.AST:
            self.generic_visit(call)
            if isinstance(call.func, ast.Name) and call.func.id in student and call.func.id not in local:
                call.func = ast.Attribute(value=ast.Name("student", ast.Load()), attr=call.func.id, ctx=ast.Load())
            return call

    translated = ast.fix_missing_locations(Proxy().visit(tree))
    return ast.unparse(translated) if translated.body else "pass"


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return [n for t in node.targets for n in ast.walk(t)]
    if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.comprehension | ast.NamedExpr):
        return list(ast.walk(node.target))
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return list(ast.walk(node.optional_vars))
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [ast.Name(node.name, ast.Store())]
    return []


def _defined_functions(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _notebook_imports(cells: list) -> dict[str, str]:
    """Names the notebook's own (not the student's) cells import at top level -> the import statement."""
    found: dict[str, str] = {}
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    single = type(node)(**{**node.__dict__, "names": [alias]})
                    found[(alias.asname or alias.name).split(".")[0]] = ast.unparse(single)
    return found


def _suite_module(assignment_id: str, notebooks: list[Path], imports: list[str], bodies: list[str]) -> str:
    names = ", ".join(path.name for path in notebooks)
    head = [f'"""Hidden suite of {assignment_id}, written by `autograder migrate` from the inline tests of {names}.',
            "",
            "Each test is one grade cell's test code, its hidden tests included; a call of a student function goes",
            "through the `student` proxy and comes back as data (numbers, strings, lists, dicts, tensors): compare",
            "tensors with `assert_close`. Tests marked TODO(autograder migrate) were not translated and fail until",
            "rewritten. Draw inputs from `rng` where an answer could be hard-coded (docs/suite-authoring.md).",
            '"""', "", "import pytest", "", "from autograder.testing import grade_cell, points"]
    head += [*imports, "", f'SUITE_VERSION = "{assignment_id}-migrated-1"', "", "", ""]
    return "\n".join(head) + "\n\n".join(bodies)


def _reference_stub(assignment_id: str, solutions: list, imports: list[str]) -> str:
    code = "\n\n".join(_strip_solution_markers(cell.source).strip() for cell in solutions if cell.source.strip())
    return (f'"""Reference of {assignment_id}: a STUB, copied by `autograder migrate` from the notebook\'s solution '
            "cells.\n\nReview it: the course author's check compares the notebook's solutions with this module,\nso a "
            'reference written independently catches more.\n"""\n\n' + "".join(f"{i}\n" for i in imports) + "\n"
            + code + "\n")


def _strip_solution_markers(source: str) -> str:
    return SOLUTION_MARKER.sub("", source)


def _strip_hidden(nb: nbformat.NotebookNode) -> bool:
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and _is(cell, "grade") and HIDDEN_BLOCK.search(cell.source):
            cell.source = HIDDEN_BLOCK.sub("", cell.source).rstrip("\n")
            changed = True
    return changed


def _review_notes(migration: Migration, strip_inline: bool) -> list[str]:
    a = migration.assignment
    notes = [f"{t.name} ({t.grade_id}): {TODO}, {t.why}" for t in migration.tests if not t.translated]
    notes.append(f"{a.reference_path}: copied from the solution cells; write it independently where you can")
    notes.append(f"{a.config_path}: the default limits; tune them from `autograder check {a.id}`'s figures")
    if migration.notebooks != [a.source_notebook]:
        notes.append(f"the suite grades one notebook, {a.source_notebook}: the notebook(s) "
                     f"{', '.join(str(p) for p in migration.notebooks)} must become that one before "
                     "`autograder check` and grading can use the suite")
    if not strip_inline:
        notes.append("the source notebook still holds its hidden tests (released stripped, restored when "
                     "grading): --strip-inline removes them once the suite is reviewed")
    notes.append(f"from now on `autograder grade` grades {a.id} with this suite (the folder {a.suite_dir} "
                 "exists), after the reference passes it; remove the folder to go back to the inline tests")
    return notes


def _is(cell: nbformat.NotebookNode, flag: str) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get(flag))


def _indent(code: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in code.splitlines())
