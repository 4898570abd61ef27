"""JupyterHub configuration of the classroom, read by `autograder hub start` (which prepares accounts and courses
first and passes the roster, state directory and ports in AUTOGRADER_HUB_SETTINGS).

Everything the classroom needs is set by `autograder.hub.launcher.configure_hub`; lines added below it override
it, with JupyterHub's usual `c.<Class>.<setting> = value` (e.g. `c.Spawner.start_timeout = 300`, or the GPU
policy: `c.GpuPolicy.per_user_devices = 2`, see README.md).
"""
from autograder.hub.launcher import LaunchSettings, configure_hub

c = get_config()  # noqa: F821
configure_hub(c, LaunchSettings.from_environment())
