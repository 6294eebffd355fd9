"""Notebook views: HTML reprs and table exports of pools, policies, draws and ledgers.

Each ``*_html`` function returns one self-contained HTML fragment (its own
``<style>``, no scripts, no external files): a summary header and the first
rows. Every string that comes from the user's data is escaped with
:func:`html.escape`. A ``<pre>`` holding the plain-text ``repr`` comes first;
the styled view is hidden by an inline style that only the fragment's own
stylesheet lifts, so where styles are stripped (a sanitizing notebook viewer)
the text shows instead, as in xarray.

``*_to_records`` return plain lists of dicts (no dependency); ``*_to_pandas``
return :class:`pandas.DataFrame` objects and need pandas
(``pip install 'randcheck[pandas]'``).
"""

from __future__ import annotations

import html
import importlib
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .canonical import canonical_json
from .pools import ENTITY_FIELDS

if TYPE_CHECKING:
    from .draw import DrawResult
    from .ledger import Ledger
    from .policies import Policy
    from .pools import EntityPool

__all__ = [
    "draw_result_html",
    "entity_pool_html",
    "ledger_html",
    "policy_html",
    "pool_to_pandas",
    "pool_to_records",
    "result_to_pandas",
    "result_to_records",
]

#: Rows shown in a table before "… N more".
ROWS = 10

_STYLE = """<style>
.rc-repr .rc-text-fallback { display: none; }
.rc-repr .rc-wrap { display: block !important; font-size: 13px; line-height: 1.4; }
.rc-repr .rc-head { font-weight: 600; margin: 2px 0 4px; }
.rc-repr .rc-meta { color: #555; margin: 0 0 6px; }
.rc-repr .rc-meta code { font-size: 12px; }
.rc-repr table { border-collapse: collapse; margin: 4px 0 8px; }
.rc-repr th, .rc-repr td { padding: 2px 8px; text-align: left; vertical-align: top;
  border-bottom: 1px solid #ddd; }
.rc-repr th { background: #f4f4f4; }
.rc-repr td:first-child { white-space: nowrap; }
.rc-repr td.rc-num { text-align: right; font-variant-numeric: tabular-nums; }
.rc-repr .rc-more { color: #777; font-style: italic; }
</style>"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="rc-num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _more(shown: int, total: int, what: str) -> str:
    if total <= shown:
        return ""
    return f'<div class="rc-more">… {total - shown:,} more {_e(what)}</div>'


def _frame(text: str, head: str, meta: Sequence[str], body: str) -> str:
    meta_html = "".join(f'<div class="rc-meta">{m}</div>' for m in meta)
    return (
        '<div class="rc-repr">'
        f"{_STYLE}"
        f'<pre class="rc-text-fallback">{_e(text)}</pre>'
        '<div class="rc-wrap" style="display:none">'
        f'<div class="rc-head">{head}</div>{meta_html}{body}'
        "</div></div>"
    )


def _counts(values: Iterable[object], label: str) -> str:
    counted = Counter("" if v is None else str(v) for v in values)
    parts = [
        f"{_e(k or 'unclassified')}&nbsp;{v:,}"
        for k, v in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    ]
    more = " …" if len(counted) > 8 else ""
    return f"{_e(label)}: {', '.join(parts)}{more}"


def _yes(value: object) -> str:
    return "✓" if bool(value) else ""


# -- entity pools ---------------------------------------------------------------


def entity_pool_html(pool: EntityPool, *, rows: int = ROWS) -> str:
    """HTML view of an entity pool: size, digest, categories, risk, the first rows.

    Parameters
    ----------
    pool
        The pool.
    rows
        How many entities to list.

    Returns
    -------
    str
        A self-contained HTML fragment.
    """
    size = len(pool)
    meta = [f"digest <code>{_e(pool.digest)}</code>"]
    if pool.source:
        meta.append(f"source {_e(pool.source)}")
    if size:
        meta.append(_counts(pool.column("category").tolist(), "categories"))
        credit = pool.column("credit_class").tolist()
        meta.append(_counts(credit, "credit classes"))
        flags = (
            f"blacklisted {int(pool.blacklisted.sum()):,}, "
            f"serious violations {int(pool.serious_violation.sum()):,}, "
            f"with verified complaints {int((pool.verified_complaints > 0).sum()):,}"
        )
        meta.append(_e(flags))
    shown = [pool.entity(i) for i in range(min(rows, size))]
    table = _table(
        (
            "id",
            "name",
            "category",
            "station",
            "region",
            "credit",
            "blacklist",
            "complaints",
            "serious",
        ),
        (
            (
                e.id,
                e.name,
                e.category,
                e.station,
                e.region,
                e.credit_class or "",
                _yes(e.blacklisted),
                e.verified_complaints or "",
                _yes(e.serious_violation),
            )
            for e in shown
        ),
        numeric=(7,),
    )
    return _frame(
        repr(pool),
        f"EntityPool · {size:,} entities",
        meta,
        (table if size else "") + _more(len(shown), size, "entities"),
    )


def pool_to_records(pool: EntityPool) -> list[dict[str, Any]]:
    """Every entity as a flat dict (free attributes as columns), in canonical order.

    Parameters
    ----------
    pool
        The pool.

    Returns
    -------
    list[dict[str, Any]]
        One dict per entity with the fields of :class:`~randcheck.Entity`
        and one key per free attribute (``None`` where an entity lacks it).
    """
    names = pool.attribute_names
    out = []
    for entity in pool:
        record = entity.to_record()
        attributes = record.pop("attributes")
        for name in names:
            record[name] = attributes.get(name)
        out.append(record)
    return out


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise ImportError(
            "to_pandas() needs pandas, which is not installed: pip install 'randcheck[pandas]'"
        ) from exc


_POOL_COLUMNS = ENTITY_FIELDS


def pool_to_pandas(pool: EntityPool) -> Any:
    """The pool as a :class:`pandas.DataFrame`, one row per entity (canonical order).

    Parameters
    ----------
    pool
        The pool.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`pool_to_records`.

    Raises
    ------
    ImportError
        when pandas is not installed (``pip install 'randcheck[pandas]'``).
    """
    pd = _pandas()
    columns = [*_POOL_COLUMNS, *pool.attribute_names]
    return pd.DataFrame.from_records(pool_to_records(pool), columns=columns)


# -- policies -------------------------------------------------------------------


def _value_text(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def policy_html(policy: Policy) -> str:
    """HTML view of a draw policy: its name and every parameter.

    Parameters
    ----------
    policy
        A :class:`~randcheck.Policy`.

    Returns
    -------
    str
        A self-contained HTML fragment.
    """
    record = policy.to_record()
    name = str(record.pop("name", type(policy).__name__))
    doc = (type(policy).__doc__ or "").strip().splitlines()
    summary = doc[0] if doc else ""
    body = (
        _table(("parameter", "value"), ((k, _value_text(v)) for k, v in record.items()))
        if record
        else ""
    )
    return _frame(repr(policy), f"Policy · {_e(name)}", [_e(summary)] if summary else [], body)


# -- draws ------------------------------------------------------------------------


def _fraction_text(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def draw_result_html(result: DrawResult, *, rows: int = ROWS) -> str:
    """HTML view of a draw: seed, pools, one row per item, the first tasks.

    Parameters
    ----------
    result
        What :func:`randcheck.draw` returned.
    rows
        How many tasks to list.

    Returns
    -------
    str
        A self-contained HTML fragment.
    """
    record_spec = result.record["spec"]
    meta = [
        f"on {_e(result.on.isoformat())} · spec {_e(record_spec)} · seed {_e(repr(result.seed))}",
        f"seed key <code>{_e(result.seed.key.hex())}</code>",
        f"entity pool {len(result.entities):,} entities, digest "
        f"<code>{_e(result.entities.digest[:16])}…</code>",
    ]
    if result.inspectors is not None:
        meta.append(
            f"inspector pool {len(result.inspectors):,} inspectors, digest "
            f"<code>{_e(result.inspectors.digest[:16])}…</code>"
        )
    item_rows = []
    for d in result.item_draws:
        probs = d.design.probabilities
        span = (
            "—"
            if probs.size == 0
            else f"{probs.min():.4g}"
            if probs.min() == probs.max()
            else f"{probs.min():.4g} – {probs.max():.4g}"
        )
        drawn = ", ".join(d.selected[:3]) + (
            f" … (+{len(d.selected) - 3})" if len(d.selected) > 3 else ""
        )
        item_rows.append(
            (
                d.item.code,
                d.item.name,
                d.item.station,
                d.item.policy.name,
                f"{int(d.covered.size):,}",
                d.design.n,
                span,
                drawn,
            )
        )
    items_table = _table(
        ("item", "name", "station", "policy", "N", "n", "π", "drawn"), item_rows, numeric=(4, 5)
    )
    tasks = result.tasks
    merged = sum(1 for t in tasks if len(t.items) > 1)
    pool = result.entities
    task_rows = []
    for task in tasks[:rows]:
        entity = pool[task.entity_id]
        task_rows.append(
            (task.entity_id, entity.name, " + ".join(task.items), ", ".join(task.team) or "—")
        )
    tasks_html = (
        f'<div class="rc-meta">{len(tasks):,} tasks (one visit per entity; {merged:,} cover '
        "several items)</div>"
        + (_table(("entity", "name", "items", "team"), task_rows) if tasks else "")
        + _more(len(task_rows), len(tasks), "tasks")
    )
    selections = sum(len(d.selected) for d in result.item_draws)
    return _frame(
        repr(result),
        f"DrawResult · {len(result.items)} items, {selections:,} selections",
        meta,
        items_table + tasks_html,
    )


_RESULT_COLUMNS = (
    "item",
    "item_name",
    "station",
    "entity",
    "entity_name",
    "category",
    "region",
    "credit_class",
    "pi",
    "pi_exact",
    "certain",
    "covered",
    "n",
    "task_items",
    "team",
)


def result_to_records(result: DrawResult) -> list[dict[str, Any]]:
    """One dict per selection: (item, entity) with the entity's exact π.

    Parameters
    ----------
    result
        What :func:`randcheck.draw` returned.

    Returns
    -------
    list[dict[str, Any]]
        Keys: ``item``, ``item_name``, ``station``, ``entity``,
        ``entity_name``, ``category``, ``region``, ``credit_class``, ``pi``
        (float), ``pi_exact`` (the exact fraction as text, ``"3/17"``),
        ``certain`` (π = 1), ``covered`` (N), ``n``, ``task_items`` (every item
        of the entity's visit) and ``team``; in item order, then canonical
        entity order.
    """
    pool = result.entities
    tasks = {t.entity_id: t for t in result.tasks}
    out: list[dict[str, Any]] = []
    for d in result.item_draws:
        where = {int(c): i for i, c in enumerate(d.covered.tolist())}
        for position in d.positions.tolist():
            entity = pool.entity(int(position))
            pi = d.design.fraction(where[int(position)])
            task = tasks.get(entity.id)
            out.append(
                {
                    "item": d.item.code,
                    "item_name": d.item.name,
                    "station": d.item.station,
                    "entity": entity.id,
                    "entity_name": entity.name,
                    "category": entity.category,
                    "region": entity.region,
                    "credit_class": entity.credit_class,
                    "pi": float(pi),
                    "pi_exact": _fraction_text(pi),
                    "certain": pi == 1,
                    "covered": int(d.covered.size),
                    "n": d.design.n,
                    "task_items": list(task.items) if task else [d.item.code],
                    "team": list(task.team) if task else [],
                }
            )
    return out


def result_to_pandas(result: DrawResult) -> Any:
    """The selections as a :class:`pandas.DataFrame` (see :func:`result_to_records`).

    Parameters
    ----------
    result
        What :func:`randcheck.draw` returned.

    Returns
    -------
    pandas.DataFrame
        One row per (item, entity) selection.

    Raises
    ------
    ImportError
        when pandas is not installed (``pip install 'randcheck[pandas]'``).
    """
    pd = _pandas()
    return pd.DataFrame.from_records(result_to_records(result), columns=list(_RESULT_COLUMNS))


# -- ledgers ----------------------------------------------------------------------


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ledger_html(ledger: Ledger, *, rows: int = ROWS) -> str:
    """HTML view of a ledger: file, size, head hash and the first entries.

    Parameters
    ----------
    ledger
        An open (or closed) :class:`~randcheck.ledger.Ledger`.
    rows
        How many entries to list.

    Returns
    -------
    str
        A self-contained HTML fragment.
    """
    text = f"<Ledger {ledger.path}>"
    if ledger.closed:
        return _frame(text, f"Ledger · {_e(ledger.path)}", ["closed"], "")
    size, head = ledger.head()
    meta = [
        f"file {_e(ledger.path)}" + (" (read-only)" if ledger.readonly else ""),
        f"head <code>{_e(head)}</code>",
    ]
    entries = list(itertools.islice(ledger.entries(), rows))
    kinds = Counter(e.kind for e in entries)
    if entries:
        meta.append(_counts(kinds.elements(), f"kinds of the first {len(entries)}"))
    table = _table(
        ("seq", "kind", "body", "entry hash"),
        (
            (
                e.seq,
                e.kind,
                _shorten(canonical_json(e.body).decode("utf-8")),
                e.entry_hash[:16] + "…",
            )
            for e in entries
        ),
        numeric=(0,),
    )
    text = f"<Ledger {ledger.path}: {size:,} entries, head {head[:16]}…>"
    return _frame(
        text,
        f"Ledger · {size:,} entries",
        meta,
        (table if entries else "") + _more(len(entries), size, "entries"),
    )


def ledger_to_records(ledger: Ledger) -> list[dict[str, Any]]:
    """One row per entry: seq, kind, hashes, and the body as canonical JSON text."""
    return [
        {
            "seq": e.seq,
            "kind": e.kind,
            "entry_hash": e.entry_hash,
            "prev_hash": e.prev_hash,
            "body": canonical_json(e.body).decode("utf-8"),
        }
        for e in ledger.entries()
    ]


def ledger_to_pandas(ledger: Ledger) -> Any:
    """:func:`ledger_to_records` as a :class:`pandas.DataFrame` (needs ``randcheck[pandas]``)."""
    pd = _pandas()
    return pd.DataFrame.from_records(
        ledger_to_records(ledger), columns=["seq", "kind", "entry_hash", "prev_hash", "body"]
    )
