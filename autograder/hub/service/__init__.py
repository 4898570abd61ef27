"""The classroom's grading service: the one place that grades, run by JupyterHub as a managed service.

Grading needs what an instructor's server lacks (root for the sandbox's namespaces, cgroups and the switch
to the sandbox uid), so the hub runs ``python -m autograder.hub.service`` as root beside itself, reached
through the proxy at ``/services/grading/``. Its parts:

- `jobs`: the grading jobs of each course, kept as files in the course's state so a restart resumes them;
- `work`: what a job does, through nbgrader and the project's batch (`autograder.gradebook.batch`);
- `instant`: the exchange watch for courses with instant feedback, and each student's instant results;
- `app`: the HTTP endpoints and who may call which (the caller's hub token, the roster's roles);
- `service_spec`: the entry for ``c.JupyterHub.services``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SERVICE_NAME = "grading"


def service_spec(roster_path: Path, state_dir: Path, port: int, user_prefix: str | None = None) -> dict:
    """The ``c.JupyterHub.services`` entry that runs the grading service on 127.0.0.1:``port``.

    ``user_prefix``: the people's system accounts' prefix when the hub overrides the roster's.
    """
    command = [sys.executable, "-m", "autograder.hub.service", "--roster", str(Path(roster_path).resolve()),
               "--state-dir", str(Path(state_dir).resolve()), "--port", str(port)]
    if user_prefix is not None:
        command += ["--user-prefix", user_prefix]
    return {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{port}",
        "command": command,
        "environment": {"PYTHONUNBUFFERED": "1"},
        # Students open their instant results in the browser: no "authorize this service?" page in between.
        "oauth_no_confirm": True,
        "display": False,
    }
