"""Critical batch size: where mini batch turns into large batch, and the theory's scaling law.

The theorems (docs/paper.md "Theorems": Thms 4.1/4.2 for Adam, 4.4/4.5 for AdamW) put the switch from
learning the feature to memorising noise where n/B, the iterations between two visits of an
example, equals Adam's memory log(1/(lambda*eta)): B* ~ c * n / log(1/(lambda*eta)) with an unknown
constant c. For every configuration of the preset (adamlab/presets/critical-batch.toml: scans of
n, lr and weight decay) and seed, `adamlab.sweep.critical` finds the bracket [largest B that
learns, smallest B that memorises] by bisection; B* per seed is the bracket's geometric mean, per
configuration the geometric mean over its seeds. log B* is fitted against log(n / log(1/(λη))) by
least squares for each optimiser; the slope's 95% interval resamples each configuration's seeds
with replacement, the configurations fixed (adamlab/core/stats.py `power_law_fit`): it carries the
seeds' spread. How far the configurations stray from one line is reported beside it (the rms of
the log residuals), and so is the slope of the n scan alone (lr and weight decay at the paper's
values), the cleanest test. (Resampling the configurations instead was tried and rejected: with
five of eight points at n = 200, 2% of resamples hold no other n and give arbitrary slopes.)

Verdict (per optimiser): "reproduced" when the slope's interval contains 1 and excludes 0 (B*
grows with x, as predicted); "partly reproduced" when it contains both 1 and 0 (the data cannot
tell the law from no dependence); "not reproduced" when it excludes 1; "not measured" with fewer
than three configurations that have a B*.
"""
from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from ...core.curves import censored_power_law, compare_scaling, logistic_curve
from ...core.stats import MIN_CI_SEEDS, power_law_fit, summarise
from ...core.verdicts import Finding
from ...optim.registry import label
from ...sweep.bisect import DECIDED, LEARNS, BatchSearch, SearchResult
from ...sweep.critical import (CURVE_POINTS, configurations, observed, report_rules,
                               search_many)
from ...synthetic.config import SyntheticConfig
from .. import figures as F
from ..context import Context, caption_config, end_note
from ..interactive import critical_batch_interactive
from ..ledger import enforce_min_decided, load_ledger, word
from ..page import FigureItem, Section, TableItem

PRESET = "critical-batch"
# Each seed's search stops once b_high <= 1.1 * b_low (B* known to +-5%): seeds scatter by more
# than that, and it saves the last 3 of 10 probes at n = 800 (~30% of the study's time;
# benchmarks/critical_batch_cost.py).
RESOLUTION = 1.1
# Seeds that bisect; a preset's further seeds run on each configuration's curve grid
# (sweep/critical.py `curve_grid`), so P(learns | B) rests on each of them at every grid point.
BISECT_SEEDS = 3
SCANNED = ("n", "d", "lr", "weight_decay", "sampler")
# The configurations of the main fit: d at the paper's 1000. The "d+n" scan (d = 5n, so each noise
# coordinate is shared by n*s/d = 20 examples at every n) is a control fitted on its own.
MAIN_SCANS = ("reference", "n", "lr", "weight_decay")


@dataclass
class _Timing:
    """What `reproduce` prints for an item's runs (the shape of a SweepSummary's line)."""

    text: str

    def line(self) -> str:
        return self.text


def scans(configs) -> list[str]:
    """Which one-at-a-time scan each configuration belongs to: the parameters (n, d, lr,
    weight_decay) in which it differs from its optimiser's reference point, joined by "+" ("n",
    "lr", "d+n" for the d = 5n control), or "reference". The reference takes the paper's value
    of each parameter when some configuration has it (the scans go through the paper's point,
    however many of them a preset keeps), else the most common value."""
    out = []
    for c in configs:
        same = [o for o in configs if o.optimizer == c.optimizer]
        paper = SyntheticConfig(optimizer=c.optimizer)
        ref = {}
        for k in SCANNED:
            counts = Counter(getattr(o, k) for o in same)
            top = [v for v, m in counts.items() if m == max(counts.values())]
            ref[k] = getattr(paper, k) if getattr(paper, k) in counts else top[0]
        diff = sorted(k for k in SCANNED if getattr(c, k) != ref[k])
        out.append("+".join(diff) or "reference")
    return out


def at_jump(n: int, b_low, b_high) -> bool:
    """Is the bracket pinned to a jump of floor(n/B), the default sampler's steps an epoch:
    resolved (b_high <= RESOLUTION * b_low, where the search stops) and straddling a batch size
    where floor(n/B) changes (e.g. [95, 103] at n = 200: 2 steps an epoch up to 100, 1 from
    101)?"""
    return (bool(b_low and b_high) and b_high <= RESOLUTION * b_low
            and n // b_low != n // b_high)


def sampler_lines(results, at_budget=None, at_end=None) -> list[str]:
    """The same configuration under both samplers, side by side: each seed's bracket at the
    budget (at_budget[i] holds results[i]'s seeds; default: the searches' own) and at the end
    state, when given, and how many are pinned to a jump of floor(n/B)."""
    by: dict[tuple, dict[str, tuple]] = {}
    for i, res in enumerate(results):
        c = res.config
        ends = at_end[i] if at_end is not None else None
        by.setdefault((c.optimizer, c.n, c.d, c.lr, c.weight_decay), {})[c.sampler] = (
            at_budget[i] if at_budget is not None else res.results(), ends)
    out = []
    for (opt, n, d, lr, wd), pair in by.items():
        if len(pair) < 2:
            continue
        parts = []
        for sampler, (rs, ends) in sorted(pair.items()):
            def show(brackets):
                pinned = sum(at_jump(n, r.b_low, r.b_high) for r in brackets)
                return (", ".join(f"[{_fmt(r.b_low)}, {_fmt(r.b_high)}]" for r in brackets)
                        + f" ({pinned} of {len(brackets)} pinned to a jump of floor(n/B))")
            parts.append(f"{sampler}: {show(rs)}"
                         + (f", at the end state {show(ends)}" if ends is not None else ""))
        out.append(f"- Samplers, {label(opt)} at n = {n} (d = {d}, lr {lr:g}, λ = {wd:g}): "
                   + "; ".join(parts) + ".")
    return out


def geometric_mean(values) -> float | None:
    vals = [v for v in values if v]
    return math.exp(statistics.fmean(math.log(v) for v in vals)) if vals else None


def said(finding: Finding) -> str:
    """A finding's verdict in an extension's words: every claim of this item is ours (the
    theorems state bounds, not this law), so "not reproduced" reads "does not hold". The
    ledger's min_decided applies here as in "What we found" (a slope over fewer configurations
    than the rule asks reads "not measured"), so the section never says more than the table."""
    if finding.claim_id is not None and finding.decided is not None:
        finding = enforce_min_decided([finding], load_ledger())[0]
    return word("extension", finding.verdict)


def slope_verdict(fit, expected: float = 1.0) -> str:
    """The law's rule: the slope's interval contains `expected` and excludes 0 (B* depends on x
    as predicted); contains both: the data cannot tell the law from no dependence; excludes
    `expected`: not the law."""
    if fit.slope_ci95 is None:
        return "not measured"
    if not fit.slope_covers(expected):
        return "not reproduced"
    return "partly reproduced" if fit.slope_covers(0.0) else "reproduced"


def _fit(points: list[dict], key: str, x: str = "x"):
    """The power law through points' per-seed values under `key` (brackets or b_low) against
    their `x` (the theory's n / log(1/(λη)) by default)."""
    return power_law_fit([p[x] for p in points], [p[key] for p in points])


def _slope(fit) -> str:
    ci = (f" [{fit.slope_ci95[0]:.2f}, {fit.slope_ci95[1]:.2f}]" if fit.slope_ci95 else
          " (no interval)")
    return f"slope {fit.slope:.2f}{ci} over {fit.n} configurations"


def _band(points: list[dict], key: str) -> str:
    """B* over a reference per configuration ('n = 100: 2.1, ...') and their max/min."""
    vals = [(p["config"].n, p["config"].weight_decay, p["b_star"] / p[key]) for p in points
            if p["b_star"] and p.get(key)]
    if not vals:
        return "no configuration with a B*"
    r = [v for *_, v in vals]
    return (", ".join(f"n = {n}, λ = {wd:g}: {v:.2f}" for n, wd, v in vals)
            + f" (max / min {max(r) / min(r):.2f})")


def theory_tests(opt: str, points: list[dict], horizon: str, note: str = "") -> list[Finding]:
    """The law as the theorems state it, each test on the scan that isolates it (claims
    critical-batch.<opt>.fixed-overlap, .lambda-eta, .own-boundaries in the ledger):
    (a) the n scan at fixed noise-support overlap n·s/d (the d = 5n control with the paper's
        point): is B*·log(1/(λη))/n in a bounded band, i.e. is the slope against
        n/log(1/(λη)) 1 there (the theorems assume disjoint supports, s ~ sqrt(d)/n^2: at
        d = 1000 that is s < 1 for n >= 6, so no CPU-sized scan follows it exactly);
    (b) λη over decades at the reference n and lr (so lr x steps is fixed): does B* depend on
        log(1/(λη)) at all, with the exponent -1 the law predicts (B* ∝ 1/log(1/(λη)));
    (c) AdamW against its own boundaries (Thm 4.5: learns below n/(s·σp + √n); Thm 4.4:
        memorises above n/(s·σp)): slope 1 against n/(s·σp + √n) on the n scan, and where B*
        sits between the two."""
    out = []
    name = label(opt)

    def add(test: str, words: str, fit, text_of, too_few: str, expected: float = 1.0):
        """One test's finding; text_of() is read only when the fit has a slope."""
        text = text_of() if fit.slope is not None else too_few
        out.append(Finding(f"{name}: {words}", text.rstrip(".") + note + ".",
                           slope_verdict(fit, expected), claim_id=f"critical-batch.{opt}.{test}",
                           decided=fit.n, horizon=horizon))

    if opt == "adam":
        control = [p for p in points if p["scan"] in ("reference", "d+n")]
        fit = _fit(control, "brackets")
        add("fixed-overlap", "at fixed noise-support overlap n·s/d, B*·log(1/(λη))/n stays in a "
            "bounded band as n grows (Thms 4.1/4.2 read together).", fit,
            lambda: f"B* against n / log(1/(λη)) with n·s/d fixed: {_slope(fit)}; "
                    f"B*·log(1/(λη))/n per configuration: {_band(control, 'x')}.",
            f"{fit.n} configurations with a B* at fixed overlap: too few for a slope.")
    decay = [p for p in points if p["scan"] in ("reference", "weight_decay")]
    fit = _fit(decay, "brackets", "memory")
    lams = sorted(p["config"].weight_decay for p in decay) or [math.nan]
    memory = [p["memory"] for p in decay] or [math.nan]
    # Beside the rule's exponent (decided B* only), every bracket kept: an open one (e.g. every
    # B up to n learns) enters as a censored observation, so it still says which way B* moved.
    kept = _censored_exponent(decay)
    add("lambda-eta", "B* falls as log(1/(λη)) grows, B* ∝ 1/log(1/(λη)) (exponent -1), with "
        "λη varied over decades at fixed lr × steps.", fit,
        lambda: f"B* against log(1/(λη)) over λ = {lams[0]:g}..{lams[-1]:g} at n = "
                f"{decay[0]['config'].n} and one lr (log(1/(λη)) from {min(memory):.1f} to "
                f"{max(memory):.1f}): exponent {_slope(fit)[6:]}; the law predicts -1, no "
                f"dependence 0." + kept,
        f"{fit.n} weight decays with a B*: too few for an exponent." + kept, expected=-1.0)
    if opt == "adamw":
        n_scan = [p for p in points if p["scan"] in ("reference", "n")]
        fit = _fit(n_scan, "brackets", "own")
        add("own-boundaries", "the critical batch size follows AdamW's own boundaries, B* ∝ "
            "n/(s·σp + √n) (Thms 4.4/4.5; hidden constants not given).", fit,
            lambda: f"B* against n/(s·σp + √n) on the n scan: {_slope(fit)}; B* / "
                    f"(n/(s·σp + √n)): {_band(n_scan, 'own')}; B* / (n/(s·σp)): "
                    f"{_band(n_scan, 'own_upper')}.",
            f"{fit.n} configurations with a B*: too few for a slope.")
    return out


def _censored_exponent(decay: list[dict]) -> str:
    """' With every bracket kept (k open, censored): exponent e [lo, hi] over m weight decays.'
    on the weight-decay scan, or '' when no open bracket changes what the rule's fit saw."""
    open_ = sum(1 for p in decay for lo, hi in p["seeds"] if lo is None or hi is None)
    if not open_:
        return ""
    cens = censored_power_law([p["memory"] for p in decay], [p["seeds"] for p in decay])
    if cens.slope is None:
        return ""
    ci = (f" [{cens.slope_ci95[0]:.2f}, {cens.slope_ci95[1]:.2f}]" if cens.slope_ci95 else "")
    return (f" With every bracket kept ({cens.open} open ones as censored observations): "
            f"exponent {cens.slope:.2f}{ci} over {cens.n} weight decays.")


def _describe_fit(fit, n_seeds: int, missing: int) -> str:
    if fit.slope is None:
        return f"{fit.n} configurations with a critical batch size: too few for a slope."
    ci = (f"[{fit.slope_ci95[0]:.2f}, {fit.slope_ci95[1]:.2f}]" if fit.slope_ci95
          else "(no interval)")
    cci = (f" (95% CI {fit.constant_ci95[0]:.2g}–{fit.constant_ci95[1]:.2g})"
           if fit.constant_ci95 else "")
    # Below MIN_CI_SEEDS seeds the seed bootstrap spans little more than the seeds' own fits:
    # it is named for what it is, with no 95% coverage claimed (core/stats.py).
    what = ("95% seed-bootstrap interval" if n_seeds >= MIN_CI_SEEDS else
            f"seed-bootstrap range over {n_seeds} seeds (below {MIN_CI_SEEDS} seeds no 95% "
            f"coverage is claimed)")
    return (f"log-log slope {fit.slope:.2f}, {what} {ci} over {fit.n} "
            f"configurations ({n_seeds} seeds each"
            + (f"; {missing} without a B* left out" if missing else "") + "); constant: "
            f"B* ≈ {fit.constant:.2g} × n / log(1/(λη)){cci}; the configurations stray from the "
            f"line by a factor {math.exp(fit.rms_residual):.2f} (rms).")


def law_text(main: list[dict], n_scan: list[dict]) -> str:
    """Two readings that keep every bracket: the law's slope with open brackets entered as
    censored observations (core/curves.py `censored_power_law`, not dropped), and the
    alternative "B* is a fixed fraction of n" fitted on the n scan beside the free power law in n
    (`compare_scaling`: its fraction c, the lower AIC and the likelihood-ratio test of slope 1)."""
    out = []
    cens = censored_power_law([p["x"] for p in main], [p["seeds"] for p in main])
    if cens.slope is not None:
        ci = (f" [{cens.slope_ci95[0]:.2f}, {cens.slope_ci95[1]:.2f}]" if cens.slope_ci95
              else "")
        out.append(f"With every bracket kept ({cens.open} open ones as censored observations): "
                   f"slope {cens.slope:.2f}{ci} over {cens.n} configurations.")
    if len({p["config"].n for p in n_scan}) > 1:
        law = compare_scaling([p["config"].n for p in n_scan], [p["seeds"] for p in n_scan])
        frac, power = law["fixed_fraction"], law["power_law"]
        better = ("the fixed fraction" if law["lower_aic"] == "fixed_fraction" else
                  "the power law")
        if frac["prefactor"] is not None and power["slope"] is not None:
            out.append(
                f"Against B* = c·n on the n scan: c = {frac['prefactor']:.3g}, the free power "
                f"law in n has slope {power['slope']:.2f}; lower AIC: {better}"
                + (f", likelihood-ratio p of slope 1 = {law['p_slope_one']:.2g}"
                   if law["p_slope_one"] is not None else "") + ".")
    return " ".join(out)


def _brackets_text(per_seed: list[SearchResult]) -> str:
    """'[87, 95]; [91, 99]; [200, -] open': each seed's bracket, its status when not closed."""
    return "; ".join(f"[{_fmt(r.b_low)}, {_fmt(r.b_high)}]"
                     + ("" if r.status == "closed" else f" {r.status}") for r in per_seed)


def bracket_runs(ctx: Context, res, per_seed: list[SearchResult]) -> list[dict]:
    """The stored runs at each seed's bracket ends (the largest B that learned, the smallest
    that memorised): what the interactive figure opens for a configuration."""
    ids = [s.run_ids[b] for s, r in zip(res.seeds, per_seed) for b in (r.b_low, r.b_high)
           if b is not None and b in s.run_ids]
    runs = ctx.store.runs({"id": ids}) if ids else []
    for r in runs:
        ctx.attach_settling(r)
    return runs


def horizon_results(ctx: Context, results, horizon: str
                    ) -> tuple[list[list[SearchResult]], list[dict]]:
    """Each seed's bracket read at one horizon from the probes its bisection ran: every probe
    judged with the report's rules at its budget ("paper"), or at its end state ("end":
    ctx.end_runs, continued from its saved state while still moving, up to the cap), and the
    seed's bracket rebuilt from those regimes (bisect.BatchSearch fed the same batch sizes). No
    new batch size is probed: the horizon the bisection did not follow can leave a bracket
    wider, or open, and the section says how many moved. Returns (per configuration, its seeds'
    SearchResults; the runs read, for `end_note`)."""
    regimes, read = regimes_at(ctx, results, horizon)
    return brackets_from(results, regimes, horizon), read


def brackets_from(results, regimes: dict, horizon: str) -> list[list[SearchResult]]:
    """Each seed's bracket rebuilt from its probes' regimes at one horizon (`horizon_results`)."""
    out = []
    for res in results:
        per_seed = []
        for s in res.seeds:
            search = BatchSearch(res.config.n, resolution=RESOLUTION)
            for b, rid in sorted(s.run_ids.items()):
                if rid in regimes:
                    search.add(b, regimes[rid], horizon)
            per_seed.append(search.result())
        out.append(per_seed)
    return out


def regimes_at(ctx: Context, results, horizon: str) -> tuple[dict, list[dict]]:
    """Every probe's and curve-grid run's regime at one horizon, by run id, with the report's
    rules ("paper": at its budget; "end": at its end state, ctx.end_runs), and the runs read at
    the end state (for `end_note`; [] at the budget)."""
    classify = report_rules(ctx.store)
    ids = [rid for res in results for s in res.seeds for rid in s.run_ids.values()]
    ids += [rid for res in results if getattr(res, "grid", None)
            for rid in res.grid.run_ids.values()]
    ids = list(dict.fromkeys(ids))
    by_id = {r["id"]: r for r in ctx.store.runs({"id": ids})} if ids else {}
    found = [rid for rid in ids if rid in by_id]
    runs = [by_id[rid] for rid in found]
    read = dict(zip(found, ctx.end_runs(runs) if horizon == "end" else runs))
    regimes = {rid: observed(run, classify) for rid, run in read.items()}
    return regimes, list(read.values()) if horizon == "end" else []


def curve_at(res, regimes: dict):
    """The logistic curve of P(learns | B) (core/curves.py) over every decided run of one
    configuration, its seeds' probes and its curve grid, each judged as `regimes` says (one
    horizon); None when no run was decided."""
    found = {}
    for s in res.seeds:
        for b, rid in s.run_ids.items():
            found[s.seed, b] = regimes.get(rid)
    grid = getattr(res, "grid", None)
    if grid is not None:
        for key, rid in grid.run_ids.items():
            found[key] = regimes.get(rid)
    outcomes = [(s, b, r == LEARNS) for (s, b), r in found.items() if r in DECIDED]
    return logistic_curve(outcomes) if outcomes else None


def curve_text(curve) -> str:
    """'118 [105, 131]; P = 3/4 at 90, 1/4 at 150 (8 seeds)', the bracket of a separable
    curve, P(learns) at the edge of the batch sizes run when the 50% point lies outside them,
    or '–' without one."""
    if curve is None:
        return "–"
    if curve.censored:
        lo, hi = curve.bracket
        return (f"only bracketed: [{_fmt(lo)}, {_fmt(hi)}] ({curve.seeds} "
                f"seed{'s' if curve.seeds != 1 else ''})")
    seeds = f"{curve.seeds} seed{'s' if curve.seeds != 1 else ''}"
    if curve.extrapolated:  # the runs do not reach P = 1/2: say where they stop, not the fit's B*
        edge, end = curve.nearest_run()
        side = "past the largest" if end == "largest" else "below the smallest"
        return (f"{side} B run: P(learns) = {curve.p_learns(edge):.2f} at B = {edge} (the fit's "
                f"50% point, {curve.b_star:.3g}, is an extrapolation; {seeds})")
    ci = (f" [{curve.interval[0]:.3g}, {curve.interval[1]:.3g}]" if curve.interval else "")
    return (f"{curve.b_star:.3g}{ci}; P = 3/4 at {curve.width[0]:.3g}, 1/4 at "
            f"{curve.width[1]:.3g} ({seeds})")


def _law_finding(opt: str, points: list[dict], n_seeds: int, horizon: str,
                 note: str = "") -> tuple[Finding, object, list[dict]]:
    """The scaling-law finding of one optimiser at one horizon from its configurations' points
    (x, per-seed brackets, scan): (the finding, the main fit, the figure's groups)."""
    main = [p for p in points if p["scan"] in MAIN_SCANS]
    n_scan = [p for p in main if p["scan"] in ("reference", "n")]
    control = [p for p in points if p["scan"] in ("reference", "d+n")]
    fit = _fit(main, "brackets")
    groups = [{"label": label(opt), "points": main, "fit": fit}]
    side = [("the n scan alone", _fit(n_scan, "brackets")),
            ("the largest B that learns (b_low) instead of B*", _fit(main, "lows"))]
    if len(control) > 1:
        side.append(("the n scan with d = 5n (each noise coordinate shared by n·s/d = 20 "
                     "examples at every n)", _fit(control, "brackets")))
        groups.append({"label": f"{label(opt)}, d = 5n",
                       "points": [p for p in control if p["scan"] == "d+n"],
                       "fit": side[-1][1]})
    observed_text = _describe_fit(fit, n_seeds, sum(1 for p in main if not p["b_star"]))
    extra = [f"{name}: slope {f.slope:.2f}"
             + (f" [{f.slope_ci95[0]:.2f}, {f.slope_ci95[1]:.2f}]" if f.slope_ci95 else "")
             + f" over {f.n} configurations" for name, f in side if f.slope is not None]
    if extra:
        observed_text += " Beside it: " + "; ".join(extra) + "."
    observed_text += " " + law_text(main, n_scan)
    finding = Finding(
        f"{label(opt)}: the critical batch size scales as n / log(1/(λη)) (log-log slope 1, "
        f"Thm {'4.1/4.2' if opt == 'adam' else '4.4/4.5'}; the constant is not given).",
        observed_text.strip().rstrip(".") + note + "." if note else observed_text.strip(),
        slope_verdict(fit), claim_id=f"critical-batch.{opt}",
        decided=fit.n, horizon=horizon)
    return finding, fit, groups


def _point(res, per_seed: list[SearchResult], scan: str, runs=()) -> dict:
    star, th = geometric_mean(r.b_star for r in per_seed), res.theory()
    own = th["boundaries"]
    return {"x": th["b_star"], "memory": th["memory_lambda_eta"],
            "own": own.get("noise_s_sigma_p_sqrt_n", {}).get("batch_size"),
            "own_upper": own.get("noise_s_sigma_p", {}).get("batch_size"), "seeds": [(r.b_low, r.b_high) for r in per_seed],
            "b_star": star, "brackets": [(r.b_low, r.b_high) for r in per_seed if r.b_star],
            "lows": [r.b_low for r in per_seed if r.b_low], "scan": scan,
            "config": res.config, "runs": list(runs)}


def end_law(results, at_budget, at_end, end_runs, scan_of, n_seeds: int,
            findings: list[Finding]) -> tuple[list[str], list]:
    """The law at the end state: each seed's bracket from its probes' end states (at_end; the
    bisection followed them), fitted as at the budget; one finding per optimiser, its summary
    lines (how many brackets differ from the budget's, at_budget) and the figure's groups."""
    groups: dict[str, list[dict]] = {}
    moved = 0
    for res, before, per_seed, scan in zip(results, at_budget, at_end, scan_of):
        moved += sum((a.b_low, a.b_high) != (b.b_low, b.b_high)
                     for a, b in zip(before, per_seed))
        if res.theory() and res.theory()["applies"]:
            groups.setdefault(res.config.optimizer, []).append(_point(res, per_seed, scan))
    note = end_note(end_runs)
    lines = [f"At the end state (the bisection judged every probe at its end state: a probe "
             f"still moving at the budget was continued until it settled or reached the cap, and "
             f"the next batch size followed from that regime): {moved} of "
             f"{sum(len(r.seeds) for r in results)} seeds' brackets differ from the "
             f"budget's{note}."]
    fig_groups = []
    for opt, points in groups.items():
        finding, _, figure_groups = _law_finding(opt, points, n_seeds, "end", note)
        fig_groups += figure_groups
        findings.append(finding)
        lines.append(f"- **{label(opt)}**, end state ({said(finding)}): {finding.observed}")
        tests = theory_tests(opt, points, "end")
        findings += tests
        lines += [f"- {t.claim} At the end state ({said(t)}): {t.observed}" for t in tests]
    return lines, fig_groups


def curve_paragraph(results, curves, curves_end, grid_seeds) -> str:
    """What the table's 'B* from P(learns | B)' columns are, and each curve grid's reading."""
    text = ("Beside the brackets, the table gives B* from a logistic fit of P(learns | B) in "
            "log B over every decided run of a configuration (adamlab/core/curves.py): the "
            "50% point with its seed-bootstrap interval, and the batch sizes where P = 3/4 and "
            "1/4, the curve's width (a broad band is a finding); only a bracket when the "
            "outcomes are separable (every run learns below some B and memorises above). ")
    if not grid_seeds:
        return text + ("Here it rests on the bisection's probes alone (seeds "
                       f"{', '.join(str(s.seed) for s in results[0].seeds)}), which crowd "
                       "the switch; seeds beyond the first three (`--seeds 0 1 ... 10`) run "
                       f"on a grid of {CURVE_POINTS} log-spaced batch sizes around it.")
    lines = [text + f"Beside the bisection's probes, {len(grid_seeds)} further seeds "
             f"({grid_seeds[0]}-{grid_seeds[-1]}) ran on each configuration's grid of up to "
             f"{CURVE_POINTS} log-spaced batch sizes around the switch the bisection found "
             f"(the seeds' outermost bracket ends, widened by 1.25x):"]
    for res, curve, end in zip(results, curves, curves_end or [None] * len(results)):
        c, grid = res.config, res.grid
        where = (f"B = {', '.join(map(str, grid.batch_sizes))}" if grid and grid.batch_sizes
                 else (grid.reason if grid else "no grid"))
        lines.append(f"- {label(c.optimizer)}, n = {c.n}, d = {c.d}, lr {c.lr:g}, λ = "
                     f"{c.weight_decay:g} ({where}): at the budget {curve_text(curve)}"
                     + (f"; at the end state {curve_text(end)}" if curves_end else "") + ".")
    return "\n".join(lines)


def _curve_figures(ctx: Context, results, curves, horizon: str) -> list[FigureItem]:
    """P(learns | B) of every configuration with a curve grid (none without one), judged at
    `horizon`, with its counts per batch size as data."""
    chosen = [(res, c) for res, c in zip(results, curves)
              if res.grid is not None and res.grid.batch_sizes and c is not None]
    if not chosen:
        return []
    groups, data = [], []
    for res, curve in chosen:
        c = res.config
        name = f"{label(c.optimizer)}, n = {c.n}, λ = {c.weight_decay:g}"
        groups.append({"label": name, "curve": curve})
        data += [{"optimizer": c.optimizer, "n": c.n, "d": c.d, "lr": c.lr,
                  "weight_decay": c.weight_decay, "batch_size": b, "learns": k,
                  "decided": m, "horizon": horizon} for b, k, m in curve.counts]
    return [FigureItem(
        "critical-batch-curve", F.learning_curve_figure(
            groups, f"P(learns the feature | B) at {horizon}"), data=data,
        caption=f"Each batch size's share of decided runs that learned the feature at {horizon} "
                f"(marker area: how many), over the bisection's probes and every grid seed; the "
                f"logistic fit in log B (solid), its 50% point B* (dashed) with the "
                f"seed-bootstrap interval (shaded) and the width, B at P = 3/4 and 1/4 (ticks).",
        command=ctx.item_command("critical-batch"))]


def study_seeds(seeds: list[int]) -> tuple[list[int], list[int]]:
    """(the seeds that bisect, the seeds on the curve grid): the first BISECT_SEEDS, the rest.
    A bisecting seed never runs on the grid: its stored runs feed its bisection, so a rerun
    would move its bracket and with it the grid."""
    return list(seeds[:BISECT_SEEDS]), list(seeds[BISECT_SEEDS:])


def _grid_cells(res, seed: int, regimes: dict, end_regimes: dict | None) -> dict:
    """A seed's runs on its configuration's curve grid, 'B:regime ...', at the budget and (when
    judged) at the end state; empty without a grid."""
    grid = res.grid
    keys = [(seed, b) for b in (grid.batch_sizes if grid else []) if (seed, b) in grid.run_ids]
    cells = {"grid": " ".join(f"{b}:{regimes.get(grid.run_ids[seed, b])}" for _, b in keys)}
    if end_regimes is not None:
        cells["grid_end"] = " ".join(f"{b}:{end_regimes.get(grid.run_ids[seed, b])}"
                                     for _, b in keys)
    return cells


def _fmt(x, digits=3) -> str:
    return "–" if x is None else f"{x:.{digits}g}"


def item_critical_batch(ctx: Context, findings: list[Finding]) -> list[Section]:
    spec = ctx.spec(PRESET)
    configs, all_seeds = configurations(spec)
    seeds, grid_seeds = study_seeds(all_seeds)
    tic = time.perf_counter()
    # With the end state on, the bisection follows each probe's end-state regime (its brackets
    # are the end state's); the budget's brackets are then the same probes read at the budget.
    results = search_many(configs, seeds, ctx.store, workers=ctx.workers,
                          progress=ctx.progress, name=spec.name, resolution=RESOLUTION,
                          keep_states=ctx.end_state,
                          horizon="end" if ctx.end_state else "budget",
                          curve_seeds=grid_seeds, curve_points=CURVE_POINTS)
    seconds = time.perf_counter() - tic
    ran = sum(s.ran for r in results for s in r.seeds) + sum(r.grid.ran for r in results
                                                              if r.grid)
    reused = sum(s.reused for r in results for s in r.seeds) + sum(r.grid.reused for r in results
                                                                    if r.grid)
    ctx.timings.setdefault(PRESET, _Timing(
        f"{PRESET}: {len(configs)} configurations x {len(seeds)} seeds"
        + (f" (+ {len(grid_seeds)} on the curve grid)" if grid_seeds else "")
        + f", {ran} runs, {reused} reused, {results[0].rounds if results else 0} rounds in "
          f"{seconds:.0f} s"))

    scan_of = scans(configs)
    budget_regimes = regimes_at(ctx, results, "paper")[0]
    curves = [curve_at(res, budget_regimes) for res in results]
    if ctx.end_state:
        at_budget = brackets_from(results, budget_regimes, "paper")
        end_regimes, end_runs = regimes_at(ctx, results, "end")
        at_end = brackets_from(results, end_regimes, "end")
        curves_end = [curve_at(res, end_regimes) for res in results]
    else:
        at_budget, at_end, end_runs = [res.results() for res in results], None, []
        curves_end = None
    rows, seed_rows, groups = [], [], {}
    for i, (res, scan) in enumerate(zip(results, scan_of)):
        c, th = res.config, res.theory()
        x = th["b_star"] if th else None
        per_seed = at_budget[i]
        star = geometric_mean(r.b_star for r in per_seed)
        steps = (c.n / star) * c.epochs if star else None
        row = {
            "optimizer": label(c.optimizer), "scan": scan, "n": c.n, "d": c.d, "lr": c.lr,
            "weight_decay": c.weight_decay, "theory n/log(1/(λη))": x,
            "brackets per seed": _brackets_text(per_seed),
            "B* (geo. mean)": star, "B* per seed": summarise(r.b_star for r in per_seed),
            "B* / theory": (star / x) if star and x else None,
            "lr·steps at B*": c.lr * steps if steps else None,
            "lr·λ·steps at B*": c.lr * c.weight_decay * steps if steps else None,
            "B* from P(learns | B)": curve_text(curves[i])}
        if at_end is not None:  # the same probes at their end states, beside the budget's
            row["brackets at the end state"] = _brackets_text(at_end[i])
            row["B* at the end state"] = geometric_mean(r.b_star for r in at_end[i])
            row["B* from P(learns | B) at the end state"] = curve_text(curves_end[i])
        rows.append(row)
        for j, (s, r) in enumerate(zip(res.seeds, per_seed)):
            end = at_end[i][j] if at_end else None
            seed_rows.append({"optimizer": c.optimizer, "scan": scan, "n": c.n, "d": c.d,
                              "lr": c.lr, "sampler": c.sampler,
                              "weight_decay": c.weight_decay, "seed": s.seed,
                              "b_low": r.b_low, "b_high": r.b_high, "b_star": r.b_star,
                              "status": r.status, "monotone": r.monotone,
                              "probes": " ".join(f"{p.batch_size}:{p.regime}"
                                                 for p in r.probes),
                              "theory_b_star": x,
                              "b_low_end": end.b_low if end else None,
                              "b_high_end": end.b_high if end else None,
                              "probes_end": " ".join(f"{p.batch_size}:{p.regime}"
                                                     for p in end.probes) if end else None,
                              **_grid_cells(res, s.seed, budget_regimes,
                                            end_regimes if at_end else None)})
        # Seeds that only ran on the curve's grid: one row each, no bracket.
        for seed in (res.grid.seeds if res.grid else []):
            if seed not in {s.seed for s in res.seeds}:
                seed_rows.append({"optimizer": c.optimizer, "scan": scan, "n": c.n, "d": c.d,
                                  "lr": c.lr, "sampler": c.sampler,
                                  "weight_decay": c.weight_decay, "seed": seed,
                                  "status": "curve grid only", "theory_b_star": x,
                                  **_grid_cells(res, seed, budget_regimes,
                                                end_regimes if at_end else None)})
        if th and th["applies"]:
            groups.setdefault(c.optimizer, []).append(
                _point(res, per_seed, scan, bracket_runs(ctx, res, per_seed)))

    fits, fig_groups, summary_lines = {}, [], []
    for opt, points in groups.items():
        finding, fits[opt], figure_groups = _law_finding(opt, points, len(seeds), "paper")
        findings.append(finding)
        tests = theory_tests(opt, points, "paper")
        findings += tests
        summary_lines += [f"- {t.claim} ({said(t)}): {t.observed}" for t in tests]
        fig_groups += figure_groups
        summary_lines.append(f"- **{label(opt)}** ({said(finding)}): {finding.observed}")
    end_groups = []
    if at_end is not None and groups:
        end_lines, end_groups = end_law(results, at_budget, at_end, end_runs, scan_of,
                                        len(seeds), findings)
        summary_lines += end_lines

    fig = F.critical_batch_figure(
        fig_groups, "Critical batch size: measured vs the theory's n / log(1/(λη))")
    others = [(res, per_seed) for res, per_seed in zip(results, at_budget)
              if not (res.theory() and res.theory()["applies"])]
    beside = [f"- {label(res.config.optimizer)} (lr {res.config.lr:g}, weight decay "
              f"{res.config.weight_decay:g}, n = {res.config.n}): "
              + "; ".join(f"seed {s.seed}: {r.describe()}" for s, r in zip(res.seeds, per_seed))
              for res, per_seed in others]
    paragraphs = [
        f"For {len(configs)} configurations × seeds {seeds} the critical batch size B* was "
        f"bisected over the integers 1..n on a log scale, each seed until its bracket was "
        f"within a factor {RESOLUTION:g} ({ran} runs computed now, {reused} "
        f"reused from the store; {seconds:.0f} s). "
        + ("The bisection judged each probe at its end state (a probe still moving at the "
           "budget continued from its saved state until it settled or reached the cap) and "
           "chose its next batch size from that regime; the budget's brackets are the same "
           "probes read at the budget, so they can be wider or open. " if ctx.end_state else
           "Each probe was judged at the budget (--no-end-state). ")
        + f"Every probe has the full budget of "
        f"{configs[0].epochs} epochs, so a probe at batch size B runs n/B × {configs[0].epochs} "
        f"steps: the table's last two columns give lr × steps (how far a weight can travel) and "
        f"lr × λ × steps (how much decay acts) at B*. Per seed, B* = sqrt(b_low × b_high); per "
        f"configuration, the geometric mean over seeds. Regimes: the report's rules (How to read "
        f"this report); undecided batch sizes (mixed, stuck, diverged) and contradictions to "
        f"monotonicity are listed per seed in the data file.",
        "Fit of log B* against log(n / log(1/(λη))), least squares per optimiser; the 95% "
        "interval resamples each configuration's seeds (10^4 times; configurations fixed). "
        "The theory "
        "predicts slope 1 and leaves the constant c open. Note: the lr and weight-decay scans "
        "move n / log(1/(λη)) by only 15-25% (through the log), so the slope is decided mostly "
        "by the n scan; those scans test whether B* stays put when λη changes, as predicted.",
        "\n".join(summary_lines) or "No optimiser covered by the theorems was searched.",
    ]
    paragraphs.insert(2, curve_paragraph(results, curves, curves_end, grid_seeds))
    if beside:
        paragraphs.append("Beside them (outside this paper's theorems):\n" + "\n".join(beside))
    samplers = sampler_lines(results, at_budget, at_end)
    if samplers:
        paragraphs.append(
            "The budget and the bracket: with the default sampler an epoch is floor(n/B) steps, "
            "so every B from n/2 + 1 to n gets half the steps of B = n/2; shuffle-carry carries "
            "the n mod B examples left over into the next epoch (floor(epochs·n/B) steps in "
            "all). Each seed's bracket under both:\n" + "\n".join(samplers))
    table_cols = ["optimizer", "scan", "n", "d", "lr", "weight_decay", "theory n/log(1/(λη))",
                  "brackets per seed", "B* (geo. mean)", "B* per seed", "B* / theory",
                  "lr·steps at B*", "lr·λ·steps at B*"]
    table_cols.append("B* from P(learns | B)")
    if at_end is not None:
        table_cols[8:8] = ["brackets at the end state", "B* at the end state"]
        table_cols.append("B* from P(learns | B) at the end state")
    return [Section(
        "Critical batch size and the theory's scaling law",
        paragraphs,
        [TableItem("critical-batch-table", rows, columns=table_cols,
                   caption="B* per configuration: each seed's bracket, B* (geometric mean over "
                           "seeds; mean ± std over seeds beside it), against the theory's "
                           "n / log(1/(λη))" + (", at the paper's budget and, from the same "
                           "probes, at the end state." if at_end is not None else "."),
                   per_seed=False)],
        [FigureItem("critical-batch", fig, data=seed_rows, interactive=critical_batch_interactive(
            ctx.store, "critical-batch", "Critical batch size: measured vs the theory",
            fig_groups),
                    caption="Each seed's bracket (bar; dotted: an end never seen), each "
                            "configuration's B* (marker), the least-squares fit per optimiser "
                            "(solid, slope and its 95% interval in the legend) and the theory "
                            "y = c·x for several c (dashed). Data: one row per seed with every "
                            "probe.",
                    command=ctx.item_command("critical-batch"),
                    config=caption_config([{"config": c.to_dict()} for c in configs],
                                          ("optimizer", "n", "lr", "weight_decay",
                                           "batch_size", "seed")))]
        + _curve_figures(ctx, results, curves_end if curves_end is not None else curves,
                         "the end state" if curves_end is not None else "the budget")
        + ([FigureItem("critical-batch-end", F.critical_batch_figure(
            end_groups, "Critical batch size at the end state: measured vs n / log(1/(λη))"),
            caption="The same, each seed's bracket from its probes' end states (the "
                    "bisection followed them): what the budget's snapshot settles to.",
            command=ctx.item_command("critical-batch"))] if end_groups else []))]
