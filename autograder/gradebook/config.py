"""How a course's ``nbgrader_config.py`` switches autograding to the sandbox.

``configure(c, course_root=...)`` swaps nbgrader's ``Execute`` step for
`SandboxedGrading` and leaves the rest of nbgrader's autograde pipeline as
it is, so a course can still add, remove or reorder steps in its own config.

It also makes nbgrader refuse submissions that hold links (symbolic or hard),
named pipes, sockets or device files, wherever nbgrader reads one: ``collect``
through `.exchange.LinkRefusingCollect` (``c.ExchangeFactory.collect``), and
``autograde`` through `.submissions.SubmissionCheckingExporter`
(``c.Autograde.exporter_class``; why that hook: `.submissions`).
"""

from __future__ import annotations

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets.config import Config

from .exchange import LinkRefusingCollect
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


def configure(c: Config, *, course_root: str) -> Config:
    """Point nbgrader's autograde at the sandboxed grader for the course tree at ``course_root``."""
    c.Autograde.autograde_preprocessors = AUTOGRADE_PIPELINE
    c.SandboxedGrading.course_root = course_root
    # Submissions holding links are refused wherever nbgrader reads one, never read through.
    c.ExchangeFactory.collect = LinkRefusingCollect
    c.Autograde.exporter_class = SubmissionCheckingExporter
    # The feedback lines of a graded cell must survive nbgrader's output limit.
    c.LimitOutput.max_lines = 2000
    return c
