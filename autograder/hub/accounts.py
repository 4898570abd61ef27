"""System accounts and issued passwords of the roster's people.

Each person gets a system user ``<prefix><name>`` (home under ``state/homes``, 0700, no login shell) and each
course a system group of its staff; `Accounts.sync` creates what is missing and sets each staff group's members.
Passwords are issued at set-up: random, kept as scrypt hashes in ``state/passwords.json`` (read by the
authenticator) and in clear only in ``state/credentials.txt`` (0600 root) for the instructor to hand out. A
person keeps their password across restarts; what was created is recorded so that `Accounts.remove` undoes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pwd
import secrets
import subprocess
import time
from pathlib import Path

from .roster import Roster, staff_group, system_user

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
PASSWORD_BYTES = 9  # 12 characters of URL-safe base64: easy to type, 72 bits


class AccountError(RuntimeError):
    """A system account could not be created or changed."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash; the comparison takes the same time whatever matches."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(bytes.fromhex(digest)))
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(computed, bytes.fromhex(digest))


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by root only from the first byte on."""
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


class PasswordStore:
    """``state/passwords.json`` (hashes) and ``state/credentials.txt`` (what was issued, for the instructor)."""

    def __init__(self, state_dir: Path) -> None:
        self.hashes_path = state_dir / "passwords.json"
        self.credentials_path = state_dir / "credentials.txt"

    def hashes(self) -> dict[str, str]:
        try:
            return json.loads(self.hashes_path.read_text())
        except FileNotFoundError:
            return {}

    def credentials(self) -> dict[str, str]:
        """username -> password as issued (the lines of credentials.txt)."""
        table = {}
        if self.credentials_path.is_file():
            for line in self.credentials_path.read_text().splitlines():
                if line and not line.startswith("#"):
                    name, _, password = line.partition(" ")
                    table[name] = password.strip()
        return table

    def verify(self, username: str, password: str) -> bool:
        stored = self.hashes().get(username)
        if stored is None:
            verify_password(password, hash_password("not a user"))  # same time for unknown names
            return False
        return verify_password(password, stored)

    def issue(self, usernames: list[str]) -> dict[str, str]:
        """Passwords for those of ``usernames`` without one; people no longer listed lose theirs.

        Returns the new ones (username -> password).
        """
        hashes, issued = self.hashes(), self.credentials()
        new = {name: secrets.token_urlsafe(PASSWORD_BYTES) for name in usernames if name not in hashes}
        hashes = {name: hashes.get(name) or hash_password(new[name]) for name in usernames}
        issued = {name: issued.get(name, new.get(name, "(issued earlier: reset it by deleting this line and the "
                                                         "person's entry in passwords.json)"))
                  for name in usernames}
        _write_private(self.hashes_path, json.dumps(hashes, indent=1, sort_keys=True))
        _write_private(self.credentials_path, "# username password (issued by `autograder hub start`; keep this "
                                              "file private)\n" + "".join(f"{n} {p}\n" for n, p in issued.items()))
        return new


def _run(argv: list[str]) -> None:
    """Run a shadow-utils command; retry while another process holds /etc/passwd's lock."""
    for attempt in range(20):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr:
            break
        time.sleep(0.2 * (attempt + 1))
    raise AccountError(f"`{' '.join(argv)}` failed: {done.stderr.strip() or done.returncode}")


def _group_exists(name: str) -> bool:
    return subprocess.run(["getent", "group", name], capture_output=True).returncode == 0


class Accounts:
    """The system users and groups of one hub state directory."""

    def __init__(self, roster: Roster, state_dir: Path) -> None:
        self.roster = roster
        self.prefix = roster.hub.user_prefix
        self.state_dir = state_dir
        self.record_path = state_dir / "accounts.json"

    def home(self, username: str) -> Path:
        return self.state_dir / "homes" / username

    def user(self, username: str) -> pwd.struct_passwd:
        return pwd.getpwnam(system_user(self.prefix, username))

    def sync(self) -> None:
        """Create the missing users, homes and staff groups; set each staff group's members from the roster."""
        record = self.record()
        if record.setdefault("prefix", self.prefix) != self.prefix:
            raise AccountError(f"the accounts of {self.state_dir} are named {record['prefix']}<name>, not "
                               f"{self.prefix}<name>: drop the other user prefix (or use another --state-dir)")
        (self.state_dir / "homes").mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir / "homes", 0o711)  # each person reaches their own home, lists no other
        for username in self.roster.people:
            name = system_user(self.prefix, username)
            home = self.home(username)
            try:
                pwd.getpwnam(name)
            except KeyError:
                _run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
                      "--user-group", "--comment", f"autograder hub user {username}", name])
                record["users"] = sorted({*record["users"], name})
                self.save(record)
            account = pwd.getpwnam(name)
            home.mkdir(exist_ok=True)
            os.chown(home, account.pw_uid, account.pw_gid)
            os.chmod(home, 0o700)
        for course in self.roster.courses.values():
            group = staff_group(self.prefix, course.id)
            if not _group_exists(group):
                _run(["groupadd", group])
                record["groups"] = sorted({*record["groups"], group})
                self.save(record)
            _run(["gpasswd", "--members", ",".join(system_user(self.prefix, n) for n in course.staff), group])

    def record(self) -> dict:
        try:
            return json.loads(self.record_path.read_text())
        except FileNotFoundError:
            return {"users": [], "groups": []}

    def save(self, record: dict) -> None:
        _write_private(self.record_path, json.dumps(record, indent=1))

    def remove(self) -> None:
        """Delete every system user and group this state directory created (their homes stay)."""
        remove_recorded(self.state_dir)


def remove_recorded(state_dir: Path) -> list[str]:
    """Delete the system users and groups recorded in ``state_dir/accounts.json``; returns what was removed."""
    path = state_dir / "accounts.json"
    if not path.is_file():
        return []
    record = json.loads(path.read_text())
    removed = []
    for name in record.get("users", []):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        _run(["userdel", name])
        removed.append(name)
    for group in record.get("groups", []):
        if _group_exists(group):
            _run(["groupdel", group])
            removed.append(group)
    _write_private(path, json.dumps({**record, "users": [], "groups": []}))
    return removed


def recorded_prefix(state_dir: Path) -> str | None:
    """The user prefix this state directory's accounts were created with, if any were."""
    try:
        return json.loads((state_dir / "accounts.json").read_text()).get("prefix")
    except OSError:  # none yet, or not root: the start refuses that next
        return None
