"""What is this user's alone: private folders (the validate server's socket, the shared suite verdicts), and
the digest that identifies the autograder code a process runs (so nothing made by other code is trusted)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


class NotPrivate(PermissionError):
    """A folder that should be this user's alone is not (someone else owns it or may write or enter it)."""


def private_folder(folder: Path) -> Path:
    """``folder`` (and its parents), created 0700 if missing; `NotPrivate` unless it is a real folder of this
    user's that no one else may enter."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise NotPrivate(f"{folder} is not a folder only you (uid {os.getuid()}) can enter")
    return folder


def code_digest() -> str:
    """What identifies the autograder code a process runs: its Python and its package's files (names, sizes, times)."""
    entries = [sys.executable]
    for path in sorted(_PACKAGE.rglob("*.py")):
        info = path.stat()
        entries.append(f"{path.relative_to(_PACKAGE)}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()
