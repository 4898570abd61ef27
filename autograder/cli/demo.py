"""``demo``: a course built from this repository, its sample class submitted, graded, exported and fed back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..course.assignment import Assignment, CourseError, assignments_with_samples
from ..course.samples import expected_scores, submit_samples
from ..gradebook.course_dir import NbgraderCourse
from . import output
from .grading import grade_command

DEMO_MARKER = ".autograder-demo"  # written first into the demo's workdir: the next run may replace that folder


def prepare_demo_workdir(workdir: Path, course_root: Path, *, force: bool = False) -> None:
    """Empty ``workdir`` for a new demo course; refuse one the demo did not create (unless ``force``).

    A missing or empty folder, or one holding the demo's marker, is the demo's to replace. ``workdir`` is
    resolved; a folder holding the course tree the demo builds from is never deleted, even forced.
    """
    if course_root.resolve().is_relative_to(workdir):
        raise CourseError(f"--workdir {workdir} holds the course tree {course_root}, which the demo would delete: "
                          "pick another --workdir")
    if os.path.lexists(workdir) and not workdir.is_dir():
        if not force:
            raise CourseError(f"--workdir {workdir} is a file, not a folder the demo created: "
                              "pick another --workdir, or pass --force to delete it")
        workdir.unlink()
    elif workdir.is_dir():
        foreign = sorted(path.name for path in workdir.iterdir())
        if foreign and not (workdir / DEMO_MARKER).is_file() and not force:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise CourseError(f"--workdir {workdir} holds files the demo did not create ({shown}); the demo replaces "
                              "its workdir whole: pick another --workdir, or pass --force to delete them")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / DEMO_MARKER).write_text("Written by `autograder demo`: this folder is the demo's course directory, "
                                       "deleted and rebuilt by its next run.\n")


def demo_command(root: Path, workdir: Path, assignment_ids: list[str], *, force: bool = False,
                 workers: int | None = None, ray: str | None = None) -> int:
    """One course with every asked assignment (default: each with a sample class), its class submitted and graded.

    ``workers`` jobs at a time, or on the Ray cluster at ``ray`` (see `grade_command`).
    """
    assignment_ids = assignment_ids or assignments_with_samples(root)
    if not assignment_ids:
        raise CourseError(f"no assignment of {root} has a sample class (assignments/samples/<id>/): nothing to demo")
    prepare_demo_workdir(workdir, root, force=force)
    assignments = [Assignment(assignment_id, root) for assignment_id in assignment_ids]
    for assignment in assignments:
        assignment.validate()
    course = NbgraderCourse.create(workdir, root)
    output.console.print(f"course directory: {workdir}")
    code = 0
    for assignment in assignments:
        release = course.generate(assignment.id)
        students = submit_samples(assignment.samples_dir, release / f"{assignment.id}.ipynb",
                                  workdir / "submitted", assignment.id)
        output.console.print(f"released {assignment.id} and submitted its {len(students)} sample students: "
                             f"{', '.join(students)}")
        code = max(code, grade_command(course, assignment.id, students, force=False,
                                       expected=expected_scores(assignment.samples_dir), workers=workers,
                                       ray=ray))
    csv_path = course.export_csv(workdir / "grades.csv")
    for assignment in assignments:
        course.feedback(assignment.id)  # the whole class at once
    output.console.print(f"gradebook exported: {csv_path}")
    output.console.print(f"feedback: {workdir / 'feedback'}/<student>/<assignment>/<assignment>.html")
    return code
