"""One grading job: a hidden suite run against a student's kernel, compared with the reference, recorded.

- `suite`: the pytest plugin behind hidden suites (fixtures, points, grade cells);
- `compare`: assertions with ``torch.testing.assert_close``-style messages;
- `results`: the result record of a job (one type for every outcome);
- `job`: one job, idempotent and resumable;
- `reference_check`: the reference graded by its own suite, before a batch and for the author.
"""
