"""The report as files: a self-contained `index.html` (figures embedded, no external resources), a
`report.md` beside it, every figure as PNG and SVG under figures/, every table and figure's data
as CSV under data/.

    sections = [Section("The paper's table", paragraphs=["Large batch memorises ..."],
                        tables=[TableItem("table", rows, caption="...")],
                        figures=[FigureItem("trajectories", fig, caption="...",
                                            command="adamlab reproduce table", config={...})])]
    paths = write_report("report", "adamlab: Tang et al. (2025) reproduced", sections)

A figure may carry an interactive version (FigureItem.interactive, adamlab/report/interactive.py):
index.html shows it on screen and prints the static image; Plotly's bundle is then inlined once
in the page's head, whatever the number of such figures, so the page still needs no network.

Paragraphs are markdown-ish: blank-line-separated blocks; a block whose lines start with "- " is a
list; `code` and **bold** inline. A `Block` is content written twice, as markdown and as HTML
(the findings table with its verdict badges, adamlab/report/found.py). `details` collapses
paragraphs under a summary line below the intro; `lead` sections come before the contents, so a
page can open on them. Captions carry the exact command and config that produced a
figure (docs/contributing.md: a reader must find where a number comes from).

The report's own files (index.html, report.md, figures/, data/) are built in a temporary folder
beside them and then moved into place, index.html last, so a report interrupted while it is
written leaves the previous report (or none), never half of one; the next call clears what the
interrupted one left. Anything else in the folder (the results store runs.sqlite) is never moved
or deleted. Wide tables scroll inside their own box, so the page itself never scrolls sideways
(tests/test_report_browser.py checks that in Chromium at 1300 x 900).
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from . import figures
from . import interactive as IX
from . import tables as T

CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       background: #fff; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.8rem; margin-bottom: .3rem; }
h2 { font-size: 1.35rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
nav.toc { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 6px;
          padding: .5rem 1.2rem; margin: 1rem 0; }
nav.toc h2 { border: 0; margin: .4rem 0; font-size: 1.05rem; }
a { color: #0b5cad; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
            font-size: .88em; background: #f6f8fa; border-radius: 4px; }
code { padding: .1em .3em; overflow-wrap: anywhere; }
pre { padding: .6rem .8rem; overflow-x: auto; }
.table-caption { font-weight: 600; margin: .8rem 0 .3rem; }
.table-box { overflow-x: auto; margin: 0 0 1.4rem; }
table { border-collapse: collapse; font-size: .9rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.seeds { color: #555; font-size: .85em; }
figure { margin: 1.2rem 0 2rem; }
figure img, figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .92rem; color: #333; margin-top: .4rem; }
details summary { cursor: pointer; color: #0b5cad; }
details.made { margin: .6rem 0 1rem; }
/* Verdict badges: the word is the label, the colour only repeats it. */
.badge { display: inline-block; padding: .05em .55em; border-radius: 1em; font-size: .85em;
         font-weight: 600; white-space: nowrap; border: 1px solid; }
.tone-good { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.tone-mixed { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
.tone-bad { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
.tone-moving { background: #ddf4ff; color: #0550ae; border-color: #54aeff; }
.tone-none { background: #f6f8fa; color: #57606a; border-color: #d0d7de; }
table.findings td.claim { min-width: 16rem; }
table.findings td.numbers { min-width: 26rem; font-size: .85rem; }
table.findings .claim-id { color: #57606a; font-size: .8em; }
.files { font-size: .85rem; color: #555; }
"""


@dataclass
class TableItem:
    """Rows (dicts; `tables.Stats` cells show mean ± std (n) and per-seed values) written as a
    table in both pages and as data/NAME.csv."""

    name: str
    rows: list[dict]
    caption: str = ""
    columns: list[str] | None = None
    headers: dict | None = None
    per_seed: bool = True


@dataclass
class FigureItem:
    """A matplotlib figure (saved by write_report) or `path`, an existing PNG with its SVG beside
    it. command/config: what produced it, shown in the caption. data: rows written as
    data/NAME.csv (the numbers behind the figure). interactive: its Plotly version
    (adamlab/report/interactive.py), which index.html shows in place of the image on screen
    (the image stays for printing, report.md and readers without JavaScript)."""

    name: str
    figure: Any = None
    caption: str = ""
    command: str | None = None
    config: dict | None = None
    data: list[dict] | None = None
    path: str | None = None
    interactive: IX.Interactive | None = None  # shown on screen in index.html; the image prints


@dataclass
class Block:
    """Content given as markdown (report.md) and as HTML (index.html), written as is."""

    markdown: str
    html: str


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[TableItem] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)  # after the paragraphs, before the tables


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# What write_report owns in its folder, moved into place in this order (the page last).
REPORT_FILES = ("figures", "data", "report.md", "index.html")
STAGE = ".report-{pid}.tmp"  # the temporary folder a report is built in, beside its files


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


def section_anchors(sections: Sequence[Section]) -> list[str]:
    """The anchor of each section as write_report gives it (a title's slug, made unique)."""
    return _unique_slugs([s.title for s in sections])


def _unique_slugs(titles: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for t in titles:
        base = slug(t) or "section"
        k = seen.get(base, 0)
        out.append(base if k == 0 else f"{base}-{k}")
        seen[base] = k + 1
    return out


def _inline_html(text: str) -> str:
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for p in parts:
        if p.startswith("`") and p.endswith("`") and len(p) > 1:
            out.append(f"<code>{html.escape(p[1:-1])}</code>")
        else:
            e = html.escape(p)
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", e))
    return "".join(out)


def _blocks(text: str) -> list[str]:
    return [b.strip("\n") for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]


def paragraphs_html(paragraphs: Sequence[str]) -> str:
    out = []
    for para in paragraphs:
        for block in _blocks(para):
            lines = block.splitlines()
            if all(ln.lstrip().startswith(("- ", "* ")) for ln in lines):
                items = "".join(f"<li>{_inline_html(ln.lstrip()[2:])}</li>" for ln in lines)
                out.append(f"<ul>{items}</ul>")
            else:
                out.append(f"<p>{_inline_html(' '.join(ln.strip() for ln in lines))}</p>")
    return "\n".join(out)


def _svg_inline(svg_text: str) -> str:
    """The <svg> element of an SVG file (XML declaration and DOCTYPE dropped)."""
    start = svg_text.find("<svg")
    return svg_text[start:] if start >= 0 else svg_text


def _caption_parts(item: FigureItem) -> tuple[str, str | None, str | None]:
    config = json.dumps(item.config, indent=2, sort_keys=True, default=str) \
        if item.config is not None else None
    return item.caption, item.command, config


def write_report(out_dir, title: str, sections: Sequence[Section], *,
                 intro: Sequence[str] = (), embed: str = "png", dpi: int = 150,
                 details: tuple[str, Sequence[str]] | None = None, lead: int = 0) -> dict:
    """Write out_dir/index.html, out_dir/report.md, figures/NAME.{png,svg}, data/NAME.csv,
    built in a temporary folder and moved into place (the module docstring says why).

    embed: "png" (base64 data URIs) or "svg" (inline SVG) in index.html; report.md links the
    PNG files. details: (summary, paragraphs), collapsed below the intro. lead: how many
    sections come before the contents. Figure and table names must be unique file stems.
    Returns {"html", "markdown", "figures": [png and svg paths], "data": [csv paths]}, paths in
    out_dir."""
    if embed not in ("png", "svg"):
        raise ValueError(f"embed: must be 'png' or 'svg', got {embed!r}")

    final = Path(out_dir)
    final.mkdir(parents=True, exist_ok=True)
    _clear_stale_stages(final)
    out = final / STAGE.format(pid=os.getpid())
    shutil.rmtree(out, ignore_errors=True)
    fig_dir, data_dir = out / "figures", out / "data"
    names: set[str] = set()
    for sec in sections:
        for item in [*sec.tables, *sec.figures]:
            if not _NAME.match(item.name):
                raise ValueError(f"name: {item.name!r} must be a plain file stem "
                                 "(letters, digits, '_', '-', '.')")
            if item.name in names:
                raise ValueError(f"name: {item.name!r} is used twice")
            names.add(item.name)
    out.mkdir(parents=True, exist_ok=True)
    written_figs: list[Path] = []
    written_data: list[Path] = []
    anchors = _unique_slugs([s.title for s in sections])

    md = [f"# {title}", ""]
    for p in intro:
        md += [p, ""]
    body = [f"<h1>{html.escape(title)}</h1>", paragraphs_html(intro)]
    if details is not None:
        summary, paras = details
        md += [f"<details><summary>{html.escape(summary)}</summary>", ""]
        for p in paras:
            md += [p, ""]
        md += ["</details>", ""]
        body.append(f'<details class="made"><summary>{html.escape(summary)}</summary>'
                    f"{paragraphs_html(paras)}</details>")
    toc_md = ["## Contents", ""] + [f"{i + 1}. [{s.title}](#{a})"
                                    for i, (s, a) in enumerate(zip(sections, anchors))] + [""]
    toc_html = ('<nav class="toc"><h2>Contents</h2><ol>'
                + "".join(f'<li><a href="#{a}">{html.escape(s.title)}</a></li>'
                          for s, a in zip(sections, anchors)) + "</ol></nav>")

    for i, (sec, anchor) in enumerate(zip(sections, anchors)):
        if i == lead:
            md += toc_md
            body.append(toc_html)
        md += [f"## {sec.title}", ""]
        body.append(f'<section id="{anchor}"><h2>{html.escape(sec.title)}</h2>')
        for p in sec.paragraphs:
            md += [p, ""]
        body.append(paragraphs_html(sec.paragraphs))
        for b in sec.blocks:
            md += [b.markdown, ""]
            body.append(b.html)
        for t in sec.tables:
            csv_path = T.write_csv(t.rows, data_dir / f"{t.name}.csv", None)
            written_data.append(csv_path)
            if t.caption:
                md += [f"**{t.caption}**", ""]
            md += [T.markdown_table(t.rows, t.columns, t.headers, t.per_seed), "",
                   f"Data: [data/{t.name}.csv](data/{t.name}.csv)", ""]
            # A wide table scrolls in its box, not the page; its caption stays outside, readable
            # without scrolling.
            if t.caption:
                body.append(f'<p class="table-caption">{_inline_html(t.caption)}</p>')
            body.append('<div class="table-box">'
                        + T.html_table(t.rows, t.columns, t.headers, t.per_seed) + "</div>")
            body.append(f'<p class="files">Data: <a href="data/{t.name}.csv">{t.name}.csv</a>'
                        "</p>")
        for f in sec.figures:
            png, svg = _figure_files(f, fig_dir, figures.save, dpi)
            written_figs += [png, svg]
            if f.data:
                written_data.append(T.write_csv(f.data, data_dir / f"{f.name}.csv"))
            extra = f.interactive.data if f.interactive else {}
            for extra_name, rows in extra.items():
                written_data.append(T.write_csv(rows, data_dir / f"{extra_name}.csv"))
            caption, command, config = _caption_parts(f)
            rel_png, rel_svg = f"figures/{png.name}", f"figures/{svg.name}"
            md += [f"![{caption or f.name}]({rel_png})", "", f"*{caption}*" if caption else ""]
            if command:
                md += ["", f"Command: `{command}`"]
            if config:
                md += ["", "<details><summary>config</summary>", "", "```json", config, "```",
                       "", "</details>"]
            md += ["", f"Files: [PNG]({rel_png}), [SVG]({rel_svg})"
                   + (f", [data](data/{f.name}.csv)" if f.data else "")
                   + "".join(f", [{n}](data/{n}.csv)" for n in extra), ""]
            if embed == "png":
                b64 = base64.b64encode(png.read_bytes()).decode("ascii")
                media = (f'<img src="data:image/png;base64,{b64}" '
                         f'alt="{html.escape(caption or f.name)}">')
            else:
                media = _svg_inline(svg.read_text())
            cap = [f"<figcaption>{_inline_html(caption)}"]
            if command:
                cap.append(f"<br>Command: <code>{html.escape(command)}</code>")
            if config:
                cap.append(f"<details><summary>config</summary><pre>{html.escape(config)}</pre>"
                           "</details>")
            cap.append(f'<span class="files">Files: <a href="{rel_png}">PNG</a>, '
                       f'<a href="{rel_svg}">SVG</a>'
                       + (f', <a href="data/{f.name}.csv">data</a>' if f.data else "")
                       + "".join(f', <a href="data/{n}.csv">{n}</a>' for n in extra)
                       + "</span></figcaption>")
            if f.interactive:  # the Plotly figure on screen; the static image prints
                media = f'{f.interactive.html}<div class="print-only">{media}</div>'

            body.append(f'<figure id="fig-{f.name}">{media}{"".join(cap)}</figure>')
        body.append("</section>")
    if lead >= len(sections):
        md += toc_md
        body.append(toc_html)

    # Plotly and the script drawing the interactive figures, inlined once for the whole page.
    live = any(f.interactive for sec in sections for f in sec.figures)
    head = f"<style>{CSS}{IX.CSS}</style>\n{IX.page_scripts()}" if live else f"<style>{CSS}</style>"
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n{head}\n</head>\n<body>\n"
            "<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")
    _write_synced(out / "index.html", page)
    _write_synced(out / "report.md", "\n".join(md).rstrip() + "\n")
    _move_into_place(out, final)
    moved = lambda p: final / p.relative_to(out)  # noqa: E731
    return {"html": final / "index.html", "markdown": final / "report.md",
            "figures": [moved(p) for p in written_figs], "data": [moved(p) for p in written_data]}


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _move_into_place(stage: Path, final: Path) -> None:
    """Swap each of the report's files for the new one (a rename each: atomic for files; a
    folder is renamed aside first, then removed), the page last; a name the new report lacks
    (no tables: no data/) is removed, so no stale file survives."""
    old = stage / ".old"
    old.mkdir()
    for name in REPORT_FILES:
        new, dst = stage / name, final / name
        if new.is_dir() or not new.exists():
            if dst.exists():
                os.replace(dst, old / name)
            if new.exists():
                os.replace(new, dst)
        else:
            os.replace(new, dst)
    shutil.rmtree(stage)


def _clear_stale_stages(final: Path) -> None:
    """Remove temporary folders of report writes that were interrupted (their process is gone)."""
    for stage in final.glob(STAGE.format(pid="*")):
        pid = stage.name.split("-")[1].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not _pid_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _figure_files(item: FigureItem, fig_dir: Path, save, dpi: int) -> tuple[Path, Path]:
    if item.figure is not None:
        return save(item.figure, fig_dir / item.name, dpi=dpi)
    if item.path is None:
        raise ValueError(f"figure {item.name!r}: give `figure` (a matplotlib Figure) or `path`")
    src = Path(item.path)
    png, svg = src.with_suffix(".png"), src.with_suffix(".svg")
    for p in (png, svg):
        if not p.exists():
            raise FileNotFoundError(2, "no such file", str(p))
    fig_dir.mkdir(parents=True, exist_ok=True)
    dst_png, dst_svg = fig_dir / f"{item.name}.png", fig_dir / f"{item.name}.svg"
    for a, b in ((png, dst_png), (svg, dst_svg)):
        if a.resolve() != b.resolve():
            b.write_bytes(a.read_bytes())
    return dst_png, dst_svg
