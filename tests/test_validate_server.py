"""The warm validate server: the same report as a cold check, its own user only, gone when asked or outdated."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.cli import validate_server
from autograder.course.samples import fill_solutions
from autograder.sandbox.warm import warm_enabled
from autograder.selftest.cases import TOY_ROOT

from .conftest import CORRECT_TOY

AUTOGRADER = str(Path(sys.executable).with_name("autograder"))
pytestmark = pytest.mark.skipif(not warm_enabled(), reason="the server serves where kernels start warm (root, bwrap)")


def validate(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, validate_server.FOLDER_ENV: str(folder)}
    return subprocess.run([AUTOGRADER, "validate", "--course-root", str(TOY_ROOT), *args], env=env,
                          capture_output=True, text=True, timeout=300)


def server_running(folder: Path) -> bool:
    """Whether a server holds the folder's lock (it does for as long as it lives)."""
    with open(folder / validate_server.LOCK_NAME, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def wait_until_warm(folder: Path, notebook: Path) -> None:
    """Until the server answered a check of ``notebook`` (its warm-up done), or 120 s."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (folder / validate_server.SOCKET_NAME).exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"no validate server came up: {(folder / validate_server.LOG_NAME).read_text()}")


@pytest.fixture
def folder(monkeypatch):
    """A server folder in /tmp itself, so that another user could reach a socket in it if the folder allowed."""
    folder = Path(tempfile.mkdtemp(prefix="validate-server-test-"))
    yield folder
    monkeypatch.setenv(validate_server.FOLDER_ENV, str(folder))
    validate_server.stop_server()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def notebook(toy_release: Path, tmp_path: Path) -> Path:
    path = tmp_path / "toy.ipynb"
    nbformat.write(fill_solutions(toy_release, {"double": CORRECT_TOY["double"]}), path)
    return path


@pytest.mark.slow
def test_the_server_answers_with_the_cold_checks_report_and_stops_when_asked(folder, notebook, tmp_path):
    first = validate(folder, str(notebook))  # no server yet: checked cold here, one started beside it
    assert first.returncode == 1, first.stdout + first.stderr
    wait_until_warm(folder, notebook)
    warm = validate(folder, str(notebook))
    cold = validate(folder, "--cold", str(notebook))
    assert warm.returncode == cold.returncode == 1
    assert warm.stdout == cold.stdout == first.stdout
    assert "PASS  test_double" in warm.stdout and "1 of 2 public checks passed" in warm.stdout
    assert f"checked {notebook}" in (folder / validate_server.LOG_NAME).read_text()  # the server answered

    damaged = tmp_path / "toy_damaged" / "toy.ipynb"
    damaged.parent.mkdir()
    damaged.write_text("{not json")
    said = validate(folder, str(damaged))
    assert said.returncode == 2 and "toy.ipynb: not a readable notebook" in said.stdout
    assert server_running(folder)  # a damaged notebook does not take the server down

    stopped = validate(folder, "--stop")
    assert stopped.returncode == 0 and "stopped the warm validate server" in stopped.stdout
    deadline = time.monotonic() + 10
    while server_running(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server_running(folder) and not (folder / validate_server.SOCKET_NAME).exists()
    assert "no warm validate server was running" in validate(folder, "--stop").stdout


def test_a_folder_another_user_owns_or_may_write_is_refused(tmp_path, monkeypatch):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    for folder in (theirs, shared):
        monkeypatch.setenv(validate_server.FOLDER_ENV, str(folder))
        with pytest.raises(validate_server.ServerRefused, match="is not a folder only you"):
            validate_server.server_folder()
        assert validate_server.ask(tmp_path / "toy.ipynb", TOY_ROOT) is None  # checked cold instead
        assert not (folder / validate_server.SOCKET_NAME).exists()


def test_the_server_answers_no_other_user_and_no_other_code(folder, notebook):
    server = subprocess.Popen([sys.executable, "-m", "autograder.cli.validate_server", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_warm(folder, notebook)
        # Another user who could reach the socket (here: made reachable on purpose) gets no answer.
        folder.chmod(0o755)
        (folder / validate_server.SOCKET_NAME).chmod(0o666)
        probe = ("import json, socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
                 "print('connected', flush=True)\ntry:\n"
                 "    s.sendall(json.dumps({'stop': True}).encode() + b'\\n')\n"
                 "    print(repr(s.recv(100)) or 'closed')\n"
                 "except (BrokenPipeError, ConnectionResetError):\n    print('closed')\n")
        # The system's Python: nobody may not enter this checkout's venv (a fresh clone's folder is 0700).
        nobody = subprocess.run(["/usr/bin/python3", "-c", probe, str(folder / validate_server.SOCKET_NAME)],
                                user=65534, group=65534, capture_output=True, text=True, timeout=60)
        assert nobody.stdout.split() in (["connected", "closed"], ["connected", "b''"]), nobody.stdout + nobody.stderr
        assert server.poll() is None  # its "stop" was not obeyed
        folder.chmod(0o700)
        # A command of other autograder code than the server's is told to start afresh, and the server exits.
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(str(folder / validate_server.SOCKET_NAME))
            validate_server.send_json(connection, {"notebook": str(notebook), "root": str(TOY_ROOT), "code": "old"})
            assert validate_server.receive_json(connection, 1000) == {"restart": True}
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.wait()
