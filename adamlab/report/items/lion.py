"""Beyond the paper: why Lion fails at mini batch, tested (preset adamlab/presets/lion.toml).

The hypothesis: Lion's step sign(beta1 * m + (1 - beta1) * g) follows its momentum, so it keeps
moving an example's noise coordinates after the example has left the batch, and so memorises
noise even at B = 2. Lion with beta1 in {0, 0.5, 0.9} and SignSGDW (= Lion at beta1 = 0) at equal
lr and decoupled weight decay, B = 2. Two measurements per seed:
  * the out-of-batch drift ratio (synthetic/drift.py): how far a step moves the noise
    memorisation of the examples not in its batch, over those in it, for one epoch at a tenth
    of the budget;
  * the test error at the budget (and at the end state).
Rule (ledger claim lion.momentum, an extension): (i) the drift ratio at beta1 = 0.9 above the
one at beta1 = 0 on every seed, and (ii) the test error at beta1 = 0.9 above beta1 = 0's by more
than MARGIN (core/stats.py gap_test: a permutation test below 10 seeds). Both: holds; one:
mixed; neither: does not hold.
"""
from __future__ import annotations

import json
import os
import statistics

from ...core.stats import gap_test
from ...core.verdicts import Finding
from ...synthetic.drift import out_of_batch_drift
from ..context import Context, at_horizon, budget_note, budget_tables, config_of, stats_of
from ..page import Section, TableItem
from .optimisers import regime_text

PRESET = "lion"
MARGIN = 0.1  # a test-error gap below this is not a failure to generalise
CACHE = "drift.json"  # beside runs.sqlite: drift already measured, per run id and epoch
CLAIM = "lion.momentum"


def setting(cfg: dict) -> str:
    return ("SignSGDW" if cfg["optimizer"] == "signsgdw" else
            f"Lion β1 = {cfg['beta1']:g}")


def by_setting(runs: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(setting(r["config"]), []).append(r)
    return groups


def drifts(ctx: Context, runs: list[dict]) -> dict[str, dict]:
    """Each run's out-of-batch drift at a tenth of its budget, cached in OUT/drift.json (a run
    id and epoch fix the measurement: same config, same seed, same numbers)."""
    path = ctx.out / CACHE
    try:
        cache = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):  # unreadable: measured again
        cache = {}
    out, measured = {}, False
    for r in runs:
        at = max(1, r["config"]["epochs"] // 10)
        key = f"{r['id']}@{at}"
        if key not in cache:
            cache[key], measured = out_of_batch_drift(config_of(r), at), True
        out[r["id"]] = cache[key]
    if not measured:  # everything came from the cache: nothing to write
        return out
    tmp = path.with_name(f".{CACHE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
    os.replace(tmp, path)  # never half a file
    return out


def judge(groups: dict[str, list[dict]], drift: dict[str, dict]) -> tuple[str, str, int]:
    """(verdict, observed text, seeds decided) of the rule on the beta1 = 0 and 0.9 groups."""
    low, high = groups.get("Lion β1 = 0", []), groups.get("Lion β1 = 0.9", [])
    by_seed = {r["config"]["seed"]: r for r in low}
    pairs = [(by_seed[r["config"]["seed"]], r) for r in high if r["config"]["seed"] in by_seed]
    ratios = [(drift[a["id"]]["ratio"], drift[b["id"]]["ratio"]) for a, b in pairs
              if a["id"] in drift and b["id"] in drift]
    ratios = [(a, b) for a, b in ratios if a is not None and b is not None]
    if not ratios:
        return "not measured", "no seed with both drift ratios", 0
    drift_ok = all(b > a for a, b in ratios)
    gap = gap_test([b["final"].get("test_error") for _, b in pairs],
                   [a["final"].get("test_error") for a, _ in pairs], MARGIN)
    error_ok = gap.clearly_positive
    text = ("out-of-batch drift ratio, β1 = 0 → 0.9: "
            + ", ".join(f"{a:.2f} → {b:.2f}" for a, b in ratios)
            + f" ({'higher on every seed' if drift_ok else 'not higher on every seed'}); "
            f"test error gap β1 = 0.9 minus β1 = 0: {gap.text()} "
            f"({'above' if error_ok else 'not above'} the {MARGIN:g} margin)")
    verdict = ("reproduced" if drift_ok and error_ok else
               "partly reproduced" if drift_ok or error_ok else "not reproduced")
    return verdict, text, len(ratios)


def _finding(groups, drift) -> Finding:
    verdict, text, decided = judge(groups, drift)
    return Finding(
        "Lion fails at mini batch because its momentum keeps moving the noise of examples that "
        "have left the batch: at B = 2, β1 = 0.9 moves out-of-batch noise more than β1 = 0 "
        "(SignSGDW) and generalises worse.", text + ".", verdict, claim_id=CLAIM,
        decided=decided)


def item_lion(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs(PRESET)
    drift = drifts(ctx, runs)
    for horizon, rs in ctx.horizons(runs):
        # the drift is measured at a tenth of the budget: the same at either horizon (the end
        # runs come in the budget runs' order)
        at = {r["id"]: drift[b["id"]] for r, b in zip(rs, runs) if b["id"] in drift}
        findings.append(at_horizon(_finding(by_setting(rs), at), horizon, rs))
    rows = []
    for name, rs in by_setting(runs).items():
        d = [drift[r["id"]] for r in rs if r["id"] in drift]

        def med(key):
            vals = [x[key] for x in d if x[key] is not None]
            return statistics.median(vals) if vals else None
        rows.append({"optimiser": name, "test_error": stats_of(rs, "test_error"),
                     "regime": regime_text(rs), "drift out of batch": med("drift_out"),
                     "drift in batch": med("drift_in"), "ratio (out / in)": med("ratio")})
    at_epoch = max(1, runs[0]["config"]["epochs"] // 10) if runs else 0
    intro = [budget_note(runs),
             f"{len(runs)} runs at B = {runs[0]['config']['batch_size'] if runs else '-'}: Lion "
             f"with β1 in {{0, 0.5, 0.9}} and SignSGDW, all at lr "
             f"{runs[0]['config']['lr'] if runs else '-'} and decoupled weight decay "
             f"{runs[0]['config']['weight_decay'] if runs else '-'}. Lion at β1 = 0 steps "
             f"sign(g): SignSGDW itself, so those two rows must agree to the last digit. The "
             f"drift is measured over one epoch after epoch {at_epoch} (a tenth of the budget), "
             f"per step: how far the noise memorisation max_r <w_(y_i,r), ξ_i> of the examples "
             f"not in the batch moves, against those in it (synthetic/drift.py)."]
    tables = budget_tables(runs, PRESET) + [TableItem(
        "lion", rows, caption="Per optimiser: test error (mean ± std over seeds, per seed "
        "beside), regime, and the out-of-batch drift (medians over seeds).")]
    return [Section("Beyond the paper: Lion's momentum at mini batch", intro, tables)]
