"""Why large batch generalises with other activations: Stage I growth of feature and noise.

The theorems need ReLU^q with q >= 3 (docs/paper.md "Limits"). With q >= 3 a weight's gradient
carries sigma'(<w, x>) ~ <w, x>^(q-1), tiny at initialisation, so in Stage I what grows fastest
is decided by the optimiser's per-coordinate step; with ReLU, GELU or the smoothed ReLU the
gradient is of order one from the start. This module measures, per run, how much each quantity
grew over Stage I, taken as the first STAGE_ONE of the run's epochs, in the units both share
(inner products of a filter with a direction):

  feature growth  dF = min_j feature_learning_j(e1) - min_j feature_learning_j(0)
  noise growth    dN = mean_i noise_memorisation_i(e1) - mean_i noise_memorisation_i(0)
  lead            dN - dF   (above 0: the noise outgrew the feature in Stage I)

with e1 the last logged epoch within STAGE_ONE of the budget (differences, not log ratios: the
smaller class's feature can shrink or turn negative in a run that memorises, exactly the runs
that matter), beside the mechanism metric (synthetic/mechanism.py: the mean step size of noise
coordinates over the feature coordinate's) at e1. The rule tested (ledger claim
limits.activations.stage-one, an extension): at the large batch, the lead orders the outcome,
every run that memorises noise has a larger lead than every run that learns the feature
("holds"); the medians ordered but the runs overlapping: "mixed"; otherwise "does not hold".
"""
from __future__ import annotations

import statistics
from typing import Sequence

from ...core.verdicts import Finding
from ...optim.registry import label
from ...synthetic.regimes import observed_regime

STAGE_ONE = 0.1  # the first tenth of the budget's epochs
LEARNS, MEMORISES = "learns_feature", "memorises_noise"
CLAIM = "limits.activations.stage-one"


def _series(rows, name: str) -> dict[float, float]:
    return {epoch: value for _, epoch, _, n, value in rows if n == name}


def stage_one(store, run: dict, share: float = STAGE_ONE) -> dict | None:
    """{epoch, feature_growth, noise_growth, lead, step_ratio} of one stored run over its first
    `share` of epochs (module docstring); None without the trajectories."""
    rows = store.metrics(run["id"])
    pos, neg = _series(rows, "feature_learning_pos"), _series(rows, "feature_learning_neg")
    noise = _series(rows, "noise_memorisation_mean")
    steps = _series(rows, "step_ratio_noise_feature")
    epochs = sorted(e for e in pos if e in neg and e in noise)
    cut = share * run["config"]["epochs"]
    inside = [e for e in epochs if 0 < e <= cut]
    if not epochs or epochs[0] != 0 or not inside:
        return None
    e1 = inside[-1]

    feature = min(pos[e1], neg[e1]) - min(pos[0], neg[0])
    noise_g = noise[e1] - noise[0]
    return {"epoch": e1, "feature_growth": feature, "noise_growth": noise_g,
            "lead": noise_g - feature, "step_ratio": steps.get(e1)}


def _median(values) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def growth_rows(store, runs: Sequence[dict], setting_of, regime_of=None) -> list[dict]:
    """One row per (setting, optimiser, batch size): the medians over seeds of each growth, the
    noise's lead and the step ratio, and the seeds' regimes. setting_of(config) names the setting;
    regime_of: run id -> the run at another horizon (its end state), whose regime is read
    instead (Stage I itself is the same run at either horizon)."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        c = r["config"]
        groups.setdefault((setting_of(c), c["optimizer"], c["batch_size"]), []).append(r)
    out = []
    for (setting, opt, b), rs in groups.items():
        found = [stage_one(store, r) for r in rs]
        regimes = [observed_regime((regime_of or {}).get(r["id"], r)) for r in rs]
        out.append({
            "setting": setting, "optimizer": label(opt), "batch size": b,
            "Stage I epochs": found[0]["epoch"] if found and found[0] else None,
            "feature growth": _median(f and f["feature_growth"] for f in found),
            "noise growth": _median(f and f["noise_growth"] for f in found),
            "noise lead (dN - dF)": _median(f and f["lead"] for f in found),
            "step ratio (noise / feature)": _median(f and f["step_ratio"] for f in found),
            "regimes": ", ".join(f"{regimes.count(x)} {x}" for x in dict.fromkeys(regimes)),
            "_leads": [(f and f["lead"], g) for f, g in zip(found, regimes)]})
    return out


def ordering(pairs: Sequence[tuple[float | None, str]]) -> tuple[str, str]:
    """The rule on (lead, regime) pairs of large-batch runs: (verdict, observed text)."""
    learns = sorted(r for r, g in pairs if r is not None and g == LEARNS)
    memorises = sorted(r for r, g in pairs if r is not None and g == MEMORISES)
    if not learns or not memorises:
        return "not measured", (f"{len(learns)} settled runs that learn and {len(memorises)} "
                                f"that memorise: the rule needs both")
    text = (f"the noise's lead over the feature in Stage I (dN - dF): runs that learn "
            f"{learns[0]:.3g} to {learns[-1]:.3g} (median {statistics.median(learns):.3g}, "
            f"{len(learns)} runs), runs that memorise {memorises[0]:.3g} to {memorises[-1]:.3g} "
            f"(median {statistics.median(memorises):.3g}, {len(memorises)} runs)")
    if learns[-1] < memorises[0]:
        return "reproduced", text + ": separated"
    if statistics.median(learns) < statistics.median(memorises):
        return "partly reproduced", text + ": medians ordered, the runs overlap"
    return "not reproduced", text + ": not ordered"


def stage_one_finding(rows: Sequence[dict], large_batch: int) -> Finding:
    pairs = [p for row in rows if row["batch size"] == large_batch for p in row["_leads"]]
    verdict, text = ordering(pairs)
    decided = sum(r is not None and g in (LEARNS, MEMORISES) for r, g in pairs)
    return Finding(
        f"At the large batch (B = {large_batch}), how fast the noise outgrows the feature in "
        f"Stage I orders the outcome across activations: every run that memorises noise has a "
        f"larger lead of noise growth over feature growth than every run that learns the "
        f"feature.",
        text + ".", verdict, claim_id=CLAIM, decided=decided)


def reading(rows: Sequence[dict], large_batch: int) -> str:
    """One paragraph from the numbers: each activation's large-batch lead and regimes."""
    parts = [f"{r['setting']}, {r['optimizer']}: {_fmt(r['noise lead (dN - dF)'])} "
             f"({r['regimes']})" for r in rows if r["batch size"] == large_batch]
    return ("Stage I at the large batch, the median lead of noise growth over feature growth "
            "(dN - dF over the first tenth of the epochs: the mean noise memorisation's rise "
            "minus the smaller class's feature learning's) and the seeds' regimes: "
            + "; ".join(parts) + ". Above 0 the noise outgrows the feature while both are "
            "small; the mechanism metric beside it is the noise coordinates' step size over the "
            "feature coordinate's.")


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.3g}"
