"""Each person's single-user server, run as their own system user in a filesystem of its own.

`SandboxedSpawner` is JupyterHub's `LocalProcessSpawner` with the server's command wrapped in bubblewrap,
started as root and dropped with ``setpriv`` to the person's uid (``ag-<name>``): the server sees the read-only
system and interpreter (`autograder.sandbox.confine`'s binds, so that an interpreter under root's home runs),
its own home at its real path, the nbgrader exchange and, for staff, their courses' course directories and
course trees; never the rest of the hub's state. It keeps the host's network, so the proxy reaches it on
loopback. Before each start it writes the person's nbgrader configuration into their ``~/.jupyter``, where
students submit through `PrivateSubmit`.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import sys
from collections.abc import Callable
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from nbgrader.exchange.default import ExchangeSubmit
from traitlets import Unicode, default

from ..gradebook.feedback import MATHJAX_FILE
from ..sandbox import confine
from ..sandbox.confine import bwrap_binary, python_binds, python_prefixes, system_binds, traversable_parents
from .classroom import HubState, course_rules_config
from .gpu import GpuAssignment, GpuPolicy
from .roster import CourseSettings, Roster, load_roster, staff_group, system_user

# The sandbox's system files and a few more a server's terminal wants; /etc/passwd and /etc/group are the
# server's own (`SandboxedSpawner.write_identity`), never the host's, which list every account of the classroom.
SYSTEM_FILES = (*(path for path in confine.SYSTEM_FILES if path not in ("/etc/passwd", "/etc/group")),
                "/etc/hosts", "/etc/resolv.conf", "/etc/shells")
STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.course_list": False}}}
STUDENT_LAB_CONFIG = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:course-list": True}}

NBGRADER_CONFIG = '''"""nbgrader configuration of {username}'s server, written by the classroom hub at each start."""
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = JupyterHubAuthPlugin
# The exchange's course folders belong to root and the course's staff group (set up by the hub).
c.CourseDirectory.groupshared = True
# Submissions readable by the course's staff only, not by other students who might learn their names.
c.ExchangeFactory.submit = "autograder.hub.spawner.PrivateSubmit"
'''
STAFF_CONFIG = '''
# Staff of {course_id}: the formgrader and `nbgrader` in a terminal work on its course directory; autograding goes
# to the hub's grading service (AUTOGRADER_GRADING_SERVICE), which owns the sandbox.{others}
from autograder.nbgrader_config import configure

c.CourseDirectory.root = {course_dir!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.source_directory = {source!r}
configure(c, course_root={course_root!r})
'''


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, leaving the submission to its student and the course's staff group (the inbound folder
    is setgid to it): nbgrader's own makes it readable, and its folder writable, by every user."""

    def set_perms(self, dest: str, fileperms: int, dirperms: int) -> None:
        super().set_perms(dest, fileperms & ~0o007, dirperms & ~0o007)

    def copy_files(self) -> None:
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o2770)


class SandboxedSpawner(LocalProcessSpawner):
    """A `LocalProcessSpawner` whose server runs under bubblewrap as the person's own system user."""

    roster_path = Unicode(help="The roster file (TOML): who is staff of which course.").tag(config=True)
    state_dir = Unicode(help="The hub's state directory: homes, exchange, course directories.").tag(config=True)
    user_prefix = Unicode("ag-", help="Prefix of the people's system user names.").tag(config=True)
    grading_service_url = Unicode(
        "", help="URL of the grading service through the proxy, given to staff servers as "
                 "AUTOGRADER_GRADING_SERVICE.").tag(config=True)
    python = Unicode(sys.executable, help="The interpreter (of a venv with jupyterhub and nbgrader) the servers "
                                          "and their kernels run.").tag(config=True)

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        return [str(Path(self.python).parent / "jupyterhub-singleuser")]

    @property
    def hub_state(self) -> HubState:
        return HubState(Path(self.state_dir))

    def roster(self) -> Roster:
        # Read at each start: `autograder hub sync` changes who is staff of what without a restart.
        return load_roster(Path(self.roster_path), user_prefix=self.user_prefix)

    def account(self) -> pwd.struct_passwd:
        return pwd.getpwnam(system_user(self.user_prefix, self.user.name))

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        """bwrap starts as root (it drops to the person's uid itself); files are shared with the group only."""
        def preexec() -> None:
            os.umask(0o007)
        return preexec

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        home = str(self.hub_state.home(self.user.name))
        env.update(USER=self.user.name, HOME=home, SHELL="/bin/bash",
                   PATH=f"{Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin", LANG="C.UTF-8",
                   PYTHONNOUSERSITE="1", JUPYTER_PATH=str(self.hub_state.share / "jupyter"))
        return env

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        roster = self.roster()
        if roster.staff_courses(self.user.name) and self.grading_service_url:
            env["AUTOGRADER_GRADING_SERVICE"] = self.grading_service_url
        env.update(self.gpu(roster).environment)
        return env

    def gpu(self, roster: Roster) -> GpuAssignment:
        """The GPU policy's assignment for this person (`autograder.hub.gpu`): none outside the GPU groups."""
        policy = GpuPolicy(parent=self, **({"gpu_groups": list(roster.hub.gpu_groups)} if roster.hub.gpu_groups
                                           else {}))
        return policy.assignment(self.user.name, roster.groups_of(self.user.name))

    async def start(self) -> tuple[str, int]:
        # The confinement is computed at each start (shell_cmd wraps the server's command line): roles and
        # courses may have changed since the last one.
        roster = self.roster()
        self.write_user_config(roster)
        self.shell_cmd = self.confinement(roster)
        return await super().start()

    def write_user_config(self, roster: Roster) -> None:
        account = self.account()
        config_dir = self.hub_state.home(self.user.name) / ".jupyter"
        config_dir.mkdir(exist_ok=True)
        text = NBGRADER_CONFIG.format(username=self.user.name, exchange=str(self.hub_state.exchange))
        courses = roster.staff_courses(self.user.name)
        if courses:
            text += self.staff_config(courses)
            (config_dir / "jupyter_server_config.json").unlink(missing_ok=True)
            (config_dir / "labconfig" / "page_config.json").unlink(missing_ok=True)
        else:
            (config_dir / "jupyter_server_config.json").write_text(json.dumps(STUDENT_SERVER_CONFIG, indent=1))
            (config_dir / "labconfig").mkdir(exist_ok=True)
            (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(STUDENT_LAB_CONFIG, indent=1))
        (config_dir / "nbgrader_config.py").write_text(text)
        for path in [config_dir, *config_dir.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)

    def staff_config(self, courses: list[CourseSettings]) -> str:
        course = courses[0]
        others = ""
        if len(courses) > 1:
            names = ", ".join(other.id for other in courses[1:])
            others = (f"\n# Also staff of {names}: nbgrader's formgrader serves one course per server; in a terminal, "
                      "`cd` into another course directory to work on it.")
        return STAFF_CONFIG.format(course_id=course.id, course_dir=str(self.course_dir_in_home(course.id)),
                                   source=str(course.course_root / "assignments" / "source"),
                                   course_root=str(course.course_root), others=others
                                   ) + course_rules_config(course, self.user_prefix)

    def course_dir_in_home(self, course_id: str) -> Path:
        """Where a staff server sees a course directory: under its home, the server's root, as the formgrader
        requires (it refuses a course directory outside the notebook server's root)."""
        return self.hub_state.home(self.user.name) / "courses" / course_id

    def write_identity(self, roster: Roster, account: pwd.struct_passwd) -> list[int]:
        """The server's own /etc/passwd and /etc/group: the person under their hub name (nbgrader takes the OS
        user name for the student id), and no list of the classroom's other accounts. Returns the person's
        group ids: their own and their courses' staff groups."""
        folder = self.hub_state.identity(self.user.name)
        folder.mkdir(parents=True, exist_ok=True)
        name, home = self.user.name, self.hub_state.home(self.user.name)
        (folder / "passwd").write_text(
            "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
            f"{name}:x:{account.pw_uid}:{account.pw_gid}:{name}:{home}:/bin/bash\n")
        staff = [grp.getgrnam(staff_group(self.user_prefix, course.id))
                 for course in roster.staff_courses(self.user.name)]
        (folder / "group").write_text("root:x:0:\nnogroup:x:65534:\n" + f"{name}:x:{account.pw_gid}:\n" + "".join(
            f"{group.gr_name}:x:{group.gr_gid}:{name}\n" for group in staff))
        return [account.pw_gid, *(group.gr_gid for group in staff)]

    def course_data(self, roster: Roster) -> Path | None:
        """The ``data/`` of the first of this person's courses whose tree has one (public: kernels read it)."""
        for course in roster.courses.values():
            if course.role(self.user.name) and (course.course_root / "data").is_dir():
                return course.course_root / "data"
        return None

    def confinement(self, roster: Roster) -> list[str]:
        """bwrap ... setpriv ... sh -c: the prefix LocalProcessSpawner puts before the server's command line."""
        bwrap = bwrap_binary()
        if bwrap is None:
            raise RuntimeError("bubblewrap (bwrap) does not work on this host: the classroom cannot isolate its "
                               "users' servers (apt-get install bubblewrap)")
        account = self.account()
        home = self.hub_state.home(self.user.name)
        python = Path(self.python)
        writable = [home, self.hub_state.exchange]
        # The kernelspec, and the autograder package (PrivateSubmit, and configure() for staff): public code.
        readable = [self.hub_state.share, Path(__file__).resolve().parents[1]]
        course_dirs = {}
        for course in roster.staff_courses(self.user.name):
            course_dirs[self.hub_state.course_dir(course.id)] = self.course_dir_in_home(course.id)
            readable += [course.course_root / part for part in ("assignments", "reference", "data")
                         if (course.course_root / part).is_dir()]
        if course_dirs:
            readable.append(MATHJAX_FILE)  # feedback generated in the formgrader renders its formulas offline
        devices = self.gpu(roster).device_nodes
        # /etc first, traversable: bwrap would make it 0700 and the server could not read /etc/passwd (nbgrader
        # asks who it runs as) nor /etc/ssl.
        args = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                "--perms", "0755", "--dir", "/etc", *system_binds(SYSTEM_FILES),
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
                *traversable_parents([*python_prefixes(python), *writable, *readable]),
                *python_binds(python)]
        for path in dict.fromkeys(readable):
            args += ["--ro-bind", str(path), str(path)]
        for path in writable:
            args += ["--bind", str(path), str(path)]
        for path, seen_at in course_dirs.items():
            with contextlib.suppress(OSError):
                seen_at.mkdir(parents=True)  # the mount point, in the person's own home
            args += ["--bind", str(path), str(seen_at)]
        data = self.course_data(roster)
        if data is not None:
            # Notebooks read the course's data sets at ~/data, as in the grading sandbox.
            with contextlib.suppress(OSError):
                (home / "data").mkdir()
            args += ["--ro-bind", str(data), str(home / "data")]
        for device in devices:
            args += ["--dev-bind", device, device]
        groups = self.write_identity(roster, account)
        for name in ("passwd", "group"):
            args += ["--ro-bind", str(self.hub_state.identity(self.user.name) / name), f"/etc/{name}"]
        args += ["--chdir", str(home), "--",
                 "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                 f"--groups={','.join(str(gid) for gid in groups)}",
                 "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
                 "/bin/sh", "-c"]
        return args
