"""The roster file: what it reads, and the one-line message of each mistake; issued passwords' hashes."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from autograder.hub import launcher
from autograder.hub.accounts import PasswordStore, hash_password, recorded_prefix, remove_recorded, verify_password
from autograder.hub.classroom import HubError
from autograder.hub.roster import RosterError, load_roster, staff_group, system_user

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "hub_config" / "roster.example.toml"
GOOD = f'''
[courses.dl101]
course_root = "{REPO}"
assignments = ["a01_gradient_descent"]
instructors = ["ines"]
graders = ["gus"]
students = ["ana", "ben"]
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.toml"
    path.write_text(text)
    return path


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RosterError) as caught:
        load_roster(write(tmp_path, text))
    return str(caught.value).splitlines()


def test_the_example_roster_has_two_courses_sharing_a_student() -> None:
    roster = load_roster(EXAMPLE)
    assert list(roster.courses) == ["dl101", "dl101-spring"]
    dl101 = roster.courses["dl101"]
    assert dl101.course_root == REPO
    assert dl101.assignments == ("a01_gradient_descent", "a02_tabular_regression", "a03_binary_classification",
                                 "a04_neural_networks", "a05_multiclass_mnist", "a06_cnn",
                                 "a07_transfer_learning", "a08_confidence_intervals")
    assert (dl101.instructors, dl101.graders, dl101.students) == (("ines",), ("gus",), ("ana", "ben", "carla"))
    assert dl101.deadlines["a01_gradient_descent"] == dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.UTC)
    assert roster.people["ana"] == {"dl101": "student", "dl101-spring": "student"}
    assert roster.groups_of("ana") == ["nbgrader-dl101", "nbgrader-dl101-spring"]
    assert roster.groups_of("ines") == ["formgrade-dl101", "nbgrader-dl101"]
    assert roster.groups_of("gus") == ["formgrade-dl101"]
    assert [course.id for course in roster.staff_courses("olga")] == ["dl101-spring"]
    assert roster.hub.host == "127.0.0.1"


def test_defaults_every_assignment_in_the_tree_and_no_instant_feedback(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path, GOOD.replace('assignments = ["a01_gradient_descent"]\n', "")))
    course = roster.courses["dl101"]
    assert course.assignments == tuple(sorted(p.name for p in (REPO / "assignments" / "source").iterdir()))
    assert (course.instant_feedback, course.max_instant_feedback, course.late_penalty_per_day) == (False, 3, 0.0)
    assert roster.hub.user_prefix == "ag-"
    assert system_user("ag-", "ana") == "ag-ana"
    assert staff_group("ag-", "dl101") == "agstaff-dl101"  # never a person's account, which starts with ag-


def test_the_user_prefix_given_on_the_command_line_wins(tmp_path: Path) -> None:
    assert load_roster(write(tmp_path, '[hub]\nuser_prefix = "xy-"\n' + GOOD), user_prefix="t1-").hub.user_prefix \
        == "t1-"


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace("[courses.dl101]", "[courses.dl101]\nteachers = [\"x\"]"),
     "[courses.dl101] teachers: unknown key: the known keys are"),
    (lambda t: "colour = 1\n" + t, "colour: unknown top-level table or key"),
    (lambda t: t.replace('"ana"', '"Ana Smith"'), "'Ana Smith' is not a valid user name"),
    (lambda t: t.replace('"ana"', '"' + "a" * 40 + '"'), "is not a valid user name"),
    (lambda t: t.replace('graders = ["gus"]', 'graders = ["ana"]'),
     "[courses.dl101] students: 'ana' is also one of the graders: one role per course"),
    (lambda t: t.replace('"ben"]', '"ben", "ana"]'), "[courses.dl101] students: 'ana' is listed twice: keep one"),
    (lambda t: t.replace(f'course_root = "{REPO}"', 'course_root = "nowhere"'),
     "has no assignments/source: give the course tree"),
    (lambda t: t.replace('"a01_gradient_descent"', '"a09_transformers"'),
     "'a09_transformers' is not in"),
    (lambda t: t + '[courses.dl101.deadlines]\na01_gradient_descent = "next friday"\n',
     "[courses.dl101.deadlines] a01_gradient_descent = 'next friday': not a date and time"),
    (lambda t: t + '[courses.dl101.deadlines]\na01_gradient_descent = "2026-12-01T23:59:00"\n',
     "has no time zone: add one, like +00:00"),
    (lambda t: t + '[courses.dl101.deadlines]\na02_tabular_regression = "2026-12-01T23:59:00+00:00"\n',
     "'a02_tabular_regression' is not one of this course's assignments"),
    (lambda t: t.replace('instructors = ["ines"]', "instructors = []"), "no instructor: name at least one"),
    (lambda t: t.replace("[courses.dl101]", "[courses.dl101]\nlate_penalty_per_day = 2"),
     "late_penalty_per_day = 2.0: must be a fraction between 0 and 1"),
    (lambda t: t.replace("[courses.dl101]", "[courses.dl101]\ninstant_feedback = \"yes\""),
     "instant_feedback = 'yes': must be a TOML bool"),
    (lambda t: t.replace("[courses.dl101]", "[courses.\"DL/101\"]"), "[courses.DL/101]: the course id must be"),
    (lambda t: '[hub]\nuser_prefix = "ag"\n' + t, "[hub] user_prefix = 'ag': must be lower-case letters"),
    (lambda t: '[hub]\nport = 70000\n' + t, "[hub] port = 70000: must be a TCP port"),
    (lambda t: t.replace("[courses.dl101]", "[courses.dl101]\ninstructors = [\"x\"]"), "not valid TOML"),
    (lambda t: "", "[courses]: no course: add a [courses.<id>] table"),
])
def test_each_mistake_gets_a_line_naming_the_file_the_entry_and_the_fix(tmp_path: Path, change, expected) -> None:
    lines = errors(tmp_path, change(GOOD))
    assert any(expected in line for line in lines), lines
    assert all(line.startswith(str(tmp_path / "roster.toml")) for line in lines)


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace('"ana"', '"Ana"').replace('graders = ["gus"]', 'graders = ["ben"]')
    assert len(errors(tmp_path, "colour = 1\n" + text)) == 3


def test_a_missing_roster_says_where_the_example_is(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match=r"no such roster file.*roster\.example\.toml"):
        load_roster(tmp_path / "absent.toml")


def test_passwords_are_kept_as_scrypt_hashes_and_checked_exactly() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("correct horse", "not a hash")


def test_issued_passwords_survive_a_restart_and_leave_with_their_person(tmp_path: Path) -> None:
    store = PasswordStore(tmp_path)
    first = store.issue(["ana", "ben"])
    assert sorted(first) == ["ana", "ben"] and all(len(p) >= 12 for p in first.values())
    assert store.issue(["ana", "ben", "cy"]).keys() == {"cy"}  # ana and ben keep theirs
    assert store.verify("ana", first["ana"]) and not store.verify("ana", first["ben"])
    assert store.credentials()["ben"] == first["ben"]
    assert (tmp_path / "credentials.txt").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "passwords.json").stat().st_mode & 0o777 == 0o600
    store.issue(["ana"])
    assert not store.verify("ben", first["ben"]) and "ben" not in store.credentials()


@pytest.mark.skipif(os.geteuid() != 0, reason="the hub refuses non-root first")
def test_a_missing_proxy_is_refused_with_the_command_that_installs_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "PROXY", tmp_path / "node_modules" / ".bin" / "configurable-http-proxy")
    with pytest.raises(HubError, match=r"JupyterHub's proxy is not installed .* run `make setup`"):
        launcher.check_can_start("127.0.0.1", 18099)


def test_a_state_directory_keeps_its_user_prefix_after_its_accounts_are_removed(tmp_path: Path) -> None:
    """`autograder hub sync` takes the prefix from the state directory: removing the accounts must not lose it."""
    (tmp_path / "accounts.json").write_text('{"users": [], "groups": [], "prefix": "t1-"}')
    assert remove_recorded(tmp_path) == []
    assert recorded_prefix(tmp_path) == "t1-"
    assert recorded_prefix(tmp_path / "new") is None
