"""How the report reads synthetic runs: a cell's regime over its seeds, which runs are judged
and which still move, and the "How to read this report" text that states every threshold.
The per-run rules live in adamlab/synthetic/regimes.py, the verdict words in
adamlab/core/verdicts.py."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ..core.stats import MIN_CI_SEEDS
from ..core.verdicts import FIT_TRAIN_ERROR
from ..sweep.endstate import Check, rates, validation_line
from ..synthetic.regimes import (LEARNS_TEST_ERROR, MEMORISES_TEST_ERROR, SETTLE_FLOOR,
                                 SETTLE_FRACTION, SETTLE_TEST_ERROR, SETTLE_WINDOW,
                                 STUCK_TRAIN_ERROR, observed_regime)

# The presets compare mini batch (B = 2, n/B = 100 steps an epoch) with large batch (B = 100,
# n/B = 2); a batch size above this counts as "large" in the verdicts.
MINI_BATCH_MAX = 10


def settled_share(runs: Sequence[dict]) -> tuple[int, int]:
    """(settled, finished) over the finished (`ok`) runs; a run without a settling attached (not
    a synthetic run) counts as settled, a synthetic one without trajectories does not."""
    done = [r for r in runs if r["status"] == "ok"]
    return sum(observed_regime(r) != "still_moving" for r in done), len(done)


def majority(labels: list[str]) -> str:
    """The label of most seeds; 'mixed' when no label has a strict majority."""
    if not labels:
        return "mixed"
    top = max(set(labels), key=labels.count)
    return top if labels.count(top) * 2 > len(labels) else "mixed"


def cell_regime(runs: Sequence[dict]) -> str:
    """A cell's regime (its seeds): "still_moving" unless a strict majority of its runs settled;
    otherwise the majority of the settled runs' regimes ('mixed' without one)."""
    labels = [observed_regime(r) for r in runs]
    settled = [x for x in labels if x != "still_moving"]
    if not labels or 2 * len(settled) <= len(labels):
        return "still_moving"
    return majority(settled)


def one_seed_majority(runs: Sequence[dict]) -> bool:
    """Would one settled seed changing its regime change the cell's majority?"""
    settled = [x for x in (observed_regime(r) for r in runs) if x != "still_moving"]
    top = cell_regime(runs)
    if top in ("still_moving", "mixed"):
        return False
    return 2 * (settled.count(top) - 1) <= len(settled)


def split_moving(runs: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(judged, still moving): runs still moving count neither for nor against a claim; every
    other run is judged (one that did not finish counts, as not agreeing)."""
    moving = [r for r in runs if observed_regime(r) == "still_moving"]
    return [r for r in runs if observed_regime(r) != "still_moving"], moving


# The settling rule's out-of-sample checks, as `benchmarks/settling_validation.py` recorded them:
# a list of its JSON outputs ({"command", "checks": [...]}, one per call). The report recomputes
# the rates from the per-run checks (`recorded_validation`), so no rate is typed in by hand.
VALIDATION = Path(__file__).with_name("settling_validation.json")


def recorded_validation(path: Path | str = VALIDATION) -> str | None:
    """'Checked out of sample (COMMAND): false settled k of n (...); false moving ...' for
    each recorded call, the rates recomputed from its checks; None without the file."""
    path = Path(path)
    if not path.is_file():
        return None
    lines = []
    for record in json.loads(path.read_text()):
        checks = [Check(c["run_id"], {"optimizer": c["optimizer"], "batch_size": c["batch_size"],
                                      "seed": c["seed"]}, c["settled_at_budget"], c["how"],
                        c["regime_at_budget"], c["regime_later"]) for c in record["checks"]]
        lines.append(validation_line(rates(checks), f"`{record['command']}`"))
    return " ".join(lines) or None


def how_to_read(validation: str | None = None) -> str:
    """The report's reading guide. `validation`: the settling rule's measured error rates, as a
    sentence from a rerunnable command (sweep/endstate.py `validation_line`), appended when
    given; never a number typed in by hand."""
    text = (f"Observed regime of a run: **stuck at initialisation** when its train error is above "
            f"{STUCK_TRAIN_ERROR}; else **learns the feature** when its test error is below "
            f"{LEARNS_TEST_ERROR}; else **memorises noise** when its train error is at most "
            f"{FIT_TRAIN_ERROR} and its test error at least {MEMORISES_TEST_ERROR}; otherwise "
            f"**mixed**. A regime is read only from a run that has **settled**: over the last "
            f"{SETTLE_WINDOW:.0%} of its epochs every feature learning (both classes) and noise "
            f"memorisation (min and max over examples) moved by less than {SETTLE_FRACTION:.0%} "
            f"of the run's scale (its largest |feature learning| or |noise memorisation| at the "
            f"end, at least {SETTLE_FLOOR:g}, so quantities that stay near 0 count as settled) "
            f"and its test error moved by less than {SETTLE_TEST_ERROR:g} (once any of them is "
            f"above {SETTLE_FLOOR:g}: at initialisation the test error is sign noise); a fitted "
            f"run whose feature is still growing is not settled, and neither is a run without "
            f"these trajectories. Any other run is **still moving** and counts neither for nor "
            f"against a claim; a cell is still moving unless most of its seeds settled, and "
            f"otherwise takes the majority regime of its settled seeds. Statistics over seeds: "
            f"the mean with its range (min–max) below {MIN_CI_SEEDS} seeds, where no 95% interval "
            f"can be claimed (a 3-seed bootstrap interval is [min, max], ~75% coverage), its 95% "
            f"bootstrap interval from {MIN_CI_SEEDS} seeds on; 'k of n seeds as claimed' and each "
            f"regime's share of a cell's seeds with the exact Clopper-Pearson 95% interval; "
            f"where one seed could flip a verdict the finding says so. Predicted regimes come "
            f"from `adamlab theory` (orders of magnitude: hidden constants set to 1).")
    return text if not validation else f"{text} {validation}"

