"""nbgrader's gradebook on PostgreSQL: a real server (Debian's, started here), the same results as SQLite,
concurrent grading runs that lose nothing, and unusable URLs refused before grading."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from autograder.course.assignment import CourseError
from autograder.course.samples import fill_solutions
from autograder.gradebook.course_dir import NbgraderCourse, read_csv
from autograder.gradebook.postgres import PostgresServer, check_database

from .conftest import TOY_CLASS, TOY_CLASS_SCORES, TOY_ROOT, start_grading, submit, two_grading_runs_at_once

pytestmark = pytest.mark.slow  # real grading runs against a real PostgreSQL server

_names = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for this module; missing PostgreSQL fails (never skips) with the fix."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.fail("the PostgreSQL driver psycopg2 is not installed in this venv: run `make setup`", pytrace=False)
    try:
        server = PostgresServer()
    except CourseError as exc:
        pytest.fail(f"{exc}; run `make setup`", pytrace=False)
    with server:
        yield server


@pytest.fixture
def database(postgres) -> str:
    """A fresh database with a login of its own, as a department hands one to a course: its URL."""
    name = f"gradebook{next(_names)}"
    return postgres.create_database(name, user=name)


def released_course(root: Path, toy_release: Path, db_url: str | None = None) -> NbgraderCourse:
    """The toy class submitted to a new course directory (its gradebook at ``db_url``), released, not graded."""
    course = NbgraderCourse.create(root, TOY_ROOT, db_url=db_url)
    course.generate("toy")
    for student, solutions in TOY_CLASS.items():
        submit(course, student, "toy", fill_solutions(toy_release, solutions))
    return course


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory, toy_release) -> NbgraderCourse:
    """The toy class graded once with nbgrader's default gradebook, gradebook.db."""
    course = released_course(tmp_path_factory.mktemp("pg") / "sqlite", toy_release)
    run = start_grading(course)
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    assert course.scores("toy") == TOY_CLASS_SCORES
    return course


@pytest.fixture
def on_postgres(tmp_path, on_sqlite, database) -> NbgraderCourse:
    """The same submissions in a course whose gradebook is on PostgreSQL, with the SQLite course's grading
    records: what is under test here is the gradebook, so its runs adopt those records instead of
    running every kernel again (nbgrader's autograde still writes every grade, as it does from a fresh job)."""
    course = NbgraderCourse.create(tmp_path / "postgres", TOY_ROOT, db_url=database)
    course.generate("toy")
    for folder in ("submitted", "grading_results"):
        shutil.copytree(on_sqlite.root / folder, course.root / folder)
    return course


def submission_rows(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT student.id, COUNT(*) FROM submitted_assignment JOIN student "
                                   "ON student.id = submitted_assignment.student_id GROUP BY student.id"))
            return {student: count for student, count in rows}
    finally:
        engine.dispose()


def test_the_same_class_grades_the_same_on_sqlite_and_postgresql(tmp_path, on_sqlite, on_postgres):
    assert "c.CourseDirectory.db_url" in (on_postgres.root / "nbgrader_config.py").read_text()
    run = start_grading(on_postgres)
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    assert not (on_postgres.root / "gradebook.db").exists(), "the PostgreSQL course wrote a SQLite gradebook"
    assert on_postgres.scores("toy") == on_sqlite.scores("toy") == TOY_CLASS_SCORES
    exported = [read_csv(course.export_csv(tmp_path / f"{name}.csv"))
                for name, course in (("sqlite", on_sqlite), ("postgres", on_postgres))]
    assert exported[0] == exported[1]
    assert sorted(row["student_id"] for row in exported[1]) == sorted(TOY_CLASS)


def test_two_runs_at_once_on_postgresql_lose_nothing(database, on_postgres, tmp_path):
    course = on_postgres
    runs = two_grading_runs_at_once(course, "toy", tmp_path)
    assert [code for code, _ in runs] == [0, 0], runs
    assert course.scores("toy") == TOY_CLASS_SCORES
    assert submission_rows(database) == {"amy": 1, "bo": 1, "cy": 1}


def test_two_graders_share_one_postgresql_gradebook_at_once(tmp_path, on_sqlite, on_postgres, database):
    """Two course directories (two graders' machines: no common lock) on one gradebook, each grading its part
    of the class at the same moment: every student ends with one submission and their scores."""
    other = NbgraderCourse.create(tmp_path / "second-grader", TOY_ROOT, db_url=database)
    other.generate("toy")  # the same release, recorded again in the shared gradebook
    for folder in ("submitted", "grading_results"):
        shutil.copytree(on_sqlite.root / folder, other.root / folder)
    runs = [start_grading(course, "toy", *students)
            for course, students in ((on_postgres, ["--student", "amy", "--student", "bo"]),
                                     (other, ["--student", "cy"]))]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert on_postgres.scores("toy") == other.scores("toy") == TOY_CLASS_SCORES
    assert submission_rows(database) == {"amy": 1, "bo": 1, "cy": 1}


def test_unusable_gradebook_urls_are_refused_with_the_fix(tmp_path, postgres, database):
    check_database(database)
    base = database.rsplit("/", 1)[0]
    refusals = {
        "not-a-url": "is not a database URL",
        base + "/no_such_database": 'database "no_such_database" does not exist',
        database.replace("postgresql+psycopg2://", "postgresql+psycopg2://nobody_here"): "authentication failed",
        f"postgresql+psycopg2://u@127.0.0.1:{postgres.port + 1 if postgres.port < 65535 else 1}/x":
            "Check that the server is running",
    }
    for url, reason in refusals.items():
        with pytest.raises(CourseError, match=reason):
            check_database(url)
    # A login that may connect but not create nbgrader's tables (PostgreSQL 15 no longer lets everyone).
    postgres.execute("CREATE ROLE {} LOGIN PASSWORD 'pw'", "visitor")
    visitor = base.replace(base.split("//")[1].split("@")[0], "visitor:pw") + "/" + database.rsplit("/", 1)[1]
    with pytest.raises(CourseError, match="may not create nbgrader's tables"):
        check_database(visitor)
    # init refuses it before writing the course.
    with pytest.raises(CourseError, match="does not exist"):
        NbgraderCourse.create(tmp_path / "refused", TOY_ROOT, db_url=base + "/no_such_database")
    assert not (tmp_path / "refused").exists()
    # The password changed under a course: grading stops before anyone is graded (grade_batch checks first).
    course = NbgraderCourse.create(tmp_path / "course", TOY_ROOT, db_url=database)
    postgres.execute("ALTER ROLE {} PASSWORD 'changed'", database.split("//")[1].split(":")[0])
    with pytest.raises(CourseError, match=r"password authentication failed.*docs/configuration\.md"):
        course.check_ready_to_grade("toy")
