"""The bisection alone (adamlab/sweep/bisect.py), driven by fake classifiers with a known B*."""
import math

import pytest

from adamlab.sweep.bisect import LEARNS, MEMORISES, BatchSearch, bisect


def threshold(t, calls=None, undecided=None):
    """Learns at B <= t, memorises above; `undecided`: {B: regime} overrides."""
    def classify(b):
        if calls is not None:
            calls.append(b)
        if undecided and b in undecided:
            return undecided[b]
        return LEARNS if b <= t else MEMORISES
    return classify


@pytest.mark.parametrize("n", [1, 2, 3, 7, 50, 200, 800])
def test_every_critical_batch_size_is_found_exactly_with_a_logarithmic_number_of_probes(n):
    for t in range(0, n + 1):
        calls = []
        r = bisect(threshold(t, calls), n)
        assert len(calls) == len(set(calls)), "a batch size was asked for twice"
        assert (r.b_low, r.b_high) == (t if t >= 1 else None, t + 1 if t < n else None)
        if 1 <= t < n:
            assert r.status == "closed" and r.b_star == pytest.approx(math.sqrt(t * (t + 1)))
        assert r.status == {0: "memorises_everywhere", n: "learns_everywhere"}.get(t, r.status)
        assert r.monotone and not r.undecided_inside
        # Bisection in log space: at most ~log2(n) + 4 runs (n = 800: 14), never a scan.
        assert len(calls) <= math.ceil(math.log2(n + 1)) + 4


def test_the_expensive_ends_are_tried_only_when_needed():
    # B = 1 costs n * epochs steps: only asked for when every larger B seen memorises.
    # B = n is asked for only when every smaller B seen learns.
    for t in (2, 5, 60, 198):
        calls = []
        bisect(threshold(t, calls), 200)
        assert 1 not in calls and 200 not in calls
    for t, end in ((0, 1), (1, 1), (199, 200), (200, 200)):
        calls = []
        bisect(threshold(t, calls), 200)
        assert end in calls


def test_first_probe_is_the_geometric_midpoint_then_the_bracket_halves_in_log_space():
    search = BatchSearch(200)
    assert search.next() == 14              # round(sqrt(1 * 200))
    search.add(14, LEARNS)
    assert search.next() == 53              # round(sqrt(14 * 200))
    search.add(53, MEMORISES)
    assert search.next() == 27              # round(sqrt(14 * 53))
    assert search.result().b_low == 14 and search.result().b_high == 53


def test_undecided_probes_are_worked_around_and_reported():
    # A "mixed" band at 31..33 around B* = 30: the search closes around it and names it.
    band = {b: "mixed" for b in (31, 32, 33)}
    r = bisect(threshold(30, undecided=band), 200, max_undecided=5)
    assert (r.b_low, r.b_high) == (30, 34)
    assert r.status == "undecided_inside" and r.undecided_inside == [31, 32, 33]
    assert r.b_star == pytest.approx(math.sqrt(30 * 34))
    assert "undecided in between: B=31 mixed" in r.describe()
    # One undecided probe inside a bracket that still closes around the true B*.
    r = bisect(threshold(60, undecided={53: "stuck_at_init"}), 200)
    assert (r.b_low, r.b_high, r.status) == (60, 61, "closed")
    assert [p.regime for p in r.probes if p.batch_size == 53] == ["stuck_at_init"]


def test_stuck_everywhere_stops_after_max_undecided_probes():
    calls = []
    r = bisect(lambda b: calls.append(b) or "stuck_at_init", 200, max_undecided=3)
    assert len(calls) == 3 and r.status == "undecided"
    assert (r.b_low, r.b_high, r.b_star) == (None, None, None)
    assert "no batch size decided" in r.describe()


def test_too_many_undecided_inside_an_open_bracket_stops_the_search_and_says_so():
    # Learns at 14, then nothing decided above: stops with the upper end never seen.
    r = bisect(lambda b: LEARNS if b <= 14 else "mixed", 200, max_undecided=2)
    assert r.status == "open" and r.b_low == 14 and r.b_high is None and r.b_star is None
    assert len(r.undecided_inside) == 2 and "stopped" in r.describe()


def test_a_contradiction_is_reported_not_hidden():
    # Stored runs (e.g. a phase diagram) say B = 150 learns although B = 60 memorised.
    search = BatchSearch(200)
    for b, regime in ((10, LEARNS), (60, MEMORISES), (150, LEARNS), (200, MEMORISES)):
        search.add(b, regime, "stored")
    while (b := search.next()) is not None:
        assert 10 < b < 60
        search.add(b, LEARNS if b <= 25 else MEMORISES)
    r = search.result()
    assert (r.b_low, r.b_high) == (25, 26)       # the smallest batch size that memorises
    assert r.contradictions == [150] and not r.monotone
    assert "NOT MONOTONE: learns at B = 150 above B = 26" in r.describe()


def test_the_search_is_a_function_of_what_it_has_seen():
    # A new search given the same observations (a rerun reading the store) asks for nothing.
    first = BatchSearch(200)
    while (b := first.next()) is not None:
        first.add(b, LEARNS if b <= 77 else MEMORISES)
    again = BatchSearch(200)
    for p in first.result().probes:
        again.add(p.batch_size, p.regime, "stored")
    assert again.next() is None and again.result().b_star == first.result().b_star
    # A search killed half way continues to the same end.
    half = BatchSearch(200)
    for p in first.result().probes[:3]:
        half.add(p.batch_size, p.regime)
    while (b := half.next()) is not None:
        half.add(b, LEARNS if b <= 77 else MEMORISES)
    assert (half.result().b_low, half.result().b_high) == (77, 78)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match=r"n: must be an integer >= 1, got 0"):
        BatchSearch(0)
    with pytest.raises(ValueError, match=r"max_undecided: must be an integer >= 1"):
        BatchSearch(10, max_undecided=0)
    with pytest.raises(ValueError, match=r"batch_size: must be an integer in \[1, n=10\], got 11"):
        BatchSearch(10).add(11, LEARNS)


def test_resolution_stops_once_the_bracket_is_that_narrow():
    for n, t in ((800, 228), (200, 57), (100, 9)):
        calls = []
        r = bisect(threshold(t, calls), n, resolution=1.1)
        assert r.status == "closed" and r.b_low <= t < r.b_high
        assert r.b_high <= max(r.b_low + 1, 1.1 * r.b_low)
        exact = []
        bisect(threshold(t, exact), n)
        assert len(calls) <= len(exact) and calls == exact[:len(calls)]
    calls = []
    bisect(threshold(228, calls), 800, resolution=1.1)
    assert len(calls) == 7  # instead of 10 to adjacency (the study's saving)
    with pytest.raises(ValueError, match=r"resolution: must be a number >= 1"):
        BatchSearch(10, resolution=0.5)
