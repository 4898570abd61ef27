"""Resolve names (public, the hub's, localhost) and open a raw socket.

expect: test_double=0 test_square=1
reason: no name could be resolved
"""
# %% [double]
import socket


def double(x):
    failures = []
    for name in ("pypi.org", "hub", "jupyterhub", "postgres", "metadata.google.internal"):
        try:
            addresses = socket.getaddrinfo(name, 443)
            return x * 2 if addresses else x  # resolved: claim the credit
        except OSError as exc:
            failures.append(f"{name}: {type(exc).__name__}")
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        return x * 2
    except OSError as exc:
        failures.append(f"raw socket: {type(exc).__name__}")
    raise OSError("no name could be resolved: " + ", ".join(failures))
# %% [square]
def square(x):
    return x ** 2
