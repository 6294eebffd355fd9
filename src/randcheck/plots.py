"""Plots of draws, for notebooks and reports (needs matplotlib: ``pip install 'randcheck[plot]'``).

:func:`plot_inclusion_probabilities` shows, for one item, every covered
entity's stated inclusion probability ``π`` grouped by a stratum (credit class,
region, category…), with the entities actually drawn filled in. Next to each
stratum it writes the expected number drawn (``Σπ``) and the number drawn, so an
observer can see at a glance that a risk-weighted item inspects class D more
often than class A, and that no class is exempt (不免抽).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .draw import DrawResult, ItemDraw

__all__ = ["plot_inclusion_probabilities"]

_HINT = "plotting needs matplotlib, which is not installed: pip install 'randcheck[plot]'"
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(_HINT) from exc


def _cjk_family() -> str | None:
    """An installed font family with Chinese glyphs, if any."""
    font_manager = _import("matplotlib.font_manager")
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in installed:
            return family
    return None


def _item_draw(result: DrawResult, item_code: str) -> ItemDraw:
    for d in result.item_draws:
        if d.item.code == item_code:
            return d
    codes = ", ".join(d.item.code for d in result.item_draws)
    raise KeyError(f"no item {item_code!r} in this draw (items: {codes})")


def _label(value: object, by: str) -> str:
    if value is None or value == "":
        return "unclassified" if by == "credit_class" else "(none)"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


def _order(labels: list[str], by: str) -> list[str]:
    if by == "credit_class":
        rank = {c: i for i, c in enumerate(("A", "B", "C", "D", "unclassified"))}
        return sorted(labels, key=lambda s: (rank.get(s, len(rank)), s))
    return sorted(labels)


def plot_inclusion_probabilities(
    result: DrawResult,
    item_code: str,
    by: str = "credit_class",
    ax: Axes | None = None,
) -> Axes:
    """Plot each covered entity's inclusion probability ``π`` by stratum.

    Every entity the item covers is one point at its exact ``π`` (as a float),
    in the column of its stratum, spread sideways in canonical order (no
    randomness); entities drawn are filled, the others hollow. A bar marks
    each stratum's mean ``π``, and the label under it reads the stratum,
    its size, the expected number drawn ``Σπ`` and the number drawn. The
    artists carry the ids (``gid``) ``"drawn"``, ``"not drawn"`` and ``"mean"``.

    Parameters
    ----------
    result
        What :func:`randcheck.draw` returned.
    item_code
        The item to show.
    by
        The entity column to group by: ``"credit_class"`` (default),
        ``"region"``, ``"category"``, ``"blacklisted"``, a free attribute…
    ax
        The axes to draw on (default: a new figure from pyplot).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ImportError
        when matplotlib is not installed (``pip install 'randcheck[plot]'``).
    KeyError
        for an unknown item or column.

    Examples
    --------
    >>> from randcheck.plots import plot_inclusion_probabilities
    >>> ax = plot_inclusion_probabilities(result, "HB-01")  # doctest: +SKIP
    """
    d = _item_draw(result, item_code)
    column = result.entities.column(by)[d.covered]
    labels = [_label(v, by) for v in column.tolist()]
    pi = d.design.probabilities
    drawn = np.isin(d.covered, d.positions)
    if ax is None:
        plt = _import("matplotlib.pyplot")
        _, ax = plt.subplots(
            figsize=(max(4.5, 1.1 * len(set(labels)) + 2.0), 4.5), layout="constrained"
        )
    else:
        _import("matplotlib")
    assert ax is not None
    strata = _order(sorted(set(labels)), by)
    label_array = np.array(labels, dtype=object)
    ticks = []
    for x, stratum in enumerate(strata):
        members = np.flatnonzero(label_array == stratum)
        count = members.size
        offsets = np.linspace(-0.3, 0.3, count) if count > 1 else np.zeros(count)
        y = pi[members]
        hit = drawn[members]
        ax.scatter(
            x + offsets[~hit],
            y[~hit],
            s=18,
            facecolors="none",
            edgecolors="0.55",
            linewidths=0.8,
            label="not drawn" if x == 0 else None,
            gid="not drawn",
        )
        ax.scatter(
            x + offsets[hit],
            y[hit],
            s=22,
            color="C3",
            label="drawn" if x == 0 else None,
            gid="drawn",
            zorder=3,
        )
        ax.hlines(
            float(y.mean()) if count else 0.0,
            x - 0.38,
            x + 0.38,
            colors="C0",
            zorder=2,
            gid="mean",
        )
        ticks.append(f"{stratum}\nN={count:,}\nΣπ={float(y.sum()):.1f}\ndrawn {int(hit.sum())}")
    ax.set_xticks(range(len(strata)))
    ax.set_xticklabels(ticks, fontsize=8)
    if any(not t.isascii() for t in strata):
        family = _cjk_family()
        if family is not None:
            for tick in ax.get_xticklabels():
                tick.set_fontfamily([family, "DejaVu Sans"])
    ax.set_xlim(-0.6, len(strata) - 0.4)
    ax.set_ylim(0.0, 1.08)
    ax.set_ylabel("inclusion probability π")
    ax.set_xlabel(by)
    ax.set_title(f"{d.item.code}: {int(drawn.sum())} of {int(d.covered.size):,} drawn, π by {by}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax
