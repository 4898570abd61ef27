"""The grading service in a real classroom hub (real JupyterHub, proxy, nbgrader, sandboxed kernels).

One hub for the module, two courses built from this repository's a01 with sample students:
``dl102`` graded on the instructor's request (and through nbgrader in an instructor's own, unprivileged
process), ``dl101`` with instant feedback (one instant grading per student). Students submit with nbgrader's
own exchange code, as the student; the instructor's terminal is a real process running as the instructor's
system user, without root.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
import requests
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeFetchFeedback, ExchangeSubmit
from traitlets.config import Config

from autograder.course.samples import build_submission, expected_scores
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.gradebook.exchange import written_by_another
from autograder.grading.job import REUSED_SAME_JOB, GradingRecords
from autograder.grading.results import JobResult
from autograder.hub.service import service_spec
from autograder.hub.service.app import results_page
from autograder.hub.service.instant import parse_inbound
from autograder.hub.service.jobs import Job, JobStore

from .classroom import Classroom, start_classroom

REPO = Path(__file__).resolve().parents[1]
A01 = "a01_gradient_descent"
SAMPLES = REPO / "assignments" / "samples" / A01
EXPECTED = {student: scores["total"] for student, scores in expected_scores(SAMPLES).items()}
PORT = 18110
CLOSED_PORT = 18199  # nothing of this test listens there: a grading service that is down
ROSTER = f'''
[courses.dl101]
course_root = "{REPO}"
assignments = ["{A01}"]
instructors = ["ines"]
students = ["carol", "alice"]
instant_feedback = true
max_instant_feedback = 1
hidden_messages_before_deadline = false
[courses.dl101.deadlines]
{A01} = "2099-12-01T23:59:00+00:00"

[courses.dl102]
course_root = "{REPO}"
assignments = ["{A01}"]
instructors = ["ines"]
students = ["alice", "carol", "grace"]
'''


class Hub:
    """The running classroom, its people's tokens, and what a student or the instructor does in it."""

    def __init__(self, classroom: Classroom, work: Path) -> None:
        self.classroom = classroom
        self.work = work
        self.tokens = {name: classroom.token(classroom.login(name), name) for name in ("ines", "alice", "carol")}

    @property
    def service_url(self) -> str:
        return f"{self.classroom.url}/services/grading/"

    def call(self, user: str | None, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"token {self.tokens[user]}"} if user else {}
        return requests.request(method, self.service_url + path, headers=headers, timeout=60, **kwargs)

    def course(self, course_id: str) -> NbgraderCourse:
        return NbgraderCourse(self.classroom.state_dir / "courses" / course_id)

    def exchange_config(self, course_id: str, student: str) -> tuple[Config, Path]:
        home = self.work / "students" / student
        home.mkdir(parents=True, exist_ok=True)
        config = Config()
        config.Exchange.root = str(self.classroom.state_dir / "exchange")
        config.Exchange.path_includes_course = True
        config.Exchange.assignment_dir = str(home)
        config.Exchange.cache = str(home / ".nbgrader_cache")
        config.CourseDirectory.course_id = course_id
        config.CourseDirectory.student_id = student
        config.CourseDirectory.assignment_id = A01
        return config, home

    def submit(self, course_id: str, student: str, sample: str | None = None) -> None:
        """nbgrader's fetch and submit, as ``student`` submitting the sample ``sample`` (default: their own)."""
        config, home = self.exchange_config(course_id, student)
        coursedir = CourseDirectory(config=config)
        folder = home / course_id / A01
        if not folder.is_dir():
            ExchangeFetchAssignment(coursedir=coursedir, authenticator=Authenticator(config=config),
                                    config=config).start()
        notebook = build_submission(folder / f"{A01}.ipynb", SAMPLES / f"{sample or student}.py")
        nbformat.write(notebook, folder / f"{A01}.ipynb")
        account = pwd.getpwnam(self.classroom.system_user(student))
        for path in [home, *home.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
        # As the student's own nbgrader would: what it writes into the exchange is theirs from the start.
        os.setegid(account.pw_gid)
        os.seteuid(account.pw_uid)
        try:
            ExchangeSubmit(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()
        finally:
            os.seteuid(0)
            os.setegid(0)

    def inbound(self, course_id: str) -> Path:
        return self.classroom.state_dir / "exchange" / course_id / "inbound"

    def fetch_feedback(self, course_id: str, student: str) -> list[Path]:
        config, home = self.exchange_config(course_id, student)
        ExchangeFetchFeedback(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                              config=config).start()
        return sorted((home / course_id / A01 / "feedback").glob(f"*/{A01}.html"))

    def service_pid(self) -> int | None:
        """The grading service's process (found by its own command line: this hub's state directory)."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"autograder.hub.service" in argv and str(self.classroom.state_dir).encode() in argv:
                return int(proc.name)
        return None

    def as_instructor(self, *argv: str, service: str) -> subprocess.CompletedProcess:
        """``autograder ARGV`` in a terminal of ines's own server: her uid and groups, her server's filesystem
        (her course directory at ~/courses/<course>), her hub token; the grading service at ``service``."""
        self.classroom.start_server("ines", self.tokens["ines"])
        code = ("import json, os, subprocess, sys\n"
                f"env = dict(os.environ, AUTOGRADER_GRADING_SERVICE={service!r})\n"
                "done = subprocess.run([sys.executable, '-c', 'import sys; from autograder.cli import main; "
                f"sys.exit(main())', *{list(argv)!r}], env=env, capture_output=True, text=True, timeout=540)\n"
                "print(json.dumps([done.returncode, done.stdout, done.stderr]))")
        printed = self.classroom.run_code("ines", self.tokens["ines"], code, timeout_s=600)
        returncode, stdout, stderr = json.loads(printed.strip().splitlines()[-1])
        return subprocess.CompletedProcess(list(argv), returncode, stdout, stderr)

    def staff_course_dir(self, course_id: str) -> Path:
        """Where ines's server sees the course directory (mounted there by the hub's spawner)."""
        return self.classroom.state_dir / "homes" / "ines" / "courses" / course_id


def wait_for(what: str, check: Callable[[], object], limit_s: float = 600) -> object:
    """Poll ``check`` until it returns something true (a guard against a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {limit_s:.0f} s")


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    # Not under pytest's tmp folder (0700 to all but root): the people's servers must reach their homes.
    work = Path(tempfile.mkdtemp(prefix="grading-service-", dir="/tmp"))
    work.chmod(0o711)
    roster = work / "roster.toml"
    roster.write_text(ROSTER)
    try:
        with start_classroom(work / "state", roster, PORT) as classroom:
            yield Hub(classroom, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def job_of(hub: Hub, course_id: str, job_id: str) -> dict:
    """The job as the service reports it; empty while the service is (re)starting (the proxy answers 502/503)."""
    response = hub.call("ines", "GET", f"courses/{course_id}/jobs/{job_id}")
    if response.status_code in (502, 503):
        return {}
    response.raise_for_status()
    return response.json()["job"]


def finished(hub: Hub, course_id: str, job_id: str) -> dict | None:
    job = job_of(hub, course_id, job_id)
    return job if job.get("status") in ("done", "failed") else None


@pytest.mark.slow  # a real hub, real nbgrader and sandboxed kernels
def test_students_cannot_grade_see_the_queue_or_come_without_a_token(hub: Hub) -> None:
    refused = hub.call("alice", "POST", f"courses/dl102/assignments/{A01}/grade", json={})
    assert refused.status_code == 403
    assert refused.json()["error"] == ("alice is not an instructor or grader of dl102 (hub group formgrade-dl102): "
                                       "only they may grade or see its queue")
    assert hub.call("alice", "GET", "courses/dl102/jobs").status_code == 403
    assert hub.call("alice", "POST", "courses/dl102/notebooks", json={}).status_code == 403
    anonymous = hub.call(None, "GET", "courses/dl102/jobs")
    assert anonymous.status_code == 401 and "hub API token" in anonymous.json()["error"]
    forged = requests.get(hub.service_url + "courses/dl102/jobs", headers={"Authorization": "token forged"},
                          timeout=30)
    assert forged.status_code == 401
    # A POST riding on the instructor's browser cookies (what another site's page could send) is not hers.
    cookie_only = hub.classroom.login("ines").post(hub.service_url + f"courses/dl102/assignments/{A01}/grade",
                                                   json={}, timeout=60)
    assert cookie_only.status_code == 401
    unknown = hub.call("ines", "GET", "courses/nope/jobs")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "no course 'nope' on this hub (courses: dl101, dl102)"
    print("\nrefused: a student grading (403), a student's queue (403), no token (401), a forged token (401), "
          "an instructor's cookie without her token (401)")


@pytest.mark.slow  # a real hub, real nbgrader and sandboxed kernels
def test_instructor_grading_resumes_after_the_service_is_killed_mid_run(hub: Hub) -> None:
    students = ["alice", "carol"]
    for student in students:
        hub.submit("dl102", student)
    started = time.monotonic()
    response = hub.call("ines", "POST", f"courses/dl102/assignments/{A01}/grade", json={"students": students})
    assert response.status_code == 202, response.text
    job_id = response.json()["job"]["id"]
    records = GradingRecords(hub.course("dl102").root / "grading_results")

    def graded_so_far() -> list[Path]:
        return [path for path in records.root.rglob(f"{A01}.json")]

    wait_for("a first grading record", lambda: job_of(hub, "dl102", job_id).get("status") == "running"
             and graded_so_far())
    before = hub.service_pid()
    records_before = len(graded_so_far())
    os.kill(before, signal.SIGKILL)  # as a crash, or a hub stopped mid-run, would
    after = wait_for("the hub restarting the service", lambda: (pid := hub.service_pid()) and pid != before and pid)
    job = wait_for("the resumed job", lambda: finished(hub, "dl102", job_id))
    totals = {student: sum(scores.values()) for student, scores in hub.course("dl102").scores(A01).items()}
    print(f"\nservice killed (pid {before}) with {records_before} record(s) written; the hub restarted it (pid "
          f"{after}); job {job['status']} after {job['runs']} runs in {time.monotonic() - started:.0f} s: "
          f"{job['message']}; gradebook {totals}, expected {[EXPECTED[s] for s in students]}")
    assert job["status"] == "done" and job["runs"] == 2
    assert totals == {student: EXPECTED[student] for student in students}
    assert {student: job["results"][student]["gradebook_total"] for student in students} == totals


@pytest.mark.slow  # a real hub, real nbgrader and sandboxed kernels
def test_an_instructors_own_grade_goes_through_the_service_and_a_down_service_loses_nothing(hub: Hub) -> None:
    course = hub.course("dl102")
    hub.submit("dl102", "grace")
    seen = str(hub.staff_course_dir("dl102"))
    collected = hub.as_instructor("collect", seen, A01, service=hub.service_url)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    graded = hub.as_instructor("grade", seen, A01, "--student", "grace", "--workers", "1", service=hub.service_url)
    print(f"\nines's `autograder grade` (uid {pwd.getpwnam(hub.classroom.system_user('ines')).pw_uid}):\n"
          f"{graded.stdout[-1500:]}")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    record = JobResult.load(GradingRecords(course.root / "grading_results").path(A01, "grace", A01))
    assert record.score == EXPECTED["grace"]
    assert os.stat(GradingRecords(course.root / "grading_results").path(A01, "grace", A01)).st_uid == 0  # the service
    before = course.scores(A01)

    down = f"http://127.0.0.1:{CLOSED_PORT}/services/grading/"
    failed = hub.as_instructor("grade", seen, A01, "--student", "grace", "--workers", "1", "--force", service=down)
    output = " ".join((failed.stdout + failed.stderr).split())
    print(f"\nwith the service down:\n{failed.stdout[-1200:]}")
    assert failed.returncode == 1
    assert f"the grading service at {down} did not answer" in output
    assert "ask the hub's admin to check `autograder hub start` logs; nothing was written" in output
    assert course.scores(A01) == before  # grace keeps her grade
    after = JobResult.load(GradingRecords(course.root / "grading_results").path(A01, "grace", A01))
    assert after.started_at == record.started_at


@pytest.mark.slow  # a real hub, real nbgrader and sandboxed kernels
def test_instant_feedback_is_graded_once_released_and_private(hub: Hub) -> None:
    submitted = time.monotonic()
    hub.submit("dl101", "carol")

    def carol_result() -> dict | None:
        response = hub.call("carol", "GET", f"courses/dl101/results/{A01}", params={"format": "json"})
        response.raise_for_status()
        result = response.json()["result"]
        return result if result and result.get("feedback_released") else None

    result = wait_for("carol's instant result", carol_result, 300)
    seconds = time.monotonic() - submitted
    print(f"\ninstant feedback: carol submitted, graded and released in {seconds:.1f} s "
          f"(service: {result['seconds_to_feedback']} s from seeing the submission), "
          f"score {result['score']:g} / {result['max_score']:g}")
    assert (result["score"], result["max_score"]) == (EXPECTED["carol"], 16.0)
    failed = [test for test in result["tests"] if not test["passed"]]
    assert failed and all(test["message"].endswith("points lost (the message is shown after the deadline)")
                          for test in failed)
    assert (result["used"], result["cap"]) == (1, 1)

    pages = hub.fetch_feedback("dl101", "carol")
    assert len(pages) == 1 and "Autograder: 10 / 16 points" in pages[0].read_text()
    assert "the message is shown after the deadline" in pages[0].read_text()
    page = hub.call("carol", "GET", f"courses/dl101/results/{A01}")
    assert page.status_code == 200 and "Score: 10 / 16" in page.text
    # In a browser: the hub's login cookie, then the service's OAuth round trip (no token in the page's URL).
    browser = hub.classroom.login("carol").get(hub.service_url + f"courses/dl101/results/{A01}", timeout=60)
    assert browser.status_code == 200 and "Score: 10 / 16" in browser.text, browser.text[:500]
    spy = hub.call("alice", "GET", f"courses/dl101/results/{A01}", params={"student": "carol", "format": "json"})
    assert spy.status_code == 403 and spy.json()["error"] == "alice may read only their own results, not carol's"
    outsider = hub.call("alice", "GET", f"courses/dl102/results/{A01}", params={"student": "carol"})
    assert outsider.status_code == 403

    hub.submit("dl101", "carol")  # the same work again: over the course's one instant grading

    def capped() -> dict | None:
        response = hub.call("carol", "GET", f"courses/dl101/results/{A01}", params={"format": "json"})
        got = response.json()["result"]
        return got if got["status"] == "cap_reached" else None

    capped_result = wait_for("the cap message", capped, 300)
    print(f"second submission: {capped_result['message']}")
    assert capped_result["message"].startswith(f"instant feedback is used up for {A01} (1 of 1)")

    records = GradingRecords(hub.course("dl101").root / "grading_results")
    instant_record = JobResult.load(records.path(A01, "carol", A01))
    response = hub.call("ines", "POST", f"courses/dl101/assignments/{A01}/grade", json={})
    job = wait_for("the instructor's grading", lambda: finished(hub, "dl101", response.json()["job"]["id"]))
    print(f"instructor's grade: {job['message']}; carol: {json.dumps(job['results']['carol'])}")
    assert job["status"] == "done" and job["results"]["carol"]["reused"] == REUSED_SAME_JOB
    assert job["results"]["carol"]["gradebook_total"] == EXPECTED["carol"]
    assert JobResult.load(records.path(A01, "carol", A01)).started_at == instant_record.started_at


def test_inbound_names_a_student_wrote_start_nothing_unless_they_are_nbgraders_and_their_own(tmp_path: Path) -> None:
    assert parse_inbound("carol+a01_gradient_descent+2026-11-26 11:17:11.531132 UTC+b-QaKzVZNYSH") == \
        ("carol", "a01_gradient_descent")
    for hostile in ["carol", "carol+a01", "../carol+a01+x", "carol+a01/..+x", ".carol+a01+x", "car ol+a01+x",
                    "carol+a01+2026+x+y"]:
        assert parse_inbound(hostile) is None, hostile
    # The owner check is the collect's own (autograder.gradebook.exchange): a folder another account wrote under a
    # student's name is not theirs. (Prefix "" here: student "nobody"'s account is the system user nobody.)
    folder = tmp_path / "inbound-folder"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    assert written_by_another(folder, "nobody", "") == ""
    assert written_by_another(folder, "carol", "t1a2b3c-").startswith(
        "the folder inbound-folder was written by nobody, not by t1a2b3c-carol")


def test_unfinished_jobs_come_back_oldest_first_after_a_restart(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    first, second, done = (Job.new("dl101", "grade", A01, [], "ines") for _ in range(3))
    first.created, second.created, done.created = "2026-11-26T10:00:01", "2026-11-26T10:00:02", "2026-11-26T10:00:00"
    second.status, done.status = "running", "done"
    for job in (second, done, first):
        store.save(job)
    again = JobStore(tmp_path)
    assert [job.id for job in again.load("dl101")] == [first.id, second.id]
    assert again.get("dl101", done.id).status == "done" and again.get("dl102", done.id) is None
    (tmp_path / "dl101" / "grading_service" / "jobs" / "broken.json").write_text("{")
    with pytest.raises(ValueError, match=r"not a grading job .*: move it away, then start the service again"):
        JobStore(tmp_path).load("dl101")


def test_the_results_page_shows_a_students_text_as_text() -> None:
    page = results_page("dl101", A01, "carol", {"status": "graded", "score": 1.0, "max_score": 2.0, "used": 1,
                                                  "cap": 0, "at": "now", "tests": [
        {"test": "t<script>", "passed": False, "points": 0.0, "max_points": 1.0, "message": "<img src=x>"}]})
    assert "<script>" not in page and "<img" not in page and "&lt;img src=x&gt;" in page
    assert "Score: 1 / 2" in page and "of unlimited" in page


def test_the_hub_runs_the_service_on_loopback_from_this_interpreter(tmp_path: Path) -> None:
    spec = service_spec(tmp_path / "roster.toml", tmp_path / "state", 18150, user_prefix="ag-")
    assert spec["name"] == "grading" and spec["url"] == "http://127.0.0.1:18150"
    assert spec["command"][1:3] == ["-m", "autograder.hub.service"]
    assert spec["command"][-2:] == ["--user-prefix", "ag-"] and "--port" in spec["command"]
