"""autograder: grade deep-learning notebooks by running them inside, and testing them outside.

Stages, one module each, in the order a submission meets them:

- `sandbox`: confines a kernel process (namespaces, rlimits, cgroup, uid);
- `kernel`: runs the notebook in that kernel and proxies calls into it;
- `wire`: the plain-data format that crosses the boundary;
- `suite`: the pytest plugin (fixtures, points, grade cells) for hidden suites;
- `compare`: assertions with ``torch.testing.assert_close``-style messages;
- `results`: the result record of a grading job;
- `job`: one grading job, idempotent and resumable;
- `course`: where an assignment's notebook, suite, reference and data live;
- `nbgrader_plugin` / `nbgrader_config`: the preprocessor in nbgrader's autograde;
- `gradebook`: nbgrader course directories, gradebook scores and export;
- `samples`: the bundled sample class;
- `authoring`: the course author's check of an assignment;
- `schedule`: batches of jobs: preflight, the course's grading lock, resuming;
- `selftest`: the security self-test (hostile submissions of ``tests/hostile``);
- `cli`: the ``autograder`` command.
"""

__version__ = "0.1.0"
