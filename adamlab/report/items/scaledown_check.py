"""Beyond the paper: the image scale-down rule (adamlab/images/scaledown.py) checked where the
answer is known. The real-image items shrink the paper's protocol by that rule; here the same rule
shrinks the synthetic protocol, whose outcome at the paper's budget the report measures anyway,
and each cell's regime under the rule is set beside its regime at the paper's budget.

The budget is cut FACTOR times in epochs (10^4 -> 2000; n stays 200: the synthetic data has no
larger pool to subsample). The rule then raises lr by the same factor (keeping lr x steps at the
smallest batch, and lr x lambda x steps with it) and keeps only the batch sizes that still get the
paper's largest batch's steps, adding the largest batch that does. For the table that drops the
large batch B = 100 (4,000 steps at 2000 epochs, against the paper's 20,000) for B = 20: the
rule cannot carry a large-batch claim at a 5x smaller budget, and the section says so. The
dropped batch sizes also run at the rule's lr and the cut budget (the naive cut), so the reader
sees what the rule refuses.
"""
from __future__ import annotations

from ...core.formatting import fmt_number
from ...core.stats import group_runs
from ...core.verdicts import Finding, agrees, verdict
from ...images.scaledown import Protocol, round_sig, scale_down
from ...optim.registry import label
from ..context import Context, at_horizon
from ..page import Section, TableItem
from ..regimes import cell_regime

FACTOR = 5
# The phase diagram's row checked: Adam at the table's weight decay, every batch size.
PHASE_ROW = ("phase-adam", 1e-5)
UNDECIDED = ("still_moving", "mixed", "no runs")


def scaled_configs(configs, factor: int = FACTOR):
    """(the Scaled arithmetic, the rule's configs, the naive cut's configs) for paper configs
    that share n, epochs and lr: every (optimiser, weight decay, seed) at each of the rule's batch
    sizes, and at each paper batch size the rule drops (same B, the rule's lr and epochs)."""
    paper = Protocol.from_configs(configs)
    scaled = scale_down(paper, n=paper.n, epochs=max(1, paper.epochs // factor))
    run = scaled.run
    bases = {}
    for c in configs:
        bases.setdefault((c.optimizer, c.weight_decay, c.seed), c)
    lr = {c.lr: round_sig(c.lr * scaled.lr_factor) for c in configs}
    rule, naive = [], []
    for c in bases.values():
        cut = c.replace(epochs=run.epochs, lr=lr[c.lr], log_every=0)
        rule += [cut.replace(batch_size=b) for b in run.batch_sizes]
        naive += [cut.replace(batch_size=b) for b in paper.batch_sizes
                  if b not in run.batch_sizes]
    return scaled, rule, naive


def compare_rows(paper_runs, rule_runs, naive_runs) -> list[dict]:
    """One row per (optimiser, weight decay, batch size): the cell's regime at the paper's
    budget and under the rule (or the naive cut, for a batch size the rule drops)."""
    keys = ("optimizer", "weight_decay", "batch_size")
    paper = group_runs(paper_runs, keys)
    cut = {**{k: ("rule", v) for k, v in group_runs(rule_runs, keys).items()},
           **{k: ("naive cut", v) for k, v in group_runs(naive_runs, keys).items()}}
    rows = []
    for key in sorted(set(paper) | set(cut), key=lambda k: (k[0], k[1], k[2])):
        opt, wd, b = key
        how, rs = cut.get(key, ("—", []))
        p = cell_regime(paper[key]) if key in paper else "no runs"
        q = cell_regime(rs) if rs else "no runs"
        decided = how == "rule" and p not in UNDECIDED and q not in UNDECIDED
        rows.append({"optimizer": label(opt), "weight_decay": wd, "batch_size": b,
                     "paper budget": p, "cut budget": q, "how": how,
                     "agrees": (p == q) if decided else None})
    return rows


def check_finding(rows: list[dict], dropped: str) -> Finding:
    """The rule reproduces the paper-budget regime in k of the n cells both decide."""
    judged = [r for r in rows if r["agrees"] is not None]
    k = sum(r["agrees"] for r in judged)
    moving = sum(r["how"] == "rule" and r["agrees"] is None
                 and "still_moving" in (r["paper budget"], r["cut budget"])
                 for r in rows)
    off = [f"{r['optimizer']} λ = {fmt_number(r['weight_decay'])} B = {r['batch_size']}: "
           f"{r['paper budget']} → {r['cut budget']}" for r in judged if not r["agrees"]]
    return Finding(
        f"The image scale-down rule, applied to the synthetic task at a {FACTOR}x smaller budget, "
        f"gives each cell the regime it has at the paper's budget.",
        f"{agrees(k, len(judged), 'cells')} (cells that both budgets decide)"
        + (f"; differs at {'; '.join(off)}" if off else "") + f"; {dropped}.",
        verdict(k, len(judged), moving), still_moving=moving, unit="cells",
        claim_id="scaledown.synthetic", decided=len(judged))


def item_scaledown_check(ctx: Context, findings: list[Finding]) -> list[Section]:
    table = ctx.spec("table").configs
    preset, wd = PHASE_ROW
    row = [c for c in ctx.spec(preset).configs if c.weight_decay == wd]
    sections, all_rows, notes = [], [], []
    ends = []  # (check, (paper, rule, naive) runs), for the end state
    for name, configs in (("the table", table), (f"the {label('adam')} phase row λ = {wd:g}",
                                                  row)):
        scaled, rule, naive = scaled_configs(configs)
        paper_runs = ctx.run_configs(f"scaledown:{name}:paper", configs)
        rule_runs = ctx.run_configs(f"scaledown:{name}:rule", rule)
        naive_runs = ctx.run_configs(f"scaledown:{name}:naive", naive) if naive else []
        rows = compare_rows(paper_runs, rule_runs, naive_runs)
        ends.append((name, (paper_runs, rule_runs, naive_runs)))
        all_rows += [{"check": name, **r} for r in rows]
        dropped = sorted(set(scaled.paper.batch_sizes) - set(scaled.run.batch_sizes))
        added = sorted(set(scaled.run.batch_sizes) - set(scaled.paper.batch_sizes))
        notes.append(f"For {name}: lr × {scaled.lr_factor:g} ({fmt_number(configs[0].lr)} → "
                     f"{fmt_number(rule[0].lr)}), {scaled.paper.epochs:,} → "
                     f"{scaled.run.epochs:,} epochs; batch sizes kept "
                     f"{sorted(set(scaled.run.batch_sizes) & set(scaled.paper.batch_sizes))}"
                     + (f", dropped {dropped} (fewer steps than the paper's largest batch "
                        f"got)" if dropped else "")
                     + (f", added {added}" if added else ""))
        sections.append(TableItem(f"scaledown-{len(sections)}-protocol", scaled.rows(),
                                  per_seed=False, caption=f"The rule's arithmetic for {name}: "
                                  f"each quantity at the paper's budget and under the rule "
                                  f"('kept': within 1%)."))
    dropped_text = ("the rule drops every batch size that would get fewer steps than the "
                    "paper's largest batch, so at this cut it cannot test a large-batch claim; "
                    "the naive cut (same B, the rule's lr) is shown beside it, not counted")
    findings.append(check_finding(all_rows, dropped_text))
    end_rows = []
    if ctx.end_state:  # both budgets' runs continued to their end states, compared again
        at_end = [(name, [ctx.end_runs(group) for group in runs]) for name, runs in ends]
        end_rows = [{"check": name, **r} for name, groups in at_end
                    for r in compare_rows(*groups)]
        every = [r for _, groups in at_end for group in groups for r in group]
        findings.append(at_horizon(check_finding(end_rows, dropped_text), "end", every))
    seeds = sorted({c.seed for c in table})
    intro = [f"The scale-down rule the real-image items use (adamlab/images/scaledown.py), "
             f"checked where the answer is known: the synthetic table and one phase-diagram row "
             f"({label('adam')}, λ = {wd:g}) at a {FACTOR}x smaller budget, each cell's regime "
             f"(the majority of its settled seeds) beside its regime at the paper's budget. "
             f"Seeds: the presets' ({len(seeds)} for the table). " + "; ".join(notes) + ".",
             "Where the regimes differ, the rule does not carry that cell's outcome at this "
             "cut, and an image verdict resting on the same arithmetic may move with the scale."]
    table_item = TableItem("scaledown", all_rows, per_seed=False,
                           caption="Per cell: its regime at the paper's budget and at the cut "
                           "budget, under the rule or, for a batch size the rule drops, the "
                           "naive cut; 'agrees' only where both decide a regime under the rule.")
    if end_rows:
        sections.insert(0, TableItem(
            "scaledown-end", end_rows, per_seed=False,
            caption="The same cells at the end state: every run of both budgets still moving "
                    "at its budget continued until it settled (or reached the cap), each "
                    "cell's regime read again."))
    return [Section("Beyond the paper: the scale-down rule checked on the synthetic task", intro,
                    [table_item] + sections, [])]
