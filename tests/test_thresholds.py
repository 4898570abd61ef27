"""Threshold assertions (`compare.thresholds`), their records, and the author check's rows built from them."""

from __future__ import annotations

import hashlib
import math
from types import SimpleNamespace

import pytest
import torch

from autograder.course.assignment import CourseError
from autograder.grading.compare import (
    ComparisonError,
    Measurement,
    assert_at_least,
    assert_at_most,
    assert_within_factor,
    recording_measurements,
    tolerance_margin,
)
from autograder.grading.reference_check import threshold_checks
from autograder.testing import read_verified


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(ComparisonError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


def test_at_least_passes_inside_the_margin_and_says_what_was_needed_outside_it():
    assert_at_least(0.90, 0.95, 0.08, fn="train", what="accuracy")
    assert_at_least(torch.tensor(0.99), 0.95, 0.0, fn="train", what="accuracy")
    text = failure(assert_at_least, 0.80, 0.95, 0.08, fn="train_classifier", inputs={"epochs": 40},
                   what="accuracy on 1000 secret points", hint="check the ReLU")
    assert text.splitlines() == [
        "train_classifier(epochs: 40) -> accuracy on 1000 secret points: got 0.8, needs at least 0.87 "
        "(0.95 minus the allowed 0.08).",
        "Hint: check the ReLU",
    ]


def test_at_most_and_a_missing_score_fail():
    assert_at_most(1.2, 1.0, 0.25, fn="train_price_model", what="test MSE")
    assert "needs at most 1.25" in failure(assert_at_most, 1.3, 1.0, 0.25, fn="f", what="test MSE")
    assert "got nan" in failure(assert_at_least, math.nan, 0.5, 0.1, fn="f", what="accuracy")
    assert "a real number" in failure(assert_at_least, "0.9", 0.5, 0.1, fn="f", what="accuracy")
    with pytest.raises(ValueError, match="margin"):
        assert_at_least(0.9, 0.5, -0.1, fn="f", what="accuracy")


def test_the_author_check_halves_the_margin():
    with tolerance_margin(0.5):
        assert_at_least(0.92, 0.95, 0.08, fn="f", what="accuracy")
        assert "needs at least 0.91" in failure(assert_at_least, 0.90, 0.95, 0.08, fn="f", what="accuracy")


def test_every_threshold_is_recorded_within_a_recording_block():
    with recording_measurements() as recorded:
        assert_at_least(0.9, 0.95, 0.08, fn="f", what="accuracy")
        failure(assert_at_most, 2.0, 1.0, 0.5, fn="f", what="MSE")
        assert_within_factor(0.5, 0.3, factor=2.0, fn="f", what="final loss")
    assert [(m.what, m.got, m.want, m.higher_is_better) for m in recorded] == [
        ("accuracy", 0.9, 0.95, True), ("MSE", 2.0, 1.0, False), ("final loss", 0.5, 0.3, False)]
    assert recorded[0].room == pytest.approx(0.03) and recorded[1].room == pytest.approx(-0.5)
    assert recorded[2].room == pytest.approx(0.1)
    assert_at_least(0.9, 0.95, 0.08, fn="f", what="accuracy")  # outside a block: nothing to record into
    assert len(recorded) == 3


def run_with(*measurements: Measurement):
    return SimpleNamespace(measurements={"TestNet::test_learns": list(measurements)})


def test_the_check_reports_worst_and_median_over_seeds_and_the_room_left():
    runs = [run_with(Measurement("accuracy", got, want, 0.08, True))
            for got, want in ((0.97, 0.98), (0.95, 0.975), (0.99, 0.99))]
    row, = threshold_checks(runs, margin=0.5)
    assert row.ok and row.name == "threshold TestNet::test_learns"
    assert row.detail == ("accuracy, over 3 seeds: wanted (the reference's result) 0.975 at worst, median 0.98; "
                          "the notebook's solutions reached 0.95 at worst, median 0.97; least room 0.055 of the "
                          "0.08 allowed")
    runs.append(run_with(Measurement("accuracy", 0.93, 0.99, 0.08, True)))
    row, = threshold_checks(runs, margin=0.5)
    assert not row.ok and "least room 0.02 of the 0.08 allowed" in row.detail


def test_each_seed_is_held_to_its_own_allowance():
    # A factor of each seed's reference loss: small losses get small allowances. Every seed here keeps all of its
    # own, so the row passes, and it shows the seed with the least room of its own.
    runs = [run_with(Measurement("final loss", want, want, 0.5 * want, False)) for want in (0.04, 0.004, 0.02)]
    row, = threshold_checks(runs, margin=0.5)
    assert row.ok and row.detail.endswith("least room 0.02 of the 0.02 allowed")
    runs.append(run_with(Measurement("final loss", 0.0058, 0.004, 0.002, False)))  # 90 % of its allowance used
    row, = threshold_checks(runs, margin=0.5)
    assert not row.ok and row.detail.endswith("least room 0.0002 of the 0.002 allowed")
    row, = threshold_checks([run_with(Measurement("accuracy", math.nan, 0.9, 0.05, True))], margin=0.5)
    assert not row.ok and "least room nan" in row.detail


def test_read_verified_checks_the_checksum(tmp_path):
    path = tmp_path / "digits.npz"
    path.write_bytes(b"pixels")
    digest = hashlib.sha256(b"pixels").hexdigest()
    assert read_verified(path, digest) == b"pixels"
    with pytest.raises(CourseError, match=f"its sha256 is {digest}, but the course expects 0+: the file changed"):
        read_verified(path, "0" * 64)
    with pytest.raises(CourseError, match=r"cannot read this data file .* build it with the script beside it"):
        read_verified(tmp_path / "missing.npz", digest)
