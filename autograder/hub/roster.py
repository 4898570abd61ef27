"""The roster: the TOML file that says who is in the classroom, in which course and in which role.

`load_roster` reads and checks it whole, and refuses it with one line per mistake, each naming the file, the
entry and the fix. The rest of the hub reads only the `Roster` it returns: people, courses and their settings.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PREFIX = "ag-"
ROLES = ("instructors", "graders", "students")
MAX_SYSTEM_NAME = 32  # useradd's limit on a user or group name
USERNAME = re.compile(r"^[a-z][a-z0-9_-]*$")
COURSE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PREFIX = re.compile(r"^[a-z][a-z0-9]*-$")
HUB_KEYS = {"host": str, "port": int, "gpu_groups": list, "user_prefix": str}
COURSE_KEYS = {"title": str, "course_root": str, "assignments": list, "instructors": list, "graders": list,
               "students": list, "instant_feedback": bool, "max_instant_feedback": int,
               "hidden_messages_before_deadline": bool, "late_penalty_per_day": float, "deadlines": dict}


class RosterError(ValueError):
    """The roster has mistakes: one line each, naming the file, the entry and the fix."""


@dataclass(frozen=True)
class HubSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    gpu_groups: tuple[str, ...] = ()
    user_prefix: str = DEFAULT_PREFIX


@dataclass(frozen=True)
class CourseSettings:
    """One ``[courses.<id>]`` table."""

    id: str
    course_root: Path  # the course tree: assignments/source, assignments/<id>/hidden, reference/, data/
    title: str = ""
    assignments: tuple[str, ...] = ()
    instructors: tuple[str, ...] = ()
    graders: tuple[str, ...] = ()
    students: tuple[str, ...] = ()
    instant_feedback: bool = False
    max_instant_feedback: int = 3
    hidden_messages_before_deadline: bool = False
    late_penalty_per_day: float = 0.0
    deadlines: dict[str, dt.datetime] = field(default_factory=dict)

    @property
    def staff(self) -> tuple[str, ...]:
        """Instructors and graders: the members of ``formgrade-<course>``."""
        return self.instructors + self.graders

    @property
    def members(self) -> tuple[str, ...]:
        """Who sees the course's assignment list (``nbgrader-<course>``): students and instructors."""
        return self.students + self.instructors

    def role(self, username: str) -> str | None:
        for role in ROLES:
            if username in getattr(self, role):
                return role[:-1]
        return None


@dataclass(frozen=True)
class Roster:
    path: Path
    hub: HubSettings
    courses: dict[str, CourseSettings]

    @property
    def people(self) -> dict[str, dict[str, str]]:
        """username -> {course id -> role (instructor, grader or student)}, every person of every course."""
        people: dict[str, dict[str, str]] = {}
        for course in self.courses.values():
            for role in ROLES:
                for name in getattr(course, role):
                    people.setdefault(name, {})[course.id] = role[:-1]
        return dict(sorted(people.items()))

    def staff_courses(self, username: str) -> list[CourseSettings]:
        return [course for course in self.courses.values() if username in course.staff]

    def groups(self) -> dict[str, list[str]]:
        """The hub's groups by nbgrader's conventions: ``formgrade-<course>`` (staff), ``nbgrader-<course>``."""
        groups: dict[str, list[str]] = {}
        for course in self.courses.values():
            groups[f"formgrade-{course.id}"] = sorted(set(course.staff))
            groups[f"nbgrader-{course.id}"] = sorted(set(course.members))
        return groups

    def groups_of(self, username: str) -> list[str]:
        return sorted(name for name, members in self.groups().items() if username in members)


def load_roster(path: Path, *, user_prefix: str | None = None) -> Roster:
    """Read and check the roster at ``path``; `RosterError` lists every mistake, one per line."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise RosterError(f"{path}: no such roster file: give the path of one (hub_config/roster.example.toml "
                          "shows the format)") from None
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(f"{path}: not valid TOML ({exc}): fix the syntax there") from None
    return _Checker(path).roster(table, user_prefix)


class _Checker:
    """Collects the roster's mistakes so that all of them are reported at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []

    def error(self, entry: str, message: str) -> None:
        self.errors.append(f"{self.path}: {entry}: {message}")

    def roster(self, table: dict[str, Any], user_prefix: str | None) -> Roster:
        for key in sorted(set(table) - {"hub", "courses"}):
            self.error(key, "unknown top-level table or key: the roster has only [hub] and [courses.<id>] tables")
        hub = self.hub(table.get("hub", {}), user_prefix)
        courses_table = table.get("courses", {})
        if not isinstance(courses_table, dict) or not courses_table:
            self.error("[courses]", "no course: add a [courses.<id>] table with its instructors and students")
            courses_table = {}
        courses = {}
        for course_id, entry in courses_table.items():
            course = self.course(course_id, entry, hub)
            if course is not None:
                courses[course_id] = course
        if self.errors:
            raise RosterError("\n".join(self.errors))
        return Roster(self.path, hub, courses)

    def typed(self, entry: str, table: dict[str, Any], known: dict[str, type]) -> dict[str, Any]:
        """The keys of ``table`` that are known and of the right type; a mistake for each other one."""
        good = {}
        for key, value in table.items():
            kind = known.get(key)
            if kind is None:
                self.error(f"{entry} {key}", f"unknown key: the known keys are {', '.join(sorted(known))}")
            elif kind is float and type(value) in (int, float):
                good[key] = float(value)
            elif type(value) is not kind:
                self.error(f"{entry} {key} = {value!r}", f"must be a TOML {kind.__name__}")
            else:
                good[key] = value
        return good

    def hub(self, table: Any, user_prefix: str | None) -> HubSettings:
        if not isinstance(table, dict):
            self.error("hub", "must be a [hub] table")
            return HubSettings()
        values = self.typed("[hub]", table, HUB_KEYS)
        if user_prefix is not None:
            values["user_prefix"] = user_prefix
        prefix = values.get("user_prefix", DEFAULT_PREFIX)
        if not PREFIX.match(prefix) or len(prefix) > 16:
            self.error(f"[hub] user_prefix = {prefix!r}", "must be lower-case letters and digits ending in '-' "
                                                          "(at most 16 characters), like 'ag-'")
        port = values.get("port", 8000)
        if not 1 <= port <= 65535:
            self.error(f"[hub] port = {port}", "must be a TCP port between 1 and 65535")
        groups = values.get("gpu_groups", [])
        if not all(isinstance(name, str) for name in groups):
            self.error("[hub] gpu_groups", "must be a list of hub group names, like [\"formgrade-dl101\"]")
            groups = []
        return HubSettings(host=values.get("host", "127.0.0.1"), port=port, gpu_groups=tuple(groups),
                           user_prefix=prefix)

    def course(self, course_id: str, table: Any, hub: HubSettings) -> CourseSettings | None:
        entry = f"[courses.{course_id}]"
        before = len(self.errors)
        staff_group = f"{hub.user_prefix.rstrip('-')}staff-{course_id}"
        if not COURSE_ID.match(course_id) or len(staff_group) > MAX_SYSTEM_NAME:
            self.error(entry, "the course id must be lower-case letters, digits, '-' and '_' (starting with a letter "
                              f"or digit) and at most {MAX_SYSTEM_NAME - len(staff_group) + len(course_id)} "
                              "characters: rename the table")
        if not isinstance(table, dict):
            self.error(entry, "must be a table with course_root, instructors and students")
            return None
        values = self.typed(entry, table, COURSE_KEYS)
        root = (self.path.parent / values.get("course_root", ".")).resolve()
        if not (root / "assignments" / "source").is_dir():
            self.error(f"{entry} course_root = {values.get('course_root', '.')!r}",
                       f"{root} has no assignments/source: give the course tree (relative to the roster's folder)")
            return None
        in_tree = sorted(p.name for p in (root / "assignments" / "source").iterdir() if p.is_dir())
        assignments = self.names(entry, "assignments", values.get("assignments", in_tree), "assignment")
        for name in assignments:
            if name not in in_tree:
                self.error(f"{entry} assignments", f"{name!r} is not in {root / 'assignments' / 'source'} (there: "
                                                   f"{', '.join(in_tree) or 'none'}): fix the name or drop it")
        people = {role: self.people(entry, role, values.get(role, []), hub) for role in ROLES}
        seen: dict[str, str] = {}
        for role in ROLES:
            for name in people[role]:
                if name in seen:
                    self.error(f"{entry} {role}", f"{name!r} is also one of the {seen[name]}: one role per course, "
                                                  "keep the one that applies")
                seen.setdefault(name, role)
        if not people["instructors"]:
            self.error(f"{entry} instructors", "no instructor: name at least one, who releases and grades")
        limit = values.get("max_instant_feedback", 3)
        if limit < 0:
            self.error(f"{entry} max_instant_feedback = {limit}", "must be 0 (unlimited) or more")
        penalty = values.get("late_penalty_per_day", 0.0)
        if not 0 <= penalty <= 1:
            self.error(f"{entry} late_penalty_per_day = {penalty}", "must be a fraction between 0 and 1, like 0.1")
        deadlines = self.deadlines(entry, values.get("deadlines", {}), assignments)
        if len(self.errors) > before:
            return None
        return CourseSettings(
            id=course_id, course_root=root, title=values.get("title", course_id), assignments=tuple(assignments),
            instructors=people["instructors"], graders=people["graders"], students=people["students"],
            instant_feedback=values.get("instant_feedback", False), max_instant_feedback=limit,
            hidden_messages_before_deadline=values.get("hidden_messages_before_deadline", False),
            late_penalty_per_day=penalty, deadlines=deadlines)

    def names(self, entry: str, key: str, values: list[Any], what: str) -> list[str]:
        good: list[str] = []
        for value in values:
            if not isinstance(value, str):
                self.error(f"{entry} {key}", f"{value!r} is not a string: list {what} names in quotes")
            elif value in good:
                self.error(f"{entry} {key}", f"{value!r} is listed twice: keep one")
            else:
                good.append(value)
        return good

    def people(self, entry: str, role: str, values: list[Any], hub: HubSettings) -> tuple[str, ...]:
        names = self.names(entry, role, values, "user")
        longest = MAX_SYSTEM_NAME - len(hub.user_prefix)
        for name in names:
            if not USERNAME.match(name) or len(name) > longest:
                self.error(f"{entry} {role}", f"{name!r} is not a valid user name: lower-case letters, digits, '-' "
                                              f"and '_', starting with a letter, at most {longest} characters")
        return tuple(names)

    def deadlines(self, entry: str, table: dict[str, Any], assignments: list[str]) -> dict[str, dt.datetime]:
        good = {}
        for name, value in table.items():
            where = f"{entry[:-1]}.deadlines] {name}"
            if name not in assignments:
                self.error(where, f"{name!r} is not one of this course's assignments ({', '.join(assignments)}): "
                                  "fix the name or drop the line")
                continue
            when = value
            if isinstance(value, str):
                try:
                    when = dt.datetime.fromisoformat(value)
                except ValueError:
                    self.error(f"{where} = {value!r}", "not a date and time: write it like "
                                                       "\"2026-12-01T23:59:00+00:00\"")
                    continue
            if not isinstance(when, dt.datetime):
                self.error(f"{where} = {value!r}", "must be a date and time like \"2026-12-01T23:59:00+00:00\"")
            elif when.tzinfo is None:
                self.error(f"{where} = {value!r}", "has no time zone: add one, like +00:00")
            else:
                good[name] = when
        return good


def system_user(prefix: str, username: str) -> str:
    """The system account of a roster person: ``ag-ana`` for ``ana``."""
    return f"{prefix}{username}"


def staff_group(prefix: str, course_id: str) -> str:
    """The system group of a course's staff (``agstaff-dl101``): never a person's name, which starts with the
    prefix itself."""
    return f"{prefix.rstrip('-')}staff-{course_id}"
