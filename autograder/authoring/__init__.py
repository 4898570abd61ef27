"""The course author's tools: starting a course and an assignment, and checking an assignment before release.

- `.check`: `check_assignment`, the author's check of one assignment (the notebook's solutions, its stubs,
  leaks, points);
"""

from .check import check_assignment

__all__ = ["check_assignment"]
