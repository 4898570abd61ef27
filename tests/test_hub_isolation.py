"""The classroom's isolation, tried as a student would: one real hub, real servers as each person's own uid.

One classroom is started for the whole module (a real JupyterHub, proxy, authenticator and sandboxed spawner).
Ana, ben and their instructor ines log in through the hub's login form and start their servers; ben fetches and
submits a01 through his server's nbgrader API. Then ana tries, from a kernel of her own server (what a notebook
cell can do) and with her own hub token, to reach what is not hers; each attempt must be refused, and the
same probes run by ines (staff) show that what a course's staff may reach is there. Each outcome is printed.
"""

from __future__ import annotations

import grp
import json
import pwd
import socket
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from autograder.hub.accounts import PasswordStore
from autograder.sandbox.confine import bwrap_binary, traversable_parents
from tests.classroom import REPO, Classroom, run_hub_command, start_classroom

pytestmark = pytest.mark.slow
PORT = 18010
ROSTER = f'''
[courses.dl101]
course_root = "{REPO}"
assignments = ["a01_gradient_descent"]
instructors = ["ines"]
graders = ["gus"]
students = ["ana", "ben"]

[courses.dl101-spring]
course_root = "{REPO}"
assignments = ["a01_gradient_descent"]
instructors = ["olga"]
students = ["ana"]
'''
PROBE = textwrap.dedent('''
    import json, os, urllib.error, urllib.request

    def attempt(action):
        try:
            return "allowed: " + repr(action())[:60]
        except urllib.error.HTTPError as exc:
            return f"refused: HTTP {exc.code}"
        except Exception as exc:
            return f"refused: {type(exc).__name__}"

    def hub(path):
        request = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + path,
                                         headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
        return json.load(urllib.request.urlopen(request, timeout=30))

    outcomes = {}
    for label, path in LISTS.items():
        outcomes[label] = attempt(lambda: sorted(os.listdir(path)))
    for label, path in READS.items():
        outcomes[label] = attempt(lambda: open(path, "rb").read(40))
    for label, path in WRITES.items():
        outcomes[label] = attempt(lambda: open(path, "ab").close())  # opened for writing, nothing written
    for label, path in HUB.items():
        outcomes[label] = attempt(lambda: hub(path))
    print(json.dumps(outcomes))
''')


class Attempts:
    """Everything the module's tests look at: the classroom, who is logged in, and the probes' outcomes."""

    def __init__(self, classroom: Classroom) -> None:
        self.classroom = classroom
        self.sessions = {name: classroom.login(name) for name in ("ana", "ben", "ines")}
        self.tokens = {name: classroom.token(session, name) for name, session in self.sessions.items()}
        for name in ("ben", "ana", "ines"):
            classroom.start_server(name, self.tokens[name])
        state = classroom.state_dir
        self.api("ben", "PUT", "api/contents/diary.txt",
                 json={"type": "file", "format": "text", "content": "ben's own notes"}).raise_for_status()
        for action in ("fetch", "submit"):
            self.api("ben", "POST", f"assignments/{action}", data={"course_id": "dl101",
                                                                   "assignment_id": "a01_gradient_descent"})
        submissions = sorted((state / "exchange" / "dl101" / "inbound").iterdir())
        assert [path.name.split("+")[0] for path in submissions] == ["ben"], submissions
        self.submission = submissions[0]
        self.paths = {
            "lists": {
                "ben's home": state / "homes" / "ben",
                "the exchange's inbound (all submissions)": state / "exchange" / "dl101" / "inbound",
                "ben's submission folder": self.submission,
                "the course directory": state / "courses" / "dl101",
                "the course directory where its staff see it (~/courses/dl101)":
                    state / "homes" / "{me}" / "courses" / "dl101",
                "the other course's directory": state / "courses" / "dl101-spring",
                "the hidden suites": REPO / "assignments" / "a01_gradient_descent" / "hidden",
                "the hub's state directory": state,
                "ana's home": state / "homes" / "ana",
                "the released assignments (exchange outbound)": state / "exchange" / "dl101" / "outbound",
                "the released feedback of everyone (exchange feedback)": state / "exchange" / "dl101" / "feedback",
            },
            "reads": {
                "ben's notes in his home": state / "homes" / "ben" / "diary.txt",
                "ben's submitted notebook": self.submission / "a01_gradient_descent.ipynb",
                "the gradebook (gradebook.db)": state / "courses" / "dl101" / "gradebook.db",
                "the gradebook where staff see it (~/courses/dl101/gradebook.db)":
                    state / "homes" / "{me}" / "courses" / "dl101" / "gradebook.db",
                "the course's secret seed (grading_results/.secret)":
                    state / "courses" / "dl101" / "grading_results" / ".secret",
                "the reference solution": REPO / "reference" / "a01_gradient_descent.py",
                "the issued passwords (credentials.txt)": state / "credentials.txt",
                "the password hashes (passwords.json)": state / "passwords.json",
            },
            "writes": {
                "write into the released notebook (exchange outbound)":
                    state / "exchange" / "dl101" / "outbound" / "a01_gradient_descent" / "a01_gradient_descent.ipynb",
                "plant a course of her own in the exchange": state / "exchange" / "fake-course",
                "write into the course's nbgrader_config.py": state / "courses" / "dl101" / "nbgrader_config.py",
                "write into the course's nbgrader_config.py where staff see it":
                    state / "homes" / "{me}" / "courses" / "dl101" / "nbgrader_config.py",
            },
            "hub": {
                "hub API: list users": "/users",
                "hub API: list groups": "/groups",
                "hub API: ben's model": "/users/ben",
                "hub API: her own model": "/users/{me}",
            },
        }

    def api(self, username: str, method: str, path: str, **kwargs) -> requests.Response:
        return self.classroom.server_api(username, self.tokens[username], method, path, **kwargs)

    def probe(self, username: str) -> dict[str, str]:
        """The probes run in a kernel of ``username``'s own server."""
        paths = self.paths
        code = (f"LISTS = {json.dumps({k: str(v).format(me=username) for k, v in paths['lists'].items()})}\n"
                f"READS = {json.dumps({k: str(v).format(me=username) for k, v in paths['reads'].items()})}\n"
                f"WRITES = {json.dumps({k: str(v).format(me=username) for k, v in paths['writes'].items()})}\n"
                f"HUB = {json.dumps({k: v.format(me=username) for k, v in paths['hub'].items()})}\n" + PROBE)
        printed = self.classroom.run_code(username, self.tokens[username], code)
        outcomes = json.loads(printed.strip().splitlines()[-1])
        print(f"\n{username}'s kernel (uid of {self.classroom.system_user(username)}):")
        for label, outcome in outcomes.items():
            print(f"  {label:<55} {outcome}")
        return outcomes


@pytest.fixture(scope="module")
def attempts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attempts]:
    folder = tmp_path_factory.mktemp("classroom")
    roster = folder / "roster.toml"
    roster.write_text(ROSTER)
    with start_classroom(folder / "state", roster, PORT) as classroom:
        yield Attempts(classroom)


STUDENT_REFUSED = ["ben's home", "the exchange's inbound (all submissions)", "ben's submission folder",
                   "the course directory", "the other course's directory", "the hidden suites",
                   "ben's notes in his home", "ben's submitted notebook",
                   "the gradebook (gradebook.db)", "the course's secret seed (grading_results/.secret)",
                   "the reference solution", "the issued passwords (credentials.txt)",
                   "the password hashes (passwords.json)", "hub API: list users", "hub API: list groups",
                   "hub API: ben's model", "the released feedback of everyone (exchange feedback)",
                   "write into the released notebook (exchange outbound)", "plant a course of her own in the exchange",
                   "write into the course's nbgrader_config.py", "the course directory where its staff see it "
                   "(~/courses/dl101)", "the gradebook where staff see it (~/courses/dl101/gradebook.db)",
                   "write into the course's nbgrader_config.py where staff see it"]


def test_a_student_reaches_nothing_of_another_student_nor_of_the_course_staff(attempts: Attempts) -> None:
    outcomes = attempts.probe("ana")
    refused = {label: outcomes[label] for label in STUDENT_REFUSED}
    assert all(outcome.startswith("refused") for outcome in refused.values()), refused
    # The state directory exists in her filesystem only as the skeleton of what is mounted for her.
    assert outcomes["the hub's state directory"] == "allowed: ['exchange', 'homes', 'share']"
    # What is hers: her home, the released assignments, and her own groups (nbgrader's course list reads them).
    assert outcomes["ana's home"].startswith("allowed")
    assert outcomes["the released assignments (exchange outbound)"] == "allowed: ['a01_gradient_descent']"
    assert outcomes["hub API: her own model"].startswith("allowed")


def test_the_course_staff_reach_their_course_and_nothing_else(attempts: Attempts) -> None:
    outcomes = attempts.probe("ines")
    # Her course directory is mounted in her home (the formgrader wants it under the server's root), nowhere else.
    for label in ("the course directory where its staff see it (~/courses/dl101)",
                  "the gradebook where staff see it (~/courses/dl101/gradebook.db)", "the hidden suites",
                  "the reference solution", "ben's submitted notebook", "ben's submission folder",
                  "the exchange's inbound (all submissions)", "the released feedback of everyone (exchange feedback)",
                  "write into the released notebook (exchange outbound)",
                  "write into the course's nbgrader_config.py where staff see it"):
        assert outcomes[label].startswith("allowed"), (label, outcomes[label])
    assert outcomes["the hub's state directory"] == "allowed: ['exchange', 'homes', 'share']"
    for label in ("ben's home", "ben's notes in his home", "the other course's directory", "the course directory",
                  "the issued passwords (credentials.txt)", "the password hashes (passwords.json)",
                  "the course's secret seed (grading_results/.secret)", "hub API: list users", "hub API: list groups",
                  "plant a course of her own in the exchange"):
        assert outcomes[label].startswith("refused"), (label, outcomes[label])


def test_each_server_runs_as_its_owners_own_system_user(attempts: Attempts) -> None:
    printed = attempts.classroom.run_code("ana", attempts.tokens["ana"], "import os, pwd\n"
                                          "print(os.getuid(), os.getgroups(), pwd.getpwuid(os.getuid()).pw_name)")
    uid, groups, name = printed.split()[0], printed.split("]")[0] + "]", printed.split()[-1]
    account = pwd.getpwnam(attempts.classroom.system_user("ana"))
    assert int(uid) == account.pw_uid != 0
    assert groups.split(" ", 1)[1] == f"[{account.pw_gid}]"  # her own group, no staff group
    assert name == "ana"  # her server's /etc/passwd names her as the hub does (nbgrader's student id)
    staff = attempts.classroom.run_code("ines", attempts.tokens["ines"], "import os; print(os.getgroups())")
    assert str(grp.getgrnam(f"{attempts.classroom.user_prefix.rstrip('-')}staff-dl101").gr_gid) in staff


def test_a_student_token_cannot_use_the_hub_api_beyond_herself(attempts: Attempts) -> None:
    url, token = attempts.classroom.url, attempts.tokens["ana"]
    headers = {"Authorization": f"token {token}"}
    tried = {
        "GET /hub/api/users": requests.get(f"{url}/hub/api/users", headers=headers, timeout=30),
        "GET /hub/api/groups": requests.get(f"{url}/hub/api/groups", headers=headers, timeout=30),
        "GET /hub/api/users/ben": requests.get(f"{url}/hub/api/users/ben", headers=headers, timeout=30),
        "POST /hub/api/users/ben/server": requests.post(f"{url}/hub/api/users/ben/server", headers=headers,
                                                         timeout=30),
        "GET /user/ben/api/contents (ana's token)": requests.get(f"{url}/user/ben/api/contents", headers=headers,
                                                                 timeout=30, allow_redirects=False),
        "GET /user/ines/api/contents (ana's token)": requests.get(f"{url}/user/ines/api/contents",
                                                                  headers=headers, timeout=30, allow_redirects=False),
    }
    print()
    for label, response in tried.items():
        print(f"  {label:<45} HTTP {response.status_code}")
    assert all(response.status_code in (403, 404) for response in tried.values()), \
        {label: response.status_code for label, response in tried.items()}


def test_a_student_cannot_open_another_server_nor_the_formgrader_in_the_browser(attempts: Attempts) -> None:
    session = attempts.sessions["ana"]
    url = attempts.classroom.url
    pages = {path: session.get(f"{url}{path}", timeout=60) for path in
             ("/user/ben/lab", "/user/ben/files/diary.txt", "/user/ines/formgrader", "/user/ines/formgrader/gradebook")}
    print()
    for path, response in pages.items():
        print(f"  ana opens {path:<35} HTTP {response.status_code} at {response.url.replace(url, '').split('?')[0]}")
    for path, response in pages.items():
        assert response.status_code == 403, (path, response.status_code, response.url)
        assert "ben's own notes" not in response.text and "Manage Assignments" not in response.text
    # The same session opens her own server: the refusals above are about whose server it is.
    own = session.get(f"{url}/user/ana/lab", timeout=60)
    assert own.status_code == 200 and own.url == f"{url}/user/ana/lab"


def test_the_instructor_reaches_her_formgrader(attempts: Attempts) -> None:
    response = attempts.sessions["ines"].get(f"{attempts.classroom.url}/user/ines/formgrader/manage_assignments",
                                             timeout=60)
    # nbgrader's error page is a 200 too ("the formgrader encountered an error"): the page must list the course's
    # released assignment.
    assert response.status_code == 200 and "encountered an error" not in response.text, response.text[-2000:]
    listed = attempts.sessions["ines"].get(f"{attempts.classroom.url}/user/ines/formgrader/api/assignments", timeout=60)
    assert "a01_gradient_descent" in [assignment["name"] for assignment in listed.json()], listed.text[:2000]


def test_a_student_enrolled_in_two_courses_sees_both_assignment_lists(attempts: Attempts) -> None:
    courses = attempts.api("ana", "GET", "courses").json()
    assert sorted(courses["value"]) == ["dl101", "dl101-spring"]
    for course in ("dl101", "dl101-spring"):
        listed = attempts.api("ana", "GET", "assignments", params={"course_id": course}).json()
        assert [entry["assignment_id"] for entry in listed["value"]] == ["a01_gradient_descent"], listed


def test_the_servers_offer_the_course_kernel(attempts: Attempts) -> None:
    specs = attempts.api("ana", "GET", "api/kernelspecs").json()
    assert specs["default"] == "python3"
    assert specs["kernelspecs"]["python3"]["spec"]["display_name"] == "Python 3 (deep learning course)"


def test_the_course_data_is_at_home_read_only(attempts: Attempts) -> None:
    printed = attempts.classroom.run_code("ana", attempts.tokens["ana"], textwrap.dedent('''
        import os
        from pathlib import Path
        print(sorted(p.name for p in (Path.home() / "data").iterdir() if p.is_dir()))
        try:
            (Path.home() / "data" / "mine.txt").write_text("x")
            print("written")
        except OSError as exc:
            print(type(exc).__name__)
    '''))
    listed, written = printed.strip().splitlines()
    assert listed == str(sorted(p.name for p in (REPO / "data").iterdir() if p.is_dir()))
    assert written in ("OSError", "PermissionError")


def test_a_wrong_password_is_refused(attempts: Attempts) -> None:
    with pytest.raises(PermissionError, match="login of ana refused"):
        attempts.classroom.login("ana", "not her password")
    with pytest.raises(PermissionError, match="login of mallory refused"):
        attempts.classroom.login("mallory", attempts.classroom.credentials["ana"])


def test_a_port_in_use_is_refused_with_its_message(attempts: Attempts) -> None:
    done = run_hub_command("start", "--roster", str(attempts.classroom.state_dir.parent / "roster.toml"),
                           "--state-dir", str(attempts.classroom.state_dir.parent / "second"), "--port", str(PORT))
    print(done.stdout)
    assert done.returncode == 2
    assert f"port {PORT} on 127.0.0.1 is in use" in done.stdout and "--port N" in done.stdout
    assert not (attempts.classroom.state_dir.parent / "second").exists()  # refused before preparing anything


def test_a_roster_with_errors_is_refused_with_its_messages(tmp_path: Path) -> None:
    roster = tmp_path / "roster.toml"
    roster.write_text(ROSTER.replace('"ben"]', '"Ben Smith"]').replace('graders = ["gus"]', 'graders = ["ana"]'))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_hub_command("start", "--roster", str(roster), "--state-dir", str(tmp_path / "state"),
                           "--port", str(port))
    print(done.stdout)
    assert done.returncode == 2
    assert f"error: {roster}: [courses.dl101] students: 'Ben Smith' is not a valid user name" in done.stdout
    assert "'ana' is also one of the graders: one role per course" in done.stdout
    assert not (tmp_path / "state").exists()


def test_a_course_added_while_the_hub_runs_needs_no_restart(attempts: Attempts) -> None:
    """Last in the module: it changes the roster. A new course dl102 (a new instructor, ben enrolled), synced
    into the running hub: pia logs in, ben's running server lists the new course, ana is not in it."""
    classroom = attempts.classroom
    roster = classroom.state_dir.parent / "roster.toml"
    roster.write_text(ROSTER + f'''
[courses.dl102]
course_root = "{REPO}"
assignments = ["a01_gradient_descent"]
instructors = ["pia"]
students = ["ben"]
''')
    done = run_hub_command("sync", "--roster", str(roster), "--state-dir", str(classroom.state_dir))
    print(done.stdout)
    assert done.returncode == 0, done.stdout
    assert "the running hub has the roster's people, courses and groups now" in done.stdout
    credentials = PasswordStore(classroom.state_dir).credentials()
    assert f"pia              {credentials['pia']}" in done.stdout  # issued now, printed once
    classroom.credentials = credentials
    classroom.login("pia")
    assert sorted(attempts.api("ben", "GET", "courses").json()["value"]) == ["dl101", "dl102"]
    listed = attempts.api("ben", "GET", "assignments", params={"course_id": "dl102"}).json()["value"]
    assert [entry["assignment_id"] for entry in listed] == ["a01_gradient_descent"]
    assert "dl102" not in attempts.api("ana", "GET", "courses").json()["value"]
    # The new course's staff group exists, with pia's account in it: her server will mount the course.
    assert grp.getgrnam(f"{classroom.user_prefix.rstrip('-')}staff-dl102").gr_mem == [classroom.system_user("pia")]


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="needs an interpreter every user can run")
def test_a_start_without_root_is_refused_with_its_message(tmp_path: Path) -> None:
    """As nobody, with the system's python3.11 reading this checkout and the venv's packages.

    The checkout may sit in a folder only root can enter (a fresh clone in ``mktemp -d``): nobody sees it through
    bubblewrap, with traversable parents, as the classroom's servers see the interpreter.
    """
    site = next((REPO / ".venv" / "lib").glob("python3.*/site-packages"))
    view = [bwrap_binary(), "--ro-bind", "/", "/", "--tmpfs", "/tmp", *traversable_parents([REPO, tmp_path]),
            "--ro-bind", str(REPO), str(REPO), "--bind", str(tmp_path), str(tmp_path), "--proc", "/proc",
            "--dev", "/dev", "--"]
    done = subprocess.run(
        [*view, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", f"HOME={tmp_path}",
         f"PYTHONPATH={REPO}:{site}", "/usr/bin/python3.11", "-c",
         "import sys; from autograder.cli.hub import main; sys.exit(main())",
         "start", "--state-dir", str(tmp_path / "state"), "--port", str(PORT + 1)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    print(done.stdout, done.stderr)
    assert done.returncode == 2
    assert "error: the classroom hub must start as root" in done.stdout
    assert not (tmp_path / "state").exists()
