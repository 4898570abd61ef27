"""The zygote: runs INSIDE the sandbox, imports the course's packages once, forks one confined kernel per request.

This file is sent as source to a Python started in bubblewrap (see `warm`), so it imports nothing of
autograder and nothing the sandbox lacks. It starts as root inside bwrap's namespaces (no network, the
read-only system, no student code yet) and keeps its capabilities only to build each kernel's confinement:

    zygote ──fork──> intermediate: new mount, PID, IPC, UTS, network and (after joining the kernel's
                     cgroups) cgroup namespaces; fresh tmpfs home, /tmp and /dev/shm; only this
                     kernel's runtime folder left visible
                        └──fork──> init (PID 1 of the new namespace, root): its own /proc; reaps, waits
                                      └──fork──> kernel: rlimits, uid 65534, no capabilities, no new
                                                 privileges, the sandbox's environment, then ipykernel,
                                                 with torch and the rest already imported

A request is one datagram on the control socket: JSON, and by SCM_RIGHTS the kernel's report socket, its
output pipe and its cgroups' ``cgroup.procs`` files (opened by the grader). On the report socket init
first sends ``{"started": ...}`` with its credentials (the host kernel translates the pid into the
grader's namespace: that is how the grader learns it), or ``{"error": ...}``; the intermediate sends
``{"exit": status}`` when init and the kernel are gone. Nothing a kernel does reaches the zygote: it never reads
from a kernel, and a kernel holds no descriptor of the zygote's.
"""

import ctypes
import importlib
import json
import os
import random
import resource
import signal
import socket
import struct
import sys
import traceback

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
RLIMITS = {"as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC, "fsize": resource.RLIMIT_FSIZE,
           "nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}
STAGED_RUNTIME = "/run/autograder/kernel"  # where an intermediate parks its kernel's runtime folder

libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source, target, kind=None, flags=0, data=None):
    check(libc.mount(source.encode(), target.encode(), kind.encode() if kind else None, flags,
                     data.encode() if data else None), f"mount {target}")


def preload(modules):
    """Import what every kernel would import; a module that fails is simply imported later by the kernel."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            pass


def send(report, message, credentials=False):
    """Report to the grader; a grader that stopped listening (it gave up on this kernel) is no error here."""
    data = json.dumps(message).encode()
    try:
        if credentials:  # the pid as this process sees it; the host kernel rewrites it for the receiver
            ids = struct.pack("3i", os.getpid(), os.getuid(), os.getgid())
            report.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, ids)])
        else:
            report.send(data)
    except OSError:
        if credentials:
            raise


def bind_read_only(source, target):
    mount(source, target, None, MS_BIND | MS_REC)
    mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def fresh_filesystem(request):
    """In the intermediate's new mount namespace: fresh writable places, only this kernel's runtime folder."""
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    runtime, root = request["runtime"], request["runtime_root"]
    os.makedirs(STAGED_RUNTIME, exist_ok=True)
    mount(runtime, STAGED_RUNTIME, None, MS_BIND)  # parked: the fresh /tmp below may cover where it lies
    size = request["disk_bytes"]
    home = request["home"]
    mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0700,size={size}")
    for target in ("/tmp", "/dev/shm"):
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={size}")
    for staged, target in request["bind_back"].items():  # the interpreter's folders the fresh ones covered
        os.makedirs(target, 0o755, exist_ok=True)
        bind_read_only(staged, target)
    if os.path.isdir(root):  # other kernels' runtime folders, where /tmp did not cover them
        mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    os.makedirs(runtime, 0o755)
    mount(STAGED_RUNTIME, runtime, None, MS_BIND)
    for name, staged in request["read_only"].items():  # the course data and extra files, staged by bwrap
        target = os.path.join(home, name)
        if os.path.isdir(staged):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "a").close()
        bind_read_only(staged, target)
    os.chown(home, request["uid"], request["uid"])


def drop_privileges(uid):
    """Become ``uid`` with no capability left, in any set, and no way to gain one."""
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last_cap + 1):
        check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop capability bounding set")
    check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another uid: permitted and effective capabilities are cleared
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no new privileges")
    status = open("/proc/self/status").read()
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        value = status.split(field + ":", 1)[1].split()[0]
        if int(value, 16):
            raise OSError(f"{field} is {value} after dropping privileges")


def init(request, report, output_fd):
    """PID 1 of the kernel's namespace, as bwrap's init is for a cold kernel: starts the kernel, reaps orphans,
    and ends with the kernel (taking the namespace with it). It stays root, out of the student's reach: a
    namespace's init ignores signals from inside it, and another uid cannot trace it."""
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "die with the intermediate")
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    send(report, {"started": True}, credentials=True)
    kernel = os.fork()
    if kernel == 0:
        try:
            become_kernel(request, output_fd)
        except BaseException:
            send(report, {"error": traceback.format_exc(limit=4)})
        os._exit(70)
    report.close()
    os.close(output_fd)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(70)
        if pid == kernel:  # as bwrap does: the kernel's exit code, or 128 + the signal that killed it
            os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status))


def become_kernel(request, output_fd):
    """In the kernel: the last steps of confinement, then ipykernel with torch and the rest already imported."""
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "die with the namespace's init")
    for name, value in request["rlimits"].items():
        resource.setrlimit(RLIMITS[name], (value, value))
    os.chdir(request["home"])
    drop_privileges(request["uid"])
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.closerange(3, 65536)
    os.environ.clear()
    os.environ.update(request["environment"])
    # A fork shares its parent's random state: draw fresh, as a newly started interpreter would.
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(request["environment"].get("OMP_NUM_THREADS", "1")))
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], "--HistoryManager.enabled=False"]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    os._exit(0)


def intermediate(request, report, output_fd, cgroup_fds):
    """Between the zygote and the kernel: builds the namespaces, then waits to report how the kernel ended."""
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "die with the zygote")
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in cgroup_fds:  # join the kernel's own cgroups: everything forked from here is accounted there
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP),
          "unshare")
    socket.sethostname("sandbox")
    fresh_filesystem(request)
    first = os.fork()
    if first == 0:
        try:
            init(request, report, output_fd)
        except BaseException:
            send(report, {"error": traceback.format_exc(limit=4)})
        os._exit(70)
    os.close(output_fd)
    _, status = os.waitpid(first, 0)
    send(report, {"exit": status})
    os._exit(0)


def serve(control):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # intermediates are reaped by the system
    fd_size = struct.calcsize("i")
    while True:
        try:
            data, ancillary, _, _ = control.recvmsg(65536, socket.CMSG_SPACE(16 * fd_size))
        except InterruptedError:
            continue
        if not data:
            return  # the grader closed its end
        fds = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += struct.unpack(f"{len(payload) // fd_size}i", payload[:len(payload) - len(payload) % fd_size])
        report_fd, output_fd, *cgroup_fds = fds
        report = socket.socket(fileno=report_fd)
        if os.fork() == 0:
            control.close()
            try:
                intermediate(json.loads(data), report, output_fd, cgroup_fds)
            except BaseException:
                send(report, {"error": traceback.format_exc(limit=4)})
            os._exit(70)
        report.close()
        for fd in (output_fd, *cgroup_fds):
            os.close(fd)


def main(control_fd, modules):
    if "" in sys.path:
        sys.path.remove("")
    # The folders made for each kernel (its runtime folder, the parents of what is bound back) must be
    # traversable by the kernel's uid, whatever umask the grader runs under (the hub's service uses 007).
    os.umask(0o022)
    control = socket.socket(fileno=control_fd)
    preload(modules)
    control.send(b"ready")
    serve(control)
