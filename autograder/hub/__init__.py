"""The classroom JupyterHub: accounts from the roster, spawning, the grading service, the GPU policy.

- `roster`: the roster file (people, courses, their settings), checked whole;
- `accounts`: the people's system users, the courses' staff groups, the issued passwords;
- `authenticator`: who may log in (`RosterAuthenticator`);
- `spawner`: each person's server, as their own user in a filesystem of its own (`SandboxedSpawner`);
- `classroom`: the state directory and the courses prepared in it;
- `launcher`: JupyterHub's configuration, its start and stop, a changed roster applied while it runs;
- `service`: the grading service; `gpu`: which GPUs a person's kernels get.
"""

from pathlib import Path

HUB_CONFIG_DIR = Path(__file__).resolve().parents[2] / "hub_config"  # the hub's configuration and its npm assets
