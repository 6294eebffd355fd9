"""Every hook in hookspecs.py is documented in docs/plugins.md with its exact signature."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from randcheck import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def hook_specs() -> dict[str, Callable[..., Any]]:
    """The hook specifications: functions of hookspecs.py carrying the spec marker."""
    return {
        name: function
        for name, function in vars(hookspecs).items()
        if callable(function) and hasattr(function, f"{hookspecs.PROJECT_NAME}_spec")
    }


def signature_line(name: str, function: Callable[..., Any]) -> str:
    """``def name(arg: Type, …) -> Return``, annotations as written in hookspecs.py."""
    signature = inspect.signature(function)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"def {name}({params}) -> {signature.return_annotation}"


def test_there_are_hooks() -> None:
    assert set(hook_specs()) >= {
        "randcheck_register_loaders",
        "randcheck_register_columns",
        "randcheck_conflicts",
        "randcheck_risk_weight",
        "randcheck_validate_pool",
        "randcheck_after_draw",
    }


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_hook_is_documented_with_its_signature(name: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"\n### {name}\n" in text, f"docs/plugins.md has no section '### {name}'"
    line = signature_line(name, hook_specs()[name])
    assert line in text, f"docs/plugins.md must show the exact signature:\n{line}"


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_hook_is_well_formed(name: str) -> None:
    function = hook_specs()[name]
    assert name.startswith("randcheck_")
    assert inspect.getdoc(function), f"{name} needs a docstring"
    signature = inspect.signature(function)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())


def test_first_result_hooks_are_marked_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, function in hook_specs().items():
        first = getattr(function, f"{hookspecs.PROJECT_NAME}_spec")["firstresult"]
        section = text.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert ("*first result*" in section) == first, name


def test_docs_document_no_stale_hooks() -> None:
    documented = set(re.findall(r"^### (randcheck_\w+)$", DOCS.read_text("utf-8"), re.M))
    assert documented == set(hook_specs())


def test_docs_name_the_entry_point_group_and_the_variable() -> None:
    from randcheck.plugins import DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP

    text = DOCS.read_text(encoding="utf-8")
    assert f"[project.entry-points.{ENTRY_POINT_GROUP}]" in text
    assert DISABLE_AUTOLOAD_ENV in text
