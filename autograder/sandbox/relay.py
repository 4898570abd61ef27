"""The message relay: what a kernel sends reaches the grader only through it, counted whole.

ZeroMQ bounds a message one frame at a time (``MAXMSGSIZE``) and its queues in
messages (high-water marks), so one message of many large frames would be
copied whole into the process that receives it. The grader therefore never
connects to a kernel: per kernel, a relay process does (``python -m
autograder.sandbox.relay``), and forwards a message only once it has counted
all of its frames:

- a message over ``max_message_bytes``, however it is framed, stops the relay
  with `OVERSIZED`; the grader then stops the kernel and records why;
- the relay holds at most one message per direction and passes output on only
  when the grader has room for it (XPUB with ``XPUB_NODROP`` and high-water
  marks of one), so a kernel that floods faster than the grader reads waits,
  or loses its own messages at its own end;
- a single frame over the limit, or a message the relay's ZeroMQ thread cannot
  allocate while it reads ahead (the relay runs under an address-space limit),
  drops the connection to the kernel; the relay watches for that and stops
  with `OVERSIZED` too. Either way the flood ends the relay, never the grader.

So the grader holds at most ``grader_queue + 1`` messages of at most
``max_message_bytes`` per channel, whatever the kernel sends. The relay's
sockets for the grader live in a directory of the grader's that the sandbox
cannot see; the kernel's sockets are the ones in its runtime directory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import zmq

OVERSIZED = 3  # exit status: the kernel sent a message over the limit, or one the relay could not take
ORPHANED = 4  # exit status: the grader that started the relay is gone
# (relay's socket for the grader, relay's socket for the kernel) per channel the grader uses. The grader
# never asks for input (allow_stdin=False) and watches the kernel's process rather than its heartbeat.
CHANNELS = {"shell": (zmq.ROUTER, zmq.DEALER), "control": (zmq.ROUTER, zmq.DEALER), "iopub": (zmq.XPUB, zmq.SUB)}
_POLL_MS = 100
_RETRY_MS = 1  # while a message waits for room in the grader's queue: look again this soon
# The relay connects before a starting kernel has bound its sockets (and the grader before the relay has):
# ZeroMQ then tries again every RECONNECT_MS. Its default, 100 ms, was half of a warm kernel's start.
RECONNECT_MS = 5


@dataclass(frozen=True)
class RelaySpec:
    """Where the kernel's sockets are, where the grader's go, and the bounds."""

    kernel_prefix: str  # ipc path prefix of the kernel's sockets: <prefix>-<port>
    grader_prefix: str  # ipc path prefix of the relay's sockets for the grader
    ports: dict[str, int]
    max_message_bytes: int
    address_space_bytes: int
    queue_messages: int = 1

    def endpoint(self, prefix: str, channel: str) -> str:
        return f"ipc://{prefix}-{self.ports[channel]}"


def start(spec: RelaySpec, log_path: Path) -> subprocess.Popen:
    """Start the relay for one kernel (its stderr goes to ``log_path``)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "autograder.sandbox.relay", json.dumps(asdict(spec))],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                preexec_fn=lambda: _limit_address_space(spec.address_space_bytes))


def _limit_address_space(limit: int) -> None:
    # Never above the hard limit the grader inherited (a host's `ulimit -v`): raising it would fail, and the
    # relay would not start at all.
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Relay:
    """The forwarding loop of one relay process."""

    def __init__(self, spec: RelaySpec) -> None:
        self.spec = spec
        self.context = zmq.Context()
        self.parent = os.getppid()
        self.routes: list[tuple[zmq.Socket, zmq.Socket]] = []
        self.monitors: list[zmq.Socket] = []  # a kernel-side connection dropped: an oversized frame or message
        for channel, (grader_type, kernel_type) in CHANNELS.items():
            grader_side = self._socket(grader_type)
            grader_side.sndhwm = spec.queue_messages
            kernel_side = self._socket(kernel_type)
            if grader_type == zmq.XPUB:
                grader_side.setsockopt(zmq.XPUB_NODROP, 1)
                kernel_side.setsockopt(zmq.SUBSCRIBE, b"")
            kernel_side.setsockopt(zmq.MAXMSGSIZE, spec.max_message_bytes)
            self.monitors.append(kernel_side.get_monitor_socket(zmq.EVENT_DISCONNECTED))
            grader_side.bind(spec.endpoint(spec.grader_prefix, channel))
            kernel_side.connect(spec.endpoint(spec.kernel_prefix, channel))
            self.routes.append((kernel_side, grader_side))
            if kernel_type == zmq.DEALER:
                self.routes.append((grader_side, kernel_side))
            else:
                self.subscriptions = grader_side  # the grader's subscribe messages: read and dropped
        self.pending: dict[int, list[zmq.Frame]] = {}

    def _socket(self, kind: int) -> zmq.Socket:
        sock = self.context.socket(kind)
        sock.linger = 0
        sock.reconnect_ivl = RECONNECT_MS
        sock.rcvhwm = self.spec.queue_messages
        return sock

    def serve(self) -> int:
        """Forward until the grader is gone or the kernel oversteps; return the exit status."""
        poller = zmq.Poller()
        poller.register(self.subscriptions, zmq.POLLIN)
        for monitor in self.monitors:
            poller.register(monitor, zmq.POLLIN)
        while True:
            for index, (source, _) in enumerate(self.routes):
                poller.register(source, 0 if index in self.pending else zmq.POLLIN)
            ready = dict(poller.poll(_RETRY_MS if self.pending else _POLL_MS))
            if os.getppid() != self.parent:
                return ORPHANED
            if any(monitor in ready for monitor in self.monitors):
                return OVERSIZED  # (or the kernel died, which the grader sees for itself)
            if self.subscriptions in ready:
                self.subscriptions.recv_multipart()
            for index, (source, _) in enumerate(self.routes):
                if index not in self.pending and source in ready:
                    frames = self._receive(source)
                    if frames is None:
                        return OVERSIZED
                    self.pending[index] = frames
            self._flush()  # what the grader's full queue refused stays pending, and is tried again next turn

    def _receive(self, source: zmq.Socket) -> list[zmq.Frame] | None:
        """One whole message, or None once its frames add up to more than the limit."""
        frames, size = [], 0
        while True:
            frame = source.recv(copy=False)
            size += len(frame.buffer)
            if size > self.spec.max_message_bytes:
                return None
            frames.append(frame)
            if not frame.more:
                return frames

    def _flush(self) -> None:
        for index in list(self.pending):
            target = self.routes[index][1]
            try:
                target.send_multipart(self.pending[index], flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                continue  # full: kept, and its source is not read until it is sent
            del self.pending[index]


def main(argv: list[str] | None = None) -> int:
    spec = RelaySpec(**json.loads((argv or sys.argv[1:])[0]))
    return Relay(spec).serve()


if __name__ == "__main__":
    sys.exit(main())
