"""Everything nbgrader: the course directory, the preprocessor in its autograde, its config, batches.

- `course_dir`: a real nbgrader course directory driven through nbgrader's API, scores read back;
- `preprocessor`: `SandboxedGrading`, the step that replaces nbgrader's ``Execute``;
- `config`: ``configure(c, course_root=...)`` for a course's ``nbgrader_config.py``;
- `batch`: a class graded safely: preflight, the course's grading lock, resuming.
"""
