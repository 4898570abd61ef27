"""The command line's shape: subcommands, their arguments and the options every one of them takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..authoring.defaults import DEFAULT_CLASS_SEEDS, DEFAULT_SEEDS
from ..hub import HUB_CONFIG_DIR
from ..selftest.categories import CATEGORIES

DEFAULT_ASSIGNMENT = "a01_gradient_descent"
DEFAULT_ROSTER = HUB_CONFIG_DIR / "roster.example.toml"
DEFAULT_STATE = HUB_CONFIG_DIR.parent / ".hub"
DESCRIPTION = ("The autograder command: init, new, check, collect, grade, validate, demo, selftest, hub, similarity, "
               "report, export and migrate.")


def default_course_root() -> Path:
    """This repository when run from it (or installed editable from it), else the working directory."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (candidate / "assignments" / "source").is_dir():
            return candidate
    return Path.cwd()


def common_options(*, top_level: bool) -> argparse.ArgumentParser:
    """The options every subcommand takes, before or after its name.

    The subcommands' copy defaults to ``SUPPRESS``: an option given only before the subcommand keeps its value
    (argparse would otherwise overwrite it with the subcommand's default).
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-root", type=Path, default=None if top_level else argparse.SUPPRESS,
                        help="course tree with assignments/, reference/ and data/ (default: this repository)")
    common.add_argument("-v", "--verbose", action="store_true", default=False if top_level else argparse.SUPPRESS,
                        help="show nbgrader's and the grader's logs")
    return common


def add_ray_option(command: argparse.ArgumentParser) -> None:
    """``--ray ADDRESS``: the batch's jobs on a Ray cluster (docs/scale-out.md) instead of local processes."""
    command.add_argument("--ray", metavar="ADDRESS", default=None,
                         help="grade the jobs on this Ray cluster: HOST:PORT of its head, ray://HOST:PORT, \"auto\" "
                              "(the cluster this machine belongs to) or \"local\" (one of this machine's cores, "
                              "for the batch); \"\" grades locally even when the course config names a cluster "
                              "(default: the course's c.SandboxedGrading.ray_address, else local processes; "
                              "--workers is then ignored)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=DESCRIPTION,
                                     parents=[common_options(top_level=True)])
    commands = parser.add_subparsers(dest="command", required=True)
    common = [common_options(top_level=False)]

    collect = commands.add_parser("collect", parents=common,
                                  help="collect submissions of one assignment from the exchange")
    collect.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    collect.add_argument("assignment", help="the assignment's id, e.g. a01_gradient_descent")

    grade = commands.add_parser("grade", parents=common, help="autograde submissions of one assignment")
    grade.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    grade.add_argument("assignment", help="the assignment's id, e.g. a01_gradient_descent")
    grade.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    grade.add_argument("--force", action="store_true",
                       help="grade again even a submission whose record can be reused (same submission and suite)")
    grade.add_argument("--stale", action="store_true",
                       help="regrade exactly the submissions graded by an older version of the hidden suite or "
                            "reference (with --student: those of them that are stale); manual grades are kept")
    grade.add_argument("--workers", type=int, default=None,
                       help="grading jobs run at once (default: one per core this process may use); 1 grades "
                            "one submission at a time")
    add_ray_option(grade)

    validate = commands.add_parser("validate", parents=common, help="run a notebook's public checks in the sandbox")
    validate.add_argument("notebook", type=Path, nargs="?",
                          help="the student's notebook, named after its assignment (<assignment>.ipynb)")
    validate.add_argument("--cold", action="store_true",
                          help="check in a kernel started here, without asking the warm validate server")
    validate.add_argument("--stop", action="store_true",
                          help="stop your warm validate server (it also stops after 10 idle minutes) and exit")
    validate.epilog = ("As root, a check asks your warm validate server, which answers in under a second; the first "
                       "check starts it and runs cold meanwhile (docs/speed.md).")

    check = commands.add_parser("check", parents=common, help="course author's check of an assignment")
    check.add_argument("assignment", nargs="?", default=DEFAULT_ASSIGNMENT,
                       help=f"the assignment's id (default: {DEFAULT_ASSIGNMENT})")
    check.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                       help="secret seeds drawn to grade the notebook's solutions under; each threshold reports its "
                            f"worst and median over them (default: {DEFAULT_SEEDS})")
    check.add_argument("--class-seeds", type=int, default=DEFAULT_CLASS_SEEDS,
                       help="how many of those seeds the sample class is graded under "
                            f"(default: {DEFAULT_CLASS_SEEDS})")
    check.add_argument("--seed", type=int, action="append", default=[],
                       help="grade under this seed instead of drawn ones (repeatable): reproduces a run whose rows "
                            "printed their seeds")
    check.add_argument("--no-class", dest="sample_class", action="store_false",
                       help="skip grading the sample class of assignments/samples/<assignment>/")

    init = commands.add_parser("init", parents=common,
                               help="start a course: an nbgrader course directory that grades in the sandbox")
    init.add_argument("course_dir", type=Path, help="the course directory to create (a new or empty folder)")
    init.add_argument("--course-id", default=None, help="nbgrader's course id (default: the folder's name)")
    init.add_argument("--exchange", type=Path, default=None,
                      help="nbgrader's exchange, the folder shared with students (default: COURSE_DIR/exchange)")
    init.add_argument("--db-url", default=None,
                      help="the gradebook's database, e.g. postgresql+psycopg2://USER@HOST:5432/DATABASE "
                           "(default: COURSE_DIR/gradebook.db; docs/configuration.md)")
    init.epilog = ("The course tree (assignments/, reference/, data/) is COURSE_DIR itself, or the existing tree "
                   "given as --course-root.")

    new = commands.add_parser("new", parents=common,
                              help="start an assignment in the course tree: notebook, hidden suite, reference and "
                                   "sample class, passing `check` as written")
    new.add_argument("assignment", help="the new assignment's id (letters, digits and _, e.g. softmax_intro)")

    demo = commands.add_parser("demo", parents=common, help="grade the bundled sample classes and print the gradebook")
    demo.add_argument("--workdir", type=Path, default=Path("build/demo"),
                      help="where the demo builds its course (default: build/demo); replaced on every run, so a "
                           "folder the demo did not create is refused unless --force")
    demo.add_argument("--assignment", action="append", default=[],
                      help="an assignment whose sample class is graded (repeatable; default: every assignment "
                           "with a sample class)")
    demo.add_argument("--force", action="store_true",
                      help="replace --workdir even when it holds files the demo did not create (they are deleted)")
    demo.add_argument("--workers", type=int, default=None,
                      help="grading jobs run at once (default: one per core this process may use); 1 grades "
                           "one submission at a time")
    add_ray_option(demo)

    selftest = commands.add_parser("selftest", parents=common, help="the platform's own checks on this host")
    selftest.add_argument("what", choices=["security"],
                          help="security: grade every hostile submission of tests/hostile beside honest students")
    selftest.add_argument("--category", action="append", default=[], choices=list(CATEGORIES),
                          help="only this category of attack (repeatable)")
    selftest.add_argument("--workers", type=int, default=2, help="grader processes sharing the categories")

    add_hub_parser(commands, common)
    add_report_parsers(commands, common)
    add_migrate_parser(commands, common)
    return parser


def add_migrate_parser(commands: argparse._SubParsersAction, common: list[argparse.ArgumentParser]) -> None:
    """``migrate``: an nbgrader assignment's inline tests into a hidden suite (docs/inline-tests.md)."""
    migrate = commands.add_parser("migrate", parents=common,
                                  help="write a hidden suite (and reference stub) from an assignment's inline "
                                       "nbgrader tests, and say what to review")
    migrate.add_argument("course_tree", type=Path, metavar="COURSE_ROOT",
                         help="the course tree, or the nbgrader course directory holding source/<assignment>/")
    migrate.add_argument("assignment", help="the assignment's id, e.g. ps1")
    migrate.add_argument("--force", action="store_true",
                         help="overwrite an existing hidden suite, assignment.toml and reference")
    migrate.add_argument("--strip-inline", action="store_true",
                         help="also remove the ### BEGIN/END HIDDEN TESTS blocks from the source notebook, so "
                              "the release no longer carries them (the suite holds them)")


def add_report_parsers(commands: argparse._SubParsersAction, common: list[argparse.ArgumentParser]) -> None:
    """``similarity``, ``report`` and ``export``: what an instructor reads about a class, and the grades for the
    LMS."""
    similarity = commands.add_parser("similarity", parents=common,
                                     help="instructors only: pairs of submissions whose solution cells are "
                                          "suspiciously alike, ranked, with the evidence")
    similarity.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    similarity.add_argument("assignment", help="the assignment's id, e.g. a01_gradient_descent")
    similarity.add_argument("--threshold", type=float, default=0.6,
                            help="report pairs at least this alike, 0 to 1 (default: 0.6)")
    similarity.add_argument("--html", type=Path, default=None,
                            help="also write an HTML page with every reported pair's cells side by side here "
                                 "(never inside the course's feedback/ or release/)")
    similarity.add_argument("--show", type=int, default=3,
                            help="pairs whose cells are printed side by side in the terminal (default: 3)")
    report = commands.add_parser("report", parents=common,
                                 help="instructors only: an HTML report with plots on a class (scores, failing "
                                      "tests, misconceptions, late submissions, grading time, the sandbox)")
    report.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    report.add_argument("assignment", nargs="?", default=None,
                        help="report on this assignment only (default: every assignment in the gradebook)")
    report.add_argument("--out", type=Path, default=None, metavar="HTML",
                        help="the page to write, its PNG plots beside it (default: "
                             "COURSE_DIR/reports/<assignment or course>/index.html; never inside the course's "
                             "feedback/ or release/)")
    export = commands.add_parser("export", parents=common,
                                 help="final grades, late penalties applied, as a Canvas gradebook import CSV")
    export.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    export.add_argument("--canvas", type=Path, required=True, metavar="CSV",
                        help="write Canvas's gradebook import CSV here (nbgrader's own `nbgrader export` is "
                             "unchanged)")
    export.add_argument("--assignment", action="append", default=[],
                        help="export only this assignment (repeatable; default: every assignment in the gradebook)")
    export.add_argument("--canvas-id", action="append", default=[], metavar="ASSIGNMENT=ID",
                        help="the Canvas assignment id of an assignment, so its grades go into that Canvas "
                             "assignment (repeatable); without one, Canvas creates a new assignment column")
    export.add_argument("--section", default="", help="the Section column's value (default: empty)")
    export.add_argument("--missing-zero", action="store_true",
                        help="a student with no submission gets 0 (default: blank, which Canvas leaves as it is)")


def add_hub_parser(commands: argparse._SubParsersAction, common: list[argparse.ArgumentParser]) -> None:
    hub = commands.add_parser("hub", parents=common, help="the classroom JupyterHub: start, users, sync")
    actions = hub.add_subparsers(dest="hub_command", required=True)
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument("--state-dir", type=Path, default=DEFAULT_STATE,
                       help=f"where the hub keeps homes, exchange, course directories and passwords "
                            f"(default: {DEFAULT_STATE})")
    roster = argparse.ArgumentParser(add_help=False)
    roster.add_argument("--roster", type=Path, default=DEFAULT_ROSTER,
                        help=f"the roster file (default: {DEFAULT_ROSTER})")
    roster.add_argument("--user-prefix", default=None,
                        help="prefix of the system user names (default: the roster's [hub] user_prefix, or ag-)")
    start = actions.add_parser("start", parents=[state, roster],
                               help="prepare accounts and courses, start the hub; Ctrl-C stops it")
    start.add_argument("--host", default=None, help="address to listen on (default: the roster's, or 127.0.0.1)")
    start.add_argument("--port", type=int, default=None, help="port to listen on (default: the roster's, or 8000)")
    actions.add_parser("users", parents=[state], help="print the issued passwords again")
    actions.add_parser("sync", aliases=["add-course"], parents=[state, roster],
                       help="apply the edited roster (people, courses) to the running hub, no restart")
    actions.add_parser("remove-accounts", parents=[state],
                       help="delete the system users and groups this state directory created")
