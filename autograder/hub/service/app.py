"""The grading service's HTTP side: endpoints, who may call which, and the worker that runs the jobs.

Every request carries the caller's hub API token (``Authorization: token ...``), or, for a student's page
in the browser, the service's hub OAuth cookie; `jupyterhub.services.auth.HubOAuth` turns it into the hub
user, and the roster (read again when it changes) says what that user is in the course:

==========================================================  ===========================================
``POST courses/<c>/assignments/<a>/grade`` ``{"students"}``  staff of ``c`` (``formgrade-<c>``): a job
``GET  courses/<c>/jobs``, ``courses/<c>/jobs/<id>``          staff: the course's queue, one job
``POST courses/<c>/notebooks``                                 staff: grade one notebook (nbgrader's
                                                               preprocessor in an instructor's server)
``GET  courses/<c>/results/<a>[?student=s]``                   a student: their own instant result
                                                               (HTML, or JSON with ``?format=json``);
                                                               staff: anyone's
==========================================================  ===========================================

One worker thread runs the jobs of every course in the order they came (nbgrader changes the process's
working directory while it runs, and the machine's cores are the sandbox's); a notebook sent by an
instructor's nbgrader is graded on a thread of its own, since that nbgrader may hold the course's grading
lock while it waits.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import queue
import re
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback

from ...gradebook.course_dir import NbgraderCourse
from ..roster import CourseSettings, Roster, RosterError, load_roster
from . import work
from .instant import InstantState
from .jobs import Job, JobStore, now

log = logging.getLogger("autograder.hub.service")

SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,99}$")  # ids that become path parts
WATCH_SECONDS = 2.0


class ServiceError(web.HTTPError):
    """A refused request: its status and the one line the caller reads."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, reason=None)
        self.message = message


class GradingService:
    """The roster, the jobs, the worker, the exchange watch: everything but HTTP."""

    def __init__(self, roster_path: Path, state_dir: Path, user_prefix: str | None = None) -> None:
        self.roster_path = roster_path
        self.state_dir = state_dir
        self.user_prefix = user_prefix  # the people's system accounts are <prefix><username>
        self.jobs = JobStore(state_dir / "courses")
        self.queue: queue.Queue[tuple[Job, float]] = queue.Queue()
        self._roster: tuple[float, Roster] | None = None

    def roster(self) -> Roster:
        """The roster, read again whenever its file changes (a course added needs no restart of the service)."""
        mtime = self.roster_path.stat().st_mtime
        if self._roster is None or self._roster[0] != mtime:
            self._roster = (mtime, load_roster(self.roster_path))
        return self._roster[1]

    def account_prefix(self) -> str:
        """The people's system accounts' prefix: the hub's override (--user-prefix), else the roster's."""
        return self.user_prefix if self.user_prefix is not None else self.roster().hub.user_prefix

    def course(self, course_id: str) -> tuple[NbgraderCourse, CourseSettings]:
        settings = self.roster().courses.get(course_id)
        if settings is None:
            known = ", ".join(sorted(self.roster().courses)) or "none"
            raise ServiceError(404, f"no course {course_id!r} on this hub (courses: {known})")
        return NbgraderCourse(self.state_dir / "courses" / course_id), settings

    def resume(self) -> int:
        """Deadlines into the gradebooks; every job a stop left unfinished queued again; how many."""
        count = 0
        for course_id, settings in self.roster().courses.items():
            course = NbgraderCourse(self.state_dir / "courses" / course_id)
            if (course.root / "gradebook.db").is_file():
                try:
                    work.sync_deadlines(course, settings)
                except Exception as exc:  # the next job of the course writes them again
                    log.error("%s: the roster's deadlines could not be written to the gradebook: %s", course_id, exc)
            for job in self.jobs.load(course_id):
                self.queue.put((job, time.monotonic()))
                count += 1
        return count

    def submit(self, job: Job, detected: float | None = None) -> Job:
        self.jobs.save(job)
        self.queue.put((job, detected or time.monotonic()))
        return job

    def work_forever(self) -> None:
        while True:
            job, detected = self.queue.get()
            self.run(job, detected)

    def run(self, job: Job, detected: float) -> None:
        job.status, job.started, job.runs = "running", now(), job.runs + 1
        self.jobs.save(job)
        try:
            course, settings = self.course(job.course)
            if job.kind == "instant":
                work.run_instant(job, course, settings, InstantState(course.root), detected)
            else:
                work.run_grade(job, course, settings, lambda: self.jobs.save(job))
            job.status = "done"
        except Exception as exc:  # one job's failure is reported on the job, the worker goes on
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            job.status = "failed"
            job.message = getattr(exc, "message", None) or str(exc).strip().splitlines()[0][:500]
        job.finished = now()
        self.jobs.save(job)

    def watch_inbound(self) -> None:
        """One look into the exchange of every course with instant feedback: a job per new submission."""
        try:
            roster = self.roster()
        except (OSError, RosterError) as exc:
            log.error("cannot read the roster %s: %s", self.roster_path, exc)
            return
        for settings in roster.courses.values():
            if not settings.instant_feedback:
                continue
            course_dir = self.state_dir / "courses" / settings.id
            if not course_dir.is_dir():
                continue
            inbound = self.state_dir / "exchange" / settings.id / "inbound"
            assignments = set(settings.assignments) or set(settings.deadlines)
            fresh = InstantState(course_dir).new_submissions(inbound, set(settings.students), assignments,
                                                             self.account_prefix())
            for name, student, assignment in fresh:
                log.info("instant feedback: %s submitted %s (%s)", student, assignment, name)
                self.submit(Job.new(settings.id, "instant", assignment, [student], "instant feedback"),
                            time.monotonic())


class Handler(HubOAuthenticated, web.RequestHandler):
    """The caller resolved from their token or cookie; every answer JSON unless a page is asked for."""

    service: GradingService

    def initialize(self, service: GradingService, hub_auth: HubOAuth) -> None:
        self.service = service
        self.hub_auth = hub_auth

    async def prepare(self) -> None:
        header = self.request.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            model = await self.hub_auth.user_for_token(header.split(None, 1)[1].strip(), sync=False)
        elif self.request.method == "GET":
            model = await self.hub_auth.get_user(self, sync=False)
        else:  # no cookie for what changes things: another site's page could make a browser send it
            model = None
        self.current_user = model

    def username(self) -> str:
        if not self.current_user:
            raise ServiceError(401, "no hub user: send your hub API token (Authorization: token ...) or log in "
                                    "to the hub first")
        return self.current_user["name"]

    def course_for(self, course_id: str, *, staff: bool) -> tuple[NbgraderCourse, CourseSettings]:
        user = self.username()
        try:
            course, settings = self.service.course(course_id)
        except RosterError as exc:
            raise ServiceError(500, f"the roster cannot be read: {str(exc).splitlines()[0]}") from None
        if staff and user not in settings.staff:
            raise ServiceError(403, f"{user} is not an instructor or grader of {course_id} (hub group "
                                    f"formgrade-{course_id}): only they may grade or see its queue")
        if not staff and settings.role(user) is None:
            raise ServiceError(403, f"{user} is not in course {course_id}")
        return course, settings

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ServiceError(400, "the request body is not JSON: send a JSON object") from None
        if not isinstance(data, dict):
            raise ServiceError(400, "the request body must be a JSON object")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))


def safe_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not SAFE_NAME.match(value):
        raise ServiceError(400, f"{what} {value!r} is not a valid name (letters, digits, _ . @ -)")
    return value


class GradeHandler(Handler):
    def post(self, course_id: str, assignment: str) -> None:
        _, settings = self.course_for(course_id, staff=True)
        released = set(settings.assignments)
        if released and assignment not in released:
            raise ServiceError(404, f"{course_id} has no assignment {assignment!r} (assignments: "
                                    f"{', '.join(sorted(released))})")
        students = self.body().get("students") or []
        if not isinstance(students, list):
            raise ServiceError(400, "students must be a list of usernames")
        students = [safe_name(student, "student") for student in students]
        job = self.service.submit(Job.new(course_id, "grade", assignment, students, self.username()))
        self.set_status(202)
        self.finish({"job": job.to_dict()})


class CollectHandler(Handler):
    """nbgrader's collect for a staff server, whose account cannot read the students' inbound folders."""

    async def post(self, course_id: str, assignment: str) -> None:
        course, _ = self.course_for(course_id, staff=True)
        student = self.body().get("student") or None
        if student is not None:
            student = safe_name(student, "student")
        log.info("%s asks to collect %s of %s", self.username(), assignment, course_id)
        students = await asyncio.to_thread(work.collect, course, safe_name(assignment, "assignment"), student)
        self.finish({"students": students})


class JobsHandler(Handler):
    def get(self, course_id: str, job_id: str | None = None) -> None:
        self.course_for(course_id, staff=True)
        if job_id is None:
            self.finish({"jobs": [job.to_dict() for job in self.service.jobs.of_course(course_id)]})
            return
        job = self.service.jobs.get(course_id, job_id)
        if job is None:
            raise ServiceError(404, f"no job {job_id!r} in {course_id}")
        self.finish({"job": job.to_dict()})


class NotebookHandler(Handler):
    async def post(self, course_id: str) -> None:
        course, settings = self.course_for(course_id, staff=True)
        data = self.body()
        assignment = safe_name(data.get("assignment"), "assignment")
        student = safe_name(data.get("student"), "student")
        notebook_name = safe_name(data.get("notebook_name"), "notebook")
        if not isinstance(data.get("notebook"), dict):
            raise ServiceError(400, "notebook must be the notebook's JSON")
        log.info("%s asks to grade %s/%s", self.username(), student, assignment)
        try:
            result = await asyncio.to_thread(work.grade_notebook, course, settings, assignment, student,
                                             notebook_name, data["notebook"], force=bool(data.get("force")))
        except Exception as exc:
            log.error("grading %s/%s failed:\n%s", student, assignment, traceback.format_exc())
            raise ServiceError(500, f"grading {student}/{assignment} failed: "
                                    f"{str(exc).strip().splitlines()[0][:300] if str(exc).strip() else exc!r}"
                               ) from None
        self.finish({"result": json.loads(result.to_json())})


class ResultsHandler(Handler):
    """A student's own instant result; staff may read anyone's."""

    def get(self, course_id: str, assignment: str) -> None:
        if not self.current_user and self.get_argument("format", "") != "json":
            self.redirect(self.get_login_url())
            return
        course, settings = self.course_for(course_id, staff=False)
        user = self.username()
        student = self.get_argument("student", user)
        if student != user and user not in settings.staff:
            raise ServiceError(403, f"{user} may read only their own results, not {student}'s")
        result = InstantState(course.root).result(assignment, student)
        if self.get_argument("format", "") == "json":
            self.finish({"student": student, "assignment": assignment, "result": result})
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(results_page(course_id, assignment, student, result))


def results_page(course_id: str, assignment: str, student: str, result: dict | None) -> str:
    """A plain page (no script, no external link) of one student's latest instant result."""
    e = html.escape
    title = f"{e(assignment)}: instant feedback for {e(student)} ({e(course_id)})"
    if result is None:
        body = "<p>No instant result yet: submit from the assignment list, then reload this page.</p>"
    elif result.get("status") == "graded":
        rows = "".join(
            f"<tr><td>{e(t['test'])}</td><td>{'PASS' if t['passed'] else 'FAIL'}</td>"
            f"<td>{t['points']:g} / {t['max_points']:g}</td><td><pre>{e(t['message'])}</pre></td></tr>"
            for t in result.get("tests", []))
        body = (f"<p id='score'>Score: {result['score']:g} / {result['max_score']:g} (submission of "
                f"{e(result.get('at', ''))}; instant gradings used: {result.get('used')} of "
                f"{result.get('cap') or 'unlimited'})</p><table border='1'><tr><th>test</th><th>result</th>"
                f"<th>points</th><th>message</th></tr>{rows}</table>"
                "<p>The full feedback is in the assignment list: fetch feedback.</p>")
    else:
        why = result.get("message") or result.get("error", "")
        body = f"<p id='status'>{e(result.get('status', ''))}: {e(why)}</p>"
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>" \
           f"<body><h1>{title}</h1>{body}</body></html>"


def make_app(service: GradingService, prefix: str) -> web.Application:
    # The singleton: nbgrader-style OAuth callback handler and ours must share it.
    hub_auth = HubOAuth.instance(api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""), cache_max_age=60)
    args = {"service": service, "hub_auth": hub_auth}
    course = r"courses/(?P<course_id>[A-Za-z0-9_.-]+)"
    return web.Application([
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
        (prefix + course + r"/assignments/(?P<assignment>[A-Za-z0-9_.-]+)/grade", GradeHandler, args),
        (prefix + course + r"/assignments/(?P<assignment>[A-Za-z0-9_.-]+)/collect", CollectHandler, args),
        (prefix + course + r"/jobs", JobsHandler, args),
        (prefix + course + r"/jobs/(?P<job_id>[A-Za-z0-9_.-]+)", JobsHandler, args),
        (prefix + course + r"/notebooks", NotebookHandler, args),
        (prefix + course + r"/results/(?P<assignment>[A-Za-z0-9_.-]+)", ResultsHandler, args),
    ], hub_auth=hub_auth, cookie_secret=os.urandom(32))


def serve(roster_path: Path, state_dir: Path, port: int, user_prefix: str | None = None) -> None:
    """Run the service until it is stopped; unfinished jobs resume first."""
    os.umask(0o007)  # what it writes in a course directory stays readable and writable by the course's staff
    service = GradingService(roster_path, state_dir, user_prefix)
    resumed = service.resume()
    if resumed:
        log.info("resuming %d unfinished grading job(s)", resumed)
    threading.Thread(target=service.work_forever, name="grading-worker", daemon=True).start()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/grading/")
    make_app(service, prefix).listen(port, address="127.0.0.1")
    PeriodicCallback(lambda: IOLoop.current().run_in_executor(None, service.watch_inbound),
                     WATCH_SECONDS * 1000).start()
    log.info("grading service on 127.0.0.1:%d%s (roster %s, state %s)", port, prefix, roster_path, state_dir)
    IOLoop.current().start()
