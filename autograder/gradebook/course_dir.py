"""The nbgrader course directory: releases, autograding runs and the gradebook.

`NbgraderCourse` drives a real nbgrader course directory through nbgrader's
own API (``generate_assignment``, ``collect``, ``autograde``, ``generate_feedback``) with
the configuration from `configure`, and reads scores back from nbgrader's
gradebook database, the same numbers ``nbgrader export`` and the formgrader
show.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..course.assignment import CourseError, autograded_cells, read_notebook
from .exchange import CollectOutcome, LinkRefusingCollect
from .postgres import check_database
from .preprocessor import SandboxedGrading

# nbgrader runs the ``alembic`` executable by name; find it next to this interpreter even in an
# unactivated venv.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

CONFIG_TEMPLATE = '''"""nbgrader configuration for this course, written by autograder (edit freely)."""
from autograder.nbgrader_config import configure

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
# Source notebooks are read where the course tree keeps them, next to their hidden suites.
c.CourseDirectory.source_directory = {source_directory!r}
# The folder students fetch from and submit to: every student's account must be able to write it.
c.Exchange.root = {exchange!r}
# Autograding runs in the sandbox, with the hidden suites, references and data of this course tree.
configure(c, course_root={course_root!r})
{database}'''

DB_URL_LINES = '''\
# The gradebook is on this database, not gradebook.db (docs/configuration.md: "The department's PostgreSQL").
c.CourseDirectory.db_url = {db_url!r}
'''


class NbgraderError(RuntimeError):
    """An nbgrader step failed; the message carries nbgrader's log."""

    def summary(self) -> str:
        """One line for a table: the exception nbgrader's log ends with (``SomeError: ...``), else its last error.

        A submission nbgrader's reader refused (`SubmissionRefused`, see `.submissions`) says so first.
        """
        lines = [line.strip() for line in str(self).splitlines() if line.strip()]
        refused = [m.group(1) for line in lines if (m := re.search(r"\bSubmissionRefused: (.+)", line))]
        if refused:
            return f"refused: {refused[-1]}"[:300]
        raised = [line for line in lines if re.match(r"^[\w.]*(Error|Exception): ", line)]
        errors = [line for line in lines if "rror" in line and "Traceback" not in line]
        return (raised or errors or lines or ["nbgrader failed"])[-1][:300]


@dataclass
class NbgraderCourse:
    root: Path

    @classmethod
    def create(cls, root: Path, course_root: Path, course_id: str = "dl-course",
               exchange: Path | None = None, db_url: str | None = None) -> NbgraderCourse:
        """A new nbgrader course directory at ``root`` that releases and grades the course tree ``course_root``.

        nbgrader reads the source notebooks in place (``course_root/assignments/source``), so an edited
        notebook is what the next release holds. ``exchange`` defaults to ``root/exchange``. ``db_url``: the
        gradebook's database (SQLAlchemy URL, e.g. the department's PostgreSQL), checked first; None: gradebook.db.
        """
        if db_url is not None:
            check_database(db_url)
        root.mkdir(parents=True, exist_ok=True)
        if exchange is None:
            exchange = root / "exchange"
            exchange.mkdir(exist_ok=True)
            exchange.chmod(0o777)  # nbgrader's exchange is shared by the instructor and every student
        source = (course_root / "assignments" / "source").resolve()
        # Relative when inside the course directory, so the two folders can move together.
        source_directory = str(source.relative_to(root.resolve())) if source.is_relative_to(root.resolve()) \
            else str(source)
        (root / "nbgrader_config.py").write_text(CONFIG_TEMPLATE.format(
            course_id=course_id, course_root=str(course_root.resolve()), exchange=str(exchange.resolve()),
            source_directory=source_directory,
            database=DB_URL_LINES.format(db_url=db_url) if db_url is not None else ""))
        return cls(root)

    def config(self) -> Config:
        if not (self.root / "nbgrader_config.py").is_file():
            raise CourseError(f"{self.root} is not an nbgrader course (no nbgrader_config.py there): start one with "
                              f"`autograder init {self.root}`, or give the course directory that has it")
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        return config

    def course_root(self) -> Path:
        """The course tree (hidden suites, references, data) this nbgrader course grades with."""
        configured = self.config().SandboxedGrading.get("course_root")
        return Path(configured) if configured else self.root.parent

    def source_dir(self) -> Path:
        """Where nbgrader reads this course's source notebooks (``source_directory``, ``source/`` by default)."""
        return self.root / self.config().CourseDirectory.get("source_directory", "source")

    def api(self, **overrides: object) -> NbGraderAPI:
        config = self.config()
        for section, values in overrides.items():
            for key, value in values.items():  # type: ignore[attr-defined]
                config[section][key] = value
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def check_ready_to_grade(self, assignment: str) -> None:
        """Refuse, in one line with the fix, a course that would fail every student for the same reason."""
        config = self.config()
        if SandboxedGrading not in (config.Autograde.get("autograde_preprocessors") or []):
            raise CourseError(f"{self.root / 'nbgrader_config.py'} does not send autograding to the sandbox: add "
                              "`from autograder.nbgrader_config import configure` and "
                              "`configure(c, course_root=...)` (docs/configuration.md)")
        self.check_database()
        with Gradebook(self.api().coursedir.db_url) as gradebook:
            try:
                gradebook.find_assignment(assignment)
            except MissingEntry:
                known = ", ".join(a.name for a in gradebook.assignments) or "none"
                raise CourseError(f"assignment {assignment} is not in the gradebook of {self.root} (released: "
                                  f"{known}): release it first with `nbgrader generate_assignment {assignment}` "
                                  "in the course directory, then grade") from None
            self.check_released_points(gradebook, assignment)

    def check_released_points(self, gradebook: Gradebook, assignment: str) -> None:
        """Refuse to grade when a grade cell's points in the source differ from the released ones.

        nbgrader grades by the released points (its ``OverwriteCells`` puts the gradebook's back into each
        submission, with only a warning in its log), so an edit of the source's points would silently not count,
        while the hidden suite may already have been rescaled to the new ones.
        """
        released = {cell.name: float(cell.max_score) for notebook in gradebook.find_assignment(assignment).notebooks
                    for cell in notebook.grade_cells}
        changed = []
        for path in sorted((self.source_dir() / assignment).glob("*.ipynb")):
            for cell, points in autograded_cells(read_notebook(path)).items():
                if cell in released and released[cell] != points:
                    changed.append(f"{cell} {released[cell]:g} -> {points:g}")
        if changed:
            raise CourseError(
                f"the points of released grade cells of {assignment} changed in the source ({'; '.join(changed)}): "
                "nbgrader grades by the released points, so grading now would not count the change. Either put "
                f"the released points back in the source notebook, or re-release with `nbgrader generate_assignment "
                f"{assignment} --force` in {self.root} (it updates the gradebook's maximum points; students who "
                "fetched the old release keep the old points in their notebook, but their submissions are graded by "
                f"the new ones), then `autograder grade {self.root} {assignment} --force` regrades every submission by "
                "them; manual scores entered in the formgrader stay as given, so check them against the new maximum")

    def check_database(self) -> None:
        """Refuse a gradebook database nbgrader cannot use (a configured URL: `.postgres.check_database`)."""
        check_database(self.api().coursedir.db_url)

    def _check(self, outcome: dict, step: str) -> dict:
        if not outcome.get("success"):
            raise NbgraderError(f"nbgrader {step} failed:\n{outcome.get('error') or ''}\n{outcome.get('log') or ''}")
        return outcome

    def generate(self, assignment: str) -> Path:
        self.check_database()
        self._check(self.api().generate_assignment(assignment, force=True, create=True), "generate_assignment")
        return self.root / "release" / assignment

    def collect(self, assignment: str, student: str | None = None) -> list[CollectOutcome]:
        """``nbgrader collect --update``: each student's (or ``student``'s) latest submission from the exchange,
        one row per student.

        Refused submissions (links: see `.exchange`) stay in the exchange and come back with the reason.
        """
        api = self.api(CourseDirectory={"student_id": student}) if student else self.api()
        api.coursedir.assignment_id = assignment
        app = api.exchange.Collect(coursedir=api.coursedir, authenticator=api.authenticator, parent=api)
        if not isinstance(app, LinkRefusingCollect):
            raise NbgraderError(f"nbgrader's collect is {type(app).__name__} here, which would follow links in "
                                "submissions: the course's nbgrader_config.py must call configure()")
        app.update = True
        self._check(capture_log(app), "collect")
        return app.outcomes()

    def autograde(self, assignment: str, student: str, *, force_regrade: bool = False) -> dict:
        api = self.api(SandboxedGrading={"force": force_regrade}) if force_regrade else self.api()
        return self._check(api.autograde(assignment, student, force=True, create=True), f"autograde {student}")

    def feedback(self, assignment: str, student: str | None = None) -> Path:
        """Feedback pages of ``student``, or of every graded student in one nbgrader run (templates compiled
        once: a page inlines MathJax, so compiling its template costs more than rendering it); their folder."""
        self._check(self.api().generate_feedback(assignment, student, force=True),
                    f"generate_feedback {student or assignment}")
        return self.root / "feedback" / (student or "") / (assignment if student else "")

    def submitted_students(self, assignment: str) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "submitted").glob(f"*/{assignment}") if p.is_dir())

    def scores(self, assignment: str) -> dict[str, dict[str, float]]:
        """student -> {grade cell -> score} from nbgrader's gradebook."""
        table: dict[str, dict[str, float]] = {}
        with Gradebook(self.api().coursedir.db_url) as gradebook:
            for student in gradebook.students:
                try:
                    submission = gradebook.find_submission(assignment, student.id)
                except MissingEntry:
                    continue
                table[student.id] = {grade.name: grade.score for notebook in submission.notebooks
                                     for grade in notebook.grades}
        return table

    def manual_overrides(self, assignment: str, students: list[str]) -> list[tuple[str, str, float, float | None]]:
        """(student, grade cell, manual score, auto score) where a manual score from the formgrader stands over
        the autograder's: a regrade changes only the auto score, which nbgrader then flags for review."""
        found = []
        with Gradebook(self.api().coursedir.db_url) as gradebook:
            for student in students:
                try:
                    submission = gradebook.find_submission(assignment, student)
                except MissingEntry:
                    continue
                found += [(student, grade.name, grade.manual_score, grade.auto_score)
                          for notebook in submission.notebooks for grade in notebook.grades
                          if grade.manual_score is not None]
        return sorted(found)

    def export_csv(self, path: Path) -> Path:
        """What ``nbgrader export`` writes: one row per (assignment, student)."""
        api = self.api(CsvExportPlugin={"to": str(path)})
        from nbgrader.plugins import CsvExportPlugin

        with Gradebook(api.coursedir.db_url) as gradebook:
            CsvExportPlugin(config=api.config).export(gradebook)
        return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
