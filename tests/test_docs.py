"""The docs keep up with the code: every limit and every option is documented, every linked page exists."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.gradebook.preprocessor import SandboxedGrading
from autograder.sandbox.confine import Limits

REPO = Path(__file__).resolve().parents[1]
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text()


def test_every_limit_is_documented_with_its_default():
    for key, default, _ in Limits.describe():
        row = re.search(rf"^\| `{key}` \| ([^|]+) \|", CONFIGURATION, re.MULTILINE)
        assert row, f"docs/configuration.md lacks the limit {key}"
        assert row.group(1).strip() == (str(default).lower() if type(default) is bool else str(default)), key


def test_every_option_of_the_grading_step_is_documented():
    for name in SandboxedGrading.class_traits(config=True):
        assert f"c.SandboxedGrading.{name}" in CONFIGURATION, f"docs/configuration.md lacks SandboxedGrading.{name}"


def test_pages_the_readme_and_docs_link_exist():
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?:\.\./|docs/)?[\w./-]+\.md)\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.name} links to {target}, which does not exist"
