"""The rules that turn real-image runs into verdicts (the image counterpart of regimes.py), shared
by the real-image items (adamlab/report/items/images.py).

Every statistic is over seeds through adamlab/core/stats.py: a claim "A is worse than B" holds only
when `gap_test(A, B).clearly_positive`: the 95% bootstrap interval of mean(A) - mean(B) lies above
zero with at least 10 seeds a side, and below that (the image grids run 3) a one-sided exact
permutation test at 0.05, with each side's range shown, not a "95%" interval three seeds cannot
give. The observed text says when leaving out one seed would undo it. A cell whose best error is not
below chance learned nothing, and no claim is read from it.
"""
from __future__ import annotations

from dataclasses import replace

from ..core.formatting import fmt_number
from ..core.stats import (agreement, finite_values, gap_test, group_runs, summarise,
                          survives_leaving_out_one)
from ..core.verdicts import FIT_TRAIN_ERROR, Finding
from ..optim.registry import label

# Fig 2: a weight decay "breaks" training when its test error is above the optimiser's best cell
# by more than this beyond the seeds' spread (gap_test with this margin). At
# n_test = 2,000 one seed's test error has a binomial sd of about 0.009 at error 0.2, so 0.05 is
# well clear of evaluation noise and small next to the paper's breakdown (Adam at 0.1: chance).
BREAK_MARGIN = 0.05
# The paper's Fig 2 statements (docs/paper.md "Experiments"): Adam breaks above about 0.05, AdamW
# stays good up to 0.5; "about" is read as: the first broken value is 0.05 or 0.1.
ADAM_BREAKS_ABOUT = (0.05, 0.1)
# Fig 1: "error rises sharply past a critical batch size"; a clear rise of the mean test error
# smaller than this (the same margin as Fig 2's breaks) is reported as small, "partly".
SHARP_RISE = BREAK_MARGIN
ADAMW_GOOD_UP_TO = 0.5

ANCHOR_ACCURACY = 0.91  # public small CNNs without augmentation on Fashion-MNIST: about 0.90-0.925
# Classes of the datasets with fixed files, for the chance level (1 - k/classes for top-k error):
# a cell that did not beat chance learned nothing, and no claim about it is a finding.
CLASSES = {"fashion-mnist": 10, "mnist": 10, "cifar10": 10}


def anchor_is_full(runs: list[dict]) -> bool:
    """Whether the anchor ran on the whole dataset (no `subset` / `test_subset`, as --quick
    sets): only then can it test the 91% level."""
    first = runs[0]["config"]
    return not first.get("subset") and not first.get("test_subset")


def anchor_verdict(runs: list[dict]) -> str:
    """'passed' when every seed finished and reached ANCHOR_ACCURACY on the full data, 'failed'
    when one did not; 'not measured' on a cut-down smoke version (--quick), which cannot reach
    it."""
    if not runs or not anchor_is_full(runs):
        return "not measured"
    ok = [r for r in runs if r["status"] == "ok"]
    passed = len(ok) == len(runs) and all(1 - r["final"]["test_error"] >= ANCHOR_ACCURACY
                                          for r in ok)
    return "passed" if passed else "failed"


def chance_error(runs: list[dict], metric: str) -> float | None:
    classes = CLASSES.get(runs[0]["config"]["dataset"])
    return None if classes is None else 1 - (5 if metric.endswith("top5") else 1) / classes


def learned_nothing(runs: list[dict], metric: str, all_runs: list[dict]) -> str | None:
    """A sentence when the cell's mean error is not below chance by BREAK_MARGIN, else None."""
    chance = chance_error(all_runs, metric)
    mean = summarise(values(runs, metric)).mean
    if chance is None or mean is None or mean < chance - BREAK_MARGIN:
        return None
    return (f"Nothing was learned: the best cell's {metric.replace('_', ' ')} {mean:.3f} is not "
            f"below chance ({chance:.2f}) by {BREAK_MARGIN}. ")


def values(runs: list[dict], metric: str) -> list:
    """Per-seed final values (None for a run that did not finish ok), in seed order."""
    return [r["final"].get(metric) if r["status"] == "ok" else None
            for r in sorted(runs, key=lambda r: r["config"]["seed"])]


def fits(runs: list[dict]):
    """How many seeds fitted the training set (final train error <= FIT_TRAIN_ERROR)."""
    ok = [r for r in runs if r["status"] == "ok"]
    return agreement(sum(r["final"]["train_error"] <= FIT_TRAIN_ERROR for r in ok), len(ok))


def best_lr_cells(runs: list[dict], x_key: str, metric: str) -> dict[tuple, list[dict]]:
    """(optimizer, x) -> the runs of the lr whose mean final `metric` over seeds is lowest: the
    paper's "best test result over the lr grid" (Fig 1), chosen on the mean so that each cell's
    seeds share one lr (a per-seed minimum over three lrs would be biased low)."""
    best: dict[tuple, tuple[float, list[dict]]] = {}
    for (opt, x, _lr), rs in group_runs(runs, ("optimizer", x_key, "lr")).items():
        s = summarise(values(rs, metric))
        if s.n and ((opt, x) not in best or s.mean < best[(opt, x)][0]):
            best[(opt, x)] = (s.mean, rs)
    return {k: v[1] for k, v in sorted(best.items())}


def decided_seeds(*groups) -> int:
    """The fewest seeds with a finished value among groups of per-seed values: what a gap
    between them rests on (the ledger's min_decided counts it)."""
    return min((len(finite_values(g)) for g in groups), default=0)


def batch_finding(opt: str, cells: dict, xs: list, metric: str, what: str) -> Finding:
    """Fig 1's claim for one optimiser (`_batch_finding`), with the seeds it rests on."""
    small, large = cells[(opt, xs[0])], cells[(opt, xs[-1])]
    return replace(_batch_finding(opt, cells, xs, metric, what),
                   decided=decided_seeds(values(small, metric), values(large, metric)))


def _batch_finding(opt: str, cells: dict, xs: list, metric: str, what: str) -> Finding:
    """Fig 1's claim for one optimiser: the largest batch fits the training set and generalises
    clearly worse than the smallest. The verdict separates 'fits and generalises worse' from
    'did not fit' and says which it saw: reproduced when every seed of the largest batch fitted
    and the rise is clear and at least SHARP_RISE; partly when it is clear but smaller; not
    reproduced when there is no clear rise, or when the largest batch did not fit in every seed
    (then the rise is not the paper's)."""
    small, large = cells[(opt, xs[0])], cells[(opt, xs[-1])]
    te_small, te_large = values(small, metric), values(large, metric)
    gap = gap_test(te_large, te_small)
    fit = fits(large)
    worse = [x for x in xs[1:] if gap_test(values(cells[(opt, x)], metric),
                                           te_small).clearly_positive]
    wd = small[0]["config"]["weight_decay"]
    claim = (f"{what} ({label(opt)}, λ = {wd:g}): test error rises past a critical batch size "
             f"although large batches fit the training set (Fig 1).")
    observed = (f"best-over-lr test error {summarise(te_small)} at B = {xs[0]} vs "
                f"{summarise(te_large)} at B = {xs[-1]} ({gap.text()}); "
                f"B = {xs[-1]} fitted the training set (train error <= {FIT_TRAIN_ERROR}) in "
                f"{fit.k} of {fit.n} seeds (train error {summarise(values(large, 'train_error'))})"
                f"; first batch clearly worse than B = {xs[0]}: "
                f"{'B = ' + str(worse[0]) if worse else 'none'}.")
    if gap.clearly_positive and not survives_leaving_out_one(te_large, te_small):
        observed += " Leaving out one seed would undo the gap: one seed could flip this."
    nothing = learned_nothing(min((cells[(opt, x)] for x in xs), key=lambda rs: summarise(
        values(rs, metric)).mean), metric, small)
    if nothing:
        return Finding(claim, nothing + observed, "not reproduced")
    if gap.clearly_positive and fit.all and gap.estimate >= SHARP_RISE:
        return Finding(claim, "fits the training set and generalises worse: " + observed,
                       "reproduced")
    if gap.clearly_positive and fit.all:
        return Finding(claim, f"fits the training set and generalises worse, but by less than "
                       f"the {SHARP_RISE} a sharp rise would give: " + observed,
                       "partly reproduced")
    if gap.clearly_positive:
        # The claim is a rise *although* the large batch fits; a rise where it did not fit is
        # what an under-trained grid shows too (the old 1,024-image grid's "partly"),
        # so it does not count for the claim.
        return Finding(claim, "did not fit the training set: an under-trained largest batch, "
                       "whose rise under-training alone explains, so the grid does not test the "
                       "claim: " + observed, "not reproduced")
    return Finding(claim, ("fits the training set and shows no clear batch-size effect (an "
                           "honest negative on this data): " if fit.all else
                           "no clear batch-size effect, and the largest batch did not fit: ")
                   + observed, "not reproduced")


def wd_cells(runs: list[dict], opt: str, metric: str) -> list[tuple[float, list, object]]:
    """[(lambda, runs, gap to the best lambda)] in increasing lambda; the gap is
    gap_test(cell, best cell, BREAK_MARGIN) over seeds."""
    cells = {wd: rs for (o, wd), rs in group_runs(runs, ("optimizer", "weight_decay")).items()
             if o == opt}
    means = {wd: summarise(values(rs, metric)).mean for wd, rs in cells.items()}
    known = [wd for wd in cells if means[wd] is not None]
    if not known:
        return []
    best = min(known, key=lambda wd: means[wd])
    return [(wd, cells[wd], gap_test(values(cells[wd], metric), values(cells[best], metric),
                                     BREAK_MARGIN)) for wd in sorted(cells)]


def seeds_of(cells: list[tuple[float, list, object]], metric: str = "test_error") -> int:
    """The fewest finished seeds of any weight decay's cell."""
    return decided_seeds(*(values(rs, metric) for _, rs, _ in cells))


def broken(gap) -> bool:
    """Is this λ's gap to the best λ above BREAK_MARGIN by the gap test?"""
    return gap.clearly_positive


def wd_findings(runs: list[dict], metric: str, what: str,
                claim_prefix: str | None = None) -> list[Finding]:
    """Fig 2's claims: Adam breaks above about 0.05, AdamW stays good up to 0.5, and Adam is
    worse than AdamW where both grids meet above Adam's limit; claim ids (the report's ledger)
    claim_prefix.adam, .adamw and .contrast (none without a prefix)."""
    def cid(part: str) -> str | None:
        return f"{claim_prefix}.{part}" if claim_prefix else None

    out = []
    opts = sorted({r["config"]["optimizer"] for r in runs})
    per = {opt: wd_cells(runs, opt, metric) for opt in opts}
    for opt in opts:
        cells = per[opt]
        if not cells:
            continue
        best = min(cells, key=lambda c: c[2].estimate if c[2].estimate is not None else 9)
        head = (f"best {summarise(values(best[1], metric))} at λ = {best[0]:g}; a λ breaks when "
                f"its test error is above the best by more than {BREAK_MARGIN} beyond the seeds' "
                f"spread (a one-sided permutation test below 10 seeds a side, the 95% bootstrap "
                f"interval of the gap from 10). ")
        per_wd = "; ".join(f"λ = {wd:g}: test {fmt_number(summarise(values(rs, metric)).mean)}"
                           f", train {fmt_number(summarise(values(rs, 'train_error')).mean)}"
                           f"{' (breaks)' if broken(gap) else ''}" for wd, rs, gap in cells)
        nothing = learned_nothing(best[1], metric, runs)
        if nothing:
            verdict = "not reproduced"
            claim = (f"{what}: Adam breaks for weight decay above about 0.05 (Fig 2, Cor 4.3)."
                     if opt == "adam" else
                     f"{what}: AdamW stays good up to weight decay 0.5 (Fig 2, Cor 4.6).")
            out.append(Finding(claim, nothing + head + "Per λ (mean over seeds): " + per_wd
                               + ".", verdict, claim_id=cid(opt), decided=seeds_of(cells, metric)))
            continue
        if opt == "adam":
            tail = [wd for wd, _, gap in cells]
            start = next((wd for i, wd in enumerate(tail)
                          if all(broken(g) for _, _, g in cells[i:])), None)
            claim = f"{what}: Adam breaks for weight decay above about 0.05 (Fig 2, Cor 4.3)."
            seen = (f"Adam breaks from λ = {start:g} on. " if start is not None else
                    f"Adam does not break up to λ = {tail[-1]:g}. ")
            verdict = ("reproduced" if start in ADAM_BREAKS_ABOUT else
                       "partly reproduced" if start is not None else "not reproduced")
        elif opt == "adamw":
            good, first_broken = None, None
            for wd, _, gap in cells:
                if broken(gap):
                    first_broken = wd
                    break
                good = wd
            claim = f"{what}: AdamW stays good up to weight decay 0.5 (Fig 2, Cor 4.6)."
            seen = ("AdamW breaks already at its smallest λ. " if good is None else
                    f"AdamW stays good up to λ = {good:g}" + (
                        f" and breaks at λ = {first_broken:g}. " if first_broken is not None
                        else ", its whole grid. "))
            verdict = ("reproduced" if good is not None and good >= ADAMW_GOOD_UP_TO else
                       "partly reproduced" if good is not None and good >= max(ADAM_BREAKS_ABOUT)
                       else "not reproduced")
        else:
            continue
        out.append(Finding(claim, seen + head + "Per λ (mean over seeds): " + per_wd + ".",
                           verdict, claim_id=cid(opt), decided=seeds_of(cells, metric)))
    # Cor 4.6's contrast where both grids meet above Adam's limit: Adam clearly worse there.
    shared = sorted({wd for wd, _, _ in per.get("adam", [])} & {wd for wd, _, _ in
                                                                 per.get("adamw", [])})
    above = [wd for wd in shared if wd > ADAM_BREAKS_ABOUT[0]]
    if above:
        wd = above[0]
        a = values(next(rs for w, rs, _ in per["adam"] if w == wd), metric)
        w = values(next(rs for w2, rs, _ in per["adamw"] if w2 == wd), metric)
        gap = gap_test(a, w)
        note = "" if not gap.clearly_positive or survives_leaving_out_one(a, w) else \
            " Leaving out one seed would undo it: one seed could flip this."
        out.append(Finding(
            f"{what}: at weight decay {wd:g} Adam (L2) generalises worse than AdamW (decoupled) "
            f"(Cor 4.6: AdamW's usable weight decay reaches far above Adam's).",
            f"test error Adam {summarise(a)} vs AdamW {summarise(w)} ({gap.text()}).{note}",
            "reproduced" if gap.clearly_positive else "not reproduced",
            claim_id=cid("contrast"), decided=decided_seeds(a, w)))
    return out


# ---- the paper's robustness over (beta1, beta2) ---------------------------------------------

def betas_gap(small: list[dict], large: list[dict], metric: str,
              all_runs: list[dict] | None = None) -> tuple[bool, str]:
    """One (beta1, beta2) pair of the robustness grid: does the batch-size effect hold? (holds,
    why). It holds when the smaller batch learned something (its mean error below chance by
    BREAK_MARGIN) and the larger batch's error is above it clearly (`gap_test`) and by at
    least SHARP_RISE, Fig 1's bar; a clear gap
    smaller than that, no clear gap, or nothing learned do not hold, and `why` says which."""
    te_small, te_large = values(small, metric), values(large, metric)
    gap = gap_test(te_large, te_small)
    numbers = gap.text()
    if not small or learned_nothing(small, metric, all_runs or small):
        return False, f"nothing learned at the smaller batch; {numbers}"
    if not gap.clearly_positive:
        return False, f"no clear gap: {numbers}"
    if gap.estimate < SHARP_RISE:
        return False, f"a clear gap below {SHARP_RISE}: {numbers}"
    if not survives_leaving_out_one(te_large, te_small):
        return True, f"{numbers}; leaving out one seed would undo it"
    return True, numbers
