"""A suite verified once per user, not once per course directory: the shared verdict and what it rests on."""

from __future__ import annotations

import logging
import shutil

import pytest

from autograder.course.assignment import Assignment
from autograder.grading import reference_check
from autograder.grading.job import GradingRecords
from autograder.grading.reference_check import VERDICT_CACHE_ENV, verify_suite
from autograder.grading.suite import SuiteError
from autograder.selftest.cases import TOY_ROOT


@pytest.fixture
def toy_tree(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    shutil.copytree(TOY_ROOT, tree, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "verdicts"
    monkeypatch.setenv(VERDICT_CACHE_ENV, str(cache))
    return tree


def no_grading(*args, **kwargs):
    raise AssertionError("the reference was graded again")


@pytest.mark.slow
def test_a_second_course_directory_reuses_the_verdict_and_a_change_verifies_again(toy_tree, tmp_path, monkeypatch):
    assignment = Assignment("toy", toy_tree)
    verify_suite(assignment, GradingRecords(tmp_path / "course1"))
    assert len(list((tmp_path / "verdicts").glob("toy-*.ok"))) == 1
    assert (tmp_path / "verdicts").stat().st_mode & 0o777 == 0o700
    with monkeypatch.context() as patched:
        patched.setattr(reference_check, "_grade_reference", no_grading)
        verify_suite(assignment, GradingRecords(tmp_path / "course2"))
    assert list((tmp_path / "course2" / "verified_suites").glob("toy-*.ok"))
    # The solution is part of what was verified: a changed one is verified again, and a failing one refused.
    source = assignment.source_notebook
    source.write_text(source.read_text().replace("return x * 2", "return x * 3"))
    with pytest.raises(SuiteError, match="does not pass its own hidden suite"):
        verify_suite(assignment, GradingRecords(tmp_path / "course3"))
    assert len(list((tmp_path / "verdicts").glob("toy-*.ok"))) == 1


@pytest.mark.slow
def test_a_shared_folder_others_may_enter_is_not_trusted(toy_tree, tmp_path, caplog):
    (tmp_path / "verdicts").mkdir(mode=0o755)
    (tmp_path / "verdicts").chmod(0o755)
    with caplog.at_level(logging.WARNING):
        verify_suite(Assignment("toy", toy_tree), GradingRecords(tmp_path / "course1"))
    assert "not shared between course directories" in caplog.text
    assert not list((tmp_path / "verdicts").iterdir())
