"""The message relay (autograder/sandbox/relay.py): real ZeroMQ and a real relay process, a fake kernel.

The test binds the sockets a kernel would (PUB for iopub, ROUTER for shell
and control) on ipc paths in its tmp_path, starts the relay between them and
the grader's side, and connects as the grader (SUB, DEALER).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import psutil
import pytest
import zmq

from autograder.sandbox import relay

MiB = 2**20
PORTS = {"shell": 1, "control": 2, "iopub": 3}
WAIT_MS = 5000


def make_spec(folder: Path, max_message_bytes: int = MiB) -> relay.RelaySpec:
    return relay.RelaySpec(kernel_prefix=str(folder / "k"), grader_prefix=str(folder / "g"), ports=PORTS,
                           max_message_bytes=max_message_bytes, address_space_bytes=2**31, queue_messages=1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def receive(sock: zmq.Socket, timeout_ms: int = WAIT_MS) -> list[bytes] | None:
    if sock.poll(timeout_ms, zmq.POLLIN):
        return sock.recv_multipart()
    return None


class Ends:
    """The fake kernel's sockets, the relay between, and the grader's sockets."""

    def __init__(self, folder: Path, max_message_bytes: int) -> None:
        self.spec = make_spec(folder, max_message_bytes)
        self.context = zmq.Context()
        self.sockets: list[zmq.Socket] = []
        self.kernel_iopub = self._socket(zmq.PUB, bind=self.spec.endpoint(self.spec.kernel_prefix, "iopub"))
        self.kernel_shell = self._socket(zmq.ROUTER, bind=self.spec.endpoint(self.spec.kernel_prefix, "shell"))
        self.kernel_control = self._socket(zmq.ROUTER, bind=self.spec.endpoint(self.spec.kernel_prefix, "control"))
        self.log = folder / "relay.log"
        self.relay = relay.start(self.spec, self.log)
        self.grader_iopub = self._socket(zmq.SUB, connect=self.spec.endpoint(self.spec.grader_prefix, "iopub"))
        self.grader_iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.grader_shell = self._socket(zmq.DEALER, connect=self.spec.endpoint(self.spec.grader_prefix, "shell"))

    def _socket(self, kind: int, *, bind: str = "", connect: str = "") -> zmq.Socket:
        sock = self.context.socket(kind)
        sock.linger = 0
        sock.bind(bind) if bind else sock.connect(connect)
        self.sockets.append(sock)
        return sock

    def iopub_ready(self) -> None:
        """Publish until the grader hears it: every subscription along the way is in place."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.relay.poll() is None, self.log.read_text()
            self.kernel_iopub.send_multipart([b"hello"])
            if receive(self.grader_iopub, 50) == [b"hello"]:
                while receive(self.grader_iopub, 200) is not None:
                    pass
                return
        raise AssertionError("the relay never passed iopub on")

    def shell_request(self, frames: list[bytes]) -> list[bytes]:
        """Send a request as the grader; return the routing frames the kernel's ROUTER saw before it."""
        self.grader_shell.send_multipart(frames)
        seen = receive(self.kernel_shell)
        assert seen is not None, "the request never reached the kernel"
        assert seen[-len(frames):] == frames
        return seen[:-len(frames)]

    def close(self) -> None:
        stop(self.relay)
        for sock in self.sockets:
            sock.close(linger=0)
        self.context.term()


@pytest.fixture
def ends(tmp_path) -> Iterator[Ends]:
    pair = Ends(tmp_path, MiB)
    try:
        yield pair
    finally:
        pair.close()


def test_a_multi_frame_output_message_arrives_intact(ends):
    ends.iopub_ready()
    message = [b"kernel.abc.stream", b"<IDS|MSG>", b"f" * 64, b'{"msg_type": "stream"}', b"{}", b"{}",
               b'{"name": "stdout", "text": "hi"}', bytes(range(256)) * 1000, b""]
    ends.kernel_iopub.send_multipart(message)
    assert receive(ends.grader_iopub) == message
    assert ends.relay.poll() is None


def test_a_shell_request_and_its_reply_round_trip(ends):
    request = [b"<IDS|MSG>", b"sig", b'{"msg_type": "execute_request"}', b"{}", b"{}", b'{"code": "1 + 1"}']
    routing = ends.shell_request(request)
    assert len(routing) == 2  # the relay's DEALER, then the grader's identity as the relay's ROUTER named it
    reply = [b"<IDS|MSG>", b"sig", b'{"msg_type": "execute_reply"}', b"{}", b"{}", b'{"status": "ok"}',
             b"r" * 300_000]
    ends.kernel_shell.send_multipart([*routing, *reply])
    assert receive(ends.grader_shell) == reply
    for n in range(3):  # and again: nothing is left pending in either direction
        routing = ends.shell_request([b"<IDS|MSG>", str(n).encode()])
        ends.kernel_shell.send_multipart([*routing, b"<IDS|MSG>", b"reply %d" % n])
        assert receive(ends.grader_shell) == [b"<IDS|MSG>", b"reply %d" % n]
    assert ends.relay.poll() is None


def test_a_message_of_exactly_the_limit_passes(ends):
    ends.iopub_ready()
    frames = [b"a" * (MiB // 4)] * 3 + [b"b" * (MiB - 3 * (MiB // 4))]
    assert sum(map(len, frames)) == ends.spec.max_message_bytes
    ends.kernel_iopub.send_multipart(frames)
    assert receive(ends.grader_iopub) == frames
    assert ends.relay.poll() is None


def test_frames_adding_up_to_more_than_the_limit_stop_the_relay_on_iopub(ends):
    ends.iopub_ready()
    frames = [b"x" * (400 * 1024)] * 4  # each frame well under 1 MiB, together over it
    ends.kernel_iopub.send_multipart(frames)
    assert ends.relay.wait(timeout=20) == relay.OVERSIZED
    assert receive(ends.grader_iopub, 500) is None


def test_a_single_frame_over_the_limit_stops_the_relay(ends):
    ends.iopub_ready()
    ends.kernel_iopub.send_multipart([b"header", b"w" * (MiB + 1)])
    assert ends.relay.wait(timeout=20) == relay.OVERSIZED
    assert receive(ends.grader_iopub, 500) is None


def test_frames_adding_up_to_more_than_the_limit_stop_the_relay_on_shell(ends):
    routing = ends.shell_request([b"<IDS|MSG>", b"request"])
    ends.kernel_shell.send_multipart([*routing, *[b"y" * (300 * 1024)] * 5])
    assert ends.relay.wait(timeout=20) == relay.OVERSIZED
    assert receive(ends.grader_shell, 500) is None


def test_an_oversized_request_from_the_grader_side_stops_the_relay_too(ends):
    ends.grader_shell.send_multipart([b"<IDS|MSG>", *[b"z" * (300 * 1024)] * 5])
    assert ends.relay.wait(timeout=20) == relay.OVERSIZED
    assert receive(ends.kernel_shell, 500) is None


FLOODING_KERNEL = """
import os, sys, time, zmq
endpoint, go, frames, frame_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
context = zmq.Context()
pub = context.socket(zmq.PUB)
pub.sndhwm = 0
pub.bind(endpoint)
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    pub.send_multipart([b"hello"])
    time.sleep(0.02)
frame = b"\\x01" * frame_bytes  # one buffer, sent many times without copies: this process stays small too
pub.send_multipart([frame] * frames, copy=False)
time.sleep(float(sys.argv[5]))
pub.close(linger=0)
context.term()
"""


def test_a_300_mib_many_framed_message_never_reaches_the_grader(tmp_path):
    spec = make_spec(tmp_path, max_message_bytes=64 * MiB)
    go = tmp_path / "go"
    kernel = subprocess.Popen([sys.executable, "-c", FLOODING_KERNEL, spec.endpoint(spec.kernel_prefix, "iopub"),
                               str(go), "300", str(MiB), "10"])
    context = zmq.Context()
    grader = context.socket(zmq.SUB)
    grader.linger = 0
    process = None
    try:
        process = relay.start(spec, tmp_path / "relay.log")
        grader.connect(spec.endpoint(spec.grader_prefix, "iopub"))
        grader.setsockopt(zmq.SUBSCRIBE, b"")
        assert receive(grader, 20_000) == [b"hello"], (tmp_path / "relay.log").read_text()
        me = psutil.Process()
        before = me.memory_info().rss
        go.touch()
        assert process.wait(timeout=60) == relay.OVERSIZED, (tmp_path / "relay.log").read_text()
        received = []
        while (frames := receive(grader, 500)) is not None:
            received.append(frames)
        assert all(frames == [b"hello"] for frames in received)
        grown = me.memory_info().rss - before
        assert grown < 32 * MiB, f"the grader grew by {grown / MiB:.0f} MiB"
    finally:
        if process is not None:
            stop(process)
        stop(kernel)
        grader.close(linger=0)
        context.term()


ORPHAN = """
import ctypes, json, os, sys, time
from pathlib import Path
from autograder.sandbox import relay

ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the orphan comes to us
spec = relay.RelaySpec(**json.loads(sys.argv[1]))
read_end, write_end = os.pipe()
parent = os.fork()
if parent == 0:  # the relay's parent: starts it, waits until it is up, and goes
    started = relay.start(spec, Path(sys.argv[2]))
    os.write(write_end, str(started.pid).encode())
    deadline = time.monotonic() + 20
    while not os.path.exists(spec.grader_prefix + "-3") and time.monotonic() < deadline:
        time.sleep(0.02)
    os._exit(0)
os.close(write_end)
pid = int(os.read(read_end, 64))
os.waitpid(parent, 0)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}))
        sys.exit(0)
    time.sleep(0.05)
os.kill(pid, 9)
os.waitpid(pid, 0)
print(json.dumps({"pid": pid, "status": "still running 20 s after its parent was gone"}))
"""


def test_the_relay_exits_when_its_parent_is_gone(tmp_path):
    spec = make_spec(tmp_path)
    done = subprocess.run([sys.executable, "-c", ORPHAN, json.dumps(asdict(spec)), str(tmp_path / "relay.log")],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == relay.ORPHANED, outcome


def test_the_relay_runs_under_its_address_space_limit(tmp_path):
    spec = make_spec(tmp_path)
    process = relay.start(spec, tmp_path / "relay.log")
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(f"{spec.grader_prefix}-3") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert psutil.Process(process.pid).rlimit(psutil.RLIMIT_AS) == (2**31, 2**31)
        assert process.poll() is None
    finally:
        stop(process)
