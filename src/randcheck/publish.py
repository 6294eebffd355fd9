"""The public notice of a round (一公开): who was drawn, who inspected, what was found.

:func:`notice` builds a :class:`Notice` from the ledger (or from a draw entry
and its outcomes) and the registers. :meth:`Notice.write_csv`,
:meth:`Notice.write_json` and :meth:`Notice.write_html` write it, and
:func:`write_notice` writes all three. A notice holds:

* the items of the round (code, name, station, legal basis, ratio, general or
  key item, number covered and drawn);
* one row per drawn entity: id, name, items, the inspectors' names and
  enforcement certificate numbers, the inspection date, the result category,
  the rectification deadline and follow-up, the publication due date;
* what anyone needs to verify the draw: the ledger hashes of the draw, the
  commitment and the seed entries, the SHA-256 of the draw record, the seed
  material and its key, the pool digests.

It leaves out everything private: no credit class or other risk fact of an
entity, no free register columns, no recusal reasons, no notes.

Results must be published within 20 working days of the inspection. A
*working day* here is Monday to Friday. Public holidays and the make-up working
days on weekends (调休) are **not** modelled unless you pass them, as
``holidays`` and ``makeup_workdays``. The notice's ``warnings`` list each
result that is published after its due date, and each drawn entity without a
result yet.

Every file is written atomically (:func:`write_atomic`): it is written to a
temporary file in the same directory and then renamed. Readers see the old
file or the new one, never a half-written file. The HTML is a single file
with inline CSS and no script, and every text in it is escaped.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from ._files import atomic_writer
from .canonical import canonical_id
from .ceremony import (
    CEREMONY,
    CeremonyError,
    OutOfOrderError,
    Round,
    UnknownEntryError,
    load_round,
)
from .errors import RandcheckError
from .ledger import LEDGER_FORMAT, Entry, Ledger
from .model import Entity, Inspector, format_ratio, parse_date, parse_ratio
from .pools import EntityPool, InspectorPool

__all__ = [
    "NOTICE_FORMAT",
    "PUBLISH_WITHIN_WORKING_DAYS",
    "Notice",
    "NoticeRow",
    "PublishError",
    "add_working_days",
    "is_working_day",
    "notice",
    "publication_due",
    "working_days_between",
    "write_atomic",
    "write_notice",
]

#: Version tag of the notice's JSON form.
NOTICE_FORMAT: Final = "randcheck-notice/1"
#: Results are published within this many working days of the inspection.
PUBLISH_WITHIN_WORKING_DAYS: Final = 20
#: File names :func:`write_notice` writes.
NOTICE_FILES: Final = ("notice.csv", "notice.json", "notice.html")

_KIND_LABELS: Final[Mapping[str, str]] = {"general": "一般", "key": "重点"}
_PENDING: Final = "待录入"


class PublishError(RandcheckError):
    """A notice cannot be built or written."""


# -- working days ------------------------------------------------------------------------


def is_working_day(
    day: dt.date,
    *,
    holidays: Collection[dt.date] = (),
    makeup_workdays: Collection[dt.date] = (),
) -> bool:
    """Monday to Friday, except ``holidays``; plus any ``makeup_workdays`` (调休 weekends)."""
    if day in makeup_workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(
    start: dt.date,
    days: int,
    *,
    holidays: Collection[dt.date] = (),
    makeup_workdays: Collection[dt.date] = (),
) -> dt.date:
    """The date that is ``days`` working days after ``start`` (``start`` itself not counted).

    With no holidays, 20 working days after a Wednesday is the Wednesday four
    weeks later, and 20 working days after a Saturday is the Friday of the
    fourth week.
    """
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays=holidays, makeup_workdays=makeup_workdays):
            left -= 1
    return day


def working_days_between(
    start: dt.date,
    end: dt.date,
    *,
    holidays: Collection[dt.date] = (),
    makeup_workdays: Collection[dt.date] = (),
) -> int:
    """The number of working days after ``start`` up to and including ``end`` (0 if none)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays=holidays, makeup_workdays=makeup_workdays):
            count += 1
    return count


def publication_due(
    inspected_on: dt.date,
    *,
    holidays: Collection[dt.date] = (),
    makeup_workdays: Collection[dt.date] = (),
) -> dt.date:
    """The last day to publish the result of an inspection: 20 working days after it."""
    return add_working_days(
        inspected_on,
        PUBLISH_WITHIN_WORKING_DAYS,
        holidays=holidays,
        makeup_workdays=makeup_workdays,
    )


# -- the notice ------------------------------------------------------------------------------


@attrs.frozen
class NoticeRow:
    """One drawn entity in the notice. Only public facts: no risk facts, no reasons."""

    entity_id: str
    entity_name: str
    items: tuple[str, ...]
    inspectors: tuple[tuple[str, str], ...]  # (name, certificate number)
    inspected_on: str | None
    result: str | None
    rectification_deadline: str | None
    follow_up: str | None
    rectified_on: str | None
    publish_by: str | None
    late: bool

    def to_json(self) -> dict[str, Any]:
        """The row as a JSON object."""
        return {
            "entity_id": self.entity_id,
            "entity_name": self.entity_name,
            "items": list(self.items),
            "inspectors": [{"name": n, "certificate_no": c} for n, c in self.inspectors],
            "inspected_on": self.inspected_on,
            "result": self.result,
            "rectification_deadline": self.rectification_deadline,
            "follow_up": self.follow_up,
            "rectified_on": self.rectified_on,
            "publish_by": self.publish_by,
            "late": self.late,
        }


_CSV_HEADER: Final = (
    "检查对象编号",
    "检查对象名称",
    "抽查事项",
    "检查人员",
    "执法证号",
    "检查日期",
    "检查结果",
    "整改期限",
    "后续处理",
    "整改销号日期",
    "抽取日期",
    "公示日期",
    "抽查记录（账本条目哈希）",
)


def _csv_cell(text: str) -> str:
    """Keep spreadsheet programs from reading a cell as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@attrs.frozen
class Notice:
    """The public notice of one round, ready to write as CSV, JSON or HTML.

    ``warnings`` list results published after their 20-working-day due date,
    drawn entities without a result, and anything the registers given did not
    cover (an entity or inspector not found).
    """

    title: str
    published_on: str
    draw_on: str
    items: tuple[Mapping[str, Any], ...]
    rows: tuple[NoticeRow, ...]
    warnings: tuple[str, ...]
    verification: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The notice as a JSON object (``"notice": "randcheck-notice/1"``)."""
        return {
            "notice": NOTICE_FORMAT,
            "title": self.title,
            "published_on": self.published_on,
            "draw_on": self.draw_on,
            "items": [dict(i) for i in self.items],
            "results": [r.to_json() for r in self.rows],
            "warnings": list(self.warnings),
            "verification": dict(self.verification),
        }

    # -- renderings ---------------------------------------------------------------------

    def json_bytes(self) -> bytes:
        """The JSON file's content: UTF-8, indented, CJK unescaped."""
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=2)
        return (text + "\n").encode("utf-8")

    def csv_bytes(self) -> bytes:
        """The CSV file's content: UTF-8 with a byte-order mark (so spreadsheets read it)."""
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(_CSV_HEADER)
        entry = str(self.verification.get("draw_entry", ""))
        for row in self.rows:
            cells = [
                row.entity_id,
                row.entity_name,
                "；".join(row.items),
                "；".join(name for name, _ in row.inspectors),
                "；".join(cert for _, cert in row.inspectors),
                row.inspected_on or "",
                row.result or _PENDING,
                row.rectification_deadline or "",
                row.follow_up or "",
                row.rectified_on or "",
                self.draw_on,
                self.published_on,
                entry,
            ]
            writer.writerow([_csv_cell(c) for c in cells])
        return buffer.getvalue().encode("utf-8-sig")

    def html_bytes(self) -> bytes:
        """The HTML file's content: one self-contained page, inline CSS, no script."""
        return _render_html(self).encode("utf-8")

    # -- writers ------------------------------------------------------------------------

    def write_csv(self, path: str | os.PathLike[str]) -> str:
        """Write the CSV atomically; return its SHA-256."""
        return write_atomic(path, self.csv_bytes())

    def write_json(self, path: str | os.PathLike[str]) -> str:
        """Write the JSON atomically; return its SHA-256."""
        return write_atomic(path, self.json_bytes())

    def write_html(self, path: str | os.PathLike[str]) -> str:
        """Write the HTML atomically; return its SHA-256."""
        return write_atomic(path, self.html_bytes())


def write_atomic(path: str | os.PathLike[str], data: bytes) -> str:
    """Write ``data`` to ``path`` atomically and durably; return the SHA-256 (hex) of ``data``.

    The bytes go to a temporary file in the same directory, which is flushed,
    synced and renamed over ``path``. If anything fails, the temporary file is
    removed, and ``path`` is left as it was (absent, or the old content).
    """
    try:
        with atomic_writer(path) as out:
            out.write(data)
    except OSError as exc:
        raise PublishError(f"{path}: cannot write: {exc}") from exc
    return hashlib.sha256(data).hexdigest()


def write_notice(notice: Notice, out_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``notice.csv``, ``notice.json`` and ``notice.html`` into ``out_dir``
    (created if missing), each atomically; return ``{file name: SHA-256}``."""
    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"{directory}: cannot create the directory: {exc}") from exc
    csv_name, json_name, html_name = NOTICE_FILES
    return {
        csv_name: notice.write_csv(directory / csv_name),
        json_name: notice.write_json(directory / json_name),
        html_name: notice.write_html(directory / html_name),
    }


# -- building a notice -------------------------------------------------------------------------


def _body(value: Entry | Mapping[str, Any]) -> Mapping[str, Any]:
    return value.body if isinstance(value, Entry) else value


def _day(value: dt.date | str, what: str) -> dt.date:
    try:
        return parse_date(value, what)
    except ValueError as exc:
        raise PublishError(str(exc)) from None


def _items_public(record: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The items' public description: no policy parameters (they name risk facts)."""
    counts = {d.get("item"): d for d in record.get("draws", ())}
    out = []
    for item in record.get("items", ()):
        drawn = counts.get(item.get("code"), {})
        out.append(
            {
                "code": item.get("code"),
                "name": item.get("name"),
                "station": item.get("station"),
                "legal_basis": item.get("legal_basis"),
                "categories": list(item.get("categories", ())),
                "ratio": format_ratio(parse_ratio(item.get("ratio", "1"))),
                "kind": _KIND_LABELS.get(str(item.get("kind")), str(item.get("kind"))),
                "covered": drawn.get("covered"),
                "drawn": len(drawn.get("selected", ())),
            }
        )
    return tuple(out)


def _team_after_recusals(
    task: Mapping[str, Any], recusals: Iterable[Mapping[str, Any]]
) -> list[str]:
    team = list(task.get("team", ()))
    for recusal in recusals:
        gone, sub = recusal.get("inspector"), recusal.get("substitute")
        if gone in team:
            index = team.index(gone)
            if sub:
                team[index] = sub
            else:
                del team[index]
    return team


def notice(
    source: Ledger | Entry,
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
    outcomes: Iterable[Entry | Mapping[str, Any]] | None = None,
    *,
    today: dt.date | str,
    draw: str | None = None,
    recusals: Iterable[Entry | Mapping[str, Any]] = (),
    closures: Mapping[str, str] | None = None,
    holidays: Collection[dt.date] = (),
    makeup_workdays: Collection[dt.date] = (),
    title: str | None = None,
) -> Notice:
    """Build the public notice of a round, as published on ``today``.

    ``source`` is either the ledger, with ``draw`` naming the draw entry (its
    hash, or a unique prefix of at least 8 hex digits), or the ``draw`` entry
    itself. From the ledger, the recusals are read from the ledger, and so are
    the outcomes and the closed follow-ups unless ``outcomes`` is given. From a
    draw entry, give ``outcomes`` (``outcome`` entries or their bodies),
    ``recusals``, and ``closures`` (``{entity id: date rectified}``) yourself.
    A later outcome for an entity replaces an earlier one.

    ``entities`` supplies the names of the drawn entities, and ``inspectors``
    the names and certificate numbers of the inspectors. They are the
    registers of the round, or later versions of them. A notice can be built
    for the current draw of a round only: a draw that was replaced by a redraw
    is refused.
    """
    day = _day(today, "today")
    warnings: list[str] = []
    recusal_bodies = [_body(r) for r in recusals]
    closed: dict[str, str] = dict(closures or {})
    if isinstance(source, Ledger):
        if draw is None:
            raise PublishError("name the draw to publish (its ledger hash)")
        rnd = load_round(source, draw)
        entry = _current(rnd, draw)
        if outcomes is None:
            found = list(rnd.outcomes_of(entry.entry_hash).values())
            outcomes = found
            for outcome in found:
                follow_up = rnd.follow_up_of(outcome.entry_hash)
                closure = None if follow_up is None else rnd.closure_of(follow_up.entry_hash)
                if closure is not None and closure.body.get("rectified"):
                    closed[outcome.body["entity"]] = closure.body["closed_on"]
        recusal_bodies = [r.body for r in rnd.recusals_of(entry.entry_hash)]
        if rnd.lock is None:
            warnings.append("the draw is not locked yet (randcheck lock)")
    elif isinstance(source, Entry):
        entry = source
        if entry.kind != "draw":
            raise PublishError(f"entry {entry.seq} is a {entry.kind} entry, not a draw")
    else:
        raise TypeError(f"source must be a Ledger or a draw Entry, not {type(source).__name__}")
    body = entry.body
    record = body.get("record")
    if not isinstance(record, Mapping):
        raise PublishError(f"entry {entry.seq} holds no draw record")
    pool = EntityPool.coerce(entities)
    inspector_pool = InspectorPool.coerce(inspectors)

    latest: dict[str, Mapping[str, Any]] = {}
    for given in outcomes or ():
        ob = _body(given)
        if ob.get("draw") not in (None, entry.entry_hash):
            continue
        latest[canonical_id(ob["entity"])] = ob
    by_entity: dict[str, list[Mapping[str, Any]]] = {}
    for recusal in recusal_bodies:
        by_entity.setdefault(str(recusal.get("entity")), []).append(recusal)

    tasks = [t for t in record.get("tasks", ()) if isinstance(t, Mapping)]
    drawn = {t["entity"] for t in tasks}
    stray = sorted(set(latest) - drawn)
    if stray:
        raise PublishError(f"outcomes for entities this draw did not draw: {', '.join(stray)}")
    rows = []
    for task in tasks:
        ident = task["entity"]
        name = ""
        if ident in pool:
            name = pool[ident].name
        else:
            warnings.append(f"{ident}: not in the entity register given; published without a name")
        outcome_body = latest.get(ident)
        ids = list(outcome_body.get("inspectors", ())) if outcome_body else []
        if not ids:
            ids = _team_after_recusals(task, by_entity.get(ident, ()))
        people = []
        for inspector_id in ids:
            if inspector_pool is not None and inspector_id in inspector_pool:
                person = inspector_pool[inspector_id]
                people.append((person.name, person.certificate_no))
            else:
                warnings.append(
                    f"{ident}: inspector {inspector_id} is not in the inspector register given"
                )
                people.append((inspector_id, ""))
        row = _row(
            task,
            name,
            tuple(people),
            outcome_body,
            closed.get(ident),
            day,
            warnings,
            holidays=holidays,
            makeup_workdays=makeup_workdays,
        )
        rows.append(row)

    seed = record.get("seed") or {}
    verification = {
        "ledger": LEDGER_FORMAT,
        "ceremony": body.get("ceremony", CEREMONY),
        "spec": record.get("spec"),
        "draw_entry": entry.entry_hash,
        "draw_seq": entry.seq,
        "commitment_entry": body.get("commitment"),
        "seed_entry": body.get("seed_entry"),
        "redraw": bool(body.get("redraw", False)),
        "record_sha256": body.get("record_sha256"),
        "seed": {
            "contributions": dict(seed.get("contributions") or {}),
            "beacon": seed.get("beacon"),
        }
        if "contributions" in seed
        else {"text": seed.get("text")},
        "seed_key": record.get("seed_key"),
        "pools": record.get("pools"),
    }
    default_title = f"双随机抽查结果公示（{record.get('on', '')}抽取）"
    return Notice(
        title=title or default_title,
        published_on=day.isoformat(),
        draw_on=str(record.get("on", "")),
        items=_items_public(record),
        rows=tuple(rows),
        warnings=tuple(warnings),
        verification=verification,
    )


def _current(rnd: Round, draw: str) -> Entry:
    current = rnd.current_draw
    if current is None:
        raise OutOfOrderError(f"round {rnd.commitment_hash[:12]}… has no draw yet")
    wanted = draw.strip().lower()
    if not current.entry_hash.startswith(wanted):
        match = next((d for d in rnd.draws if d.entry_hash.startswith(wanted)), None)
        if match is None:
            raise UnknownEntryError(f"{draw!r} is not a draw of round {rnd.commitment_hash[:12]}…")
        raise CeremonyError(
            f"draw seq {match.seq} was replaced by the redraw at seq {current.seq}; "
            "publish the current draw"
        )
    return current


def _who(ident: str, name: str) -> str:
    return f"{ident} {name}" if name else ident


def _row(
    task: Mapping[str, Any],
    name: str,
    people: tuple[tuple[str, str], ...],
    outcome: Mapping[str, Any] | None,
    rectified_on: str | None,
    today: dt.date,
    warnings: list[str],
    *,
    holidays: Collection[dt.date],
    makeup_workdays: Collection[dt.date],
) -> NoticeRow:
    ident = task["entity"]
    items = tuple(task.get("items", ()))
    if outcome is None:
        warnings.append(f"{_who(ident, name)}: no result recorded yet")
        return NoticeRow(ident, name, items, people, None, None, None, None, None, None, False)
    inspected = dt.date.fromisoformat(outcome["inspected_on"])
    due = publication_due(inspected, holidays=holidays, makeup_workdays=makeup_workdays)
    late = today > due
    if late:
        used = working_days_between(
            inspected, today, holidays=holidays, makeup_workdays=makeup_workdays
        )
        warnings.append(
            f"{_who(ident, name)}: the result of the inspection on {inspected.isoformat()} is "
            f"published on {today.isoformat()}, {used} working days later; it was due by "
            f"{due.isoformat()} ({PUBLISH_WITHIN_WORKING_DAYS} working days)"
        )
    if today < inspected:
        warnings.append(
            f"{_who(ident, name)}: inspected on {inspected.isoformat()}, after the publication "
            f"date {today.isoformat()}"
        )
    return NoticeRow(
        entity_id=ident,
        entity_name=name,
        items=items,
        inspectors=people,
        inspected_on=inspected.isoformat(),
        result=outcome.get("result"),
        rectification_deadline=outcome.get("rectification_deadline"),
        follow_up=outcome.get("follow_up"),
        rectified_on=rectified_on,
        publish_by=due.isoformat(),
        late=late,
    )


# -- HTML --------------------------------------------------------------------------------------

_CSS: Final = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:2em auto;max-width:72em;padding:0 1em;color:#1a1a1a;line-height:1.5}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #b8b8b8;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f5}tr.late td{background:#fff4e5}
.meta{color:#555}.warn{background:#fff4e5;border-left:4px solid #e69500;padding:.5em 1em}
code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:.85em;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:bold}
@media print{.warn{border:1px solid #e69500}}
""".strip()


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cls = classes[index] if index < len(classes) and classes[index] else ""
        attr = f' class="{_e(cls)}"' if cls else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _render_html(n: Notice) -> str:
    v = n.verification
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(n.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(n.title)}</h1>",
        f'<p class="meta">抽取日期 {_e(n.draw_on)} · 公示日期 {_e(n.published_on)} · '
        f"抽查对象 {len(n.rows)} 户</p>",
    ]
    if n.warnings:
        parts.append('<div class="warn"><strong>提示</strong><ul>')
        parts.extend(f"<li>{_e(w)}</li>" for w in n.warnings)
        parts.append("</ul></div>")
    parts.append("<h2>抽查事项</h2>")
    parts.append(
        _table(
            ("事项编码", "事项名称", "实施机构", "检查依据", "抽查比例", "类别", "覆盖", "抽取"),
            (
                (
                    i.get("code"),
                    i.get("name"),
                    i.get("station"),
                    i.get("legal_basis"),
                    i.get("ratio"),
                    i.get("kind"),
                    i.get("covered"),
                    i.get("drawn"),
                )
                for i in n.items
            ),
        )
    )
    parts.append("<h2>抽查结果</h2>")
    parts.append(
        _table(
            (
                "检查对象编号",
                "检查对象名称",
                "抽查事项",
                "检查人员（执法证号）",
                "检查日期",
                "检查结果",
                "整改期限",
                "后续处理",
                "整改销号",
            ),
            (
                (
                    r.entity_id,
                    r.entity_name,
                    "、".join(r.items),
                    "、".join(f"{name}（{cert}）" if cert else name for name, cert in r.inspectors),
                    r.inspected_on or "",
                    r.result or _PENDING,
                    r.rectification_deadline or "",
                    r.follow_up or "",
                    r.rectified_on or "",
                )
                for r in n.rows
            ),
            ["late" if r.late else "" for r in n.rows],
        )
    )
    seed = v.get("seed") or {}
    if "contributions" in seed:
        seed_text = "；".join(f"{k}：{val}" for k, val in seed["contributions"].items())
        if seed.get("beacon") is not None:
            seed_text += f"；公共信标：{seed['beacon']}"
    else:
        seed_text = str(seed.get("text", ""))
    pools = v.get("pools") or {}
    entities = (pools.get("entities") or {}) if isinstance(pools, Mapping) else {}
    inspectors = (pools.get("inspectors") or {}) if isinstance(pools, Mapping) else {}
    facts = [
        ("抽取记录（账本条目）", f"{v.get('draw_entry')}（第 {v.get('draw_seq')} 条）"),
        ("承诺（账本条目）", v.get("commitment_entry")),
        ("随机种子（账本条目）", v.get("seed_entry")),
        ("随机种子", seed_text),
        ("种子密钥", v.get("seed_key")),
        ("抽取记录 SHA-256", v.get("record_sha256")),
        ("检查对象名录库摘要", f"{entities.get('digest', '')}（{entities.get('size', '')} 户）"),
    ]
    if inspectors:
        facts.append(
            (
                "执法检查人员名录库摘要",
                f"{inspectors.get('digest', '')}（{inspectors.get('size', '')} 人）",
            )
        )
    facts.append(("重新抽取", "是" if v.get("redraw") else "否"))
    facts.append(("规范", f"{v.get('spec')} · {v.get('ledger')} · {v.get('ceremony')}"))
    parts.append("<h2>验证信息</h2><dl>")
    parts.extend(f"<dt>{_e(k)}</dt><dd><code>{_e(val)}</code></dd>" for k, val in facts)
    parts.append("</dl>")
    parts.append(
        '<p class="meta">随机种子在名录库摘要和抽查事项登记入账（承诺）之后才产生。'
        "凭账本导出文件和名录库，可用 <code>randcheck ledger verify --entities … "
        "--inspectors …</code> 重现本次抽取。</p>"
    )
    parts.append("</body></html>\n")
    return "\n".join(parts)
