"""The runner: failures stay with their run, resume after SIGKILL, concurrent sweeps, Ray."""
import importlib.util
import math
import os
import signal
import sqlite3
import subprocess
import time
from datetime import datetime

import pytest

from adamlab import SyntheticConfig, train
from adamlab.sweep import Store, load_spec, run_sweep
from sweep_helpers import ROOT, TINY, cli, cli_env, toml

PROBES = {"name": "probes", "base": {"task": "sweepprobe"},
          "runs": [{"x": x, "seed": seed} for x in (0.0, 1.0, 2.0) for seed in (0, 1)]
          + [{"x": 5.0, "mode": "raise"}, {"x": 6.0, "mode": "die"},
             {"x": 7.0, "mode": "diverge"}]}


def test_a_run_that_raises_or_dies_fails_alone_and_the_sweep_goes_on(tmp_path):
    import sweeptask  # noqa: F401  (registers the probe task in this process)

    db = tmp_path / "s.sqlite"
    summary = run_sweep(PROBES, db, workers=2, progress=False)
    assert (summary.total, summary.ok, summary.diverged, summary.failed) == (9, 6, 1, 2)
    with Store(db) as store:
        runs = {r["config"]["x"] + r["config"]["seed"] / 10: r for r in store.runs()}
        assert len(runs) == 9 and store.integrity() == "ok"
        assert runs[5.0]["status"] == "failed"
        assert runs[5.0]["reason"] == "ValueError: probe asked to fail at x=5.0"
        assert runs[6.0]["status"] == "failed"
        assert runs[6.0]["reason"] == "WorkerDied: worker process killed by SIGKILL"
        assert (runs[7.0]["status"], runs[7.0]["reason"]) == ("diverged",
                                                              "non-finite loss at step 3")
        ok = [r for r in runs.values() if r["status"] == "ok"]
        assert sorted(r["final"]["test_error"] for r in ok) == [0.0, 0.1, 1.0, 1.1, 2.0, 2.1]
        assert all(len(store.metrics(r["id"])) == 4 for r in ok)
        assert "Traceback" in store.runs({"x": 5.0}, full=True)[0]["meta"]["traceback"]
        # One thread per worker; the work was spread over worker processes, not the driver.
        pids = {r["meta"]["pid"] for r in store.runs({"status": "ok"}, full=True)}
        assert os.getpid() not in pids
        assert {r["environment"]["torch_threads"] for r in store.runs(full=True)
                if r["environment"]} == {1}
    # Done means done, whatever the status; --retry-failed reruns only the failed ones.
    again = run_sweep(PROBES, db, workers=2, progress=False)
    assert (again.skipped, again.ran) == (9, 0)
    retry = run_sweep(PROBES, db, workers=1, progress=False, retry_failed=True)
    assert (retry.skipped, retry.ran, retry.failed) == (7, 2, 2)
    assert sorted(reason for _, reason in retry.failures) == [
        "ValueError: probe asked to fail at x=5.0", "WorkerDied: worker process killed by SIGKILL"]


def _count(db) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _wait(predicate, what: str, limit: float = 300.0) -> None:
    """Poll until `predicate()`; the limit only stops a hung test, it is not a speed check."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _epoch(stamp: str) -> float:
    """A store timestamp ("2026-01-02T03:04:05+0000", whole seconds) as seconds since the epoch."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def _within(stamp: str, start: float, end: float) -> bool:
    """Was `stamp` written between `start` and `end` (time.time())? The stamp is truncated to
    the second, so the window opens at the second `start` falls in."""
    return math.floor(start) <= _epoch(stamp) <= end


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_sigkill_mid_sweep_then_restart_runs_each_missing_run_once(tmp_path):
    # Eight real runs at the paper's size (d=1000, n=200), each a fraction of a second.
    base = {"epochs": 50, "n_test": 500, "log_every": 25, "batch_size": 2}
    spec_path = toml(tmp_path / "crash.toml", "crash", base, {"seed": list(range(8))})
    db = tmp_path / "crash.sqlite"
    ids = load_spec(spec_path).run_ids()
    first_start = time.time()
    proc = subprocess.Popen(cli("sweep", spec_path, "--store", db, "--workers", "1",
                                "--no-progress"), env=cli_env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait(lambda: _count(db) >= 2, "two finished runs")
        os.kill(proc.pid, signal.SIGKILL)  # the driver; its worker is mid-run
        proc.wait(timeout=60)
        # The orphaned worker notices its driver is gone and exits on its own.
        _wait(lambda: not _group_alive(proc.pid), "the orphaned worker to exit", limit=60)
        stopped = time.time()  # nothing of the first call can write after this
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    with Store(db) as store:
        before = store.done_ids()
        assert store.integrity() == "ok"
        assert 2 <= len(before) < 8, "the sweep finished before the kill: make its runs longer"
        assert before <= set(ids)
        # Every stored run is complete: its numbers equal those of a direct run of its config.
        run = store.runs()[0]
        direct = train(run["config"])
        assert run["final"] == direct.summary
        assert store.metrics(run["id"]) == [tuple(m) for m in direct.metrics]
        assert all(len(store.metrics(r["id"])) == len(direct.metrics) for r in store.runs())
        kept = {r["id"]: r["finished_at"] for r in store.runs()}
    # Each stored run finished during the first call.
    assert all(_within(t, first_start, stopped) for t in kept.values()), (kept, first_start,
                                                                          stopped)

    restart_start = time.time()
    restart = subprocess.run(cli("sweep", spec_path, "--store", db, "--workers", "2",
                                 "--no-progress"), env=cli_env(), cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    restart_end = time.time()
    assert restart.returncode == 0, restart.stderr
    assert f"8 runs, {len(before)} already in the store, {8 - len(before)} ran " \
        f"({8 - len(before)} ok" in restart.stdout
    with Store(db) as store:
        assert sorted(r["id"] for r in store.runs()) == sorted(ids)  # each run exactly once
        assert store.integrity() == "ok"
        assert all(len(store.metrics(r["id"])) == len(direct.metrics) for r in store.runs())
        # The runs stored before the kill were not run again: their finish times are unchanged.
        assert {r["id"]: r["finished_at"] for r in store.runs() if r["id"] in before} == kept
        assert all(r["status"] == "ok" for r in store.runs())
        # The others finished during the restart, after every kept run...
        fresh = [r["finished_at"] for r in store.runs() if r["id"] not in before]
        assert len(fresh) == 8 - len(before)
        assert all(_within(t, restart_start, restart_end) for t in fresh), (fresh,
                                                                            restart_start)
        assert max(map(_epoch, kept.values())) <= min(map(_epoch, fresh))
    # ...and rows were written in the order the runs completed (rowid order = time order).
    with sqlite3.connect(db) as conn:
        order = [_epoch(t) for (t,) in conn.execute("SELECT finished_at FROM runs ORDER BY rowid")]
    assert order == sorted(order) and len(order) == 8


def test_workers_exit_when_their_driver_is_killed(tmp_path):
    """A worker in a long run whose driver got SIGKILL stops instead of running on for nobody."""
    spec = toml(tmp_path / "hang.toml", "hang", {"task": "sweepprobe", "mode": "hang"})
    marker = tmp_path / "started"
    proc = subprocess.Popen(cli("sweep", spec, "--store", tmp_path / "h.sqlite", "--workers", "1",
                                "--import", "sweeptask", "--no-progress"),
                            env={**cli_env(), "SWEEPPROBE_MARKER": str(marker)}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(marker.exists, "the worker to start its run")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        # The run would sleep 10 minutes; the worker's watch on its parent ends it at once.
        _wait(lambda: not _group_alive(proc.pid), "the orphaned worker to exit", limit=60)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def test_two_sweeps_at_once_into_one_store(tmp_path):
    db = tmp_path / "shared.sqlite"
    a = toml(tmp_path / "a.toml", "a", TINY, {"seed": [0, 1, 2, 3], "batch_size": [2, 5]})
    b = toml(tmp_path / "b.toml", "b", TINY, {"seed": [2, 3, 4, 5], "batch_size": [2, 5]})
    procs = [subprocess.Popen(cli("sweep", spec, "--store", db, "--workers", "1",
                                  "--no-progress", "--json"), env=cli_env(), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for spec in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    with Store(db) as store:
        runs = store.runs()
        seeds = sorted((r["config"]["seed"], r["config"]["batch_size"]) for r in runs)
        assert seeds == [(s, b) for s in range(6) for b in (2, 5)]  # 12 distinct runs, once each
        assert store.integrity() == "ok"
        assert len(store.runs({"sweep": "a"})) == 8 and len(store.runs({"sweep": "b"})) == 8
        direct = train(SyntheticConfig(**TINY, seed=4, batch_size=5))
        (stored,) = store.runs({"seed": 4, "batch_size": 5})
        assert stored["final"] == direct.summary


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (optional extra: pip install 'adamlab[ray]')")
def test_ray_backend_end_to_end(tmp_path):
    import sweeptask  # noqa: F401

    db = tmp_path / "ray.sqlite"
    spec = {"name": "ray", "runs": [{**TINY, "seed": s, "batch_size": b}
                                    for s in (0, 1) for b in (2, 5)]
            + [{"task": "sweepprobe", "x": 5.0, "mode": "raise"}]}
    with Store(db) as store:  # one run already done: Ray resumes like the local backend
        store.put(train(SyntheticConfig(**TINY, seed=0, batch_size=2)), sweep="earlier")
    summary = run_sweep(spec, db, workers=2, backend="ray", progress=False)
    assert (summary.total, summary.skipped, summary.ok, summary.failed) == (5, 1, 3, 1)
    with Store(db) as store:
        assert store.integrity() == "ok" and len(store.runs()) == 5
        (failed,) = store.runs({"status": "failed"})
        assert failed["reason"] == "ValueError: probe asked to fail at x=5.0"
        direct = train(SyntheticConfig(**TINY, seed=1, batch_size=5))
        (stored,) = store.runs({"seed": 1, "batch_size": 5, "task": "synthetic"}, full=True)
        assert stored["final"] == direct.summary
        assert stored["environment"]["torch_threads"] == 1
    again = run_sweep(spec, db, workers=2, backend="ray", progress=False)
    assert (again.skipped, again.ran) == (5, 0)


def test_batched_backend_steps_compatible_runs_together(tmp_path):
    """backend='batched' (the GPU path, here on CPU): every run equals the same config trained
    alone, and the results land in the store like any other sweep's."""
    import numpy as np

    from adamlab.core.errors import ConfigError
    from adamlab.sweep.spec import parse_spec

    spec = {"name": "batched", "base": {**TINY, "engine": "batched", "optimizer": "adamw",
                                        "batch_size": 4},
            "grid": {"weight_decay": [0.0, 0.1], "seed": [0, 1]}}
    db = tmp_path / "b.sqlite"
    summary = run_sweep(spec, db, backend="batched", progress=False)
    assert (summary.ok, summary.ran) == (4, 4)
    with Store(db) as store:
        stored = {r["id"]: r for r in store.runs()}
        for cfg in parse_spec(spec).configs:
            alone = train(cfg)
            got = stored[cfg.run_id()]
            assert got["status"] == "ok"
            np.testing.assert_allclose(got["final"]["test_loss"], alone.summary["test_loss"],
                                       rtol=1e-12)
    again = run_sweep(spec, db, backend="batched", progress=False)
    assert (again.skipped, again.ran) == (4, 0)
    # engine is bookkeeping: fast-engine runs run batched under the same ids (all done here)
    fast = run_sweep({**spec, "base": {**spec["base"], "engine": "fast"}}, db,
                     backend="batched", progress=False)
    assert (fast.skipped, fast.ran) == (4, 0)
    with pytest.raises(ConfigError, match="backend: 'batched' steps synthetic runs"):
        run_sweep({**spec, "base": {**spec["base"], "engine": "fast", "dtype": "float32"}},
                  tmp_path / "c.sqlite", backend="batched", progress=False)


def test_a_sweep_without_compute_only_reads_the_store(tmp_path):
    from adamlab.sweep import SweepSpec
    from adamlab.sweep.runner import MissingRuns
    db = tmp_path / "s.sqlite"
    cfgs = [SyntheticConfig(**TINY, seed=s) for s in (0, 1)]
    spec = SweepSpec(name="ro", configs=tuple(cfgs))
    with pytest.raises(MissingRuns, match=r"sweep ro: 2 runs not in the store .*nothing was "
                                          r"computed") as info:
        run_sweep(spec, db, workers=1, progress=False, compute=False)
    assert info.value.run_ids == [c.run_id() for c in cfgs]
    with Store(db) as store:  # nothing written: no run, no claim, no plan
        assert store.runs() == [] and store.conn.execute(
            "SELECT COUNT(*) FROM sweep_runs").fetchone()[0] == 0
        store.put(train(cfgs[0]))
    with pytest.raises(MissingRuns, match="1 run not in the store") as info:
        run_sweep(spec, db, workers=1, progress=False, compute=False)
    assert info.value.run_ids == [cfgs[1].run_id()]
    with Store(db) as store:
        store.put(train(cfgs[1]))
    done = run_sweep(spec, db, workers=1, progress=False, compute=False)
    assert (done.total, done.skipped, done.ran) == (2, 2, 0)
