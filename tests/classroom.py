"""A real classroom hub for tests: `start_classroom` runs ``autograder hub start`` as a subprocess.

The hub runs with its real proxy, authenticator, spawner and grading service, on loopback, from a state
directory of the test's own. On exit every process it started is stopped (the hub stops its servers, services
and proxy) and every system user and group it created is removed. Each classroom gets a random user prefix
(``t<6 hex>-``), so tests running at once never share accounts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import websocket

from autograder.hub.accounts import PasswordStore, remove_recorded

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = REPO / "hub_config" / "roster.example.toml"
START_TIMEOUT_S = 300  # set-up releases every assignment of every course: minutes on a 2-core host
HUB_COMMAND = [sys.executable, "-c", "import sys; from autograder.cli.hub import main; sys.exit(main())"]


class ClassroomError(RuntimeError):
    """The classroom did not start; the message carries the launcher's output."""


@dataclass
class Classroom:
    """A running classroom hub: its URL, its people's issued passwords, and how to act as one of them."""

    url: str
    state_dir: Path
    user_prefix: str
    process: subprocess.Popen
    output_path: Path
    credentials: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str | None = None) -> requests.Session:
        """A browser-like session logged in through the hub's login form (raises if the login is refused)."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        response = session.post(f"{self.url}/hub/login", allow_redirects=False, timeout=60, data={
            "username": username, "password": self.credentials[username] if password is None else password,
            "_xsrf": session.cookies.get("_xsrf", "")})
        if response.status_code != 302:
            raise PermissionError(f"login of {username} refused: HTTP {response.status_code}")
        return session

    def token(self, session: requests.Session, username: str) -> str:
        """A hub API token of ``username``'s own, made through their logged-in session."""
        response = session.post(f"{self.url}/hub/api/users/{username}/tokens", json={"note": "test"}, timeout=30,
                                headers={"X-XSRFToken": session.cookies.get("_xsrf", "")})
        response.raise_for_status()
        return response.json()["token"]

    def start_server(self, username: str, token: str, timeout_s: float = 180) -> None:
        """Spawn ``username``'s server (as they would from the hub's home page) and wait until it is ready."""
        headers = {"Authorization": f"token {token}"}
        response = requests.post(f"{self.url}/hub/api/users/{username}/server", headers=headers, timeout=timeout_s)
        if response.status_code not in (201, 202, 400):  # 400: already running
            raise ClassroomError(f"spawning {username}'s server: HTTP {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            model = requests.get(f"{self.url}/hub/api/users/{username}", headers=headers, timeout=30).json()
            if model.get("servers", {}).get("", {}).get("ready"):
                return
            time.sleep(1)
        raise ClassroomError(f"{username}'s server was not ready within {timeout_s} s; hub log: "
                             f"{self.state_dir / 'jupyterhub.log'}")

    def server_api(self, username: str, token: str, method: str, path: str, **kwargs) -> requests.Response:
        """A request to ``username``'s server's REST API (``/user/<name>/api/...`` and its extensions)."""
        return requests.request(method, f"{self.url}/user/{username}/{path}", timeout=120,
                                headers={"Authorization": f"token {token}"}, **kwargs)

    def run_code(self, username: str, token: str, code: str, timeout_s: float = 120) -> str:
        """Run ``code`` in a new kernel of ``username``'s own server (the jupyter_server kernels API and its
        websocket, as the notebook page does), and return what it printed."""
        kernel = self.server_api(username, token, "POST", "api/kernels", json={"name": "python3"})
        kernel.raise_for_status()
        kernel_id = kernel.json()["id"]
        try:
            return _execute(f"{self.url.replace('http', 'ws', 1)}/user/{username}/api/kernels/{kernel_id}/channels",
                            token, code, timeout_s)
        finally:
            self.server_api(username, token, "DELETE", f"api/kernels/{kernel_id}")

    def system_user(self, username: str) -> str:
        return f"{self.user_prefix}{username}"

    def stop(self) -> int:
        """Ctrl-C to the launcher: it stops the hub, which stops every server, service and the proxy."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _execute(url: str, token: str, code: str, timeout_s: float) -> str:
    """One execute_request over a kernel's websocket; the stream output until the kernel is idle again."""
    connection = websocket.create_connection(url, header=[f"Authorization: token {token}"], timeout=timeout_s)
    try:
        msg_id = secrets.token_hex(8)
        connection.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": secrets.token_hex(8),
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        printed = []
        while True:
            message = json.loads(connection.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                printed.append("\n".join(message["content"]["traceback"]))
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                return "".join(printed)
    finally:
        connection.close()


def run_hub_command(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    """``autograder hub ARGS`` to its end (for the refusals: a bad roster, a port in use...)."""
    return subprocess.run([*HUB_COMMAND, *args], capture_output=True, text=True, timeout=timeout_s, cwd=REPO)


def _wait_open(process: subprocess.Popen, output_path: Path, timeout_s: float) -> str:
    """The classroom's URL, once the launcher says it is open."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = output_path.read_text(errors="replace")
        opened = re.search(r"The classroom is open at (\S+?)/ ", text)
        if opened:
            return opened.group(1)
        if process.poll() is not None:
            raise ClassroomError(f"`autograder hub start` exited with {process.returncode}:\n{text}")
        time.sleep(0.5)
    raise ClassroomError(f"the classroom did not open within {timeout_s} s:\n{output_path.read_text()}")


@contextmanager
def start_classroom(state_dir: Path, roster: Path = EXAMPLE_ROSTER, port: int = 18000,
                    user_prefix: str | None = None) -> Iterator[Classroom]:
    """A running classroom from ``roster`` with its state in ``state_dir``, stopped and its accounts removed on
    exit."""
    prefix = user_prefix or f"t{secrets.token_hex(3)}-"
    state_dir.mkdir(parents=True, exist_ok=True)
    output_path = state_dir.parent / f"{state_dir.name}.launcher.log"
    with open(output_path, "w") as output:
        process = subprocess.Popen(
            [*HUB_COMMAND, "start", "--roster", str(roster), "--state-dir", str(state_dir), "--port", str(port),
             "--user-prefix", prefix], stdout=output, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    classroom = Classroom(url="", state_dir=state_dir, user_prefix=prefix, process=process, output_path=output_path)
    try:
        classroom.url = _wait_open(process, output_path, START_TIMEOUT_S)
        classroom.credentials = PasswordStore(state_dir).credentials()
        yield classroom
    finally:
        classroom.stop()
        left = leftover_processes(state_dir)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        remove_recorded(state_dir)
    if left:
        raise ClassroomError(f"stopping the classroom left processes running (killed now): {left}")


def leftover_processes(state_dir: Path) -> dict[int, str]:
    """Processes still working in the classroom's state directory (the hub, its proxy and services run there,
    each server in its home): pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if Path(cwd).is_relative_to(state_dir.resolve()) or str(state_dir.resolve()) in argv:
            found[int(entry.name)] = argv[:200]
    return found
