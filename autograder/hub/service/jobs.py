"""The grading service's jobs: one file per job in its course's state, so a restart loses nothing.

A job is queued, then running, then done or failed. Each course keeps its jobs under
``state/courses/<course>/grading_service/jobs/`` (the course directory students cannot enter). A job found
queued or running when the service starts (the hub or the service was stopped mid-run) is queued again:
the grading batch is resumable (`autograder.gradebook.batch`), so the submissions it had graded are reused
from their records and only the rest are graded.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

UNFINISHED = ("queued", "running")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    """One request: grade an assignment (``grade``) or one student's new submission (``instant``)."""

    id: str
    course: str
    kind: str  # grade | instant
    assignment: str
    students: list[str] = field(default_factory=list)  # empty for a grade job: every submission
    requested_by: str = ""
    status: str = "queued"
    created: str = field(default_factory=now)
    started: str = ""
    finished: str = ""
    runs: int = 0  # how many times a worker started it: above 1, a restart resumed it
    message: str = ""
    results: dict[str, dict] = field(default_factory=dict)  # student -> what grading gave

    @classmethod
    def new(cls, course: str, kind: str, assignment: str, students: list[str], requested_by: str) -> Job:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
        return cls(f"{stamp}-{uuid.uuid4().hex[:8]}", course, kind, assignment, list(students), requested_by)

    def to_dict(self) -> dict:
        return asdict(self)


def write_json(path: Path, data: dict) -> None:
    """Replace ``path`` at once (a new file renamed over the old): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


class JobStore:
    """Every course's jobs, in memory and on disk."""

    def __init__(self, courses_dir: Path) -> None:
        self.courses_dir = courses_dir
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def folder(self, course: str) -> Path:
        return self.courses_dir / course / "grading_service" / "jobs"

    def load(self, course: str) -> list[Job]:
        """The course's jobs from disk; the unfinished ones come back, oldest first, to be queued again."""
        unfinished = []
        for path in sorted(self.folder(course).glob("*.json")):
            try:
                job = Job(**json.loads(path.read_text()))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}: not a grading job ({exc}): move it away, then start the service "
                                 "again") from None
            with self._lock:
                self._jobs[job.id] = job
            if job.status in UNFINISHED:
                unfinished.append(job)
        return sorted(unfinished, key=lambda job: job.created)

    def save(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            write_json(self.folder(job.course) / f"{job.id}.json", job.to_dict())

    def get(self, course: str, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.course == course else None

    def of_course(self, course: str) -> list[Job]:
        return sorted((job for job in self._jobs.values() if job.course == course), key=lambda job: job.created)
