"""What a submitted folder must be before anything reads it: checked first, refused with a reason.

Everything in a student's submission is the student's: its size, its files,
its links. `check_submission` runs before nbgrader or the grader reads a byte
of it, and `SubmissionRefused` says what was wrong and what to do.
"""

from __future__ import annotations

from pathlib import Path

MAX_SUBMISSION_BYTES = 25 * 2**20


class SubmissionRefused(ValueError):
    """The submission cannot be graded as it is; the message tells the student what to fix."""


def check_submission(folder: Path) -> None:
    """Raise `SubmissionRefused` for a submission the grader must not read."""
    for path in sorted(folder.glob("*.ipynb")):
        size = path.lstat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise SubmissionRefused(f"{path.name} is {size // 2**20} MiB (limit {MAX_SUBMISSION_BYTES // 2**20} MiB): "
                                    "clear its outputs (Kernel > Restart & Clear Output) and submit again")
