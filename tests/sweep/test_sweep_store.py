"""The SQLite store: round trip, filters, all-or-nothing writes, aggregation checked by hand,
exports, and several processes writing to one file at once."""
import csv
import math
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adamlab.core.result import Result
from adamlab.sweep import Store, StoreError
from sweep_helpers import ROOT, cli_env


def result(x=0.0, seed=0, status="ok", test_error=None, sweep_marker=None, n_metrics=3):
    """A Result of the probe task without running anything (`run_id` is its config hash)."""
    from sweeptask import ProbeConfig

    cfg = ProbeConfig(x=x, seed=seed)
    te = x + seed / 10 if test_error is None else test_error
    summary = {"train_error": x, "test_error": None if status == "diverged" else te}
    metrics = [(s, s / 2, "train", "error", x + s) for s in range(n_metrics)]
    return Result(run_id=cfg.run_id(), config=cfg.to_dict(), status=status,
                  reason=None if status == "ok" else f"{status} for a test", steps=n_metrics,
                  epochs=n_metrics / 2, seconds=0.5, summary=summary, metrics=metrics,
                  meta={"code": {"commit": "abc", "dirty": True}, "env": {"torch_threads": 1},
                        "wall_seconds": 0.75, "started_at": "2025-01-01T00:00:00+0000",
                        "engine": "probe"})


def test_round_trip(tmp_path):
    r = result(x=0.5, seed=2)
    with Store(tmp_path / "s.sqlite") as store:
        store.put(r, sweep="one")
    with Store(tmp_path / "s.sqlite", create=False) as store:  # a new connection reads it back
        (run,) = store.runs(full=True)
        assert run["id"] == r.run_id and run["sweep"] == "one" and run["task"] == "sweepprobe"
        assert run["config"] == r.config and run["final"] == r.summary
        assert (run["status"], run["reason"], run["steps"], run["epochs"]) == ("ok", None, 3, 1.5)
        assert (run["seconds"], run["wall_seconds"], run["code_commit"]) == (0.5, 0.75, "abc")
        assert run["code"] == {"commit": "abc", "dirty": True}
        assert run["environment"] == {"torch_threads": 1} and run["meta"] == {"engine": "probe"}
        assert store.metrics(r.run_id) == [tuple(m) for m in r.metrics]
        assert store.metrics(r.run_id, split="train", name="error")[2] == (2, 1.0, "train",
                                                                           "error", 2.5)
        assert store.done_ids() == {r.run_id} and store.integrity() == "ok"


def test_a_second_put_replaces_the_run_and_its_metrics(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put(result(status="failed", n_metrics=0), sweep="a")
        store.put(result(n_metrics=4), sweep="b")
        (run,) = store.runs()
        assert run["status"] == "ok" and run["sweep"] == "b"
        assert len(store.metrics(run["id"])) == 4
        assert store.done_ids(("ok", "diverged")) == {run["id"]}
        assert len(store.runs({"sweep": "a"})) == 1  # still listed under the sweep that planned it


class FailingMidway:
    """A connection that writes the run row and one metric row, then fails (disk full, say)."""

    def __init__(self, conn):
        self.conn = conn

    def __getattr__(self, name):  # in_transaction, close, ...: the real connection's
        return getattr(self.conn, name)

    def execute(self, *args):
        return self.conn.execute(*args)

    def executemany(self, sql, rows):
        if "INSERT INTO metrics" in sql:
            self.conn.executemany(sql, rows[:1])
            raise sqlite3.OperationalError("database or disk is full (simulated)")
        return self.conn.executemany(sql, rows)


def test_a_write_that_fails_midway_leaves_nothing(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put(result(x=2.0))
        real = store.conn
        store.conn = FailingMidway(real)
        bad = result(x=1.0)
        with pytest.raises(StoreError) as e:
            store.put(bad)
        assert str(e.value) == (f"{tmp_path / 's.sqlite'}: cannot write run {bad.run_id} "
                                "(database or disk is full (simulated)); the store keeps the "
                                "runs finished before it")
        store.conn = real
        assert [r["config"]["x"] for r in store.runs()] == [2.0]
        assert store.metrics(bad.run_id) == [] and store.integrity() == "ok"
        store.put(result(x=3.0))  # and the store is still writable
        assert len(store.runs()) == 2


def test_non_finite_numbers_are_stored_as_null(tmp_path):
    r = result(status="diverged")
    r.summary["train_loss"] = float("inf")
    r.metrics.append((3, 1.5, "train", "loss", float("nan")))
    with Store(tmp_path / "s.sqlite") as store:
        store.put(r)
        (run,) = store.runs()
        assert run["final"]["train_loss"] is None and run["final"]["test_error"] is None
        assert store.metrics(r.run_id, name="loss")[0][4] is None


def test_where_filters_loosely_and_rejects_unknown_keys(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        for x in (0.01, 0.5):
            for seed in (0, 1):
                store.put(result(x=x, seed=seed), sweep="s")
        store.put(result(x=0.7, status="failed"), sweep="t")

        def xs(where):
            return sorted((r["config"]["x"], r["config"]["seed"]) for r in store.runs(where))

        assert xs({"x": "1e-2"}) == [(0.01, 0), (0.01, 1)]  # strings from a command line
        assert xs({"x": 0.5, "seed": "1"}) == [(0.5, 1)]
        assert xs({"config.seed": [1, 7]}) == [(0.01, 1), (0.5, 1)]
        assert xs({"status": "failed"}) == [(0.7, 0)]
        assert xs({"sweep": "t"}) == [(0.7, 0)]
        assert xs({"final.train_error": 0.5}) == [(0.5, 0), (0.5, 1)]
        assert xs({"mode": "ok", "task": "sweepprobe"}) == xs(None)
        with pytest.raises(StoreError, match="unknown key 'sed' .*did you mean 'seed'"):
            store.runs({"sed": 1})


def test_runs_by_id_reads_exactly_the_ids_asked_for(tmp_path, monkeypatch):
    import adamlab.sweep.store as store_module

    monkeypatch.setattr(store_module, "_IN_CHUNK", 2)  # several IN queries, as with many ids
    with Store(tmp_path / "s.sqlite") as store:
        results = [result(x=x, seed=seed) for x in (0.01, 0.5, 0.7) for seed in (0, 1)]
        for r in results:
            store.put(r, sweep="s")
        want = [results[0].run_id, results[3].run_id, results[4].run_id, "no-such-id",
                results[0].run_id]
        got = store.runs_by_id(want, full=True)
        assert set(got) == {results[0].run_id, results[3].run_id, results[4].run_id}
        every = {r["id"]: r for r in store.runs(full=True)}
        assert all(got[i] == every[i] for i in got)  # the same records `runs` gives
        assert store.runs_by_id([]) == {}


def test_aggregate_over_seeds_checked_by_hand(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        # group x=0.1: test errors 0.1, 0.3, 0.8 -> mean 0.4, sample std sqrt(0.26 / 2)
        for seed, te in [(0, 0.1), (1, 0.3), (2, 0.8)]:
            store.put(result(x=0.1, seed=seed, test_error=te))
        # group x=0.2: one ok run (0.5), one diverged (no test error), one failed (no metrics)
        store.put(result(x=0.2, seed=0, test_error=0.5))
        store.put(result(x=0.2, seed=1, status="diverged"))
        failed = result(x=0.2, seed=2, status="failed")
        failed.summary = {}
        store.put(failed)
        g1, g2 = store.aggregate(by=["x"], metrics=["test_error", "train_error"])
        assert g1["x"] == 0.1 and (g1["runs"], g1["ok"], g1["diverged"], g1["failed"]) == \
            (3, 3, 0, 0)
        assert g1["test_error_mean"] == pytest.approx(0.4, abs=1e-15)
        assert g1["test_error_std"] == pytest.approx(math.sqrt(0.13), abs=1e-15)
        assert g1["test_error_n"] == 3
        assert g1["train_error_mean"] == pytest.approx(0.1) and g1["train_error_std"] == 0.0
        assert (g2["runs"], g2["ok"], g2["diverged"], g2["failed"]) == (3, 1, 1, 1)
        assert (g2["test_error_mean"], g2["test_error_std"], g2["test_error_n"]) == (0.5, None, 1)
        assert g2["train_error_n"] == 1  # a diverged run is counted, its last values not averaged
        # Default grouping: every varying config field except the seed (here: x).
        assert [g["x"] for g in store.aggregate(metrics=["test_error"])] == [0.1, 0.2]
        # where narrows the runs before grouping
        _, only_ok = store.aggregate(by=["x"], metrics=["test_error"], where={"status": "ok"})
        assert (only_ok["x"], only_ok["runs"], only_ok["failed"]) == (0.2, 1, 0)
        with pytest.raises(StoreError, match="unknown metric 'test_eror'"):
            store.aggregate(by=["x"], metrics=["test_eror"])


def test_exports(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put(result(x=0.1, seed=0))
        store.put(result(x=0.1, seed=1))
        store.put(result(x=0.2, seed=0, status="failed"))
        assert store.export_csv(tmp_path / "runs.csv") == 3
        rows = list(csv.DictReader(open(tmp_path / "runs.csv")))
        assert [r["config.seed"] for r in rows] == ["0", "1", "0"]
        assert rows[1]["final.test_error"] == "0.2" and rows[2]["status"] == "failed"
        assert store.export_csv(tmp_path / "long.csv", kind="metrics") == 9
        assert open(tmp_path / "long.csv").readline().strip() == \
            "run_id,step,epoch,split,name,value"
        assert store.export_csv(tmp_path / "agg.csv", kind="aggregate", by=["x"],
                                metrics=["test_error"]) == 2
        agg = list(csv.DictReader(open(tmp_path / "agg.csv")))
        assert float(agg[0]["test_error_mean"]) == pytest.approx(0.15)

        pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow (adamlab[parquet]) missing")
        assert store.export_parquet(tmp_path / "runs.parquet") == 3
        table = pq.read_table(tmp_path / "runs.parquet").to_pydict()
        assert table["config.seed"] == [0, 1, 0] and table["final.test_error"][1] == 0.2
        assert table["status"] == ["ok", "ok", "failed"]


def test_store_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Store(tmp_path / "missing.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database, just text " * 100)
    with pytest.raises(StoreError, match="junk.sqlite: not an adamlab results store"):
        Store(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    for create in (False, True):  # someone else's database never gets adamlab's tables
        with pytest.raises(StoreError, match="other.sqlite: not an adamlab results store"):
            Store(other, create=create)
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["t"]


WRITER = textwrap.dedent("""
    import sys
    sys.path[:0] = [{root!r}, {here!r}]
    from adamlab.sweep import Store
    from test_sweep_store import result
    store = Store(sys.argv[1], timeout=120)
    for i in range(int(sys.argv[2]), int(sys.argv[3])):
        store.put(result(x=float(i), n_metrics=50), sweep=sys.argv[4])
""")


def test_several_processes_write_to_one_store_at_once(tmp_path):
    db = tmp_path / "shared.sqlite"
    Store(db).close()
    script = WRITER.format(root=str(ROOT), here=str(ROOT / "tests" / "sweep"))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), str(lo), str(lo + 40), name],
                              env=cli_env(), stderr=subprocess.PIPE, text=True)
             for lo, name in ((0, "a"), (20, "b"))]  # 20 runs overlap: both write them
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with Store(db) as store:
        runs = store.runs()
        assert sorted(r["config"]["x"] for r in runs) == [float(i) for i in range(60)]
        assert all(len(store.metrics(r["id"])) == 50 for r in runs)
        assert store.integrity() == "ok"
        assert store.sweeps() == {"a": 40, "b": 40}


def _open_and_close(path, answers):
    try:
        Store(path, timeout=60).close()
        answers.put("ok")
    except Exception as e:  # noqa: BLE001 - the test reports whatever went wrong
        answers.put(repr(e))


def test_several_processes_create_one_new_store_at_once(tmp_path):
    # Two sweeps started together on a new file: one sets the schema up while the others read
    # it, and the first to switch it to WAL finds the rest connected. Each used to fail now and
    # then ("database is locked" from the switch, "not an adamlab results store" from reading
    # the version before the schema landed and the tables after, "truncated" from reading the
    # header mid-write): about 1 opening in 60 here, so 60 new stores opened by 6 at once.
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    answers, errors = fork.Queue(), []
    for trial in range(60):
        procs = [fork.Process(target=_open_and_close, args=(tmp_path / f"{trial}.sqlite", answers))
                 for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        errors += [a for a in (answers.get(timeout=10) for _ in procs) if a != "ok"]
    assert errors == []
    with Store(tmp_path / "0.sqlite") as store:
        assert store.integrity() == "ok"


def test_export_into_a_missing_folder_names_that_folder(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.put(result(x=0.1, seed=0, test_error=0.2))
        with pytest.raises(FileNotFoundError) as e:
            store.export_csv(tmp_path / "nope" / "runs.csv")
        assert e.value.filename == str(tmp_path / "nope")
        assert store.export_csv(tmp_path / "runs.csv") == 1
        assert not list(tmp_path.glob(".*.tmp"))


def test_exports_are_fsynced_before_they_are_renamed_into_place(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow", reason="pyarrow (adamlab[parquet]) missing")
    import os

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace",
                        lambda a, b: events.append(("replace", Path(b).name)) or real_replace(a, b))
    with Store(tmp_path / "s.sqlite") as store:
        store.put(result(x=0.1))
        events.clear()  # the store's own writes are SQLite's business
        store.export_csv(tmp_path / "runs.csv")
        store.export_parquet(tmp_path / "runs.parquet")
    assert events == ["fsync", ("replace", "runs.csv"), "fsync", ("replace", "runs.parquet")]
    assert not list(tmp_path.glob(".*.tmp"))
