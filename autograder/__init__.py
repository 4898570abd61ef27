"""autograder: grade deep-learning notebooks by running them inside, and testing them outside.

Layers, each importing only the ones below it (a subpackage's docstring lists its modules):

- `cli`: the ``autograder`` command;
- `selftest`, `authoring`: the platform's own security self-test; the course author's checks;
- `gradebook`: everything nbgrader (course directory, preprocessor, config, batches);
- `grading`: one job (hidden suite, comparisons, result records, the reference check);
- `course`: where an assignment's material lives, sample classes;
- `sandbox`: confinement, the kernel process and its relay, the safe wire.

`testing` is the suite author's API in one import; `nbgrader_config` the stable
import for a course's ``nbgrader_config.py``.
"""

__version__ = "0.1.0"
