"""Final grades out of nbgrader's gradebook into an LMS: Canvas's gradebook import CSV.

`final_grades` reads every student's score of every assignment from the gradebook (the numbers the formgrader
shows, manual grades included) and subtracts the late penalty the course's configuration gives *now*: with
`.config.PerDayLatePenalty` (what `configure` sets), ``fraction_per_day`` of each notebook's points per day or
part of one past the assignment's ``duedate`` (plus the student's extension), capped at the notebook's score,
exactly as nbgrader applies it when it autogrades. A deadline set or a penalty changed after grading therefore
reaches the LMS; where that differs from the penalty nbgrader recorded, the export says so, student by student
(``nbgrader export``, which is left as it is, still writes the recorded one). A course with another late
plugin gets nbgrader's recorded penalties.

`write_canvas_csv` writes Canvas's documented import layout (docs/gradebook.md cites it): the columns
``Student, ID, SIS User ID, SIS Login ID, Section``, then one per assignment titled ``Name (canvas id)`` for an
assignment Canvas has, or the bare name for Canvas to create, and a second row ``Points Possible``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from ..course.assignment import CourseError
from .config import SECONDS_PER_DAY, PerDayLatePenalty
from .course_dir import NbgraderCourse

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"


@dataclass
class StudentGrades:
    id: str
    name: str  # "Last, First" as Canvas writes it, else the id
    lms_user_id: str
    scores: dict[str, float | None] = field(default_factory=dict)  # assignment -> final score, None: no submission


@dataclass
class FinalGrades:
    assignments: dict[str, float]  # assignment -> points possible, in the gradebook's order
    students: list[StudentGrades]
    notes: list[str]  # where the configured late penalty differs from nbgrader's recorded one, and why


def final_grades(course: NbgraderCourse, assignments: list[str] | None = None) -> FinalGrades:
    """Every student's final score per assignment: the gradebook's score less the configured late penalty."""
    config = course.config()
    plugin = config.AssignLatePenalties.get("plugin_class")
    per_day = plugin is PerDayLatePenalty or str(plugin).endswith("PerDayLatePenalty")
    fraction = float(config.PerDayLatePenalty.get("fraction_per_day", 0.0)) if per_day else None
    notes = [] if per_day else [f"the course's late penalty plugin is {plugin or 'nbgrader default'}: the penalties "
                                "nbgrader recorded at grading are exported"]
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        known = {a.name: a for a in sorted(gradebook.assignments, key=lambda a: (a.duedate is None, a.duedate,
                                                                                  a.name))}
        chosen = assignments or list(known)
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise CourseError(f"{', '.join(unknown)}: not in the gradebook of {course.root} (it has "
                              f"{', '.join(known) or 'no assignment'}): release and grade it first")
        points = {name: float(known[name].max_score) for name in chosen}
        students = []
        for student in sorted(gradebook.students, key=lambda s: s.id):
            name = f"{student.last_name}, {student.first_name}" if student.last_name and student.first_name \
                else student.id
            row = StudentGrades(student.id, name, student.lms_user_id or "")
            for assignment in chosen:
                try:
                    submission = gradebook.find_submission(assignment, student.id)
                except MissingEntry:
                    row.scores[assignment] = None
                    continue
                row.scores[assignment] = _final_score(submission, fraction, notes)
            students.append(row)
    return FinalGrades(points, students, notes)


def _final_score(submission, fraction: float | None, notes: list[str]) -> float:
    recorded = sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks)
    if fraction is None:
        return max(0.0, submission.score - recorded)
    late = submission.total_seconds_late
    days = math.ceil(late / SECONDS_PER_DAY) if late > 0 else 0
    penalty = sum(min(nb.score, fraction * days * nb.max_score) for nb in submission.notebooks) if days else 0.0
    if abs(penalty - recorded) > 1e-9:
        notes.append(f"{submission.student.id} {submission.assignment.name}: late penalty {penalty:g} (submitted "
                     f"{late / SECONDS_PER_DAY:.2f} days late, {fraction:g} of the points per day) where nbgrader "
                     f"recorded {recorded:g} when it graded: the deadline or the penalty changed since; regrade "
                     "(`autograder grade --force`) to record it in the gradebook too")
    return max(0.0, submission.score - penalty)


def canvas_column(assignment: str, canvas_ids: dict[str, str]) -> str:
    """``Name (canvas id)`` for an assignment Canvas has (its grades go there), else the name (a new column)."""
    return f"{assignment} ({canvas_ids[assignment]})" if assignment in canvas_ids else assignment


def write_canvas_csv(grades: FinalGrades, path: Path, *, canvas_ids: dict[str, str] | None = None,
                     section: str = "", missing_zero: bool = False) -> Path:
    """Canvas's gradebook import CSV of ``grades``; a student with no submission gets a blank (Canvas leaves the
    cell as it is) unless ``missing_zero``."""
    canvas_ids = canvas_ids or {}
    unknown = sorted(set(canvas_ids) - set(grades.assignments))
    if unknown:
        raise CourseError(f"--canvas-id names {', '.join(unknown)}, not among the exported assignments "
                          f"({', '.join(grades.assignments)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_STUDENT_COLUMNS, *(canvas_column(a, canvas_ids) for a in grades.assignments)])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", *(_number(p) for p in grades.assignments.values())])
        for student in grades.students:
            scores = [student.scores[a] for a in grades.assignments]
            writer.writerow([student.name, student.lms_user_id, "", student.id, section,
                             *("0" if s is None and missing_zero else "" if s is None else _number(s)
                               for s in scores)])
    return path


def _number(value: float) -> str:
    return f"{round(value, 2):g}"
