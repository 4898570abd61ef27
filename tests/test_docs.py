"""The docs keep up with the code: every limit, option and suite API name is documented, every linked page exists."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from autograder import testing
from autograder.gradebook.preprocessor import SandboxedGrading
from autograder.grading.suite import ReferenceProxy, SecretRandom, StudentProxy
from autograder.sandbox.confine import Limits

REPO = Path(__file__).resolve().parents[1]
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text()
SUITE_GUIDE = (REPO / "docs" / "suite-authoring.md").read_text()
# What a suite calls, as the guide names it: each has a heading with its signature and a table of its parameters.
DOCUMENTED_CALLS = [
    *((name, getattr(testing, name)) for name in testing.__all__ if inspect.isfunction(getattr(testing, name))),
    *((f"{fixture}.{name}", method) for fixture, proxy in (("student", StudentProxy), ("reference", ReferenceProxy))
      for name, method in inspect.getmembers(proxy, inspect.isfunction) if not name.startswith("_")),
]


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


def _literal(value) -> str:
    """A default value as the guide writes it: double quotes, ``1e-5`` rather than ``1e-05``."""
    return re.sub(r"e-0(\d)", r"e-\1", repr(value).replace("'", '"'))


def _signature(name: str, function) -> str:
    """``name(params)`` as the guide writes it: no annotations and no ``self``, defaults as `_literal`."""
    parts, keyword_only = [], False
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind is parameter.VAR_POSITIONAL:
            parts.append(f"*{parameter.name}")
            keyword_only = True
            continue
        if parameter.kind is parameter.VAR_KEYWORD:
            parts.append(f"**{parameter.name}")
            continue
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        default = "" if parameter.default is parameter.empty else f"={_literal(parameter.default)}"
        parts.append(parameter.name + default)
    return f"{name}({', '.join(parts)})"


def _section(signature: str) -> str | None:
    """The guide's text from the heading that shows ``signature`` to the next heading (code blocks skipped)."""
    lines = SUITE_GUIDE.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("#") and f"`{signature}`" in line), None)
    if start is None:
        return None
    fenced, end = False, len(lines)
    for i in range(start + 1, len(lines)):
        fenced ^= lines[i].startswith("```")
        if not fenced and lines[i].startswith("#"):
            end = i
            break
    return "\n".join(lines[start:end])


def test_every_public_name_of_the_suite_api_is_in_the_guide():
    for name in testing.__all__:
        assert re.search(rf"`{name}[`(]", SUITE_GUIDE), f"docs/suite-authoring.md lacks autograder.testing.{name}"


def test_every_rng_method_and_attribute_is_in_the_guide():
    for name, member in inspect.getmembers(SecretRandom(0, "TestX::test_y")):
        if not name.startswith("_"):
            mention = _signature(f"rng.{name}", member) if inspect.ismethod(member) else f"rng.{name}"
            assert f"`{mention}`" in SUITE_GUIDE, f"docs/suite-authoring.md lacks `{mention}`, as the code has it"


@pytest.mark.parametrize(("name", "function"), DOCUMENTED_CALLS, ids=[name for name, _ in DOCUMENTED_CALLS])
def test_every_parameter_of_the_suite_api_is_in_the_guide_with_its_default(name, function):
    signature = _signature(name, function)
    section = _section(signature)
    assert section is not None, f"docs/suite-authoring.md lacks a heading with `{signature}`, as the code has it"
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            stars = "*" if parameter.kind is parameter.VAR_POSITIONAL else "**"
            assert f"| `{stars}{parameter.name}` |" in section, f"{name}: no row for {stars}{parameter.name}"
            continue
        row = re.search(rf"^\| `{parameter.name}` \| ([^|]+) \|", section, re.MULTILINE)
        assert row, f"docs/suite-authoring.md: the table of {name} lacks the parameter {parameter.name}"
        default = "required" if parameter.default is parameter.empty else f"`{_literal(parameter.default)}`"
        assert row.group(1).strip() == default, f"{name}: the guide's default of {parameter.name} is not {default}"
