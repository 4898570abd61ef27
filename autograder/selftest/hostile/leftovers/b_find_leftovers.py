"""Graded right after `a_plant_everywhere` by the same grader: look for everything it left behind.

Files (by name, in every writable mount and the usual places), IPython startup files and config, SysV IPC
objects, unix sockets (filesystem and abstract), processes that are neither this kernel nor its sandbox's
ancestors (a leftover daemon, or another student's kernel alive at the same time), other kernels' runtime
directories and cgroups, environment variables, monkeypatched modules and interpreter settings, a seeded random
generator, the hostname. It claims the credit when it finds anything; contained means it finds nothing and
says so. (Whether its unseeded draws differ from the planter's needs both sets of draws: the engine's own
test, tests/test_warm_isolation.py, compares them.)

expect: test_double=0 test_square=1
reason: no leftovers of an earlier student
"""
# %% [double]
import builtins
import os
import random
import socket
import sys
import warnings
import zlib

import matplotlib
import numpy
import torch

MARKER = "agleftover7c1e"
KNOWN_HOME = {".ipython", ".config", ".cache", "data"}  # what a fresh kernel's home holds before the student writes


def _mounts():
    points = []
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields = line.split()
            if "rw" in fields[5].split(",") and not fields[4].startswith(("/proc", "/sys", "/dev/pts", "/dev/mqueue")):
                points.append(fields[4])
    return points


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _mine():
    """Pids of this kernel, its descendants and its ancestors (its sandbox's wrappers) as this namespace sees them."""
    parents = {}
    for pid in os.listdir("/proc"):
        stat = _read(f"/proc/{pid}/stat") if pid.isdigit() else ""
        if stat:
            parents[int(pid)] = int(stat.rsplit(")", 1)[1].split()[1])

    def chain(pid):
        seen = [pid]
        while parents.get(seen[-1], 0) > 0 and parents[seen[-1]] not in seen:
            seen.append(parents[seen[-1]])
        return seen

    me = os.getpid()
    return set(chain(me)) | {pid for pid in parents if me in chain(pid)}, parents


def find_leftovers(marker=MARKER, other_runtime="", generic=True):
    """Everything of ``marker``'s planter (or of another kernel) this kernel can see: {what: [findings]}.

    ``other_runtime``: the runtime directory another kernel reported (it must not exist here). ``generic``
    False looks for ``marker`` and ``other_runtime`` only, not for anything unexpected: for a kernel that
    planted things of its own (under another marker) before looking.
    """
    found = {}

    def note(what, finding):
        found.setdefault(what, []).append(str(finding)[:300])

    home = os.path.expanduser("~")
    runtime = os.environ.get("JUPYTER_RUNTIME_DIR", "")
    for top in dict.fromkeys([home, "/tmp", "/dev/shm", "/var/tmp", runtime, *_mounts()]):
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                if marker in name:
                    note("files", os.path.join(root, name))
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))][:40]
    for folder in ("/tmp", "/dev/shm", "/var/tmp") if generic else ():
        # The entries allowed: the way to this kernel's own runtime directory and to its interpreter (each
        # mounted at its host path, which can lie under /tmp: a checkout in a temporary folder).
        own = {os.path.relpath(path, folder).split("/")[0] for path in (runtime, sys.prefix, sys.base_prefix)
               if path.startswith(folder + "/")}
        extra = sorted(set(os.listdir(folder)) - own) if os.path.isdir(folder) else []
        if extra:
            note("files", f"{folder} holds {extra[:10]}")
    if generic and os.path.isdir(home):
        extra = sorted(set(os.listdir(home)) - KNOWN_HOME)
        if extra:
            note("files", f"~ holds {extra[:10]}")
    startup = f"{home}/.ipython/profile_default/startup"
    if generic and os.path.isdir(startup) and set(os.listdir(startup)) - {"README"}:
        note("ipython startup", sorted(os.listdir(startup)))
    if generic and os.path.exists(f"{home}/.config/matplotlib/matplotlibrc"):
        note("matplotlibrc", _read(f"{home}/.config/matplotlib/matplotlibrc")[:100])
    for folder in filter(None, {os.path.dirname(runtime), os.path.dirname(other_runtime)}):
        if os.path.isdir(folder):
            others = [n for n in os.listdir(folder) if n.startswith("runtime-") and n != os.path.basename(runtime)]
            if others:
                note("runtime dirs", f"{folder}: {others}")
    if other_runtime and os.path.exists(other_runtime):
        note("runtime dirs", other_runtime)
    # Kernels' cgroups are named after their runtime folders: another kernel's, where /sys is there to read
    # (its memory use and process count are in it).
    wanted = f"autograder-{os.path.basename(other_runtime)}" if other_runtime else ""
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        for name in dirs:
            if (name == wanted or (generic and name.startswith("autograder-runtime-")
                                   and name != f"autograder-{os.path.basename(runtime)}")):
                note("cgroups", os.path.join(root, name))
        dirs[:] = [] if root.count("/") > 6 else [d for d in dirs if not d.startswith("autograder-")]
    key = zlib.crc32(marker.encode()) & 0x7FFFFFFF
    for kind in ("shm", "msg", "sem"):
        lines = [line for line in _read(f"/proc/sysvipc/{kind}").splitlines()[1:]
                 if generic or line.split()[0] == str(key)]
        if lines:
            note("sysv", f"{kind}: {[line.split()[:2] for line in lines]} (planted key {key})")
    for line in _read("/proc/net/unix").splitlines()[1:]:
        if marker in line:
            note("unix sockets", line.split()[-1])
    for name in ("\0" + marker, "\0" + marker + "-daemon", f"/tmp/{marker}.sock", f"{home}/{marker}.sock"):
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(0.5)
                client.connect(name)
            note("unix sockets", f"connected to {name!r}")
        except OSError:
            pass
    mine, parents = _mine()
    for pid in sorted(parents):
        cmdline = _read(f"/proc/{pid}/cmdline")
        if (generic and pid not in mine) or marker in cmdline or marker in _read(f"/proc/{pid}/environ"):
            note("processes", f"{pid}: {cmdline[:200]}")
    for name, value in os.environ.items():
        if marker in name.lower() or marker in value or (generic and "LEFTOVER" in name):
            note("environment", f"{name}={value}")
    checks = {
        "torch.ones": type(torch.ones).__name__ == "builtin_function_or_method" and torch.ones(2).tolist() == [1, 1],
        "numpy.zeros": numpy.zeros(2).tolist() == [0, 0] and type(numpy.zeros).__name__ == "builtin_function_or_method",
        "print": type(builtins.print).__name__ == "builtin_function_or_method",
        "builtins": not any(marker in name for name in dir(builtins)),
        "sys.modules": marker not in sys.modules and not hasattr(__import__("colorsys"), "planted"),
        "sys.path": not any(marker in entry for entry in sys.path),
        "rcParams": matplotlib.rcParams["lines.linewidth"] != 7.25,
        "recursion limit": sys.getrecursionlimit() != 12345,
        "torch threads": torch.get_num_threads() != 7,
        "default dtype": torch.get_default_dtype() == torch.float32,
        "numpy print": numpy.get_printoptions()["precision"] == 8,
        "open files": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[0] != 77,
        "warnings": not any(marker in str(getattr(f[1], "pattern", f[1])) for f in warnings.filters),
        "torch seed": torch.initial_seed() != 12345,
        "hostname": marker not in socket.gethostname(),
    }
    for what, clean in checks.items():
        if generic and not clean:
            note("patched", what)
    generator = random.Random(12345)
    seeded = {"random": [generator.random() for _ in range(3)],
              "numpy": numpy.random.RandomState(12345).random_sample(3).tolist(),
              "torch": torch.rand(3, generator=torch.Generator().manual_seed(12345)).tolist()}
    found_draws = draws()
    for name in seeded:
        if generic and found_draws[name] == seeded[name]:
            note("random state", f"{name} draws are those of the planter's seed")
    return found


_DRAWS = {"random": [random.random() for _ in range(3)], "numpy": numpy.random.random(3).tolist(),
          "torch": torch.rand(3).tolist()}


def draws():
    """This kernel's first unseeded draws (taken when the cell ran, before anything else drew)."""
    return _DRAWS


FOUND = find_leftovers()


def found():
    """What this kernel found when its cell ran (the engine's own test reads it)."""
    return FOUND


def double(x):
    if FOUND:
        return x + x  # found something of the earlier student: claim the credit
    raise LookupError("no leftovers of an earlier student: none of its files, IPC objects, sockets, processes, "
                      "environment, patches or random state is visible here")
# %% [square]
def square(x):
    return x ** 2
