"""Bisection for a critical batch size: the pure search, with no runs and no store.

The paper's theorems (docs/paper.md "Theorems", Thms 4.1/4.2 and 4.4/4.5) split batch sizes in two:
below a critical batch size B* the model learns the feature, above it the model memorises noise.
`BatchSearch` finds, for one seed, the bracket [b_low, b_high]: the largest batch size seen to
learn the feature below the smallest one seen to memorise noise. It only decides where to look
next; what a batch size does comes from outside (`add`), so the same search runs on a fake
classifier in the tests, on stored runs, and on runs it asks for.

    search = BatchSearch(n=200)
    while (b := search.next()) is not None:
        search.add(b, classify(b))          # "learns_feature", "memorises_noise" or anything else
    search.result()                         # b_low, b_high, b_star, status, probes, ...

How it looks (the same rules decide every step, so the search is a pure function of what it has
seen: a rerun over the same observations asks for nothing new):

* Integers 1..n on a log scale. The bracket starts open at both ends (0 and n + 1, "not seen
  yet"); the next batch size is the geometric midpoint of the bracket's ends (ends clipped to
  1..n), rounded and kept strictly inside. So B = 1 (the most expensive run: n * epochs steps) is
  only tried when every larger batch size seen memorises, and B = n only when every smaller one
  learns.
* It stops when b_high = b_low + 1: the two are adjacent and no integer is left to try; or, with
  `resolution` R > 1, once b_high <= R * b_low (a scaling study whose seeds scatter by more than
  R need not pay the last probes: at n = 800, 7 probes instead of 10 for R = 1.1).
  b_star = sqrt(b_low * b_high), the geometric mean of the bracket (the midpoint on a log scale).
* Undecided batch sizes (stuck at initialisation, mixed, diverged, still moving, failed: anything
  but the two regimes) split the bracket into gaps; the next probe bisects the widest gap (on a log
  scale), so the search works around them and, with none, is plain bisection. Once
  `max_undecided` of them lie inside the bracket it stops and says so ("open"); when every integer
  inside the bracket has been tried and some were undecided, the transition zone itself is
  undecided ("undecided_inside"). Both keep the bracket and b_star.
* Monotonicity is an assumption, checked on whatever has been seen: a batch size that learns above
  the smallest one that memorised is a contradiction. b_high is the smallest batch size seen to
  memorise (where memorisation starts), and the contradictions are reported, never dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

LEARNS, MEMORISES = "learns_feature", "memorises_noise"
DECIDED = (LEARNS, MEMORISES)

# Statuses of a finished (or stopped) search; see `BatchSearch.status`.
STATUSES = {
    "closed": "b_high = b_low + 1 (or b_high <= resolution * b_low)",
    "undecided_inside": "every batch size between b_low and b_high was tried and is undecided",
    "open": "stopped with max_undecided undecided batch sizes inside the bracket",
    "learns_everywhere": "learns the feature at every batch size up to n: no critical batch size",
    "memorises_everywhere": "memorises noise even at B = 1: no critical batch size",
    "undecided": "no batch size tried was decided either way",
    "searching": "not finished",
}
DEFAULT_MAX_UNDECIDED = 3


@dataclass(frozen=True)
class Probe:
    """One batch size and what it did. `source`: who found it (e.g. "ran", "stored")."""

    batch_size: int
    regime: str
    source: str = ""

    @property
    def decided(self) -> bool:
        return self.regime in DECIDED


@dataclass
class SearchResult:
    """Where one search ended. b_low / b_high are None while that end has not been seen (the
    search's virtual ends 0 and n + 1); b_star is None unless both ends are seen."""

    n: int
    b_low: int | None
    b_high: int | None
    b_star: float | None
    status: str
    probes: list[Probe] = field(default_factory=list)
    contradictions: list[int] = field(default_factory=list)
    undecided_inside: list[int] = field(default_factory=list)

    @property
    def monotone(self) -> bool:
        return not self.contradictions

    def describe(self) -> str:
        """One line: the bracket and why the search stopped, with the batch sizes involved."""
        regime = {p.batch_size: p.regime for p in self.probes}
        if self.status == "learns_everywhere":
            text = f"learns the feature at every batch size up to n = {self.n}"
        elif self.status == "memorises_everywhere":
            text = "memorises noise even at B = 1"
        elif self.status == "undecided":
            text = "no batch size decided: " + ", ".join(
                f"B={p.batch_size} {p.regime}" for p in sorted(self.probes,
                                                                 key=lambda p: p.batch_size))
        else:
            text = (f"B* = {'?' if self.b_star is None else format(self.b_star, '.3g')} "
                    f"(learns at {_end(self.b_low)}, memorises at {_end(self.b_high)})")
            if self.undecided_inside:
                text += "; undecided in between: " + ", ".join(
                    f"B={b} {regime[b]}" for b in self.undecided_inside)
            if self.status == "open":
                text += " (stopped: too many undecided batch sizes in the bracket)"
            elif self.status == "searching":
                text += " (not finished)"
        if self.contradictions:
            text += ("; NOT MONOTONE: learns at B = " + ", ".join(map(str, self.contradictions))
                     + f" above B = {self.b_high}, where it memorised")
        return text


def _end(b: int | None) -> str:
    return "-" if b is None else str(b)


class BatchSearch:
    """The critical-batch-size search of one seed over the integers 1..n (module docstring)."""

    def __init__(self, n: int, max_undecided: int = DEFAULT_MAX_UNDECIDED,
                 resolution: float = 1.0):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: must be an integer >= 1, got {n!r}")
        if isinstance(max_undecided, bool) or not isinstance(max_undecided, int) \
                or max_undecided < 1:
            raise ValueError(f"max_undecided: must be an integer >= 1, got {max_undecided!r}")
        if isinstance(resolution, bool) or not isinstance(resolution, (int, float)) \
                or not 1.0 <= resolution < math.inf:
            raise ValueError(f"resolution: must be a number >= 1 (1: adjacent batch sizes), "
                             f"got {resolution!r}")
        self.n, self.max_undecided, self.resolution = n, max_undecided, float(resolution)
        self.seen: dict[int, Probe] = {}

    def add(self, batch_size: int, regime: str, source: str = "") -> None:
        """Record what `batch_size` did (a second record of the same batch size is ignored:
        runs are deterministic, so it can only repeat the first)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) \
                or not 1 <= batch_size <= self.n:
            raise ValueError(f"batch_size: must be an integer in [1, n={self.n}], "
                             f"got {batch_size!r}")
        self.seen.setdefault(batch_size, Probe(batch_size, regime, source))

    # ---- the bracket ----------------------------------------------------------------------------
    def _ends(self) -> tuple[int, int]:
        """(lo, hi) with the virtual ends 0 and n + 1 for a side not seen yet."""
        memorised = [b for b, p in self.seen.items() if p.regime == MEMORISES]
        hi = min(memorised, default=self.n + 1)
        lo = max((b for b, p in self.seen.items() if p.regime == LEARNS and b < hi), default=0)
        return lo, hi

    def _resolved(self, lo: int, hi: int) -> bool:
        return hi - lo <= 1 or (1 <= lo and hi <= self.n and hi <= lo * self.resolution)

    def _inside(self, lo: int, hi: int) -> list[int]:
        return sorted(b for b, p in self.seen.items() if lo < b < hi and not p.decided)

    def next(self) -> int | None:
        """The next batch size to try, or None when the search is over."""
        lo, hi = self._ends()
        inside = self._inside(lo, hi)
        if self._resolved(lo, hi) or len(inside) >= self.max_undecided:
            return None
        # The gaps between the tried batch sizes in the bracket that still hold an untried one.
        cuts = [lo, *inside, hi]
        gaps = [(a, c) for a, c in zip(cuts, cuts[1:]) if c - a >= 2]
        if not gaps:
            return None
        a, c = max(gaps, key=lambda g: math.log(min(g[1], self.n) / max(g[0], 1)))
        mid = round(math.sqrt(max(a, 1) * min(c, self.n)))
        return min(max(mid, a + 1), c - 1)

    @property
    def done(self) -> bool:
        return self.next() is None

    def status(self) -> str:
        lo, hi = self._ends()
        if not self.done:
            return "searching"
        if not any(p.decided for p in self.seen.values()):
            return "undecided"
        if hi == 1:
            return "memorises_everywhere"
        if lo == self.n:
            return "learns_everywhere"
        if self._resolved(lo, hi):
            return "closed"
        if lo == 0 or hi == self.n + 1:  # one end never seen and the search stopped
            return "open"
        untried = (hi - lo - 1) - len(self._inside(lo, hi))
        return "undecided_inside" if untried == 0 else "open"

    def result(self) -> SearchResult:
        lo, hi = self._ends()
        b_low = lo if lo >= 1 else None
        b_high = hi if hi <= self.n else None
        b_star = math.sqrt(b_low * b_high) if b_low is not None and b_high is not None else None
        contradictions = sorted(b for b, p in self.seen.items() if p.regime == LEARNS and b > hi)
        return SearchResult(self.n, b_low, b_high, b_star, self.status(),
                            sorted(self.seen.values(), key=lambda p: p.batch_size),
                            contradictions, self._inside(lo, hi))


def bisect(classify, n: int, max_undecided: int = DEFAULT_MAX_UNDECIDED,
           resolution: float = 1.0) -> SearchResult:
    """Run one search to the end, asking `classify(batch_size) -> regime` one batch size at a
    time (the sequential form; adamlab.sweep.critical runs many searches in rounds)."""
    search = BatchSearch(n, max_undecided, resolution)
    while (b := search.next()) is not None:
        search.add(b, classify(b), "ran")
    return search.result()


__all__ = ["BatchSearch", "Probe", "SearchResult", "bisect", "LEARNS", "MEMORISES", "STATUSES",
           "DEFAULT_MAX_UNDECIDED"]
