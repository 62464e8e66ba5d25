"""Verdict words and the small rules shared by every claim of every world: k of n seeds with
their exact (Clopper-Pearson) interval, a mean with its interval or, below MIN_CI_SEEDS seeds,
its range (adamlab/core/stats.py), shares of a bimodal cell's regimes, the verdict a count gives,
and how a finding reads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .formatting import fmt_number
from .stats import MIN_CI_SEEDS, Summary, agreement, regime_shares

# Train error at most this: the model fits its training set (both worlds' rules read it).
FIT_TRAIN_ERROR = 0.05

# ---- findings --------------------------------------------------------------------------------
VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "still moving")


@dataclass
class Finding:
    claim: str
    observed: str
    verdict: str  # one of VERDICTS, or "not measured"
    still_moving: int = 0  # runs / cells / combinations left out because they were still moving
    unit: str = "runs"
    # The ledger's claim this judges (adamlab/report/ledger.toml) and when: "paper" (the paper's
    # budget) or "end" (the end state); the report pairs a claim's findings by these.
    claim_id: str | None = None
    horizon: str = "paper"
    # How many seeds / cells / configurations decided the verdict (the ledger's min_decided is
    # checked against it: report/ledger.py `enforce_min_decided`); None: not counted.
    decided: int | None = None
    # Judged on a protocol scaled down from the paper's (images/scaledown.py): a claim it does not
    # show reads "not observed at CPU scale", not "not reproduced" (report/ledger.py `word`).
    scaled: bool = False

    def moving_note(self) -> str:
        """' (2 runs still moving, counted neither for nor against.)', or ''."""
        unit = self.unit[:-1] if self.still_moving == 1 and self.unit.endswith("s") else self.unit
        return (f" ({self.still_moving} {unit} still moving, counted neither for nor "
                f"against.)" if self.still_moving else "")

    def line(self) -> str:
        return f"- **{self.verdict}**: {self.claim} Observed: {self.observed}{self.moving_note()}"


def verdict(k: int, n: int, moving: int = 0) -> str:
    """k of the n judged (settled) runs agree; with none judged, "still moving" when some runs
    were left out as still moving, else "not measured"."""
    if n == 0:
        return "still moving" if moving else "not measured"
    return "reproduced" if k == n else ("partly reproduced" if k > 0 else "not reproduced")


def verdict_of_parts(parts: Sequence[tuple[int, int, int]]) -> str:
    """The verdict of a claim made of parts (e.g. "mini batch learns the feature" and "large
    batch memorises noise"), each (agreeing, judged, still moving): reproduced only when every
    part is; still moving when the parts judged so far all agree but some part has no settled
    run; not reproduced when no judged run agrees; otherwise partly reproduced."""
    each = [verdict(k, n, m) for k, n, m in parts]
    if not each:
        return "not measured"
    if all(v == "reproduced" for v in each):
        return "reproduced"
    if sum(k for k, _, _ in parts) == 0 and any(n for _, n, _ in parts):
        return "not reproduced"
    if all(v in ("reproduced", "still moving", "not measured") for v in each):
        return "still moving" if any(v == "still moving" for v in each) else "not measured"
    return "partly reproduced"


def agrees(k: int, n: int, unit: str = "seeds") -> str:
    """'k of n seeds as claimed (Clopper-Pearson 95% CI lo-hi)', and what one seed could
    flip."""
    if n == 0:
        return f"no settled {unit}"
    lo, hi = agreement(k, n).ci95
    return (f"{k} of {n} {unit} as claimed (Clopper-Pearson 95% CI {lo:.0%}–{hi:.0%})"
            ) + one_seed_note(
        k, n, unit)


def one_seed_note(k: int, n: int, unit: str = "seeds") -> str:
    """Where one seed (or cell) could flip the verdict (k of n agree), say so."""
    one = unit[:-1] if unit.endswith("s") else unit
    if n == 1:
        return f"; one {one} only: it alone decides the verdict"
    notes = []
    if n - k == 1:
        notes.append(f"one {one} short of 'reproduced'")
    if k == 1:
        notes.append(f"one {one} from 'not reproduced'")
    return "; " + " and ".join(notes) if notes else ""


def mean_ci(summary: Summary) -> str:
    """'0.579 (range 0.0001–0.964, n=5)' below MIN_CI_SEEDS seeds (no 95% interval is claimed
    from so few: adamlab/core/stats.py), '0.52 (95% CI 0.47–0.57, n=12)' from there on."""
    if summary.n == 0:
        return "n/a (no settled seed)"
    if summary.interval is None:
        return f"{fmt_number(summary.mean)} (n=1, no interval)"
    return f"{fmt_number(summary.mean)} ({summary.interval_text()}, n={summary.n})"


def straddles(summary: Summary, threshold: float, what: str = "") -> str:
    """A note when the mean's interval (its range below MIN_CI_SEEDS seeds: then seeds lie on
    both sides) straddles a threshold a claim rests on."""
    if summary.interval is None or not summary.interval[0] < threshold <= summary.interval[1]:
        return ""
    name = "95% interval" if summary.n >= MIN_CI_SEEDS else "range"
    return (f"; {what + ' ' if what else ''}{name} straddles the {threshold:g} threshold: "
            f"one seed could move the mean across it")


def shares(regimes: Sequence[str], values: Sequence | None = None, words: dict | None = None,
           value_name: str = "") -> str:
    """'memorises noise 3/5 [15%, 95%] (test error range 0.48–0.96), learns the feature 2/5
    [5%, 85%] (test error 0 and 0.01)': each regime's share of the seeds with its exact 95%
    interval (`regime_shares`), and its seeds' values; `words` names the regimes."""
    parts = []
    for share in regime_shares(regimes, values):
        text = share.text((words or {}).get(share.regime, share.regime.replace("_", " ")))
        v = share.values
        if values is not None and v.n:
            what = f"{value_name} " if value_name else ""
            text += (f" ({what}{fmt_number(v.mean)})" if v.n == 1 or v.min == v.max else
                     f" ({what}{v.interval_text()})")
        parts.append(text)
    return ", ".join(parts) if parts else "no seeds"

