"""randcheck.plots: π by stratum, drawn on the Agg backend."""

from __future__ import annotations

import io
import sys
import warnings
from collections.abc import Iterator

import pytest

import randcheck as rc
from randcheck.testing.pytest_plugin import load_sample_county

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

from randcheck.plots import plot_inclusion_probabilities  # noqa: E402


@pytest.fixture(scope="module")
def result() -> rc.DrawResult:
    county = load_sample_county()
    return rc.draw(county.items, county.entities, seed=county.seed, on=county.on)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _points(ax: object, gid: str) -> int:
    """Number of points in the axes' collections with this ``gid``."""
    return sum(
        len(c.get_offsets())
        for c in ax.collections  # type: ignore[attr-defined]
        if c.get_gid() == gid
    )


def test_plot_by_credit_class(result: rc.DrawResult) -> None:
    ax = plot_inclusion_probabilities(result, "HB-05")
    d = next(x for x in result.item_draws if x.item.code == "HB-05")
    assert _points(ax, "drawn") == d.design.n
    assert _points(ax, "drawn") + _points(ax, "not drawn") == d.covered.size
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert labels == ["A", "B", "C", "D", "unclassified"]
    assert ax.get_ylabel() == "inclusion probability π"
    assert ax.get_title() == f"HB-05: {d.design.n} of {d.covered.size:,} drawn, π by credit_class"
    means = [c for c in ax.collections if c.get_gid() == "mean"]
    assert len(means) == 5
    d_mean = float(means[3].get_segments()[0][0][1])
    pi = result.inclusion_probabilities("HB-05")
    d_pi = [p for i, p in pi.items() if result.entities[i].credit_class == "D"]
    assert d_mean == pytest.approx(sum(d_pi) / len(d_pi))
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_expected_and_drawn_counts_in_labels(result: rc.DrawResult) -> None:
    ax = plot_inclusion_probabilities(result, "HB-01")
    pi = result.inclusion_probabilities("HB-01")
    pool = result.entities
    d_label = next(t.get_text() for t in ax.get_xticklabels() if t.get_text().startswith("D\n"))
    expected = sum(p for ident, p in pi.items() if pool[ident].credit_class == "D")
    drawn = sum(1 for ident in result.selected("HB-01") if pool[ident].credit_class == "D")
    assert f"Σπ={expected:.1f}" in d_label
    assert d_label.endswith(f"drawn {drawn}")


def test_plot_on_given_axes_by_region(result: rc.DrawResult) -> None:
    figure, axes = plt.subplots(1, 2)
    ax = plot_inclusion_probabilities(result, "SL-01", by="region", ax=axes[1])
    assert ax is axes[1]
    assert not axes[0].collections
    regions = {result.entities[i].region for i in result.inclusion_probabilities("SL-01")}
    assert len(ax.get_xticks()) == len(regions)
    with warnings.catch_warnings():
        # Without a Chinese font installed, matplotlib warns about missing glyphs.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(io.BytesIO(), format="png")


def test_plot_by_a_boolean(result: rc.DrawResult) -> None:
    ax = plot_inclusion_probabilities(result, "HB-05", by="blacklisted")
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert labels == ["no", "yes"]


def test_unknown_item_and_column(result: rc.DrawResult) -> None:
    with pytest.raises(KeyError, match=r"no item 'XX-99' in this draw \(items: HB-01"):
        plot_inclusion_probabilities(result, "XX-99")
    with pytest.raises(KeyError, match="no column 'colour'"):
        plot_inclusion_probabilities(result, "HB-01", by="colour")


def test_without_matplotlib(monkeypatch: pytest.MonkeyPatch, result: rc.DrawResult) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'randcheck\[plot\]'"):
        plot_inclusion_probabilities(result, "HB-01")
