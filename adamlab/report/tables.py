"""Tables for the report: statistics over seeds and their markdown, HTML and CSV renderings.

Every statistic carries its seeds (docs/contributing.md: tables show mean, spread and the number of seeds):
a `Stats` cell renders as "mean ± std (n=k)" and, with `per_seed=True`, gets a column of the
per-seed values beside it. Inputs are plain lists of dicts, one per row (or per run for
`group_rows`); nothing here knows about runs, sweeps or stores.
"""
from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..core.formatting import fmt_number
from ..core.stats import Summary

# One statistics path (adamlab/core/stats.py): a table cell over seeds is a `stats.Summary`.
Stats = Summary


def fmt_values(values: Iterable[Any], digits: int = 3) -> str:
    return ", ".join(fmt_number(v, digits) for v in values)


def cell_text(value: Any) -> str:
    """The text of one table cell: Stats, lists (per-seed values), numbers, strings."""
    if isinstance(value, Stats):
        return str(value)
    if isinstance(value, (list, tuple)):
        return fmt_values(value)
    if value is None:
        return ""
    return fmt_number(value)


def group_rows(records: Sequence[dict], by: Sequence[str], metrics: Sequence[str],
               seed_key: str = "seed") -> list[dict]:
    """One row per distinct value of `by` (in order of first appearance): the `by` values,
    'seeds' (list) and one `Stats` per metric over the records of that group."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
    rows = []
    for key, rs in groups.items():
        row = dict(zip(by, key))
        row["seeds"] = [r.get(seed_key) for r in rs]
        for m in metrics:
            row[m] = Stats.of(r.get(m) for r in rs)
        rows.append(row)
    return rows


def _columns(rows: Sequence[dict], columns: Sequence[str] | None, headers: dict | None,
             per_seed: bool) -> list[tuple[str, str, bool]]:
    """(key, header, is_per_seed_column) in display order."""
    if columns is None:
        columns = []
        for r in rows:
            columns += [k for k in r if k not in columns]
    headers = headers or {}
    out = []
    for key in columns:
        out.append((key, headers.get(key, key.replace("_", " ")), False))
        if per_seed and any(isinstance(r.get(key), Stats) for r in rows):
            out.append((key, f"{headers.get(key, key.replace('_', ' '))} per seed", True))
    return out


def _cell(row: dict, key: str, seeds: bool) -> str:
    value = row.get(key)
    if seeds:
        return fmt_values(value.values) if isinstance(value, Stats) else ""
    return cell_text(value)


def markdown_table(rows: Sequence[dict], columns: Sequence[str] | None = None,
                   headers: dict | None = None, per_seed: bool = True) -> str:
    """A GitHub-flavoured markdown table; `|` inside cells is escaped."""
    cols = _columns(rows, columns, headers, per_seed)
    esc = lambda t: str(t).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for _, h, _ in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(esc(_cell(r, k, s)) for k, _, s in cols) + " |")
    return "\n".join(lines)


def html_table(rows: Sequence[dict], columns: Sequence[str] | None = None,
               headers: dict | None = None, per_seed: bool = True,
               caption: str | None = None) -> str:
    """An HTML table (text escaped); numeric cells get class "num" for right alignment."""
    cols = _columns(rows, columns, headers, per_seed)
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in cols)
                 + "</tr></thead><tbody>")
    for r in rows:
        cells = []
        for k, _, s in cols:
            v = r.get(k)
            num = isinstance(v, (int, float, Stats)) and not isinstance(v, bool)
            cls = ' class="num"' if num and not s else (' class="seeds"' if s else "")
            cells.append(f"<td{cls}>{html.escape(_cell(r, k, s))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def csv_records(rows: Sequence[dict], columns: Sequence[str] | None = None) -> list[dict]:
    """Flat records for CSV: a Stats column becomes KEY_mean, KEY_std, KEY_n, KEY_ci95_lo,
    KEY_ci95_hi, KEY_per_seed (values joined by ';'); lists are joined by ';'; numbers keep full
    precision."""
    keys = columns or [k for k, _, _ in _columns(rows, None, None, False)]
    out = []
    for r in rows:
        rec = {}
        for k in keys:
            v = r.get(k)
            if isinstance(v, Stats):
                rec[f"{k}_mean"], rec[f"{k}_std"], rec[f"{k}_n"] = v.mean, v.std, v.n
                rec[f"{k}_ci95_lo"], rec[f"{k}_ci95_hi"] = v.ci95 or (None, None)
                rec[f"{k}_per_seed"] = ";".join(repr(x) if isinstance(x, float) else str(x)
                                                for x in v.values)
            elif isinstance(v, (list, tuple)):
                rec[k] = ";".join(str(x) for x in v)
            else:
                rec[k] = "" if v is None else v
        out.append(rec)
    return out


def write_csv(rows: Sequence[dict], path, columns: Sequence[str] | None = None) -> Path:
    """Write `rows` (Stats expanded, see csv_records) to `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recs = csv_records(rows, columns)
    fields: list[str] = []
    for rec in recs:
        fields += [k for k in rec if k not in fields]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(recs)
    return path
