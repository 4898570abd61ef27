"""How a course's ``nbgrader_config.py`` switches autograding to the sandbox.

``configure(c, course_root=...)`` swaps nbgrader's ``Execute`` step for
`SandboxedGrading` and leaves the rest of nbgrader's autograde pipeline as
it is, so a course can still add, remove or reorder steps in its own config.

It also makes nbgrader refuse submissions that hold links (symbolic or hard),
named pipes, sockets or device files, wherever nbgrader reads one: ``collect``
through `.exchange.LinkRefusingCollect` (``c.ExchangeFactory.collect``), and
``autograde`` through `.submissions.SubmissionCheckingExporter`
(``c.Autograde.exporter_class``; why that hook: `.submissions`).

Feedback pages carry MathJax inline (`.feedback.OfflineMathHTMLExporter`,
``c.GenerateFeedback.exporter_class``), and late submissions lose
``late_penalty_per_day`` of the notebook's points per day or part of one
(`PerDayLatePenalty`, nbgrader's ``c.AssignLatePenalties.plugin_class``; the
deadline is the assignment's ``duedate`` in the gradebook).
"""

from __future__ import annotations

import math

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets import Float
from traitlets.config import Config

from .exchange import LinkRefusingCollect
from .feedback import OfflineMathHTMLExporter
from .preprocessor import SandboxedGrading
from .submissions import SubmissionCheckingExporter

AUTOGRADE_PIPELINE = [
    SandboxedGrading,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]


SECONDS_PER_DAY = 86400


class PerDayLatePenalty(LateSubmissionPlugin):
    """A late notebook loses ``fraction_per_day`` of its points for each day, or part of one, past the deadline."""

    fraction_per_day = Float(
        0.0, min=0.0, max=1.0,
        help="Fraction of the notebook's maximum score lost per day (or part of one) late; 0 = no penalty.",
    ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if self.fraction_per_day <= 0 or total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / SECONDS_PER_DAY)
        # nbgrader caps the penalty at the score (AssignLatePenalties._check_late_penalty).
        return self.fraction_per_day * days * self._max_score(score)

    def _max_score(self, score: float) -> float:
        """The notebook's maximum score, from the gradebook our parent (``AssignLatePenalties``) holds open."""
        parent = self.parent
        try:
            notebook = parent.gradebook.find_submission_notebook(parent.notebook_id, parent.assignment_id,
                                                                 parent.student_id)
        except Exception as exc:  # a plugin used outside nbgrader's step: fall back on the score
            self.log.warning("late penalty relative to the score, the maximum is unknown here: %s", exc)
            return score
        return float(notebook.max_score)


def configure(c: Config, *, course_root: str, late_penalty_per_day: float = 0.0,
              submission_owner_prefix: str | None = None) -> Config:
    """Point nbgrader's autograde at the sandboxed grader for the course tree at ``course_root``.

    ``late_penalty_per_day``: fraction of a notebook's points lost per day late (the roster's setting).
    ``submission_owner_prefix``: where each student submits as their own system account ``<prefix><student>``
    (the classroom hub), a folder in the exchange's inbound written by any other account is not collected.
    """
    c.Autograde.autograde_preprocessors = AUTOGRADE_PIPELINE
    c.SandboxedGrading.course_root = course_root
    # Submissions holding links are refused wherever nbgrader reads one, never read through.
    c.ExchangeFactory.collect = LinkRefusingCollect
    c.LinkRefusingCollect.owner_prefix = submission_owner_prefix
    c.Autograde.exporter_class = SubmissionCheckingExporter
    # The feedback lines of a graded cell must survive nbgrader's output limit.
    c.LimitOutput.max_lines = 2000
    c.AssignLatePenalties.plugin_class = PerDayLatePenalty
    c.PerDayLatePenalty.fraction_per_day = late_penalty_per_day
    # Feedback pages render their formulas with no internet.
    c.GenerateFeedback.exporter_class = OfflineMathHTMLExporter
    return c
