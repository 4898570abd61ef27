"""Course data read with its checksum: a data file that changed since the suite was written is never used.

Data sets live under ``data/`` (mounted read-only into kernels) or, for hidden splits, beside the suite
under ``assignments/<id>/hidden/data/``; each is built by a script kept next to it and its sha256 is
written where it is read. `read_verified` is what a hidden suite or a reference calls to read one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .assignment import CourseError


def read_verified(path: str | Path, sha256: str) -> bytes:
    """The bytes of ``path``, after checking that their sha256 is ``sha256``; `CourseError` naming the fix if not."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CourseError(f"{path}: cannot read this data file ({exc.strerror}): build it with the script beside "
                          "it (see data/README.md) before grading") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.strip().lower():
        raise CourseError(f"{path}: its sha256 is {actual}, but the course expects {sha256}: the file changed "
                          "since the suite was written. Rebuild it with the script beside it (see data/README.md), "
                          "or, if the change is intended, write the new checksum where the file is read")
    return data
