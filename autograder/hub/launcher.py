"""The hub process: its configuration, its start and stop, and changes to it while it runs.

- `configure_hub`: the JupyterHub configuration (``hub_config/jupyterhub_config.py`` calls it): the roster's
  authenticator, the sandboxed spawner, the groups by nbgrader's conventions, the grading service, SQLite and
  the proxy in the state directory, loopback by default;
- `run_hub`: refuses what would fail (not root, a bad roster, no proxy, a port in use), prepares the classroom
  (`.classroom.prepare`), starts JupyterHub with its proxy, servers and services, prints how to log in, and
  stops all of them on Ctrl-C or SIGTERM;
- `sync_running_hub`: a changed roster (people, courses) applied to a running hub through its REST API, with
  the hub's own admin service token: no restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sandbox.confine import bwrap_binary
from . import HUB_CONFIG_DIR
from .accounts import PasswordStore, recorded_prefix
from .classroom import HubError, HubState, prepare
from .roster import Roster, load_roster
from .service import service_spec

PROXY = HUB_CONFIG_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
ADMIN_SERVICE = "classroom-admin"
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise HubError(f"port {port} on {host} is in use ({exc.strerror}): stop what listens there (another "
                           f"hub?) or pick another port with `autograder hub start --port N`") from None


def check_can_start(host: str, port: int) -> None:
    """Refuse, in one line with the fix, what would make the hub fail half-way."""
    if os.geteuid() != 0:
        raise HubError("the classroom hub must start as root: it creates a system user per person and runs each "
                       "person's server as that user. Run it as root (sudo .venv/bin/autograder hub start)")
    if not os.access(PROXY, os.X_OK):
        raise HubError(f"JupyterHub's proxy is not installed ({PROXY} is missing): run `make setup`, which "
                       "installs it from the npm registry")
    if bwrap_binary() is None:
        raise HubError("bubblewrap (bwrap) does not work on this host, so people's servers cannot be isolated: "
                       "apt-get install bubblewrap")
    check_port(host, port)


def _running(pid_file: Path, name: str) -> int | None:
    """The pid in ``pid_file`` when that process is alive and its command line has ``name``."""
    try:
        pid = int(pid_file.read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if name.encode() in argv else None


def check_left_running(state: HubState, log: Any) -> None:
    """After a hub that was killed (not stopped): refuse while its JupyterHub still runs; stop the proxy it
    left, which would hold the port (JupyterHub does the same when it starts)."""
    hub = _running(state.root / "jupyterhub.pid", "jupyterhub")
    if hub is not None:
        raise HubError(f"a JupyterHub of {state.root} is still running (pid {hub}): `kill -TERM {hub}` stops it "
                       "with every server, or use another --state-dir")
    left = {pid: "the proxy" for pid in [_running(state.root / "proxy.pid", "configurable-http-proxy")] if pid}
    # The grading service too: two of them would share one queue.
    needle = b"autograder.hub.service\0--roster\0"
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if needle in argv and f"--state-dir\0{state.root}\0".encode() in argv:
            left[int(entry.name)] = "the grading service"
    for pid, what in left.items():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        log(f"stopped {what} (pid {pid}) an earlier hub of {state.root} left running")
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in left):
        time.sleep(0.1)


@dataclass(frozen=True)
class LaunchSettings:
    """What the launcher hands to ``hub_config/jupyterhub_config.py`` (as AUTOGRADER_HUB_* variables)."""

    roster_path: Path
    state_dir: Path
    host: str
    port: int
    user_prefix: str
    hub_port: int
    proxy_api_port: int
    service_port: int

    def environment(self) -> dict[str, str]:
        return {"AUTOGRADER_HUB_SETTINGS": json.dumps({key: str(value) for key, value in self.__dict__.items()})}

    @classmethod
    def from_environment(cls) -> LaunchSettings:
        raw = os.environ.get("AUTOGRADER_HUB_SETTINGS")
        if raw is None:
            raise HubError("hub_config/jupyterhub_config.py is read by `autograder hub start`, which prepares the "
                           "accounts and courses first: start the hub with that command")
        values = json.loads(raw)
        return cls(roster_path=Path(values["roster_path"]), state_dir=Path(values["state_dir"]),
                   host=values["host"], port=int(values["port"]), user_prefix=values["user_prefix"],
                   hub_port=int(values["hub_port"]), proxy_api_port=int(values["proxy_api_port"]),
                   service_port=int(values["service_port"]))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def configure_hub(c: Any, settings: LaunchSettings) -> None:
    """Fill JupyterHub's config object ``c`` for the classroom described by ``settings``."""
    from .authenticator import RosterAuthenticator
    from .spawner import SandboxedSpawner

    state = HubState(settings.state_dir)
    roster = load_roster(settings.roster_path, user_prefix=settings.user_prefix)
    c.JupyterHub.ip = settings.host
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state.root / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state.root / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state.root / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server
    c.ConfigurableHTTPProxy.command = [str(PROXY)]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = state.secret("proxy_token")
    c.ConfigurableHTTPProxy.pid_file = str(state.root / "proxy.pid")

    c.JupyterHub.authenticator_class = RosterAuthenticator
    c.RosterAuthenticator.state_dir = str(state.root)
    c.Authenticator.admin_users = set()  # nobody is a hub admin: instructors are staff of their courses only

    c.JupyterHub.spawner_class = SandboxedSpawner
    c.SandboxedSpawner.roster_path = str(settings.roster_path)
    c.SandboxedSpawner.state_dir = str(state.root)
    c.SandboxedSpawner.user_prefix = settings.user_prefix
    c.SandboxedSpawner.python = sys.executable
    c.Spawner.start_timeout = 120  # a 2-core host starting several servers at once
    c.Spawner.http_timeout = 90
    c.Spawner.default_url = "/lab"

    c.JupyterHub.load_groups = {name: {"users": members} for name, members in roster.groups().items()}
    token_scopes = ["access:servers!server", "users:activity!user", "read:users:name!user",
                    "read:users:groups!user"]  # nbgrader's JupyterHubAuthPlugin reads the user's own groups
    user_scopes = ["self"]
    services: list[dict] = [{"name": ADMIN_SERVICE, "api_token": state.secret("admin_token")}]
    roles: list[dict] = [{"name": ADMIN_SERVICE, "services": [ADMIN_SERVICE],
                          "scopes": ["admin:users", "admin:groups", "list:users", "read:users", "list:groups",
                                     "read:groups"]}]
    grading = service_spec(settings.roster_path, settings.state_dir, settings.service_port, settings.user_prefix)
    services.append(grading)
    # Everyone's requests reach the service; the service decides per endpoint who may do what.
    user_scopes.append(f"access:services!service={grading['name']}")
    token_scopes.append(f"access:services!service={grading['name']}")
    c.SandboxedSpawner.grading_service_url = f"{settings.url}/services/{grading['name']}/"
    roles.append({"name": "user", "scopes": user_scopes})
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    c.Spawner.server_token_scopes = token_scopes


def _api(settings_url: str, token: str, method: str, path: str, body: dict | None = None) -> Any:
    request = urllib.request.Request(f"{settings_url}/hub/api{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def sync_groups(url: str, token: str, roster: Roster) -> None:
    """Make the running hub's users and groups what the roster says: missing ones added, stale members removed."""
    users = {user["name"] for user in _api(url, token, "GET", "/users?limit=10000")}
    missing = sorted(set(roster.people) - users)
    if missing:
        _api(url, token, "POST", "/users", {"usernames": missing})
    groups = {group["name"]: set(group["users"]) for group in _api(url, token, "GET", "/groups?limit=10000")}
    for name, members in roster.groups().items():
        if name not in groups:
            _api(url, token, "POST", f"/groups/{name}", {"users": members})
            continue
        if set(members) - groups[name]:
            _api(url, token, "POST", f"/groups/{name}/users", {"users": sorted(set(members) - groups[name])})
        if groups[name] - set(members):
            _api(url, token, "DELETE", f"/groups/{name}/users", {"users": sorted(groups[name] - set(members))})


def sync_running_hub(roster_path: Path, state_dir: Path, user_prefix: str | None = None) -> tuple[dict, bool]:
    """Apply a changed roster: accounts, passwords, new courses released, and the running hub's groups.

    Returns the new passwords and whether a running hub was updated (else it applies at the next start).
    """
    roster = load_roster(roster_path, user_prefix=user_prefix or recorded_prefix(state_dir.resolve()))
    state = HubState(state_dir.resolve())
    new = prepare(roster, state)
    if not state.running_path.is_file():
        return new, False
    running = json.loads(state.running_path.read_text())
    try:
        sync_groups(running["url"], state.secret("admin_token"), roster)
    except (urllib.error.URLError, OSError):
        return new, False
    return new, True


class HubProcess:
    """JupyterHub run as a child process, its log in the state directory."""

    def __init__(self, settings: LaunchSettings) -> None:
        self.settings = settings
        self.log_path = settings.state_dir / "jupyterhub.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, **self.settings.environment()}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(HUB_CONFIG_DIR / "jupyterhub_config.py")],
                cwd=self.settings.state_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubError(f"JupyterHub stopped while starting (exit {self.process.returncode}); the end of its "
                               f"log ({self.log_path}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.settings.url}/hub/api", timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise HubError(f"JupyterHub did not answer on {self.settings.url} within {timeout_s:.0f} s; its log: "
                       f"{self.log_path}")

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM: JupyterHub stops every server, the services and the proxy, then exits."""
        if self.process is None or self.process.poll() is not None:
            return 0 if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def run_hub(roster_path: Path, state_dir: Path, *, host: str | None, port: int | None,
            user_prefix: str | None, log: Any = print) -> int:
    """Start the classroom and serve until Ctrl-C or SIGTERM; then stop everything it started."""
    started = time.monotonic()
    roster = load_roster(roster_path, user_prefix=user_prefix or recorded_prefix(state_dir.resolve()))
    host = host or roster.hub.host
    port = port or roster.hub.port
    state = HubState(state_dir.resolve())
    if os.geteuid() == 0:
        check_left_running(state, log)
    check_can_start(host, port)
    log(f"preparing the classroom in {state.root} (accounts, courses, releases)...")
    new = prepare(roster, state, log)
    log(f"prepared in {time.monotonic() - started:.0f} s; starting JupyterHub, its proxy and services...")
    settings = LaunchSettings(roster_path=roster_path.resolve(), state_dir=state.root, host=host, port=port,
                           user_prefix=roster.hub.user_prefix, hub_port=free_port(), proxy_api_port=free_port(),
                           service_port=free_port())
    hub = HubProcess(settings)
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, frame: stopping.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        hub.start()
        hub.wait_ready()
        sync_groups(settings.url, state.secret("admin_token"), roster)
        state.running_path.write_text(json.dumps({"url": settings.url, "pid": hub.process.pid}))
        log(login_message(settings, roster, state, new))
        log(f"(ready {time.monotonic() - started:.0f} s after the command started)")
        while not stopping and hub.process.poll() is None:
            time.sleep(0.5)
        if not stopping:
            raise HubError(f"JupyterHub stopped (exit {hub.process.returncode}); the end of its log "
                           f"({hub.log_path}):\n{hub.log_tail()}")
        log("stopping the classroom: every server, the services, the proxy and the hub...")
        return 0
    finally:
        hub.stop()
        state.running_path.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stopping:
            log("classroom stopped")


def login_message(settings: LaunchSettings, roster: Roster, state: HubState, new: dict[str, str]) -> str:
    lines = [f"The classroom is open at {settings.url}/ ({len(roster.people)} people, "
             f"courses: {', '.join(roster.courses)}).",
             "Log in with a roster username and the password issued for it: "
             f"{PasswordStore(state.root).credentials_path} (root only; `autograder hub users` prints it again)."]
    if new:
        lines.append("Passwords issued now (shown once here):")
        lines += [f"  {name:<16} {password}" for name, password in new.items()]
    lines.append("Ctrl-C stops the hub, every server and the grading service.")
    return "\n".join(lines)
