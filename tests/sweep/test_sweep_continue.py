"""A sweep at 2N epochs after one at N continues the stored N-epoch runs from their states: it
computes only the extra epochs and stores exactly the numbers of a fresh 2N-epoch run."""
import numpy as np

from adamlab import SyntheticConfig
from adamlab.sweep import Store, run_sweep
from adamlab.sweep import runner
from adamlab.sweep.extend import Bases
from adamlab.synthetic import train as synthetic_train
from sweep_helpers import TINY

N = 40
BASE = {**TINY, "lr": 3e-3, "log_every": 10, "epochs": N}


def spec(name, epochs, **grid):
    return {"name": name, "base": {**BASE, "epochs": epochs},
            "grid": {"optimizer": ["adam", "adamw"], **grid}}


def _numbers(store):
    """run id -> (summary, metric rows, steps) of every stored run; timings (wall-clock
    seconds) are not the run's numbers and are left out."""
    return {r["id"]: ({k: v for k, v in r["final"].items() if not k.endswith("seconds")},
                      store.metrics(r["id"]), r["steps"]) for r in store.runs()}


def test_a_longer_sweep_continues_the_shorter_runs_exactly(tmp_path):
    db, fresh_db = tmp_path / "s.sqlite", tmp_path / "fresh.sqlite"
    first = run_sweep(spec("short", N), db, workers=2, progress=False, keep_states=True)
    assert first.ok == 2 and first.continued == 0
    with Store(db) as store:
        assert len(list(store.states_dir.glob("*.npz"))) == 2
    longer = run_sweep(spec("long", 2 * N), db, workers=2, progress=False, keep_states=True)
    assert (longer.ran, longer.continued) == (2, 2)
    assert "2 continued from shorter runs" in longer.line()
    fresh = run_sweep(spec("long", 2 * N), fresh_db, workers=2, progress=False)
    assert fresh.continued == 0
    with Store(db) as store, Store(fresh_db) as ref:
        got, want = _numbers(store), _numbers(ref)
        long_ids = set(want)
        assert long_ids <= set(got)
        for rid in long_ids:
            assert got[rid] == want[rid]  # summary, every metric row, steps: exact
        for r in store.runs(full=True):
            if r["id"] in long_ids:
                assert r["meta"]["continued_from"]["epochs"] == N
                # the continued run kept its own state, so a third sweep can continue it
                assert store.state(r["id"]).epochs == 2 * N


def test_a_continued_run_computes_only_the_extra_epochs(tmp_path, monkeypatch):
    """The worker's call, in this process, with a probe on the batch sampler: N epochs drawn."""
    db = tmp_path / "s.sqlite"
    run_sweep(spec("short", N, optimizer=["adam"]), db, workers=1, progress=False,
              keep_states=True)
    drawn = []
    real = synthetic_train.BatchSampler.epochs
    monkeypatch.setattr(synthetic_train.BatchSampler, "epochs",
                        lambda self, k: (drawn.append(k), real(self, k))[1])
    cfg = {**BASE, "epochs": 2 * N}
    with Store(db) as store:
        base = Bases(store).find(cfg)
        assert base is not None and base.epochs == N
        path = store.states_dir / f"{base.run_id}.npz"
    rid = SyntheticConfig.from_dict(cfg).run_id()
    result = runner.run_one(rid, cfg, {"start_from": str(path)})
    assert result.status == "ok"
    assert sum(drawn) == N and result.meta["continued_from"]["epochs"] == N
    drawn.clear()
    whole = runner.run_one(rid, cfg)
    assert sum(drawn) == 2 * N
    assert whole.summary == result.summary


def test_what_is_not_continued(tmp_path):
    """No kept state, another log cadence (its rows would differ from a fresh run's) or another
    setting: computed from the start. An unreadable state: the run starts over."""
    db = tmp_path / "s.sqlite"
    run_sweep(spec("nostate", N), db, workers=1, progress=False)
    assert run_sweep(spec("long", 2 * N), db, workers=1, progress=False).continued == 0
    db2 = tmp_path / "s2.sqlite"
    run_sweep(spec("short", N), db2, workers=1, progress=False, keep_states=True)
    cadence = spec("cadence", 2 * N)
    cadence["base"]["log_every"] = 7
    other = spec("other", 2 * N)
    other["base"]["weight_decay"] = 0.5
    with Store(db2) as store:
        bases = Bases(store)
        assert bases.find({**BASE, "epochs": 2 * N}) is not None
        assert bases.find({**BASE, "epochs": 2 * N, "log_every": 7}) is None
        assert bases.find({**BASE, "epochs": 2 * N, "weight_decay": 0.5}) is None
        assert bases.find({**BASE, "epochs": N // 2}) is None  # shorter than the base
        for p in store.states_dir.glob("*.npz"):
            p.write_bytes(b"not a state")
    broken = run_sweep(spec("broken", 2 * N), db2, workers=1, progress=False)
    assert (broken.ok, broken.failed, broken.continued) == (2, 0, 0)
    with Store(db2) as store:
        rows = store.metrics(store.runs({"sweep": "broken"})[0]["id"], split="train",
                             name="loss")
        assert rows[0][1] == 0 and np.isfinite(rows[-1][4])
