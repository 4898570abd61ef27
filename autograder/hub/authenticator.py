"""Who may log in to the classroom hub: the roster's people, with the passwords issued at set-up.

`RosterAuthenticator` checks a login against the scrypt hashes in the state directory (re-read at each login,
so `autograder hub sync` adds people without a restart) and lets in only people with an issued password. Hub
groups and roles are not its business: the hub's ``load_groups`` and the roster sync set them.
"""

from __future__ import annotations

from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from .accounts import PasswordStore


class RosterAuthenticator(Authenticator):
    """Username and the password issued by ``autograder hub start``; nobody outside the roster."""

    state_dir = Unicode(help="The hub's state directory, where the issued passwords' hashes are.").tag(config=True)

    def store(self) -> PasswordStore:
        return PasswordStore(Path(self.state_dir))

    async def authenticate(self, handler: object, data: dict[str, str]) -> str | None:
        username = self.normalize_username(str(data.get("username", "")).strip())
        password = str(data.get("password", ""))
        if self.store().verify(username, password):
            return username
        self.log.warning("Failed login for %r", username)
        return None

    def check_allowed(self, username: str, authentication: dict | None = None) -> bool:
        """Only people of the roster (those with an issued password) are allowed, whatever else is configured."""
        return username in self.store().hashes()
