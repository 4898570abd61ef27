"""The ``autograder`` command: init, new, check, collect, grade, validate, demo, selftest and hub.

- ``init COURSE_DIR``: a new nbgrader course directory that grades in the
  sandbox, and what to do next; ``new ASSIGNMENT``: a starter assignment in
  the course tree that passes ``check`` as written;
- ``collect COURSE_DIR ASSIGNMENT``: nbgrader-collect the latest submissions
  from the exchange, refusing those that hold links, with a table of who was
  collected and who was refused and why;
- ``grade COURSE_DIR ASSIGNMENT``: nbgrader-autograde every (or some)
  submission in the sandbox, with a progress bar and a summary table;
- ``validate NOTEBOOK``: a student's quick check, running only the public
  checks of their notebook in the sandbox;
- ``check ASSIGNMENT``: the course author's check before release;
- ``demo``: build a course from this repository, submit the bundled sample
  class, grade it, export the gradebook and write feedback (in a folder of its
  own: it refuses to replace one it did not create, unless ``--force``);
- ``hub start|users|sync|remove-accounts``: the classroom JupyterHub from a roster;
- ``similarity COURSE_DIR ASSIGNMENT``: instructors only, pairs of submissions whose solution cells are
  suspiciously alike, ranked, with the evidence (terminal, ``--html``);
- ``report COURSE_DIR [ASSIGNMENT]``: instructors only, an HTML page with PNG plots: scores, per-test failure
  rates, diagnosed misconceptions, late submissions, grading time, what the sandbox stopped, suite versions;
- ``export COURSE_DIR --canvas CSV``: final grades, late penalties applied, as a Canvas gradebook import CSV;
- ``migrate COURSE_ROOT ASSIGNMENT``: an nbgrader assignment's inline tests into a hidden suite (`.migrate`).

A module per command family (`.course`, `.grading`, `.authoring`, `.student`, `.demo`,
`.selftest`, `.hub`, `.reports`), the parser in `.parser`, the shared console in `.output`.
``--course-root`` and ``-v`` go before or after the subcommand's name.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

from .parser import build_parser, default_course_root

# Each command imports what it needs when it runs: `validate` answers a student in well under a second when a
# warm validate server is up (`.validate_server`), and importing torch, nbformat's schemas and nbgrader for it
# would take three.
_NBGRADER_COMMANDS = ("collect", "grade", "check", "init", "demo", "selftest", "export", "report")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.ERROR
    # nbgrader's application loggers set their own level (INFO) and propagate here: filter at the handler.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", handlers=[handler])
    if not args.verbose and args.command in _NBGRADER_COMMANDS:
        from sqlalchemy.exc import SAWarning

        # nbgrader's gradebook API trips SQLAlchemy's autoflush warnings on every read; they are harmless
        # and would bury the summary.
        warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    root = (args.course_root or default_course_root()).resolve()
    try:
        return run_command(args, root)
    except Exception as exc:
        if not _course_error(exc):
            raise
        from . import output

        output.console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        return 2


def run_command(args, root: Path) -> int:
    """The subcommand ``args`` names, its module imported only now."""
    if args.command == "validate":
        from .student import validate_command

        return validate_command(args.notebook, root, warm=not args.cold, stop=args.stop)
    if args.command in ("collect", "grade"):
        from ..gradebook.course_dir import NbgraderCourse
        from .grading import collect_command, grade_command

        course = NbgraderCourse(args.course_dir.resolve())
        if args.command == "collect":
            return collect_command(course, args.assignment)
        return grade_command(course, args.assignment, args.student, args.force, workers=args.workers, ray=args.ray,
                             stale=args.stale)
    if args.command == "check":
        from ..course.assignment import Assignment
        from .authoring import check_command

        return check_command(Assignment(args.assignment, root), args.seed or args.seeds,
                             sample_class=args.sample_class, class_seeds=args.class_seeds)
    if args.command in ("init", "new"):
        from .course import init_command, new_command

        if args.command == "new":
            return new_command(root, args.assignment)
        return init_command(args.course_dir, course_tree=args.course_root, course_id=args.course_id,
                            exchange=args.exchange, db_url=args.db_url)
    if args.command == "hub":
        from .hub import hub_command

        return hub_command(args)
    if args.command in ("similarity", "export", "report"):
        from .reports import export_command, report_command, similarity_command

        if args.command == "report":
            return report_command(args.course_dir.resolve(), args.assignment, args.out)
        if args.command == "similarity":
            return similarity_command(args.course_dir.resolve(), args.assignment, args.threshold, args.html,
                                      args.show)
        return export_command(args.course_dir.resolve(), args.canvas, args.assignment, args.canvas_id,
                              section=args.section, missing_zero=args.missing_zero)
    if args.command == "migrate":
        from .migrate import migrate_command

        return migrate_command(args.course_tree, args.assignment, force=args.force, strip_inline=args.strip_inline)
    if args.command == "selftest":
        from .selftest import security_selftest_command

        return security_selftest_command(args.category, args.workers, root)
    from .demo import demo_command

    return demo_command(root, args.workdir.resolve(), args.assignment, force=args.force, workers=args.workers,
                        ray=args.ray)


def _course_error(exc: Exception) -> bool:
    """An error that is the user's to fix (the message says how), not the grader's bug: printed without traceback.

    Looked up only when something failed: the modules that define them are not the cheap commands' to import.
    """
    from ..course.assignment import CourseError
    from ..gradebook.course_dir import NbgraderError
    from ..grading.suite import SuiteError
    from ..sandbox.confine import SandboxUnavailable

    return isinstance(exc, CourseError | SuiteError | SandboxUnavailable | NbgraderError)


if __name__ == "__main__":
    sys.exit(main())
