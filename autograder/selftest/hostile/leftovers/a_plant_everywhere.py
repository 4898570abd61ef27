"""Leave state behind everywhere a student can, for the next student graded by this grader to find.

Files in ~, /tmp, /dev/shm, /var/tmp and every writable directory of every writable mount; an IPython
startup file and a matplotlibrc; SysV shared memory, message queue and semaphores; a filesystem and an
abstract unix socket; a background process and a double-forked daemon; environment variables;
monkeypatched torch, numpy, builtins, sys.modules, matplotlib rcParams and interpreter settings; seeded
random, numpy and torch generators; the hostname; files in the kernel's runtime directory. Its own reads
must see what it planted, or the next case (`b_find_leftovers`) would pass for nothing: contained means
graded as usual, every planting checked by reading it back.

expect: test_double=3 test_square=1
"""
# %% [double]
import builtins
import ctypes
import os
import random
import socket
import subprocess
import sys
import time
import types
import zlib

import matplotlib
import numpy
import torch

MARKER = "agleftover7c1e"
IPC_CREAT, IPC_RMID = 0o1000, 0
SETTINGS = {"rcParams lines.linewidth": 7.25, "recursion limit": 12345, "torch threads": 7,
            "numpy print precision": 2, "soft open files": 77}
_libc = ctypes.CDLL(None, use_errno=True)


def _attempt(report, what, action):
    """Record whether ``action`` worked: True, or the reason it did not."""
    try:
        result = action()
        report[what] = True if result is None else result
    except Exception as exc:
        report[what] = f"{type(exc).__name__}: {exc}"[:200]


def writable_mounts():
    """Mount points mounted read-write, from /proc/self/mountinfo (the pseudo filesystems left out)."""
    points = []
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields = line.split()
            point, options = fields[4], fields[5].split(",")
            if "rw" in options and not point.startswith(("/proc", "/sys", "/dev/pts", "/dev/mqueue")):
                points.append(point)
    return points


def writable_dirs(limit=400):
    """Directories this uid may write, under the writable mounts and the usual places."""
    found = []
    for top in [os.path.expanduser("~"), "/tmp", "/dev/shm", "/var/tmp", os.environ.get("JUPYTER_RUNTIME_DIR", "/"),
                *writable_mounts()]:
        for root, dirs, _ in os.walk(top):
            if os.access(root, os.W_OK | os.X_OK) and root not in found:
                found.append(root)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))][:40]
            if len(found) >= limit:
                return found
    return found


def _daemon(marker):
    """A double-forked process in a session of its own that holds an abstract socket and outlives the kernel."""
    code = ("import os, socket, sys, time\n"
            "if os.fork(): os._exit(0)\n"
            "os.setsid()\n"
            "if os.fork(): os._exit(0)\n"
            "held = socket.socket(socket.AF_UNIX); held.bind('\\0' + sys.argv[1] + '-daemon'); held.listen()\n"
            "while True: time.sleep(1)\n")
    subprocess.run([sys.executable, "-c", code, marker], check=True, timeout=10)


def _listening(name, tries=1):
    for attempt in range(tries):
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(1)
                client.connect(name)
            return
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(0.1)


def _background(marker):
    """A plain child in a session of its own; True once it is seen running."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker], start_new_session=True)
    time.sleep(0.2)
    return child.poll() is None


def plant(marker=MARKER):
    """Plant everything; return what worked (True, or a value read back) and why the rest did not."""
    report = {"runtime dir": os.environ.get("JUPYTER_RUNTIME_DIR", ""), "hostname before": socket.gethostname()}
    # Unseeded draws first: the next kernel's must differ. Then seed everything, for the next kernel to inherit.
    report["draws"] = {"random": [random.random() for _ in range(3)], "numpy": numpy.random.random(3).tolist(),
                       "torch": torch.rand(3).tolist()}
    random.seed(12345)
    numpy.random.seed(12345)
    torch.manual_seed(12345)
    written = []
    for folder in writable_dirs():
        try:
            with open(os.path.join(folder, f"{marker}.txt"), "w") as planted:
                planted.write(marker)
            written.append(folder)
        except OSError:
            continue
    report["files written in"] = written
    for folder in ("/var/tmp", "/var/tmp/" + marker):
        _attempt(report, f"mkdir {folder}", lambda folder=folder: os.makedirs(folder, exist_ok=True))
    home = os.path.expanduser("~")
    for path, text in ((f"{home}/.ipython/profile_default/startup/00-{marker}.py", f"import builtins\n"
                        f"builtins.{marker}_startup = True\n"),
                       (f"{home}/.config/matplotlib/matplotlibrc", "lines.linewidth: 7.25\n"),
                       (f"{home}/.bashrc", f"export {marker.upper()}=1\n"),
                       (f"{home}/.local/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/"
                        "sitecustomize.py", f"import builtins\nbuiltins.{marker}_site = True\n")):
        def write(path=path, text=text):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as out:
                out.write(text)
            return open(path).read() == text
        _attempt(report, f"write {path}", write)
    key = zlib.crc32(marker.encode()) & 0x7FFFFFFF
    for kind, make in (("shm", lambda: _libc.shmget(key, 4096, IPC_CREAT | 0o666)),
                       ("msg", lambda: _libc.msgget(key, IPC_CREAT | 0o666)),
                       ("sem", lambda: _libc.semget(key, 1, IPC_CREAT | 0o666))):
        ident = make()
        listed = [line.split()[0] for line in open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]]
        report[f"sysv {kind}"] = (ident >= 0 and listed.count(str(key)) == 1) or (
            f"id {ident}, errno {ctypes.get_errno()}, listed {listed}")
    global _HELD
    _HELD = []
    for name in ("\0" + marker, f"/tmp/{marker}.sock", f"{home}/{marker}.sock"):
        held = socket.socket(socket.AF_UNIX)
        _attempt(report, f"bind {name!r}", lambda held=held, name=name: (held.bind(name), held.listen()) and None)
        _HELD.append(held)
        _attempt(report, f"connect {name!r}", lambda name=name: _listening(name))
    _attempt(report, "background process", lambda: _background(marker))
    _attempt(report, "daemon", lambda: _daemon(marker))
    _attempt(report, "daemon's socket", lambda: _listening("\0" + marker + "-daemon", tries=50))
    _attempt(report, "processes seen", lambda: sum(marker in open(f"/proc/{pid}/cmdline").read()
                                                   for pid in os.listdir("/proc") if pid.isdigit()))
    os.environ[marker.upper()] = marker
    os.putenv("AG_LEFTOVER_PUT", marker)
    report["environment"] = os.environ.get(marker.upper()) == marker
    _attempt(report, "sethostname", lambda: socket.sethostname(marker))
    report["hostname after"] = socket.gethostname()
    patched = _patch(marker)
    report["patched"] = patched
    return report


def _patch(marker):
    """Monkeypatch what a later student's code would use; return what reads back patched."""
    real_ones, real_zeros, real_print = torch.ones, numpy.zeros, builtins.print

    def ones(*args, **kwargs):
        return real_ones(*args, **kwargs) * 2

    def zeros(*args, **kwargs):
        return real_zeros(*args, **kwargs) + 1

    def chatty_print(*args, **kwargs):
        return real_print(*args, **kwargs)

    torch.ones, numpy.zeros, builtins.print = ones, zeros, chatty_print
    setattr(builtins, marker, True)
    import colorsys as real_colorsys

    fake = types.ModuleType("colorsys")  # a working copy (mpmath, under torch's autograd, imports colorsys)
    fake.__dict__.update(real_colorsys.__dict__, planted=marker)
    sys.modules["colorsys"] = fake
    sys.modules[marker] = fake
    sys.path.insert(0, f"/tmp/{marker}")
    matplotlib.rcParams["lines.linewidth"] = SETTINGS["rcParams lines.linewidth"]
    sys.setrecursionlimit(SETTINGS["recursion limit"])
    torch.set_num_threads(SETTINGS["torch threads"])
    torch.set_default_dtype(torch.float64)
    numpy.set_printoptions(precision=SETTINGS["numpy print precision"])
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (SETTINGS["soft open files"], hard))
    os.umask(0o077)
    import warnings
    warnings.filterwarnings("ignore", message=marker)
    import colorsys
    return {"torch.ones": torch.ones(2).tolist() == [2.0, 2.0], "numpy.zeros": numpy.zeros(2).tolist() == [1.0, 1.0],
            "print": builtins.print is chatty_print, "builtins": getattr(builtins, marker, False),
            "sys.modules": getattr(colorsys, "planted", "") == marker,
            "rcParams": matplotlib.rcParams["lines.linewidth"] == 7.25,
            "recursion limit": sys.getrecursionlimit() == 12345, "torch threads": torch.get_num_threads() == 7,
            "default dtype": torch.get_default_dtype() == torch.float64,
            "numpy print": numpy.get_printoptions()["precision"] == 2,
            "open files": resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 77}


# What must have worked wherever the grader runs (bwrap or not): without them the next case proves nothing.
MUST_WORK = ("sysv shm", "sysv msg", "sysv sem", "environment", "background process", "daemon", "daemon's socket")

PLANTED = plant()


def planted():
    """What this submission planted (the engine's own test reads it)."""
    return PLANTED


def _proof():
    """Why planting failed, or '' when everything that must work did, read back."""
    failed = [what for what in MUST_WORK if PLANTED.get(what) is not True]
    failed += [f"bind/connect {name}" for name in ("'\\x00" + MARKER + "'", f"'/tmp/{MARKER}.sock'")
               if PLANTED.get(f"connect {name}") is not True]
    failed += [what for what, ok in PLANTED["patched"].items() if ok is not True]
    # /dev/shm is root's in bwrap's /dev: not a place a student can write there, so not required.
    homes = [folder for folder in PLANTED["files written in"] if folder in (os.path.expanduser("~"), "/tmp")]
    if len(homes) != 2:
        failed.append(f"files in ~ and /tmp (written in {homes})")
    return "; ".join(failed)


def double(x):
    if _proof():
        raise RuntimeError(f"planting failed: {_proof()}")
    return x + x
# %% [square]
def square(x):
    return x ** 2
