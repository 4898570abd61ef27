"""Connect to the host's Unix sockets: a listener the test opens (path and abstract name), another student's
live kernel's IPC sockets, docker, PostgreSQL, X11.

expect: test_double=0 test_square=1
reason: no socket could be reached
"""
# %% [double]
import socket

PATHS = ["@@UNIX_SOCKET@@", "\0@@ABSTRACT_SOCKET@@", "/var/run/docker.sock", "/run/docker.sock",
         "/var/run/postgresql/.s.PGSQL.5432", "/tmp/.X11-unix/X0", "/run/systemd/private"]
PATHS += [f"@@VICTIM_RUNTIME@@/kernel-{n}" for n in range(1, 6)]


def double(x):
    failures = []
    for path in PATHS:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(0.5)
                client.connect(path)
            return x * 2  # reached a host socket: claim the credit
        except OSError as exc:
            failures.append(f"{path!r}: {type(exc).__name__}")
    raise ConnectionError("no socket could be reached: " + ", ".join(failures))
# %% [square]
def square(x):
    return x ** 2
