"""What a submitted folder must be before anything reads it: checked first, refused with a reason.

Everything in a student's submission is the student's: its size, its files,
its links. `check_submission` runs before nbgrader or the grader reads a byte
of it, and `SubmissionRefused` says what was wrong and what to do.

Links are refused, whatever they point at. The grader and nbgrader run as
the instructor (often root) and would read through a symbolic link as them:
a submission whose notebook is a link to ``source/<assignment>/<assignment>.ipynb``
would be graded, and fed back, as the instructor's solution; a link to a
classmate's notebook, to ``reference/`` or to ``grading_results/.secret``
would hand the student someone else's work or the course's secrets. A hard
link is the same file under a second name, so it is refused too, as are
named pipes, sockets and device files (a read of one can block or never end).
The check walks the folder with ``lstat`` and directory file descriptors and
never follows a link, the submission folder itself and the folders between it
and the trusted root above it (``within``) included.

A check and a later read are two moments: a link planted in between would be
followed by anything that reads by path. So the readers here do not read by
path: `copy_submission` (what ``nbgrader collect`` copies with, see
`.exchange`) opens every folder and file with ``O_NOFOLLOW`` relative to its
already-opened parent and checks each open file with ``fstat`` (a regular
file with one name, the very inode that was checked), and
`SubmissionCheckingExporter` reads the notebook nbgrader autogrades the same
way.

Where autograding checks. Our own ``autograder grade`` calls
`check_submission` before it calls nbgrader at all (`.batch.grade_one`): a
refused submission gets a ``refused`` result and nbgrader never sees it.
``nbgrader autograde`` run directly needs a hook inside nbgrader, and the
Autograde converter offers few: the class itself is fixed (``AutogradeApp``
and ``NbGraderAPI`` both construct ``Autograde``), and its
``pre_convert_hook``, the only hook before the submission is copied to
``autograded/``, cannot refuse (nbgrader logs any exception it raises and goes
on). The earliest hook that can refuse one student and let the others be
graded is the converter's exporter (``c.Autograde.exporter_class``, set by
`.config.configure`): nbgrader asks it to read each submitted notebook, and
`SubmissionCheckingExporter` checks the submission folder first and raises
`SubmissionRefused`, which nbgrader reports as that student's error, removing
``autograded/<student>/<assignment>``, before the notebook is read or
anything is written from it. What it cannot prevent: nbgrader copies a
submission's other (non-notebook) files into ``autograded/`` just before, by
path, following links; that copy is removed by the same failure handling in
the same run, and nothing but nbgrader's own collect (refusing links, see
`.exchange`) or the instructor writes ``submitted/``.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fnmatch
import logging
import os
import shutil
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nbconvert.exporters import NotebookExporter
from nbconvert.exporters.exporter import ResourcesDict

MAX_SUBMISSION_BYTES = 25 * 2**20
MAX_DEPTH = 32  # folders nested deeper than this in a submission are refused, not walked
LINK_ADVICE = "submit your notebook file itself, not a link to it"
SPECIAL_ADVICE = "submit only your notebook and ordinary files and folders"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a named pipe swapped in after the lstat opens at once (and is then refused) instead of blocking.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 2**20


class SubmissionRefused(ValueError):
    """The submission cannot be graded as it is; the message tells the student what to fix."""


# ----------------------------------------------------------------- what is wrong with one entry


def _shown(path: str) -> str:
    return path if path.isprintable() else repr(path)


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a named pipe (fifo)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device file"), (stat.S_ISBLK, "a block device file")):
        if test(mode):
            return kind
    return "not an ordinary file or folder"


def _link_target(dir_fd: int, name: str) -> str:
    try:
        target = os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return "?"
    return _shown(target if len(target) <= 200 else target[:199] + "…")


def _problem(dir_fd: int, name: str, path: str, info: os.stat_result) -> str | None:
    """Why the entry ``name`` (``path`` in the submission) of an open folder is refused, or None."""
    if stat.S_ISLNK(info.st_mode):
        return f"{_shown(path)} is a symbolic link (to {_link_target(dir_fd, name)}): {LINK_ADVICE}"
    if stat.S_ISDIR(info.st_mode):
        return None
    if stat.S_ISREG(info.st_mode):
        if info.st_nlink > 1:
            return (f"{_shown(path)} is a hard link (a file with {info.st_nlink} names, some outside your "
                    f"submission): {LINK_ADVICE}")
        return None
    return f"{_shown(path)} is {_kind(info.st_mode)}: {SPECIAL_ADVICE}"


def _changed(path: str) -> SubmissionRefused:
    return SubmissionRefused(f"{_shown(path)} changed while it was being read (a link swapped in?): {LINK_ADVICE}")


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _open_child(dir_fd: int, name: str, path: str, info: os.stat_result, flags: int) -> tuple[int, os.stat_result]:
    """Open the entry ``name`` that lstat said was ``info``, without following a link; refuse if it is not that."""
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symbolic link now
            raise SubmissionRefused(f"{_shown(path)} is a symbolic link: {LINK_ADVICE}") from None
        if exc.errno in (errno.ENXIO, errno.ENOTDIR, errno.ENOENT, errno.EISDIR):
            raise _changed(path) from None
        raise
    opened = os.fstat(fd)  # never a link: O_NOFOLLOW refused those
    problem = _problem(dir_fd, name, path, opened)
    if problem or not _same(opened, info) or stat.S_IFMT(opened.st_mode) != stat.S_IFMT(info.st_mode):
        os.close(fd)
        raise SubmissionRefused(problem) if problem else _changed(path)
    return fd, opened


# ----------------------------------------------------------------- opening the submission folder


def _open_folder(folder: Path, within: Path | None) -> int | None:
    """An fd of ``folder``, every folder from ``within`` (trusted) down to it opened without following links.

    None when the folder does not exist (nothing to check: nbgrader reports a missing submission itself).
    """
    if within is not None:
        try:
            parts = folder.relative_to(within).parts
        except ValueError:
            within = None
    if within is None:
        base, parts = folder.parent, (folder.name,)
    try:
        fd = os.open(base if within is None else within, _DIR_FLAGS & ~os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    shown = ""
    try:
        for part in parts:
            shown = f"{shown}/{part}" if shown else part
            try:
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                os.close(fd)
                return None
            if stat.S_ISLNK(info.st_mode):
                raise SubmissionRefused(f"the submission folder {_shown(shown)} is a symbolic link "
                                        f"(to {_link_target(fd, part)}): {LINK_ADVICE}")
            if not stat.S_ISDIR(info.st_mode):
                raise SubmissionRefused(f"the submission {_shown(shown)} is {_kind(info.st_mode)}, not a folder: "
                                        f"{SPECIAL_ADVICE}")
            child, _ = _open_child(fd, part, shown, info, _DIR_FLAGS)
            os.close(fd)
            fd = child
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
    return fd


# ----------------------------------------------------------------- checking


def check_submission(folder: Path, *, within: Path | None = None,
                     max_notebook_bytes: int | None = MAX_SUBMISSION_BYTES) -> None:
    """Raise `SubmissionRefused` for a submission the grader must not read.

    ``folder`` is walked without following links: any symbolic link, hard link,
    named pipe, socket or device file in it (at any depth), or the folder
    itself being a link, refuses it; so does a notebook at its top over
    ``max_notebook_bytes``. ``within`` is a trusted folder above ``folder``
    (the course's ``submitted/``): every folder between the two must be a real
    folder too. A folder that does not exist passes (there is nothing to read).
    """
    fd = _open_folder(folder, within)
    if fd is None:
        return
    try:
        _check_dir(fd, "", 0, max_notebook_bytes)
    finally:
        os.close(fd)


def _entries(fd: int, rel: str, depth: int) -> Iterator[tuple[str, str, os.stat_result]]:
    """(name, path in the submission, lstat) of each entry of the open folder ``fd``, refused at the first problem."""
    if depth > MAX_DEPTH:
        raise SubmissionRefused(f"{_shown(rel)} is nested more than {MAX_DEPTH} folders deep: "
                                "submit your notebook and the few files it needs")
    for name in sorted(os.listdir(fd)):
        path = f"{rel}/{name}" if rel else name
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        problem = _problem(fd, name, path, info)
        if problem:
            raise SubmissionRefused(problem)
        yield name, path, info


def _check_dir(fd: int, rel: str, depth: int, max_notebook_bytes: int | None) -> None:
    for name, path, info in _entries(fd, rel, depth):
        if stat.S_ISDIR(info.st_mode):
            child, _ = _open_child(fd, name, path, info, _DIR_FLAGS)
            try:
                _check_dir(child, path, depth + 1, max_notebook_bytes)
            finally:
                os.close(child)
        elif depth == 0 and name.endswith(".ipynb") and max_notebook_bytes and info.st_size > max_notebook_bytes:
            raise SubmissionRefused(f"{_shown(name)} is {info.st_size // 2**20} MiB (limit "
                                    f"{max_notebook_bytes // 2**20} MiB): clear its outputs "
                                    "(Kernel > Restart & Clear Output) and submit again")


# ----------------------------------------------------------------- reading and copying without following links


def open_submitted_file(path: Path, *, within: Path | None = None) -> IO[str]:
    """``path`` opened for reading as text, refused unless it is a regular file with one name.

    Its folders from ``within`` down are opened without following links (see `check_submission`),
    then the file itself, so what is read is what was checked, whatever is planted meanwhile.
    """
    folder_fd = _open_folder(path.parent, within)
    if folder_fd is None:
        raise FileNotFoundError(errno.ENOENT, "no such submission folder", str(path.parent))
    try:
        info = os.stat(path.name, dir_fd=folder_fd, follow_symlinks=False)
        problem = _problem(folder_fd, path.name, path.name, info)
        if problem is None and stat.S_ISDIR(info.st_mode):
            problem = f"{_shown(path.name)} is a folder, not a notebook file: {SPECIAL_ADVICE}"
        if problem:
            raise SubmissionRefused(problem)
        fd, _ = _open_child(folder_fd, path.name, path.name, info, _FILE_FLAGS)
    finally:
        os.close(folder_fd)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "r", encoding="utf-8")


@dataclass
class _CopyState:
    exclude: Sequence[str]
    include: Sequence[str] | None
    max_file_bytes: int | None
    max_total_bytes: int | None
    log: logging.Logger | logging.LoggerAdapter | None
    total: int = 0


def copy_submission(src: Path, dest: Path, *, exclude: Sequence[str] = (), include: Sequence[str] | None = None,
                    max_file_bytes: int | None = None, max_total_bytes: int | None = None,
                    log: logging.Logger | logging.LoggerAdapter | None = None) -> None:
    """Copy the submission folder ``src`` to the new folder ``dest`` without following a single link.

    Every folder and file is opened with ``O_NOFOLLOW`` relative to its opened
    parent and checked with ``fstat`` before a byte is copied: a link, a hard
    link, a special file, or an entry that changed since it was listed (a
    link planted mid-copy) raises `SubmissionRefused` and leaves no ``dest``.
    As nbgrader's own copy: names matching ``exclude`` and files matching no
    ``include`` glob are left out, so are files over ``max_file_bytes`` (with a
    warning); a folder over ``max_total_bytes`` in all is refused. Modes and
    modification times are kept (without set-id bits).
    """
    state = _CopyState(exclude, include, max_file_bytes, max_total_bytes, log)
    fd = _open_folder(src, None)
    if fd is None:
        raise FileNotFoundError(errno.ENOENT, "no such submission folder", str(src))
    try:
        info = os.fstat(fd)
        os.mkdir(dest, 0o700)
        try:
            _copy_dir(fd, str(dest), "", 0, state)
            os.chmod(dest, stat.S_IMODE(info.st_mode) & 0o777 | 0o700)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    finally:
        os.close(fd)


def _copy_dir(fd: int, dest: str, rel: str, depth: int, state: _CopyState) -> None:
    for name, path, info in _entries(fd, rel, depth):
        if any(fnmatch.fnmatch(name, glob) for glob in state.exclude):
            if state.log:
                state.log.debug("Ignoring excluded file '%s' (see config option CourseDirectory.ignore)", path)
            continue
        target = os.path.join(dest, name)
        if stat.S_ISDIR(info.st_mode):
            child, opened = _open_child(fd, name, path, info, _DIR_FLAGS)
            try:
                os.mkdir(target, 0o700)
                _copy_dir(child, target, path, depth + 1, state)
                os.chmod(target, stat.S_IMODE(opened.st_mode) & 0o777 | 0o700)
                os.utime(target, ns=(opened.st_atime_ns, opened.st_mtime_ns), follow_symlinks=False)
            finally:
                os.close(child)
            continue
        if state.include is not None and not any(fnmatch.fnmatch(name, glob) for glob in state.include):
            if state.log:
                state.log.debug("Ignoring non included file '%s' (see config option CourseDirectory.include)", path)
            continue
        if state.max_file_bytes is not None and info.st_size > state.max_file_bytes:
            if state.log:
                state.log.warning("Ignoring file too large '%s' (see config option CourseDirectory.max_file_size)",
                                  path)
            continue
        _copy_file(fd, name, path, info, target, state)


def _copy_file(fd: int, name: str, path: str, info: os.stat_result, target: str, state: _CopyState) -> None:
    source, opened = _open_child(fd, name, path, info, _FILE_FLAGS)
    try:
        os.set_blocking(source, True)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while chunk := os.read(source, _CHUNK):
                state.total += len(chunk)
                if state.max_total_bytes is not None and state.total > state.max_total_bytes:
                    raise SubmissionRefused(f"the submission is over {state.max_total_bytes // 1000} kB "
                                            "(see nbgrader's CourseDirectory.max_dir_size): submit your notebook "
                                            "and the few files it needs")
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
            os.fchmod(out, stat.S_IMODE(opened.st_mode) & 0o777)
            os.utime(out, ns=(opened.st_atime_ns, opened.st_mtime_ns))
        finally:
            os.close(out)
        # Still the file opened, with one name: a rename over a hard link drops the link count before it swaps
        # the names, so a lookup racing with it can see the linked file with one name (a test once caught it).
        after = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not _same(after, opened) or after.st_nlink != 1:
            raise _changed(path)
    finally:
        os.close(source)


# ----------------------------------------------------------------- nbgrader autograde's reader


class SubmissionCheckingExporter(NotebookExporter):
    """nbgrader autograde's notebook reader: checks the submission folder, then reads without following links.

    Set as ``c.Autograde.exporter_class`` by `.config.configure` (why this hook:
    the module docstring). A refused submission raises `SubmissionRefused`,
    which nbgrader reports as that student's error, going on with the others.
    """

    def from_filename(self, filename: str, resources: dict[str, Any] | None = None,
                      **kw: Any) -> tuple[Any, dict[str, Any]]:
        path = Path(filename).absolute()
        submitted = self._submitted_root()
        info = (resources or {}).get("nbgrader") or {}
        if submitted is not None and info.get("student") and info.get("assignment"):
            coursedir = self.parent.coursedir  # type: ignore[union-attr]
            check_submission(Path(coursedir.format_path(coursedir.submitted_directory, info["student"],
                                                        info["assignment"])).absolute(), within=submitted)
        within = submitted if submitted is not None and path.is_relative_to(submitted) else None
        with open_submitted_file(path, within=within) as handle:
            if resources is None:
                resources = ResourcesDict()
            if not resources.get("metadata"):
                resources["metadata"] = ResourcesDict()
            modified = datetime.datetime.fromtimestamp(os.fstat(handle.fileno()).st_mtime, tz=datetime.UTC)
            resources["metadata"].update(name=path.stem, path=str(path.parent), modified_date=modified.strftime(
                "%B %d, %Y" if sys.platform == "win32" else "%B %-d, %Y"))
            return self.from_file(handle, resources=resources, **kw)

    def _submitted_root(self) -> Path | None:
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None:
            return None
        return Path(coursedir.format_path(coursedir.submitted_directory, ".", ".")).absolute()
