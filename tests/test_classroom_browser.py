"""The classroom in a real browser: headless Chromium against a real hub on loopback, one start for the module.

Two courses of the same course tree (a01 only): ``dl101`` graded by its instructor, ``dl102`` with instant
feedback. ana (dl101) logs in, fetches a01, types her solutions into the notebook, validates and submits;
ines, dl101's instructor, collects, autogrades in the formgrader (through the grading service), sees the score
and releases the feedback; ana opens it with its formulas typeset by the page's own MathJax (no internet).
ben (dl102) submits and gets his feedback with no instructor involved; then ben tries ana's files through
her server's URLs, his file browser, the grading service and the formgrader, and sees none of them.

The tests run in order and share the classroom and the browsers; each step saves a screenshot under the
module's output folder (listed by the last test). A test whose earlier step failed says so and stops.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.course.samples import parse_sections

from .browser import Browser, Hub, LabServer, browser_available
from .classroom import Classroom, start_classroom

pytestmark = pytest.mark.slow  # a real hub, real servers, real kernels and a real browser: minutes

REPO = Path(__file__).resolve().parents[1]
A01 = "a01_gradient_descent"
SAMPLES = REPO / "assignments" / "samples" / A01
PORT = 18350
# How the hub, a server or the grading service says no (403 pages, 404 for a formgrader a student lacks).
DENIED = re.compile(r"\b403\b|\b404\b|Forbidden|do not have permission|not in course|only their own")
INSTANT_TIMEOUT_S = 180  # the issue asks for feedback within a minute; the time taken is printed, not asserted
ROSTER = f'''
[courses.dl101]
title = "Deep learning 101"
course_root = "{REPO}"
assignments = ["{A01}"]
instructors = ["ines"]
students = ["ana"]
instant_feedback = false

[courses.dl102]
title = "Deep learning 101, with instant feedback"
course_root = "{REPO}"
assignments = ["{A01}"]
instructors = ["iris"]
students = ["ben"]
instant_feedback = true
max_instant_feedback = 3
'''


class People:
    """One browser per person, started on first use and all quit at the end; what the steps learnt, shared."""

    def __init__(self, classroom: Classroom, screenshots: Path) -> None:
        self.classroom = classroom
        self.screenshots = screenshots
        self.browsers: dict[str, Browser] = {}
        self.servers: dict[str, LabServer] = {}
        self.done: set[str] = set()  # the steps that succeeded, for the tests that build on them
        self.facts: dict[str, str] = {}

    def browser(self, name: str) -> Browser:
        if name not in self.browsers:
            browser = Browser(self.screenshots, label=name, timeout=45)
            browser.start()
            self.browsers[name] = browser
        return self.browsers[name]

    def hub(self, name: str) -> Hub:
        return Hub(self.browser(name), self.classroom.url)

    def login(self, name: str) -> LabServer:
        """``name`` logged in (once) and their JupyterLab open."""
        if name not in self.servers:
            self.servers[name] = self.hub(name).login(name, self.classroom.credentials[name])
            self.browser(name).shot("logged-in")
        else:
            self.servers[name].open()
        return self.servers[name]

    def needs(self, step: str, by: str) -> None:
        if step not in self.done:
            pytest.fail(f"this step needs '{step}', which {by} did not finish (see that test's failure)")

    def quit(self) -> None:
        for browser in self.browsers.values():
            browser.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("classroom-browser") / "screenshots"
    folder.mkdir()
    yield folder


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory, screenshots: Path) -> Iterator[People]:
    missing = browser_available()
    if missing:
        pytest.fail(missing)
    root = tmp_path_factory.mktemp("classroom")
    roster = root / "roster.toml"
    roster.write_text(ROSTER)
    started = time.monotonic()
    with start_classroom(root / "state", roster, PORT) as classroom:
        print(f"\nclassroom open at {classroom.url} after {time.monotonic() - started:.0f} s")
        crowd = People(classroom, screenshots)
        try:
            yield crowd
        finally:
            crowd.quit()  # chromium and chromedriver first, then the hub (servers, service, proxy) with the context


def solution(student: str, marker: str = "") -> dict[str, str]:
    """A sample student's answers (grade_id -> cell source); ``marker`` goes in a comment of the first cell."""
    sections = parse_sections((SAMPLES / f"{student}.py").read_text())
    if marker:
        first = next(iter(sections))
        sections[first] = f"# {marker}\n{sections[first]}"
    return sections


def type_answers(notebook: object, answers: dict[str, str]) -> None:
    """Type each answer into the solution cell whose stub starts with the same ``def name(``."""
    for source in answers.values():
        header = next(line for line in source.splitlines() if line.startswith("def "))
        notebook.replace_cell(header.split("(")[0] + "(", source)  # type: ignore[attr-defined]
    notebook.save()  # type: ignore[attr-defined]


def test_a_student_fetches_solves_validates_and_submits(people: People) -> None:
    hub = people.hub("ana")
    refused = hub.login_refused("ana", "not-her-password")
    assert "Invalid username or password" in refused
    people.browser("ana").shot("wrong-password-refused")

    ana = people.login("ana")
    assignments = ana.assignment_list()
    people.browser("ana").shot("assignment-list")
    assignments.fetch(A01)
    people.browser("ana").shot("fetched")

    notebook = assignments.open_notebook(A01, A01)
    marker = f"ana's own work {secrets.token_hex(6)}"
    type_answers(notebook, solution("alice", marker))
    people.facts.update(marker=marker, notebook=notebook.server_path)
    people.browser("ana").shot("solution-typed-and-saved")

    assignments = ana.assignment_list()
    result = assignments.validate(A01, A01)
    people.browser("ana").shot("validated")
    assignments.close_dialog()
    assert "Success! Your notebook passes all the tests." in result, result

    submitted = assignments.submit(A01)
    people.browser("ana").shot("submitted")
    print(f"ana submitted {A01} at {submitted}; her notebook is {people.facts['notebook']} on her server")
    people.done.add("ana submitted")


def test_the_instructor_autogrades_in_the_formgrader_and_releases_feedback(people: People) -> None:
    people.needs("ana submitted", "test_a_student_fetches_solves_validates_and_submits")
    formgrader = people.login("ines").formgrader()
    formgrader.manage_assignments()
    people.browser("ines").shot("formgrader")
    collected = formgrader.collect(A01)
    assert "Successfully collected" in collected, collected

    formgrader.submissions(A01)
    people.browser("ines").shot("submissions")
    started = time.monotonic()
    graded = formgrader.autograde("ana")
    print(f"autograde from the formgrader: {time.monotonic() - started:.0f} s")
    assert "Successfully autograded" in graded, graded
    score = formgrader.score("ana")
    people.browser("ines").shot("score")
    assert score == "16 / 16", f"the formgrader shows {score!r} for ana (alice's answers earn 16 of 16)"

    formgrader.generate_feedback("ana")
    released = formgrader.release_feedback("ana")
    assert "Successfully released feedback" in released, released
    people.done.add("feedback released")


def test_the_student_opens_her_feedback_with_formulas_rendered_offline(people: People) -> None:
    people.needs("feedback released", "test_the_instructor_autogrades_in_the_formgrader_and_releases_feedback")
    assignments = people.login("ana").assignment_list()
    assignments.fetch_feedback(A01)
    people.browser("ana").shot("feedback-fetched")
    feedback = assignments.view_feedback(A01, A01)
    feedback.trust()
    formulas = feedback.rendered_formulas()
    people.browser("ana").shot("feedback-open")
    text = feedback.text()
    print(f"ana's feedback page: {formulas} formulas typeset by its inline MathJax")
    assert "Score: 16.0 / 16.0" in text, text[:2000]
    assert formulas > 0


def test_instant_feedback_reaches_a_student_without_the_instructor(people: People) -> None:
    ben = people.login("ben")
    assignments = ben.assignment_list()
    assignments.fetch(A01)
    notebook = assignments.open_notebook(A01, A01)
    type_answers(notebook, solution("carol"))  # 10 of 16: mse_grad and fit_quadratic are wrong
    people.browser("ben").shot("solution-typed-and-saved")

    assignments = ben.assignment_list()
    assignments.submit(A01)
    people.browser("ben").shot("submitted")
    waited = assignments.wait_feedback(A01, INSTANT_TIMEOUT_S)
    people.browser("ben").shot("instant-feedback-offered")
    print(f"ben's instant feedback was offered {waited:.0f} s after his submission appeared in his list")
    assignments.fetch_feedback(A01)
    feedback = assignments.view_feedback(A01, A01)
    feedback.trust()
    formulas = feedback.rendered_formulas()
    people.browser("ben").shot("instant-feedback-open")
    text = feedback.text()
    assert "Score: 10.0 / 16.0" in text, text[:2000]
    assert formulas > 0

    browser = people.browser("ben")
    browser.get(f"{people.classroom.url}/services/grading/courses/dl102/results/{A01}")
    browser.wait_text("ben reads his instant result from the grading service", "Score: 10 / 16")
    browser.shot("instant-result-page")


def test_a_student_cannot_open_another_students_files(people: People) -> None:
    people.needs("ana submitted", "test_a_student_fetches_solves_validates_and_submits")
    marker, notebook = people.facts["marker"], people.facts["notebook"]
    ben = people.login("ben")
    browser = people.browser("ben")
    url = people.classroom.url

    tried = {
        "ana's JupyterLab": f"{url}/user/ana/lab",
        "ana's notebook (files URL)": f"{url}/user/ana/files/{notebook}",
        "ana's notebook (contents API)": f"{url}/user/ana/api/contents/{notebook}",
        "ana's instant results": f"{url}/services/grading/courses/dl101/results/{A01}?student=ana",
        "the formgrader on ben's server": f"{url}/user/ben/formgrader",
        "the formgrader on ines's server": f"{url}/user/ines/formgrader",
    }
    outcomes = {}
    for what, address in tried.items():
        browser.get(address)
        # The hub's OAuth redirects end on a refusal: the hub's 403 page, the server's or the service's answer.
        shown = browser.wait(f"ben tries {what}", lambda _: (lambda text: text if DENIED.search(text) else None)(
            browser.page_text(400)), timeout=30)
        outcomes[what] = f"{browser.d.current_url.split('?')[0]} {shown!r}"
        browser.shot(f"denied-{what.split('(')[-1].strip(')')}")
        assert marker not in browser.d.page_source, f"ben read {what} at {address}"

    ben.open()
    relative = "../ana/" + notebook
    error = ben.open_from_path(relative)
    browser.shot("denied-file-browser")
    outcomes["ana's notebook in ben's file browser"] = repr(error)
    ben.close_dialog()
    assert error, f"ben's file browser opened {relative}"
    assert marker not in browser.d.page_source
    for what, outcome in outcomes.items():
        print(f"ben tried {what}: {outcome}")


def test_every_step_left_a_screenshot(people: People, screenshots: Path) -> None:
    taken = sorted(screenshots.glob("*.png"))
    print(f"\nscreenshots ({len(taken)}) in {screenshots}:")
    for path in taken:
        print(f"  {path.name}")
    assert taken and all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in taken)

