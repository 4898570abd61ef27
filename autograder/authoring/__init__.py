"""The course author's tools: starting a course and an assignment, and checking an assignment before release.

- `.check`: `check_assignment`, the author's check of one assignment (the notebook's solutions, its stubs,
  leaks, points, and the sample class);
- `.class_check`: `check_sample_class`, the bundled sample class graded under the check's secret seeds (scores
  as expected, none moving with the seed, no correct sample passing only on a thin margin);
"""

from .check import check_assignment
from .class_check import check_sample_class

__all__ = ["check_assignment", "check_sample_class"]
