"""`adamlab reproduce`: the paper's study as a report, next to what its theory predicts.

Each item (adamlab/report/items/) runs its preset sweeps (adamlab/presets/*.toml) through the
results store (`OUT/runs.sqlite`, so a second call reuses every finished run) and becomes a report
section: tables with per-seed values, mean and spread; figures captioned with the command and
config that produced them; the theory's prediction; and a verdict per claim computed from the
numbers by the rules of adamlab/report/regimes.py (never typed by hand). `OUT/index.html` is
self-contained; `OUT/report.md`, figures (PNG, SVG) and data (CSV) lie beside it.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from .. import theory
from .context import Context
from .items import DEFAULT_ITEMS, ITEMS
from .page import Section, write_report
from .regimes import Finding, how_to_read, majority, observed_regime
from .tables import markdown_table


def reproduce(items=DEFAULT_ITEMS, quick: bool = False, out="report", workers=None,
              progress: bool = True, command: str | None = None, seeds=None,
              epochs: int | None = None, data_dir: str | None = None,
              note: str | None = None) -> dict:
    """Run the items' sweeps (reusing finished runs in OUT/runs.sqlite) and write the report."""
    from ..engine.result import code_version
    from ..sweep.store import Store

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    command = command or ("adamlab reproduce" + (" --quick" if quick else ""))
    started = time.perf_counter()
    findings: list[Finding] = []
    sections: list[Section] = []
    with Store(out / "runs.sqlite") as store:
        ctx = Context(store, out, quick, workers, command, progress, seeds, epochs, data_dir)
        for name in items:
            print(f"reproduce: {name} ({ITEMS[name].description})", file=sys.stderr)
            sections += ITEMS[name].build(ctx, findings)
        n_runs = len(store.runs())
    elapsed = time.perf_counter() - started
    counts = {v: sum(f.verdict == v for f in findings)
              for v in ("reproduced", "partly reproduced", "not reproduced")}
    summary = Section("What we found", [
        f"Generated from the numbers below: {counts['reproduced']} claims reproduced, "
        f"{counts['partly reproduced']} partly, {counts['not reproduced']} not."
        + "".join(f" Checks {v}: {n}." for v in ("passed", "failed")
                  if (n := sum(f.verdict == v for f in findings))),
        "\n".join(f.line() for f in findings)])
    code = code_version()
    timing = "; ".join(s.line() for s in ctx.timings.values())
    intro = [
        "Tang, Zhang, Cao, Zou, *Understanding the Generalization of Stochastic Gradient Adam in "
        "Learning Neural Networks* (NeurIPS 2025), synthetic experiments reproduced with adamlab."
        + (" **Quick version**: fewer epochs, seeds and grid points than the paper; its numbers "
           "are a smoke test, not the paper's." if quick else ""),
        f"Command: `{command}` (items: {', '.join(items)}). {n_runs} runs in the store "
        f"`{out / 'runs.sqlite'}`; this call took {elapsed:.0f} s ({timing}). Code: commit "
        f"{code.get('commit')}{' (dirty)' if code.get('dirty') else ''}."
        + (f" Default items: {note}." if note else ""),
        how_to_read(),
        theory.STATEMENT.format(margin=theory.DEFAULT_MARGIN)]
    paths = write_report(out, "adamlab: Adam, AdamW, batch size and weight decay", [summary]
                         + sections, intro=intro)
    print(f"reproduce: wrote {paths['html']} and {paths['markdown']} ({elapsed:.0f} s)",
          file=sys.stderr)
    text = "\n\n".join(["What we found (generated from the numbers):",
                         "\n".join(f.line() for f in findings)]
                        + [t.caption + "\n" + markdown_table(t.rows, t.columns, t.headers,
                                                              t.per_seed)
                           for sec in sections for t in sec.tables if t.name == "table"])
    return {"paths": paths, "findings": [dataclasses.asdict(f) for f in findings],
            "seconds": elapsed, "text": text}


__all__ = ["ITEMS", "DEFAULT_ITEMS", "reproduce", "observed_regime", "majority"]

