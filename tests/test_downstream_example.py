"""The docs run: the downstream suite of docs/howto/fairness-tests.md, the tutorial, the
verification guide and the tutorial notebook."""

from __future__ import annotations

import importlib.metadata
import io
import json
import re
from pathlib import Path

import pytest

import randcheck as rc
from randcheck.cli import main

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parent.parent / "docs"
PLUGIN = "randcheck.testing.pytest_plugin"


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown page (other fences are prose)."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


def plugin_args() -> list[str]:
    """``-p`` for the fixtures plugin, unless an installed entry point already loads it."""
    for ep in importlib.metadata.entry_points(group="pytest11"):
        if ep.value == PLUGIN:
            return []
    return ["-p", PLUGIN]


def test_the_fairness_suite_runs_and_passes(pytester: pytest.Pytester) -> None:
    blocks = python_blocks(DOCS / "howto" / "fairness-tests.md")
    assert len(blocks) == 1
    pytester.makepyfile(test_fairness=blocks[0])
    outcome = pytester.runpytest_subprocess(
        *plugin_args(), "-p", "no:cacheprovider", "-W", "error", timeout=300
    )
    outcome.assert_outcomes(passed=5)


def test_the_fairness_suite_catches_an_unfair_pipeline(pytester: pytest.Pytester) -> None:
    """The same suite, with a pipeline that seeds the draw from the first row of the file."""
    suite = python_blocks(DOCS / "howto" / "fairness-tests.md")[0]
    unfair = suite.replace(
        "return rc.draw(items, entities, seed=seed, on=DAY)",
        "first = entities[0]['id'] if isinstance(entities, list) else ''\n"
        "    return rc.draw(items, entities, seed=f'{seed}{first}', on=DAY)",
    )
    assert unfair != suite
    pytester.makepyfile(test_fairness=unfair)
    outcome = pytester.runpytest_subprocess(
        *plugin_args(), "-p", "no:cacheprovider", "-k", "inputs", timeout=300
    )
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(["*the draw is not reproducible: rows reversed*"])


def _run_blocks(path: Path, where: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.chdir(where)
    namespace: dict[str, object] = {"__name__": "__doc__"}
    for block in python_blocks(path):
        exec(compile(block, str(path), "exec"), namespace)
    return namespace


def test_the_tutorial_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = _run_blocks(DOCS / "tutorial.md", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    result = ns["result"]
    assert isinstance(result, rc.DrawResult)
    assert repr(result).startswith("<DrawResult 9 items, 203 selections, 190 tasks, seed 533026c5")
    assert len(result.selected("SL-01")) == 8
    assert "<EntityPool 2,000 entities, digest 856db53a…>" in out
    assert "A 0.070 … 0.070" in out
    published = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert published == result.record
    notice = (tmp_path / "公示" / "notice.html").read_text(encoding="utf-8")
    assert all(
        entities_name in notice
        for entities_name in (ns["entities"][i].name for i in result.selected("HB-01"))
    )
    assert "信用风险" not in notice  # no private field
    assert "近亲属" not in notice
    assert all(task.team for task in result.tasks)
    assert "\n2.0\n" in out  # the stated odds of one task add up to its team size
    from randcheck.ledger import Ledger

    with Ledger.open(tmp_path / "刚察县-2026-第4季度.db", readonly=True) as ledger:
        assert ledger.verify() == 5
        kinds = [e.kind for e in ledger.entries()]
    assert kinds == ["commitment", "seed", "draw", "lock", "publication"]


def test_the_verification_guide_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = DOCS / "howto" / "verify.md"
    ns = _run_blocks(page, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert ns["ok"] is True
    assert "entity pool digest: record" in out  # the tampered register is caught
    # The console example: the command and what it prints.
    console = re.findall(r"^```console\n\$ (.*?)\n(.*?)^```", page.read_text("utf-8"), re.S | re.M)
    assert len(console) == 1
    command, printed = console[0]
    words = command.split()
    assert words[0] == "randcheck"
    buffer = io.StringIO()
    assert main(words[1:], stdout=buffer) == 0
    assert buffer.getvalue() == printed


def test_the_tutorial_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(DOCS / "tutorial-notebook.ipynb", as_version=4)
    monkeypatch.setenv("RANDCHECK_DISABLE_PLUGIN_AUTOLOAD", "1")
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
