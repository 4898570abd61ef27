"""Everything nbgrader: the course directory, the preprocessor in its autograde, its config, batches.

- `course_dir`: a real nbgrader course directory driven through nbgrader's API, scores read back;
- `preprocessor`: `SandboxedGrading`, the step that replaces nbgrader's ``Execute``;
- `config`: ``configure(c, course_root=...)`` for a course's ``nbgrader_config.py``;
- `batch`: a class graded safely: preflight, the course's grading lock, resuming;
- `prestage`: the batch's jobs graded in parallel worker processes ahead of nbgrader's serial pass;
- `submissions`: what a submitted folder must be (no links, no special files, a bounded size), checked before
  anything reads it, and copied without following a link;
- `exchange`: nbgrader's collect with that check and copy (``c.ExchangeFactory.collect``).
"""
