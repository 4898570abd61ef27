"""Connect to a TCP listener on the host's 127.0.0.1 (it must see zero connections), the hub, the database,
the cloud metadata service; send UDP datagrams to the host.

expect: test_double=0 test_square=1
reason: no network
"""
# %% [double]
import socket

TARGETS = [("127.0.0.1", int("@@PORT@@")), ("::1", int("@@PORT@@")), ("127.0.0.1", 8000), ("127.0.0.1", 8081),
           ("127.0.0.1", 5432), ("169.254.169.254", 80), ("10.0.2.2", 22), ("8.8.8.8", 53)]


def double(x):
    failures = []
    for host, port in TARGETS:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return x * 2  # reached something: claim the credit
        except OSError as exc:
            failures.append(f"{host}:{port} {type(exc).__name__}")
    for _ in range(20):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"autograder-hostile", ("127.0.0.1", int("@@UDP_PORT@@")))
        except OSError as exc:
            failures.append(f"udp {type(exc).__name__}")
    raise ConnectionError("no network: " + ", ".join(failures))
# %% [square]
def square(x):
    return x ** 2
