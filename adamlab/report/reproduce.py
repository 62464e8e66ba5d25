"""`adamlab reproduce`: the paper's study as a report, next to what its theory predicts.

Each item (adamlab/report/items/) runs its preset sweeps (adamlab/presets/*.toml) through the
results store (`OUT/runs.sqlite`, so a second call reuses every finished run) and becomes a report
section: tables with per-seed values, mean and spread; figures captioned with the command and
config that produced them; the theory's prediction; and a verdict per claim computed from the
numbers by the rules of adamlab/report/regimes.py (never typed by hand). Every finding names its
claim in the ledger (adamlab/report/ledger.toml), which says where the paper makes it, its kind
and its rule; "What we found" is the ledger's table of the items run (adamlab/report/found.py),
and the run bookkeeping sits below it, collapsed. `OUT/index.html` is
self-contained; `OUT/report.md`, figures (PNG, SVG) and data (CSV) lie beside it.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from ..core.result import code_version
from ..core.verdicts import Finding
from ..sweep.store import Store
from ..synthetic import theory
from ..synthetic.regimes import observed_regime
from .context import BUDGETS, PAPER_EPOCHS, Context
from .found import findings_section, links_of, text_lines
from .items import DEFAULT_ITEMS, ITEMS
from .ledger import check_findings, enforce_min_decided, load_ledger, word
from .page import Section, section_anchors, write_report
from .regimes import how_to_read, majority, recorded_validation
from .tables import markdown_table


def reproduce(items=DEFAULT_ITEMS, quick: bool = False, out="report", workers=None,
              progress: bool = True, command: str | None = None, seeds=None,
              epochs: int | None = None, data_dir: str | None = None,
              budget: str = "paper", variant: str | None = None,
              note: str | None = None, end_state: bool | None = None) -> dict:
    """Run the items' sweeps (reusing finished runs in OUT/runs.sqlite) and write the report.
    budget: "paper" (the presets' 10^4 epochs) or "short" (their [short] variants, 2000 epochs:
    a first look; every item then says so at its top). variant: a preset variant to run where a
    preset defines it (e.g. critical-batch's "reduced"). note: why the default items are what
    they are (the real-image items need Fashion-MNIST on disk). end_state: judge every synthetic
    claim at the end state too (sweep/endstate.py: the runs still moving at the budget continued
    from their saved states until they settle or reach the cap); False: the budget only, and
    the end-state column reads "not measured". None (the default): on, except at the short
    budget, a first look kept under 40 minutes (SHORT_END_STATE says why)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget: must be one of {', '.join(BUDGETS)}, got {budget!r}")
    if end_state is None:
        end_state = budget != "short"

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    command = command or ("adamlab reproduce" + (" --quick" if quick else "")
                          + (f" --budget {budget}" if budget != "paper" else ""))
    started = time.perf_counter()
    ledger = load_ledger()
    findings: list[Finding] = []
    sections: list[Section] = []
    item_sections: dict[str, list[Section]] = {}
    with Store(out / "runs.sqlite") as store:
        ctx = Context(store, out, quick, workers, command, progress, seeds, epochs, data_dir,
                      budget=budget, variant_name=variant, end_state=end_state)
        item_seconds = {}
        for name in items:
            print(f"reproduce: {name} ({ITEMS[name].description})", file=sys.stderr)
            tic = time.perf_counter()
            before = len(findings)
            item_sections[name] = ITEMS[name].build(ctx, findings)
            check_findings(findings[before:], ledger, item=name)  # each names its claim
            findings[before:] = enforce_min_decided(findings[before:], ledger)
            sections += item_sections[name]
            item_seconds[name] = time.perf_counter() - tic
        n_runs = len(store.runs())
    end_line = end_state_line(ctx)
    elapsed = time.perf_counter() - started
    settled = sum(s.settled for s in ctx.settled.values())
    # The anchors write_report will give: "What we found" first, then the items' sections.
    anchors = section_anchors([Section("What we found")] + sections)[1:]
    links = links_of(ledger, item_sections, {id(s): a for s, a in zip(sections, anchors)})
    cut = quick or budget != "paper" or epochs is not None
    summary, rows = findings_section(
        findings, ledger, items, links,
        lead=[(f"Of the {len(ctx.settled)} finished synthetic runs, {settled} settled by the "
               f"paper's budget and {len(ctx.settled) - settled} were still moving there; those "
               f"count neither for nor against a claim at that horizon (each row says how many "
               f"it left out). {end_line} " if ctx.settled else
               "These items have no synthetic runs, so no end state. ")
              + "Real-image claims are judged at the paper's epochs, scaled down (their "
              "sections say how)."],
        cut=cut)
    code = code_version()
    timing = "; ".join(s.line() for s in ctx.timings.values())
    per_item = ", ".join(f"{name} {sec:.0f} s" for name, sec in item_seconds.items())
    intro = [
        "Tang, Zhang, Cao, Zou, *Understanding the Generalization of Stochastic Gradient Adam in "
        "Learning Neural Networks* (NeurIPS 2025), synthetic experiments reproduced with adamlab."
        + (" **Quick version**: fewer epochs, seeds and grid points than the paper; its numbers "
           "are a smoke test, not the paper's." if quick else "")
        + (f" **Short budget**: the synthetic items run 2000 epochs instead of the paper's "
           f"{PAPER_EPOCHS:,}, a first look; each item says so at its top." if budget == "short"
           and not quick else ""),
        f"Command: `{command}` (items: {', '.join(items)}). {n_runs} runs in the store "
        f"`{out / 'runs.sqlite'}`; this call took {elapsed:.0f} s. Wall time per item (an item "
        f"that reuses another's runs takes only its report time): {per_item}. Sweeps: {timing}. "
        f"Code: commit {code.get('commit')}{' (dirty)' if code.get('dirty') else ''}."
        + (f" Default items: {note}." if note else ""),
        how_to_read(recorded_validation()),
        theory.STATEMENT.format(margin=theory.DEFAULT_MARGIN)]
    # The page opens on the findings: the bookkeeping is collapsed, the contents follow them.
    paths = write_report(out, "adamlab: Adam, AdamW, batch size and weight decay", [summary]
                         + sections, intro=intro[:1],
                         details=("How this report was made", intro[1:]), lead=1)
    print(f"reproduce: wrote {paths['html']} and {paths['markdown']} ({elapsed:.0f} s)",
          file=sys.stderr)
    text = "\n\n".join(["What we found (generated from the numbers):",
                         "\n".join(text_lines(rows))]
                        + [t.caption + "\n" + markdown_table(t.rows, t.columns, t.headers,
                                                              t.per_seed)
                           for sec in sections for t in sec.tables if t.name == "table"])
    kinds = {f.claim_id: ledger[f.claim_id].kind for f in findings}
    return {"paths": paths, "findings": [
        {**dataclasses.asdict(f), "kind": kinds[f.claim_id],
         "word": word(kinds[f.claim_id], f.verdict, f.scaled)} for f in findings],
            "seconds": elapsed, "item_seconds": item_seconds, "text": text}


# Why the short budget judges its own 2000 epochs only by default: measured on two cores, its
# sweeps took 33 min and continuing its 242 still-moving runs 23 min more (docs/report.md), over
# the 40 minutes a first look may take.
SHORT_END_STATE = ("the short budget judges its 2000 epochs only, to stay under 40 minutes; "
                   "--end-state adds it, about 25 minutes more on two cores")


def end_state_line(ctx: Context) -> str:
    """How far the end state went, in one sentence for the findings' lead."""
    if not ctx.end_state:
        return ("End state: not judged (" + (SHORT_END_STATE if ctx.budget == "short" else
                                             "--no-end-state") + ").")
    ends = list(ctx.ends.values())
    continued = [e for e in ends if e.end_epochs > e.budget]
    at_cap = sum(e.settled_at is None and e.regime_at_end != "diverged" for e in ends)
    if not continued:
        return (f"End state: all {len(ends)} finished synthetic runs settled by the budget, so "
                f"it is theirs; none needed continuing.")
    return (f"End state: of the {len(ends)} finished synthetic runs, {len(continued)} still "
            f"moving at the budget were continued (to at most "
            f"{max((e.end_epochs for e in continued), default=0):,} epochs); "
            f"{sum(e.settled_later for e in ends)} of them settled, {sum(e.changed for e in ends)} "
            f"changed regime by their final errors, and {at_cap} were still moving at "
            f"the cap (10^5 epochs or 2x10^6 steps, whichever comes first).")


__all__ = ["ITEMS", "DEFAULT_ITEMS", "reproduce", "observed_regime", "majority"]

