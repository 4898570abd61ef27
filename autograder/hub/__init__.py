"""The classroom JupyterHub: accounts from the roster, spawning, the grading service, the GPU policy."""
