"""The report's "What we found": one table row per claim of the ledger (adamlab/report/ledger.toml)
whose item ran: claim | source | kind | verdict at 10^4 epochs | verdict at the end state |
numbers | section. A claim's findings are paired by horizon; a horizon its rule declares but no
finding judged reads "not measured", one it does not declare reads "—". Verdicts are in the
claim's kind's words (ledger.word), as coloured badges whose text is the label."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from ..core.verdicts import Finding
from .ledger import HORIZONS, TONE, Claim, counts, counts_line, word
from .page import Block, Section, paragraphs_html

NO_HORIZON = "—"  # the claim's rule declares no such horizon
UNJUDGED = (None, NO_HORIZON, "not measured")  # no verdict to compare across horizons
AT = {"paper": "the paper's budget", "end": "the end state"}
COLUMNS = ("claim", "source", "kind", "paper", "end", "numbers", "section")


@dataclass
class Row:
    claim: Claim
    verdicts: dict[str, str]  # horizon -> word ("—" where the rule declares none)
    numbers: dict[str, str]  # horizon -> the finding's observed text (with its moving note)
    link: tuple[str, str] | None  # (section title, anchor)


def claim_rows(findings: Sequence[Finding], ledger: dict[str, Claim], items: Sequence[str],
               links: dict[str, tuple[str, str]]) -> list[Row]:
    """The rows of the claims of `items` (in the items' order, then the ledger's); links: item
    name or claim id -> (section title, anchor)."""
    found = {(f.claim_id, f.horizon): f for f in findings}
    out = []
    for item in items:
        for c in (c for c in ledger.values() if c.item == item):
            verdicts, numbers = {}, {}
            for h in HORIZONS:
                f = found.get((c.id, h))
                if h not in c.rule.horizons:
                    verdicts[h] = NO_HORIZON
                elif f is None:
                    verdicts[h] = "not measured"
                else:
                    verdicts[h] = word(c.kind, f.verdict, f.scaled)
                    numbers[h] = f.observed + f.moving_note()
            out.append(Row(c, verdicts, numbers, links.get(c.id) or links.get(item)))
    return out


def disagreement(row: Row) -> str:
    """One line where the two horizons' verdicts differ ('' where they agree or one is
    missing): 'The horizons disagree: reproduced at the paper's budget, partly reproduced at
    the end state.'"""
    paper, end = row.verdicts.get("paper"), row.verdicts.get("end")
    if paper in UNJUDGED or end in UNJUDGED or paper == end:
        return ""
    return f"The horizons disagree: {paper} at the paper's budget, {end} at the end state."


def undecided_line(rows: Sequence[Row], horizon: str = "paper", at: str = "") -> str:
    """One sentence naming the claims a horizon leaves undecided (still moving: no settled run
    to judge; not measured: no finding), '' when it decides every claim it declares."""
    names = {"still moving": [], "not measured": []}
    for r in rows:
        if r.verdicts.get(horizon) in names:
            names[r.verdicts[horizon]].append(f"`{r.claim.id}`")
    parts = [f"{', '.join(ids)} ({w})" for w, ids in names.items() if ids]
    if not parts:
        return ""
    return (f"Claims {at or AT[horizon]} cannot decide: {'; '.join(parts)}.")


def _numbers(row: Row) -> str:
    if len(row.numbers) < 2:
        return next(iter(row.numbers.values()), "")
    return " ".join([disagreement(row)] * bool(disagreement(row)) + [
        f"At {AT[h]}: {text}"
        for h, text in row.numbers.items()])


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _badge(w: str) -> str:
    if w == NO_HORIZON:
        return f'<span class="badge tone-none" title="no rule at this horizon">{NO_HORIZON}</span>'
    return f'<span class="badge tone-{TONE[w]}">{html.escape(w)}</span>'


def table_block(rows: Sequence[Row], paper_header: str) -> Block:
    """The table as markdown (verdicts in bold) and HTML (badges, one row id per claim:
    claim-ID)."""
    headers = ["claim", "source", "kind", paper_header, "verdict at the end state", "numbers",
               "section"]
    md = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    body = []
    for r in rows:
        c = r.claim
        link_md = f"[{r.link[0]}](#{r.link[1]})" if r.link else ""
        v = [f"**{r.verdicts[h]}**" if r.verdicts[h] != NO_HORIZON else NO_HORIZON
             for h in HORIZONS]
        md.append("| " + " | ".join(_md_cell(x) for x in (
            f"{c.words} (`{c.id}`)", c.source, c.kind, *v, _numbers(r), link_md)) + " |")
        link_html = (f'<a href="#{r.link[1]}">{html.escape(r.link[0])}</a>' if r.link else "")
        body.append(
            f'<tr id="claim-{c.id}"><td class="claim">{html.escape(c.words)} '
            f'<span class="claim-id">({html.escape(c.id)})</span></td>'
            f"<td>{html.escape(c.source)}</td><td>{c.kind}</td>"
            + "".join(f"<td>{_badge(r.verdicts[h])}</td>" for h in HORIZONS)
            + f'<td class="numbers">{html.escape(_numbers(r))}</td><td>{link_html}</td></tr>')
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    table = ('<div class="table-box"><table class="findings"><thead><tr>' + head
             + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    return Block("\n".join(md), table)


def text_lines(rows: Sequence[Row]) -> list[str]:
    """The table as plain lines (what `adamlab reproduce` prints)."""
    return [f"- **{r.verdicts['paper']}** [{r.claim.kind}; end state: {r.verdicts['end']}]: "
            f"{r.claim.words} Observed: {_numbers(r) or 'nothing judged'}" for r in rows]


def links_of(ledger: dict[str, Claim], item_sections: dict[str, Sequence[Section]],
             anchor_of: dict[int, str]) -> dict[str, tuple[str, str]]:
    """item name and claim id -> (title, anchor) of the section a row links to: the claim's
    `section` (a title prefix among its item's sections), else its item's first section."""
    out = {}
    for item, secs in item_sections.items():
        if secs:
            out[item] = (secs[0].title, anchor_of[id(secs[0])])
    for c in ledger.values():
        for s in item_sections.get(c.item, ()):
            if c.section and s.title.startswith(c.section):
                out[c.id] = (s.title, anchor_of[id(s)])
                break
    return out


def findings_section(findings: Sequence[Finding], ledger: dict[str, Claim],
                     items: Sequence[str], links: dict[str, tuple[str, str]],
                     lead: Sequence[str] = (), cut: bool = False) -> tuple[Section, list[Row]]:
    """The "What we found" section: its counts line per kind and horizon, `lead` paragraphs,
    the table, and how to read it. cut: the runs are below the paper's budget (--quick,
    --budget short, --epochs), so the paper's horizon is not 10^4 epochs here."""
    rows = claim_rows(findings, ledger, items, links)
    paper = "the paper's horizon (cut here: see each section)" if cut else "10^4 epochs"
    line = counts_line(counts(findings, ledger, items), {"paper": paper})
    undecided = " ".join(filter(None, (
        undecided_line(rows, "paper", "this budget" if cut else ""),
        undecided_line(rows, "end") if any(r.verdicts.get("end") not in UNJUDGED
                                           for r in rows) else "")))
    paragraphs = [f"Generated from the numbers below, one row per claim of the ledger "
                  f"(adamlab/report/ledger.toml: each claim's source, kind and rule, declared "
                  f"before the runs). {line}" + (f" {undecided}" if undecided else ""), *lead]
    note = ("Reproductions are the paper's claims in the paper's setting (reproduced / partly "
            "reproduced / not reproduced; a real-image claim judged on a protocol scaled down to "
            "a CPU that does not show reads not observed at CPU scale: the scale-down rule can "
            "move a verdict, so it does not refute the paper); extensions are our own questions (holds / mixed / "
            "does not hold); a check is a precondition of other claims (passed / failed). "
            "**still moving**: no settled run to judge; **not measured**: no finding at that "
            f"horizon yet; {NO_HORIZON}: the claim's rule declares no such horizon. The end "
            "state is judged once runs are continued until they settle.")
    blocks = [table_block(rows, f"verdict at {paper}"), Block(note, paragraphs_html([note]))]
    return Section("What we found", paragraphs, blocks=blocks), rows
