"""The sandbox: confinement, the kernel and the safe wire (the lowest layer; imports nothing above it).

- `confine`: the kernel's command line wrapped in namespaces, rlimits and an unprivileged uid (`Limits`);
- `cgroups`: per-kernel memory, process and CPU limits;
- `host`: what the host allows (inherited rlimits, usable cores, GPUs and their memory);
- `process`: one started kernel process, its relay, its output pipe, and how it ended;
- `warm`, `zygote_server`: kernels forked from a zygote that imported torch once, each confined on its own;
- `relay`: the only path from a kernel's sockets to the grader, bounded in bytes per message;
- `messages`: what a kernel sends, made safe to keep (outputs, sizes, tracebacks, errors);
- `kernel`: `StudentKernel`, a notebook run cell by cell and its functions called from the grader;
- `kept`: the agent inside the kernel that answers calls, and its table of objects kept behind handles;
- `calling`: how one call runs on either side (`invoke`: gradients, recorded operators);
- `input_watch`, `input_changes`: which arguments a call changed in place (the kernel's report; its check);
- `wire`: the plain-data format that crosses the boundary (shared with the kernel), with `frames` for
  pandas DataFrames.
"""
