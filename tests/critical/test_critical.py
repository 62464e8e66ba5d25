"""The critical-batch search through the store (adamlab/sweep/critical.py): known B* of a fake
task, reuse of stored runs, resume, the batched engine's rounds, and the theory's numbers."""
import math

import pytest

import critical_task
from adamlab import SyntheticConfig
from adamlab.core.errors import ConfigError
from adamlab.tasks import train
from adamlab.sweep import Store
from adamlab.sweep.bisect import SearchResult
from adamlab.sweep.critical import critical_batch, curve_grid, search_many, theory_of
from adamlab.sweep.spec import SweepSpec

BASE = critical_task.CritProbeConfig(n=100, b_star=10)


def inline(spec, store, **kw):
    """An in-process `run_sweep` (no worker start-up), for the fake task."""
    for cfg in spec.configs:
        if store.status_of(cfg.run_id()) is None:
            store.put(train(cfg), sweep=spec.name)


def search(store, config=BASE, seeds=(0, 1, 2), **kw):
    return critical_batch(config, seeds, store, progress=False, sweep=inline, **kw)


def test_known_critical_batch_sizes_are_bracketed_and_every_probe_is_in_the_store(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        res = search(store)
        out = res.to_json()
        assert set(out) == {"config", "horizon", "seeds", "b_star", "curve", "censored", "grid",
                            "theory"}
        assert out["grid"] is None  # no curve seeds asked for
        assert out["horizon"] == "budget"
        for entry, star in zip(out["seeds"], (10, 11, 12)):  # B* = b_star + seed
            assert (entry["b_low"], entry["b_high"]) == (star, star + 1)
            assert entry["b_star"] == pytest.approx(math.sqrt(star * (star + 1)))
            assert entry["status"] == "closed" and entry["monotone"]
            # The bracket is what the stored runs say: learns at b_low, memorises at b_high.
            runs = {r["id"]: r for r in store.runs()}
            by_b = {p["batch_size"]: runs[p["run_id"]] for p in entry["probes"]}
            assert by_b[star]["final"]["test_error"] == 0.0
            assert by_b[star + 1]["final"]["test_error"] == 0.5
            assert all(runs[p["run_id"]]["config"]["seed"] == entry["seed"]
                       for p in entry["probes"])
        stars = [math.sqrt(s * (s + 1)) for s in (10, 11, 12)]
        assert out["b_star"]["mean"] == pytest.approx(sum(stars) / 3)
        lo, hi = out["b_star"]["ci95"]
        assert min(stars) - 1e-9 <= lo <= out["b_star"]["mean"] <= hi <= max(stars) + 1e-9
        assert out["theory"] is None  # a fake task has no theory
        assert "batch_size" not in out["config"] and "seed" not in out["config"]


def test_the_logistic_curve_over_seeds_finds_the_known_critical_batch_size(tmp_path):
    # Seeds 0, 1, 2 learn up to 10, 11, 12: P(learns) falls from 1 at B = 10 to 0 at B = 13.
    with Store(tmp_path / "s.sqlite") as store:
        res = search(store)
        out = res.to_json()
        curve = out["curve"]
        assert out["censored"] is False and curve["censored"] is False
        assert 10 < curve["b_star"] < 13 and curve["slope"] < 0
        lo, hi = curve["interval"]
        assert 10 <= lo <= curve["b_star"] <= hi <= 13
        assert curve["width"][0] < curve["b_star"] < curve["width"][1]
        assert curve["seeds"] == 3 and curve["resamples"] == 2000
        # The counts are the searches' decided runs, nothing else.
        probes = [(e["seed"], p["batch_size"], p["regime"]) for e in out["seeds"]
                  for p in e["probes"]]
        for c in curve["counts"]:
            at_b = [(q, r) for q, b, r in probes if b == c["batch_size"]]
            assert c["decided"] == len(at_b)
            assert c["learns"] == sum(r == "learns_feature" for _, r in at_b) \
                == sum(c["batch_size"] <= 10 + q for q, _ in at_b)  # the truth: B* = 10 + seed
        assert any("logistic curve: P(learns) = 1/2 at B* = " in line for line in res.lines())
        # One seed's runs are separable (learns up to 10, memorises from 11): B* is the bracket.
        one = search(store, seeds=(0,)).to_json()
        assert one["censored"] is True and one["curve"]["b_star"] is None
        assert one["curve"]["bracket"] == [10, 11] == [one["seeds"][0]["b_low"],
                                                      one["seeds"][0]["b_high"]]


def test_the_curve_grid_spans_the_seeds_brackets_widened():
    def bracket(lo, hi):
        return SearchResult(100, lo, hi, None, "closed")

    grid = curve_grid([bracket(10, 11), bracket(11, 12), bracket(12, 13)], 100, points=6)
    assert grid[0] == 8 and grid[-1] == 16  # 10 / 1.25 and 13 x 1.25, rounded
    assert grid == sorted(set(grid)) and len(grid) == 6
    ratios = [b / a for a, b in zip(grid, grid[1:])]
    assert max(ratios) / min(ratios) < 1.2  # log-spaced, to rounding
    # Open ends: a seed memorising at B = 1 reaches down to 1, one learning up to n up to n.
    assert curve_grid([bracket(None, 1), bracket(40, 41)], 100)[0] == 1
    assert curve_grid([bracket(100, None), bracket(40, 41)], 100)[-1] == 100
    # No switch seen: every seed learns up to n (or memorises from 1), or nothing was decided.
    assert curve_grid([bracket(100, None)] * 3, 100) == []
    assert curve_grid([bracket(None, 1)] * 3, 100) == []
    assert curve_grid([bracket(None, None)], 100) == []
    # A narrow range at small B keeps each batch size once.
    assert curve_grid([bracket(1, 2)], 100, points=8) == [1, 2]  # 1 .. 2.5


def test_curve_seeds_put_every_seed_on_a_grid_and_the_curve_finds_the_known_answer(tmp_path):
    # Seed s learns up to B = 10 + s % 4. The bisection (seeds 0-2: brackets [10, 11] ..
    # [12, 13]) places the grid at 8 .. 16; seeds 3-10 run only there. Over those eight seeds
    # P(learns | B) is 1, 6/8, 4/8, 2/8, 0 at B = 10 .. 14: 1/2 at B = 12.
    cfg = BASE.replace(cycle=4)
    grid_seeds = list(range(3, 11))
    with Store(tmp_path / "s.sqlite") as store:
        res = search(store, config=cfg, curve_seeds=grid_seeds, curve_points=6)
        grid = res.grid
        assert grid.seeds == grid_seeds and grid.batch_sizes[0] == 8 \
            and grid.batch_sizes[-1] == 16
        assert len(grid.regimes) == 8 * len(grid.batch_sizes)
        for (s, b), regime in grid.regimes.items():  # every grid run as the truth says
            assert regime == ("learns_feature" if b <= 10 + s % 4 else "memorises_noise")
            assert store.runs_by_id([grid.run_ids[s, b]])
        out = res.to_json()
        curve = out["curve"]
        assert curve["seeds"] == 11 and out["censored"] is False
        assert 11.5 < curve["b_star"] < 12.5
        lo, hi = curve["interval"]
        assert lo < 12 < hi
        assert curve["width"][0] < 12 < curve["width"][1]
        assert len(out["grid"]["runs"]) == 8 * len(grid.batch_sizes)
        assert out["grid"]["ran"] == 8 * len(grid.batch_sizes) and out["grid"]["reused"] == 0
        assert any(line.startswith("curve grid: 6 batch sizes x 8 seeds") for line in res.lines())
        # The bisection's brackets are those of a search without a grid: the grid's seeds are
        # never searched, so their runs cannot move a bracket, now or on a rerun.
        plain = search(Store(tmp_path / "plain.sqlite"), config=cfg)
        assert [(r.b_low, r.b_high) for r in res.results()] == \
            [(r.b_low, r.b_high) for r in plain.results()]
        # Run again: nothing new, the same curve.
        critical_task.CALLS.clear()
        again = search(store, config=cfg, curve_seeds=grid_seeds, curve_points=6)
        assert critical_task.CALLS == [] and again.grid.ran == 0
        assert again.grid.reused == 8 * len(grid.batch_sizes)
        assert again.to_json()["curve"] == curve
    with pytest.raises(ConfigError, match=r"curve_points: must be an integer >= 2"):
        search(Store(tmp_path / "t.sqlite"), curve_seeds=[5], curve_points=1)
    with pytest.raises(ConfigError, match=r"curve_seeds: each seed once"):
        search(Store(tmp_path / "t.sqlite"), curve_seeds=[5, 5])
    with pytest.raises(ConfigError, match=r"curve_seeds: must differ from the searched seeds .* "
                                          r"got 1, 2 in both"):
        search(Store(tmp_path / "t.sqlite"), curve_seeds=[1, 2, 3])


def test_no_grid_where_the_seeds_show_no_switch(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        res = search(store, config=BASE.replace(b_star=100), curve_seeds=[3, 4, 5, 6])
        assert res.grid.batch_sizes == [] and res.grid.regimes == {}
        assert "no switch" in res.grid.reason
        assert "curve grid: none (the seeds' searches show no switch in [1, n])" in res.lines()


def test_a_rerun_computes_nothing_new_and_gives_the_same_answer(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        first = search(store).to_json()
        n_runs = len(store.runs())
        critical_task.CALLS.clear()
        again = search(store)
        assert critical_task.CALLS == [] and again.rounds == 0
        assert len(store.runs()) == n_runs
        assert all(s.ran == 0 and s.reused == len(s.search.seen) for s in again.seeds)
        second = again.to_json()
        for a, b in zip(first["seeds"], second["seeds"]):
            assert (a["b_low"], a["b_high"], a["b_star"]) == (b["b_low"], b["b_high"],
                                                              b["b_star"])
            assert {p["source"] for p in b["probes"]} == {"stored"}


def test_runs_already_stored_by_any_sweep_are_reused(tmp_path):
    # A phase-diagram-like sweep of the same config at a few batch sizes, stored first.
    grid = SweepSpec("phase", tuple(BASE.replace(batch_size=b, seed=s)
                                    for b in (1, 5, 20, 50, 100) for s in (0, 1, 2)))
    with Store(tmp_path / "s.sqlite") as store:
        inline(grid, store)
        critical_task.CALLS.clear()
        res = search(store)
        for ss in res.seeds:
            stored = {p.batch_size for p in ss.search.seen.values() if p.source == "stored"}
            assert stored == {1, 5, 20, 50, 100} and ss.reused == 5
            # The search started from the bracket [5, 20] the stored runs gave it.
            assert all(5 < b < 20 for s, b in critical_task.CALLS if s == ss.seed)
            assert ss.search.result().b_star is not None
        fresh = search(Store(tmp_path / "fresh.sqlite"))
        assert sum(s.ran for s in res.seeds) < sum(s.ran for s in fresh.seeds)


def test_a_search_killed_between_rounds_resumes_where_it_stopped(tmp_path):
    class Killed(Exception):
        pass

    def kill_after_round_2(line):
        if line.startswith("round 2:"):
            raise Killed

    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(Killed):
            search(store, log=kill_after_round_2)
        assert len(store.runs()) == 6  # two rounds of three seeds
        critical_task.CALLS.clear()
        res = search(store)
        done_before = {(r["config"]["seed"], r["config"]["batch_size"])
                       for r in store.runs()} - set(critical_task.CALLS)
        assert len(done_before) == 6 and not done_before & set(critical_task.CALLS)
        assert [(s.search.result().b_low, s.search.result().b_high) for s in res.seeds] == \
            [(10, 11), (11, 12), (12, 13)]


def test_undecided_and_contradicting_runs_are_reported(tmp_path):
    # Earlier runs: B = 40 memorises but B = 60 learns (the fake task's contradiction).
    cfg = BASE.replace(mixed_above=3, learns_at=60)
    with Store(tmp_path / "s.sqlite") as store:
        inline(SweepSpec("earlier", (cfg.replace(batch_size=40), cfg.replace(batch_size=60))),
               store)
        res = search(store, config=cfg, seeds=[0], max_undecided=5)
        entry = res.to_json()["seeds"][0]
        assert (entry["b_low"], entry["b_high"]) == (10, 14)
        assert entry["status"] == "undecided_inside" and entry["undecided_inside"] == [11, 12, 13]
        assert entry["contradictions"] == [60] and entry["monotone"] is False
        assert "NOT MONOTONE" in "\n".join(res.lines())


def test_the_rounds_run_through_worker_processes_kept_for_the_whole_search(tmp_path):
    # The real runner: every round is one run_sweep over one pool of worker processes.
    res = critical_batch(BASE.replace(n=30), [0, 1], tmp_path / "s.sqlite", workers=2,
                         progress=False)
    assert [(s.search.result().b_low, s.search.result().b_high) for s in res.seeds] == \
        [(10, 11), (11, 12)]
    with Store(tmp_path / "s.sqlite") as store:
        runs = store.runs(full=True)
        assert len({r["meta"]["pid"] for r in runs}) <= 2  # the same two workers every round
        assert res.rounds >= 3
        assert all(r["status"] == "ok" for r in runs)


def test_batched_backend_runs_each_round_as_one_call_and_agrees_with_the_fast_engine(
        tmp_path, monkeypatch):
    import adamlab.sweep.runner as T

    tiny = SyntheticConfig(d=100, n=12, s=10, n_test=200, width=5, epochs=60)
    calls = []
    real = T.train_batched

    def counting(configs, **kw):
        calls.append(sorted((c.seed, c.batch_size) for c in configs))
        return real(configs, **kw)

    monkeypatch.setattr(T, "train_batched", counting)
    batched = critical_batch(tiny.replace(engine="batched"), [0, 1, 2], tmp_path / "b.sqlite",
                             backend="batched", progress=False)
    assert calls[0] == [(0, 3), (1, 3), (2, 3)]  # round 1: every seed's probe in one program
    assert len(calls) == batched.rounds
    fast = critical_batch(tiny, [0, 1, 2], tmp_path / "f.sqlite", progress=False, sweep=inline)
    for a, b in zip(batched.seeds, fast.seeds):
        ra, rb = a.search.result(), b.search.result()
        assert (ra.b_low, ra.b_high, ra.status) == (rb.b_low, rb.b_high, rb.status)
        assert [(p.batch_size, p.regime) for p in ra.probes] == \
            [(p.batch_size, p.regime) for p in rb.probes]


def test_theory_numbers_at_the_papers_setting():
    adam = theory_of(SyntheticConfig(optimizer="adam"))
    # n / log(1/(lambda*eta)) = 200 / log(1/(1e-5 * 5e-5)) = 200 / 21.42 = 9.34
    assert adam["b_star"] == pytest.approx(200 / math.log(1 / 5e-10))
    assert adam["b_star"] == pytest.approx(9.34, abs=0.01)
    assert adam["boundaries"]["memory_eps"]["batch_size"] == pytest.approx(200 / math.log(1e8))
    assert not adam["stuck_at_init"] and adam["applies"]
    adamw = theory_of(SyntheticConfig(optimizer="adamw"))
    assert adamw["b_star"] == pytest.approx(200 / math.log(1 / 5e-7))       # 13.8
    assert adamw["boundaries"]["noise_s_sigma_p"]["batch_size"] == pytest.approx(20.0)
    assert adamw["boundaries"]["noise_s_sigma_p_sqrt_n"]["batch_size"] == \
        pytest.approx(200 / (10 + math.sqrt(200)))
    assert adamw["boundaries"]["adamw_window"]["batch_size"] == pytest.approx(math.sqrt(2.0))
    assert theory_of(SyntheticConfig(optimizer="adam", weight_decay=0.05))["stuck_at_init"]
    assert not theory_of(SyntheticConfig(optimizer="sgd"))["applies"]


def test_bad_requests_fail_with_the_field_named(tmp_path):
    db = tmp_path / "s.sqlite"
    with pytest.raises(ConfigError, match=r"engine: backend 'batched' .* --engine batched"):
        critical_batch(SyntheticConfig(), [0], db, backend="batched", progress=False)
    with pytest.raises(ConfigError, match=r"seeds: each seed once"):
        critical_batch(SyntheticConfig(), [0, 0], db, progress=False)
    with pytest.raises(ConfigError, match=r"seeds: need at least one seed"):
        critical_batch(SyntheticConfig(), [], db, progress=False)
    with pytest.raises(ConfigError, match=r"backend: must be one of"):
        search_many([SyntheticConfig()], [0], db, backend="gpu", progress=False)


def test_the_default_rules_are_the_reports_with_its_settling_rule(tmp_path):
    # A tiny run whose features still grow over its last tenth: "still_moving", not a regime;
    # the bare final-error rule would call it "learns_feature".
    from adamlab.synthetic.regimes import observed_regime
    from adamlab.sweep.critical import report_rules

    cfg = SyntheticConfig(d=100, n=12, s=10, n_test=200, width=5, epochs=400, batch_size=12)
    with Store(tmp_path / "s.sqlite") as store:
        store.put(train(cfg))
        run = store.runs()[0]
        assert observed_regime(run) == "learns_feature"
        assert report_rules(store)(run) == "still_moving"
        # ... and a search treats it as undecided.
        res = critical_batch(cfg, [0], store, progress=False, sweep=inline)
        assert [p.regime for p in res.seeds[0].search.seen.values()
                if p.batch_size == 12] == ["still_moving"]


@pytest.mark.parametrize("keep", [False, True])
def test_keep_states_reaches_every_rounds_sweep(tmp_path, keep):
    """The report keeps the probes' states when it judges the end state, so continuing a probe
    costs only its extra epochs; without it the rounds run as before."""
    seen = []

    def recording(spec, store, **kw):
        seen.append(kw.get("keep_states", False))
        inline(spec, store, **kw)

    search_many([BASE], [0], tmp_path / "s.sqlite", progress=False, sweep=recording,
                keep_states=keep)
    assert seen and set(seen) == {keep}


def test_a_replay_without_compute_answers_from_the_store_or_says_what_it_lacks(tmp_path):
    from adamlab.sweep.runner import MissingRuns
    db = tmp_path / "s.sqlite"
    with pytest.raises(MissingRuns, match="nothing was computed"):
        critical_batch(BASE, [0, 1], db, progress=False, compute=False)
    with Store(db) as store:
        assert store.runs() == []
    first = search(db, seeds=(0, 1))
    again = critical_batch(BASE, [0, 1], db, progress=False, compute=False)
    assert [(r.b_low, r.b_high) for r in again.results()] == \
        [(r.b_low, r.b_high) for r in first.results()]
    assert [s.ran for s in again.seeds] == [0, 0] and all(s.reused for s in again.seeds)
