"""The security self-test: real hostile submissions, graded through real nbgrader beside honest students.

Each case is a file ``hostile/<category>/<case>.py`` of this package
(shipped with it; ``tests/hostile`` in the repository links here; format in
that folder's README): a docstring saying what it tries and what containment
means for it, then the sections that replace the toy assignment's solution
cells, or the links it plants in its submission folder.
`run_security_selftest` grades every case in a copy of the toy course with
tight limits and checks, rather than assumes, that each is contained:

- the hostile student's affected grade cells score what the case expects in
  nbgrader's gradebook (0 for what it attacked), and each of their hidden tests
  failed with a message that says why (the case's ``reason``);
- the honest students graded in the same batch, after the hostile ones, get
  exactly the scores they got in a batch of their own (the baseline);
- the host is unharmed: no process of the sandbox's uid left, no new child
  of the grader, no marker file outside the sandbox, no connection reached the
  host's listeners, another student's live kernel still answers, the grader's
  memory and the disk are back where they were, the grading record is small;
  and while a category is graded, the grader's memory never rises more than
  a stated bound above where it started (sampled every 20 ms): 512 MiB, or
  1 GiB for a category of the course's own assignments, whose suites keep
  models in the grader.

Cases of one category share a batch (one course, one grader process), and
batches run in a few worker processes at once, each with its own course,
honest students, listeners and bystander kernel; so a full run takes
minutes. It returns one `CategoryReport` per category; `report_table`
shows them (``autograder selftest security``).

Modules: `cases` (the cases and the toy course they attack), `host` (the host
watched from outside), `verdicts` (contained or not, and the report table),
`runner` (batches, worker processes); ``python -m autograder.selftest`` is one
worker.
"""

