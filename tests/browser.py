"""A small page-object layer over headless Chromium for the classroom's browser test.

`Browser` owns one Debian chromium and its chromedriver (started and stopped with it, a fresh profile each
time, no network beyond loopback) and saves numbered screenshots of each step. The page objects below it
know JupyterHub 6's login page (`Hub`), a person's JupyterLab 4 (`LabServer`) with nbgrader 0.9.6's
assignment list (`AssignmentList`), a notebook (`NotebookPage`), a feedback page in Lab's HTML viewer
(`FeedbackView`) and the formgrader's pages (`Formgrader`): a test speaks in steps, and a step that times
out saves a screenshot and says which step it was and what the page showed.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless, no GPU, no sandbox (we run as root), and nothing that phones home: the classroom has no internet.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1400,1000"]
T = TypeVar("T")


class StepFailed(AssertionError):
    """A browser step did not reach its goal in time; the message says which step and what the page showed."""


def browser_available() -> str | None:
    """None when chromium and chromedriver are installed, else what is missing and how to get it."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        return f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver (`make setup`)"
    return None


class Browser:
    """One headless chromium session; ``with Browser(folder) as b:`` starts it and always quits it.

    ``shot(name)`` saves ``NN-name.png`` under ``folder`` and records it in ``shots``, so a test can list
    every screenshot it took, failing or not.
    """

    def __init__(self, screenshots: Path, *, timeout: float = 30.0, label: str = "") -> None:
        self.screenshots = screenshots
        self.timeout = timeout
        self.label = label
        self.shots: list[Path] = []
        self.before_shot: dict[str, Callable[[], None]] = {}  # tidying up the page before each picture, by name
        self.driver: webdriver.Chrome | None = None
        self._profile: str | None = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None and self.driver is not None:
            self.shot("failed")  # the page as it was when the step failed
        self.quit()

    def start(self) -> None:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self._profile = tempfile.mkdtemp(prefix="ag-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={self._profile}"]:
            options.add_argument(flag)
        # The driver's path is given, so Selenium Manager never looks for one on the network.
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(self.timeout * 2)

    def quit(self) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()  # stops chromium and, through the Service, chromedriver
            finally:
                self.driver = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    @property
    def d(self) -> webdriver.Chrome:
        if self.driver is None:
            raise RuntimeError("the browser is not started: use `with Browser(folder) as browser:`")
        return self.driver

    # -- screenshots and page text ---------------------------------------------------------------------------

    def shot(self, name: str) -> Path:
        """Save the visible page as the next numbered PNG; shared numbering across browsers of one folder."""
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.label}-{name}" if self.label else name).strip("-")
        number = len(list(self.screenshots.glob("[0-9][0-9]-*.png"))) + 1
        path = self.screenshots / f"{number:02d}-{slug}.png"
        try:
            for tidy in self.before_shot.values():
                tidy()
            self.d.save_screenshot(str(path))
        except WebDriverException:
            return path  # a crashed tab has no picture; the step's own error says why
        self.shots.append(path)
        return path

    def page_text(self, limit: int = 1500) -> str:
        """What a person would read on the page (iframes included), shortened, for error messages."""
        try:
            text = self.d.execute_script(
                "const parts = [document.body ? document.body.innerText : ''];"
                "for (const f of document.querySelectorAll('iframe')) {"
                "  try { parts.push('[iframe] ' + f.contentDocument.body.innerText); } catch (e) {} }"
                "return parts.join('\\n');") or ""
        except WebDriverException as exc:
            return f"(page unreadable: {exc.msg})"
        text = re.sub(r"\n\s*\n+", "\n", text).strip()
        return text if len(text) <= limit else text[:limit] + " ..."

    def describe(self) -> str:
        try:
            return f"at {self.d.current_url} (title {self.d.title!r}); the page showed:\n{self.page_text()}"
        except WebDriverException as exc:
            return f"(the browser is gone: {exc.msg})"

    # -- waiting ---------------------------------------------------------------------------------------------

    def wait(self, step: str, condition: Callable[[webdriver.Chrome], T], timeout: float | None = None) -> T:
        """``condition``'s first truthy value within ``timeout`` seconds, else `StepFailed` naming the step."""
        try:
            return WebDriverWait(self.d, timeout or self.timeout, poll_frequency=0.25,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            self.shot(f"failed-{step[:40]}")
            raise StepFailed(f"step '{step}' did not happen within {timeout or self.timeout:.0f} s "
                             f"{self.describe()}") from None

    def find(self, step: str, css: str, timeout: float | None = None, *, visible: bool = True) -> WebElement:
        """The first element matching ``css`` (displayed, unless ``visible`` is False)."""
        def located(driver: webdriver.Chrome) -> WebElement | None:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if not visible or element.is_displayed():
                    return element
            return None
        return self.wait(f"{step} (waiting for {css})", located, timeout)

    def find_text(self, step: str, css: str, text: str, timeout: float | None = None) -> WebElement:
        """The first displayed element matching ``css`` whose text contains ``text``."""
        def located(driver: webdriver.Chrome) -> WebElement | None:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed() and text in element.text:
                    return element
            return None
        return self.wait(f"{step} (waiting for {css} showing {text!r})", located, timeout)

    def wait_text(self, step: str, text: str, timeout: float | None = None) -> None:
        """Wait until the page's text (iframes included) contains ``text``."""
        self.wait(f"{step} (waiting for the text {text!r})", lambda _: text in self.page_text(limit=10**6), timeout)

    def click(self, step: str, css: str, text: str | None = None, timeout: float | None = None) -> None:
        element = self.find_text(step, css, text, timeout) if text is not None else self.find(step, css, timeout)
        self.wait(f"{step} (clicking {css})", lambda _: _clicked(element))

    def get(self, url: str) -> None:
        self.d.get(url)

    def settle(self, seconds: float = 0.5) -> None:
        """Give the page a moment to paint after an action the app confirms without a visible change."""
        time.sleep(seconds)


def _clicked(element: WebElement) -> bool:
    try:
        element.click()
    except WebDriverException as exc:  # covered by a dialog or not yet interactable: try again
        if "not interactable" in exc.msg or "intercepted" in exc.msg:
            return False
        raise
    return True


# -- JupyterHub ------------------------------------------------------------------------------------------------


class Hub:
    """JupyterHub 6's own pages: the login form, the spawn-pending page, logging out."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.b = browser
        self.url = url.rstrip("/")

    def login(self, username: str, password: str) -> LabServer:
        """Log in and wait for the person's JupyterLab (the hub spawns the server on the first login)."""
        self._submit_login(username, password)
        server = self.server(username)
        server.open()
        return server

    def login_refused(self, username: str, password: str) -> str:
        """Log in with a wrong password; the hub's error message (the page stays on the login form)."""
        self._submit_login(username, password)
        return self.b.find(f"refused login of {username}", ".login_error, .alert-danger").text

    def _submit_login(self, username: str, password: str) -> None:
        self.b.get(f"{self.url}/hub/login")
        step = f"log in as {username}"
        for css, value in (("#username_input", username), ("#password_input", password)):
            field = self.b.find(step, css)
            field.clear()
            field.send_keys(value)
        self.b.click(step, "#login_submit")

    def server(self, username: str) -> LabServer:
        """``username``'s server, at the hub's ``/user/<name>/`` (whoever the browser is logged in as)."""
        return LabServer(self.b, f"{self.url}/user/{username}", username)

    def logout(self) -> None:
        self.b.get(f"{self.url}/hub/logout")
        self.b.find("log out", "#username_input, #login-main, .container")


# -- a person's server: JupyterLab 4 with nbgrader 0.9's extensions --------------------------------------------


class LabServer:
    """One person's single-user server, seen through JupyterLab (``/user/<name>/lab``)."""

    def __init__(self, browser: Browser, base: str, username: str) -> None:
        self.b = browser
        self.base = base.rstrip("/")
        self.username = username
        browser.before_shot.setdefault("lab news", self.dismiss_news)  # the toast would hide part of each picture

    def open(self, path: str = "") -> None:
        """JupyterLab (at ``path``, a file or folder, when given), once its menu bar is drawn."""
        self.b.get(f"{self.base}/lab" + (f"/tree/{path}" if path else ""))
        self.b.find(f"JupyterLab of {self.username} (spawned and loaded)", ".lm-MenuBar-item", timeout=120)
        self.dismiss_news()

    def dismiss_news(self) -> None:
        """JupyterLab asks (in a toast over the page's corner) whether to fetch Jupyter's news: answer no."""
        self.b.d.execute_script(
            "for (const b of document.querySelectorAll('.jp-toast-button'))"
            "  if (b.textContent.trim() === 'No') b.click();")

    def menu(self, menu: str, command: str) -> None:
        """Run ``command`` (a Lumino command id) from the menu bar's ``menu``."""
        step = f"menu {menu} > {command}"
        self.b.click(step, ".lm-MenuBar-item", menu)
        self.b.click(step, f'.lm-Menu-item[data-command="{command}"]')

    def assignment_list(self) -> AssignmentList:
        self.menu("Nbgrader", "nbgrader:open-assignment-list")
        listing = AssignmentList(self.b)
        listing.wait_loaded()
        return listing

    def formgrader(self) -> Formgrader:
        return Formgrader(self.b, self.base)

    def notebook(self, path: str) -> NotebookPage:
        self.open(path)
        page = NotebookPage(self.b, path)
        page.wait_loaded()
        return page

    def open_from_path(self, path: str) -> str:
        """File > Open from Path... with ``path``; the error JupyterLab shows ("" when a document opened)."""
        step = f"open {path!r} from the file browser"
        self.menu("File", "filebrowser:open-path")
        field = self.b.find(step, ".jp-Dialog input")
        field.send_keys(path)
        self.b.click(step, ".jp-Dialog .jp-mod-accept")
        self.b.wait(step, lambda d: not d.find_elements(By.CSS_SELECTOR, ".jp-Dialog input"))
        # An error comes as a second dialog; a success as a new document tab.
        def outcome(driver: webdriver.Chrome) -> str | None:
            dialogs = [e for e in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog") if e.is_displayed()]
            if dialogs:
                return dialogs[0].text
            current = driver.find_elements(By.CSS_SELECTOR, ".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
            if any(path.rsplit("/", 1)[-1] in tab.text for tab in current):
                return ""
            return None
        return self.b.wait(step + " (waiting for an error dialog or the document)", outcome)

    def close_dialog(self) -> None:
        self.b.click("close the dialog", ".jp-Dialog .jp-Dialog-button")
        self.b.wait("close the dialog", lambda d: not [e for e in d.find_elements(By.CSS_SELECTOR, ".jp-Dialog")
                                                       if e.is_displayed()])


class AssignmentList:
    """nbgrader's assignment list panel: released, downloaded and submitted assignments."""

    RELEASED = "#released_assignments_list"
    FETCHED = "#fetched_assignments_list"
    SUBMITTED = "#submitted_assignments_list"

    def __init__(self, browser: Browser) -> None:
        self.b = browser

    def wait_loaded(self) -> None:
        def loaded(driver: webdriver.Chrome) -> bool:
            loading = driver.find_elements(By.CSS_SELECTOR, "#released_assignments_list_loading")
            return bool(loading) and not loading[0].is_displayed()
        self.b.wait("the assignment list loads", loaded, timeout=60)
        errors = [e.text for e in self.b.d.find_elements(By.CSS_SELECTOR, ".list_error, .version_error")
                  if e.is_displayed() and e.text.strip()]
        if errors:
            raise StepFailed(f"the assignment list shows an error: {' / '.join(errors)}")

    def refresh(self) -> None:
        self.b.click("refresh the assignment list", "#refresh_assignments_list")
        self.wait_loaded()

    def _row(self, section: str, assignment: str, timeout: float | None = None) -> WebElement:
        return self.b.find_text(f"{assignment} in {section}", f"{section} > .list_item", assignment, timeout)

    def fetch(self, assignment: str) -> None:
        row = self._row(self.RELEASED, assignment)
        self.b.wait(f"fetch {assignment}", lambda _: _clicked(row.find_element(By.CSS_SELECTOR, "button")))
        self._row(self.FETCHED, assignment, timeout=60)

    def expand(self, assignment: str) -> WebElement:
        """The downloaded assignment's row, opened to show its notebooks (with their Validate buttons)."""
        row = self._row(self.FETCHED, assignment)
        notebooks = row.find_element(By.CSS_SELECTOR, ".assignment-notebooks")
        if not notebooks.is_displayed():
            link = row.find_element(By.CSS_SELECTOR, "a.assignment-notebooks-link")
            self.b.wait(f"open {assignment}'s notebooks", lambda _: _clicked(link))
            self.b.wait(f"open {assignment}'s notebooks", lambda _: notebooks.is_displayed())
        return row

    def open_notebook(self, assignment: str, notebook: str) -> NotebookPage:
        """Open a downloaded notebook from its link in the list; JupyterLab shows it in a new tab."""
        row = self.expand(assignment)
        link = next(e for e in row.find_elements(By.CSS_SELECTOR, ".nested_list_item .item_name a")
                    if e.text.strip() == notebook)
        self.b.wait(f"open {notebook} from the assignment list", lambda _: _clicked(link))
        page = NotebookPage(self.b, f"{notebook}.ipynb")
        page.wait_loaded()
        return page

    def validate(self, assignment: str, notebook: str, timeout: float = 300) -> str:
        """Press Validate on ``notebook``; the result dialog's text (closed afterwards)."""
        row = self.expand(assignment)
        item = next(e for e in row.find_elements(By.CSS_SELECTOR, ".nested_list_item") if notebook in e.text)
        button = item.find_element(By.CSS_SELECTOR, "button")
        self.b.wait(f"validate {notebook}", lambda _: _clicked(button))
        dialog = self.b.find(f"validate {notebook} (the result dialog)", ".jp-Dialog", timeout=timeout)
        self.b.wait(f"validate {notebook} (the result's text)",
                    lambda _: dialog.find_element(By.CSS_SELECTOR, ".jp-Dialog-body").text.strip())
        return dialog.find_element(By.CSS_SELECTOR, ".jp-Dialog-content").text

    def close_dialog(self) -> None:
        self.b.click("close the dialog", ".jp-Dialog .jp-Dialog-button")
        self.b.wait("close the dialog", lambda d: not [e for e in d.find_elements(By.CSS_SELECTOR, ".jp-Dialog")
                                                       if e.is_displayed()])

    def submissions(self, assignment: str) -> list[str]:
        """The submitted list's lines for ``assignment`` (a timestamp, with "(view feedback)" when fetched)."""
        sections = self.b.d.find_elements(By.CSS_SELECTOR, f"{self.SUBMITTED} > .list_item")
        for section in sections:
            if assignment in section.find_element(By.CSS_SELECTOR, ".item_name").text:
                return [e.get_attribute("textContent").strip()
                        for e in section.find_elements(By.CSS_SELECTOR, ".nested_list_item .item_name")]
        return []

    def submit(self, assignment: str) -> str:
        """Press Submit; the new submission's timestamp line once it is listed."""
        before = self.submissions(assignment)
        row = self._row(self.FETCHED, assignment)
        button = row.find_element(By.CSS_SELECTOR, ".item_status button")
        self.b.wait(f"submit {assignment}", lambda _: _clicked(button))
        def listed(_: webdriver.Chrome) -> str | None:
            new = [line for line in self.submissions(assignment) if line not in before]
            return new[0] if new else None
        return self.b.wait(f"submit {assignment} (waiting for it in the submitted list)", listed, timeout=60)

    def wait_feedback(self, assignment: str, timeout: float) -> float:
        """Refresh until the submitted list offers feedback for ``assignment``; the seconds it took."""
        started = time.monotonic()
        def offered(_: webdriver.Chrome) -> bool:
            lines = self.submissions(assignment)
            if any("feedback" in line for line in lines):
                return True
            self.refresh()
            time.sleep(2)
            return False
        self.b.wait(f"feedback for {assignment} appears in the assignment list", offered, timeout=timeout)
        return time.monotonic() - started

    def fetch_feedback(self, assignment: str) -> None:
        row = self._row(self.SUBMITTED, assignment)
        button = row.find_element(By.CSS_SELECTOR, ".item_status button")
        self.b.wait(f"fetch feedback for {assignment}", lambda _: _clicked(button))
        self.b.wait(f"fetch feedback for {assignment} (waiting for '(view feedback)')",
                    lambda _: any("view feedback" in line for line in self.submissions(assignment)), timeout=60)

    def view_feedback(self, assignment: str, notebook: str) -> FeedbackView:
        """Follow "(view feedback)" to the feedback folder and open ``notebook``'s HTML page in JupyterLab."""
        step = f"view the feedback of {assignment}"
        def latest(driver: webdriver.Chrome) -> WebElement | None:  # the newest submission is listed last
            links = [e for e in driver.find_elements(By.CSS_SELECTOR, f"{self.SUBMITTED} .nested_list_item a")
                     if "view feedback" in e.text]
            return links[-1] if links else None
        link = self.b.wait(step, latest)
        self.b.wait(step, lambda _: _clicked(link))
        item = self.b.find_text(step + " (the file browser shows it)", ".jp-DirListing-item", f"{notebook}.html")
        self.b.wait(step, lambda driver: _double_clicked(driver, item))
        view = FeedbackView(self.b, notebook)
        view.wait_loaded()
        return view


class NotebookPage:
    """An open notebook in JupyterLab: find a cell by its text, replace its source, save."""

    SHOWN = ".lm-DockPanel-widget:not(.lm-mod-hidden)"

    def __init__(self, browser: Browser, path: str) -> None:
        self.b = browser
        self.path = path

    def wait_loaded(self) -> None:
        self.b.wait(f"open {self.path}", lambda d: self.path.rsplit("/", 1)[-1] in d.current_url, timeout=60)
        self.b.find(f"open {self.path}", f"{self.SHOWN} .jp-Notebook .jp-Cell", timeout=60)

    @property
    def server_path(self) -> str:
        """The notebook's path on its server (JupyterLab puts it in the page's URL after ``/lab/tree/``)."""
        return unquote(self.b.d.current_url.split("/lab/tree/", 1)[1].split("?", 1)[0])

    def cell(self, containing: str) -> WebElement:
        return self.b.find_text(f"the cell of {self.path} containing {containing!r}",
                                f"{self.SHOWN} .jp-Notebook .jp-CodeCell", containing)

    def replace_cell(self, containing: str, source: str) -> None:
        """Select the whole source of the code cell showing ``containing`` and type ``source`` in its place.

        The text goes in as typed input (Chrome's ``Input.insertText``, what an input method sends): the
        editor's auto-indent and bracket closing, which act on key presses, leave it exactly as given.
        """
        step = f"type a solution into the cell of {self.path} containing {containing!r}"
        cell = self.cell(containing)
        self.b.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
        editor = cell.find_element(By.CSS_SELECTOR, ".cm-content")
        self.b.wait(step, lambda _: _clicked(editor))
        webdriver.ActionChains(self.b.d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
        self.b.d.execute_cdp_cmd("Input.insertText", {"text": source})
        self.b.wait(step, lambda _: editor.text.strip() == source.strip(), timeout=10)

    def save(self) -> None:
        webdriver.ActionChains(self.b.d).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
        self.b.wait(f"save {self.path}", lambda d: not d.find_elements(
            By.CSS_SELECTOR, ".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty"))


class FeedbackView:
    """A feedback page in JupyterLab's HTML viewer (a sandboxed frame), trusted so that its MathJax runs."""

    SHOWN = ".lm-DockPanel-widget:not(.lm-mod-hidden)"  # the tab in front (restored tabs may hide others)
    FRAME = f"{SHOWN} .jp-HTMLViewer iframe"

    def __init__(self, browser: Browser, notebook: str) -> None:
        self.b = browser
        self.notebook = notebook

    def wait_loaded(self) -> None:
        self.b.find(f"the feedback page of {self.notebook}", self.FRAME, timeout=30)

    def trust(self) -> None:
        """Press "Trust HTML": the viewer then lets the page run its scripts (the inline MathJax)."""
        self.b.click("trust the feedback page", f"{self.SHOWN} .jp-Toolbar-item", "Trust HTML")
        self.b.find("trust the feedback page", self.FRAME.replace("iframe", 'iframe[sandbox*="allow-scripts"]'))

    def in_frame(self, step: str, script: str, timeout: float | None = None) -> object:
        """``script``'s truthy value, run inside the page's frame (polled until it has one)."""
        def run(driver: webdriver.Chrome) -> object:
            frame = driver.find_elements(By.CSS_SELECTOR, self.FRAME)
            if not frame:
                return None
            driver.switch_to.frame(frame[0])
            try:
                return driver.execute_script(script)
            finally:
                driver.switch_to.default_content()
        return self.b.wait(step, run, timeout)

    def text(self) -> str:
        return str(self.in_frame("read the feedback page", "return document.body && document.body.innerText"))

    def rendered_formulas(self, timeout: float = 60) -> int:
        """How many formulas MathJax typeset in the page (waits for the first one)."""
        return int(self.in_frame(  # type: ignore[arg-type]
            "MathJax typesets the feedback page's formulas (offline)",
            "return document.querySelectorAll('mjx-container').length", timeout))


# -- the formgrader ---------------------------------------------------------------------------------------------


class Formgrader:
    """nbgrader's formgrader pages (what JupyterLab's Formgrader tab frames), at ``<server>/formgrader``."""

    def __init__(self, browser: Browser, server_url: str) -> None:
        self.b = browser
        self.base = f"{server_url}/formgrader"

    def manage_assignments(self) -> None:
        self._page("manage_assignments", "the formgrader's Manage Assignments page", "table tbody tr td.name")

    def _row(self, step: str, text: str) -> WebElement:
        return self.b.find_text(step, "table tbody tr", text)

    def _action(self, step: str, row_text: str, column: str, timeout: float = 120) -> str:
        """Click the link in ``column`` of the row showing ``row_text``; the modal's message, once closed.

        The formgrader answers each action in a modal (``#success-modal`` or ``#error-modal``); an error one
        fails the step with its log.
        """
        row = self._row(step, row_text)
        link = row.find_element(By.CSS_SELECTOR, f"td.{column} a")
        self.b.wait(step, lambda _: _clicked(link))
        modal = self.b.find(f"{step} (the result)", "#success-modal .modal-body, #error-modal .modal-body",
                            timeout=timeout)
        self.b.settle()
        text = modal.text
        failed = bool(self.b.d.find_elements(By.CSS_SELECTOR, "#error-modal"))
        self.b.shot(step.replace(" ", "-"))
        self.b.click(f"{step} (close the result)", ".modal-footer button")
        self.b.wait(f"{step} (close the result)", lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal"))
        if failed:
            raise StepFailed(f"step '{step}' failed in the formgrader:\n{text[-3000:]}")
        return text

    def collect(self, assignment: str) -> str:
        self.manage_assignments()
        return self._action(f"collect {assignment}", assignment, "collect")

    def submissions(self, assignment: str) -> None:
        """The assignment's Manage Submissions page (one row per student)."""
        self._page(f"manage_submissions/{assignment}", f"the submissions of {assignment}",
                   "table tbody tr td.student-id")

    def _page(self, path: str, step: str, row_css: str) -> None:
        """Open a formgrader page and wait for its table's first row, or fail at once on its error page."""
        self.b.get(f"{self.base}/{path}")
        def shown(driver: webdriver.Chrome) -> str | None:
            if any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, row_css)):
                return "rows"
            return "error" if "formgrader encountered an error" in self.b.page_text(10**5) else None
        if self.b.wait(f"{step} (waiting for {row_css})", shown, timeout=60) == "error":
            self.b.shot("formgrader-error")
            raise StepFailed(f"step '{step}': the formgrader shows its error page (nbgrader logs why in the "
                             f"server's log, e.g. a course directory outside the server's root) "
                             f"{self.b.describe()}")

    def autograde(self, student: str, timeout: float = 600) -> str:
        return self._action(f"autograde {student}", student, "autograde", timeout)

    def score(self, student: str) -> str:
        """The score column of the student's row ("16 / 16"), once it shows one."""
        def shown(_: webdriver.Chrome) -> str | None:
            text = self._row(f"{student}'s score", student).find_element(By.CSS_SELECTOR, "td.score").text
            return text if "/" in text else None
        return self.b.wait(f"{student}'s score in the formgrader", shown)

    def status(self, student: str) -> str:
        return self._row(f"{student}'s status", student).find_element(By.CSS_SELECTOR, "td.status").text

    def generate_feedback(self, student: str) -> str:
        return self._action(f"generate feedback for {student}", student, "generate-feedback", 300)

    def release_feedback(self, student: str) -> str:
        return self._action(f"release feedback to {student}", student, "release-feedback")


def _double_clicked(driver: webdriver.Chrome, element: WebElement) -> bool:
    try:
        webdriver.ActionChains(driver).double_click(element).perform()
    except WebDriverException as exc:
        if "not interactable" in exc.msg or "intercepted" in exc.msg:
            return False
        raise
    return True
