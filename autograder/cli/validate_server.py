"""The warm validate server: a student's quick checks answered by a process whose zygote stays warm.

``autograder validate`` as root (where kernels start warm, `sandbox.warm`) asks this server, one per user:
it runs the check exactly as the command would (`student.public_checks`), in a kernel forked from its
zygote, so torch and the course's packages are imported once for all of a user's checks instead of once per
check, and the command itself imports none of them. A check is then answered in well under a second.

- **Started by the first check that finds none.** That check runs cold in its own process as before, while
  the server starts beside it and warms up on the same notebook; the next check is warm.
- **Gone after `IDLE_EXIT_S` without a request**, on ``autograder validate --stop``, or when the autograder
  code it runs changed (each request carries a digest of the package's files; a server of other code
  answers "restart" and exits, and the check runs cold).
- **Only its own user.** Its socket lives in a folder only that user may enter (``$XDG_RUNTIME_DIR``, else
  ``/tmp/autograder-validate-<uid>``, or ``$AUTOGRADER_VALIDATE_SERVER_DIR``): a folder someone else owns
  or may write is refused, and the check runs cold. Each side checks the other's user id (``SO_PEERCRED``).
- **Nothing rests on it.** A server that is missing, dead, refused or broken costs a cold check, never a
  wrong one: the kernel it starts is confined exactly like the command's own.

``python -m autograder.cli.validate_server FOLDER [NOTEBOOK ROOT]`` is the server (NOTEBOOK: the warm-up).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import private
from ..private import code_digest

log = logging.getLogger(__name__)

FOLDER_ENV = "AUTOGRADER_VALIDATE_SERVER_DIR"  # where the server's socket lives, instead of the default
IDLE_EXIT_S = 600  # a server with no request for this long exits (its zygote holds a few hundred MiB)
ANSWER_TIMEOUT_S = 900  # longer than any check's own limits: a server that takes longer is hung, the check runs cold
SOCKET_NAME, LOCK_NAME, LOG_NAME = "server.sock", "server.lock", "server.log"
_REQUEST_BYTES = 64 * 1024  # a request is two paths and a digest
_ANSWER_BYTES = 16 * 1024 * 1024  # an answer is the check's report: a line per cell, errors cut short


class ServerRefused(RuntimeError):
    """The server's folder or its process is not this user's alone: the check runs cold (the message says why)."""


class CheckFailed(RuntimeError):
    """The server ran the check and it ended in an error that is the user's to fix (an unreadable notebook...)."""


def server_folder() -> Path:
    """This user's server folder, created private if missing; `ServerRefused` if anyone else could reach into it."""
    configured = os.environ.get(FOLDER_ENV)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if configured:
        folder = Path(configured)
    elif runtime and Path(runtime).is_dir():
        folder = Path(runtime) / "autograder"
    else:
        folder = Path(tempfile.gettempdir()) / f"autograder-validate-{os.getuid()}"
    return private_folder(folder)


def private_folder(folder: Path) -> Path:
    """``folder``, created 0700 if missing; `ServerRefused` unless it is a real folder of this user's alone."""
    try:
        return private.private_folder(folder)
    except private.NotPrivate as exc:
        raise ServerRefused(f"{exc}: the warm validate server is not used; remove it, or set ${FOLDER_ENV} to a "
                            "private folder") from None


def peer_uid(connection: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (the kernel says, not the peer)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


def send_json(connection: socket.socket, message: dict[str, Any]) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")


def receive_json(connection: socket.socket, limit: int) -> dict[str, Any] | None:
    """One JSON line from the other side; None if it closed first, or sent more than ``limit`` bytes or no object."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk or len(data) + len(chunk) > limit:
            return None
        data += chunk
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


# ------------------------------------------------------------------ the command's side


def ask(notebook: Path, root: Path) -> tuple[list[str], int] | None:
    """The server's report of ``notebook``'s public checks and the exit code; None: check cold here (said why).

    With no server running, one is started (warming up on this notebook) and None returned. `CheckFailed`
    carries an error the user must fix, found by the server.
    """
    try:
        folder = server_folder()
        connection = _connect(folder)
    except ServerRefused as exc:
        log.warning("%s", exc)
        return None
    if connection is None:
        _start_server(folder, notebook, root)
        return None
    with connection:
        connection.settimeout(ANSWER_TIMEOUT_S)
        try:
            send_json(connection, {"notebook": str(notebook), "root": str(root), "code": code_digest()})
            answer = receive_json(connection, _ANSWER_BYTES) or {"failed": "the server closed the connection"}
        except OSError as exc:  # it died or hangs: this check runs cold, and the next finds it gone or starts one
            answer = {"failed": f"{type(exc).__name__}: {exc}"}
    if "error" in answer:
        raise CheckFailed(str(answer["error"]))
    if answer.get("restart"):
        log.info("the warm validate server ran other autograder code: it exits, the next check starts a new one")
        return None
    if "lines" not in answer:
        log.warning("the warm validate server could not check the notebook (%s): checking it here",
                    answer.get("failed", "no report"))
        return None
    return [str(line) for line in answer["lines"]], int(answer["code"])


def stop_server() -> bool:
    """Stop this user's server; whether one was running."""
    try:
        connection = _connect(server_folder())
    except ServerRefused:
        return False
    if connection is None:
        return False
    with connection, contextlib.suppress(OSError):  # one that dies on its own way out is stopped too
        connection.settimeout(30)
        send_json(connection, {"stop": True})
        receive_json(connection, _REQUEST_BYTES)
    return True


def _connect(folder: Path) -> socket.socket | None:
    """A connection to the server in ``folder``; None when none listens there. `ServerRefused`: not our user's."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(folder / SOCKET_NAME))
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return None
    if peer_uid(connection) != os.getuid():
        connection.close()
        raise ServerRefused(f"the validate server at {folder / SOCKET_NAME} runs as another user: not used")
    return connection


def _start_server(folder: Path, notebook: Path, root: Path) -> None:
    """The server, detached from this command (its own session), warming up on ``notebook``; its log in the folder."""
    with open(folder / LOG_NAME, "ab") as server_log:
        command = [sys.executable, "-m", "autograder.cli.validate_server", str(folder), str(notebook), str(root)]
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log, cwd="/",
                         start_new_session=True)


# ------------------------------------------------------------------ the server's side


def serve(folder: Path, warm_up: tuple[Path, Path] | None = None, idle_exit_s: float = IDLE_EXIT_S) -> int:
    """Answer this user's checks until idle, stopped or outdated; 0 at once when another server holds the folder."""
    with open(folder / LOCK_NAME, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another check started one first
        path = folder / SOCKET_NAME
        path.unlink(missing_ok=True)  # a server killed before it could clean up left it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(8)  # bound before the slow imports below: a check that comes meanwhile waits, warm soon
        try:
            _answer_until_done(listener, _code_and_checks(), warm_up, idle_exit_s)
        finally:
            path.unlink(missing_ok=True)
            listener.close()
    return 0


def _code_and_checks() -> tuple[str, Any]:
    """The code's digest and the check, with what the check needs imported now, once for the server's life."""
    for module in ("autograder.course.assignment", "autograder.sandbox.kernel"):  # nbformat's schemas; torch
        importlib.import_module(module)

    from .student import public_checks

    return code_digest(), public_checks


def _answer_until_done(listener: socket.socket, code_and_checks: tuple[str, Any], warm_up: tuple[Path, Path] | None,
                       idle_exit_s: float) -> None:
    digest, public_checks = code_and_checks
    if warm_up is not None:
        try:
            public_checks(*warm_up, warm=True)
        except Exception as exc:  # the check that started it reports its own errors
            log.info("warm-up: %s", exc)
    listener.settimeout(idle_exit_s)
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            log.info("no check for %g s: exiting", idle_exit_s)
            return
        with connection:
            connection.settimeout(30)  # for the request; the check itself takes what its limits allow
            try:
                if peer_uid(connection) != os.getuid():
                    continue
                request = receive_json(connection, _REQUEST_BYTES)
                if request is None:
                    continue
                if request.get("stop"):
                    send_json(connection, {"stopped": True})
                    return
                if request.get("code") != digest:
                    send_json(connection, {"restart": True})
                    return
                send_json(connection, _check(public_checks, request))
            except OSError as exc:  # the command went away mid-answer: the next one is served as usual
                log.info("a check's connection: %s", exc)


def _check(public_checks: Any, request: dict[str, Any]) -> dict[str, Any]:
    from . import _course_error

    started = time.monotonic()
    try:
        lines, code = public_checks(Path(str(request.get("notebook"))), Path(str(request.get("root"))), warm=True)
    except Exception as exc:
        if _course_error(exc):
            return {"error": str(exc)}
        log.exception("check of %s", request.get("notebook"))
        return {"failed": f"{type(exc).__name__}: {exc}"}
    log.info("checked %s in %.2f s", request.get("notebook"), time.monotonic() - started)
    return {"lines": lines, "code": code}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    folder = server_folder() if not args else private_folder(Path(args[0]))
    warm_up = (Path(args[1]), Path(args[2])) if len(args) >= 3 else None
    return serve(folder, warm_up)


if __name__ == "__main__":
    sys.exit(main())
