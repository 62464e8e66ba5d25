"""Verdict words and the small rules shared by every claim of every world: k of n seeds with
their interval, the verdict a count gives, and how a finding reads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .formatting import fmt_number
from .stats import Summary, agreement

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
    """'k of n seeds as claimed (Wilson 95% CI lo-hi)', and what one seed could flip."""
    if n == 0:
        return f"no settled {unit}"
    lo, hi = agreement(k, n).ci95
    return f"{k} of {n} {unit} as claimed (Wilson 95% CI {lo:.0%}–{hi:.0%})" + one_seed_note(
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
    """'0.579 (95% CI 0.27–0.88, n=5)': the seeds' mean with its bootstrap interval."""
    if summary.n == 0:
        return "n/a (no settled seed)"
    if summary.ci95 is None:
        return f"{fmt_number(summary.mean)} (n=1, no interval)"
    lo, hi = summary.ci95
    return f"{fmt_number(summary.mean)} (95% CI {fmt_number(lo)}–{fmt_number(hi)}, n={summary.n})"


def straddles(summary: Summary, threshold: float, what: str = "") -> str:
    """A note when the mean's 95% interval straddles a threshold a claim rests on."""
    if summary.ci95 is None or not summary.ci95[0] < threshold <= summary.ci95[1]:
        return ""
    return (f"; {what + ' ' if what else ''}95% interval straddles the {threshold:g} threshold: "
            f"one seed could move the mean across it")

