"""A store written by schema 1 (run id = hash of the full config; fixtures/store_v1.sqlite, made
by that version's code, see fixtures/make_store_v1.py) is migrated once, in one transaction, and
then lists the same runs under their new ids, and sweeps reuse them."""
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from adamlab.cli import main
from adamlab.images.config import ImageConfig
from adamlab.tasks import config_from_dict
from adamlab.sweep import Store, run_sweep
from adamlab.sweep.store import SCHEMA_VERSION
from sweep_helpers import TINY

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _v1_copy(tmp_path) -> Path:
    db = tmp_path / "v1.sqlite"
    shutil.copy(FIXTURES / "store_v1.sqlite", db)
    return db


def _v1_rows(db) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY rowid")]
    for r in rows:
        r["n_metrics"] = conn.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ?",
                                      (r["id"],)).fetchone()[0]
        r["sweeps"] = {s for (s,) in conn.execute("SELECT sweep FROM sweep_runs WHERE run_id = ?",
                                                  (r["id"],))}
    conn.close()
    return rows


def test_the_fixture_is_a_schema_1_store():
    conn = sqlite3.connect(f"file:{FIXTURES / 'store_v1.sqlite'}?mode=ro", uri=True)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 8
    conn.close()


def test_migration_rewrites_ids_keeps_one_copy_of_each_run_and_all_its_rows(tmp_path):
    db = _v1_copy(tmp_path)
    old = _v1_rows(db)
    new_id = {r["id"]: config_from_dict(json.loads(r["config"])).run_id() for r in old}
    with Store(db) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.integrity() == "ok"
        runs = {r["id"]: r for r in store.runs()}
        assert set(runs) == set(new_id.values()) and len(runs) == 5  # 8 rows, 3 pairs merged
        by_old = {r["id"]: r for r in old}
        for rid, run in runs.items():
            copies = [r for r in old if new_id[r["id"]] == rid]
            kept = max(copies, key=lambda r: (r["status"] == "ok", r["finished_at"]))
            assert run["config"] == json.loads(kept["config"])  # the copy kept, whole
            assert len(store.metrics(rid)) == by_old[kept["id"]]["n_metrics"]
            # listed under every sweep that listed any copy
            sweeps = {s for (s,) in store.conn.execute(
                "SELECT sweep FROM sweep_runs WHERE run_id = ?", (rid,))}
            assert sweeps == set().union(*(c["sweeps"] for c in copies))
        engines = {(r["config"]["seed"], r["config"]["batch_size"]): (r["config"]["engine"],
                                                                       r["config"]["log_every"],
                                                                       r["status"])
                   for r in runs.values()}
        assert engines[(0, 2)] == ("batched", 0, "ok")  # two ok copies: the newer
        assert engines[(1, 2)] == ("fast", 0, "ok")  # ok wins over a newer failed copy
        assert engines[(1, 4)] == ("fast", 2, "ok")  # the newer cadence
        assert "unfinished" not in store.sweeps()  # planned, never run: nothing to keep
        assert store.claims() == []


def test_runs_lists_the_same_runs_before_and_after(tmp_path, capsys):
    """`adamlab runs STORE --json` as schema 1 printed it (fixtures/runs_v1.json) equals the
    listing after the migration, run for run, but for the ids and the copies merged away."""
    db = _v1_copy(tmp_path)
    before = json.loads((FIXTURES / "runs_v1.json").read_text())
    assert main(["runs", str(db), "--json"]) == 0
    out = capsys.readouterr()
    assert "migrated from store schema 1 to 2" in out.err
    after = json.loads(out.out)
    kept = {r["id"] for r in after}
    expected = []
    for r in before:
        rid = config_from_dict(r["config"]).run_id()
        copies = [c for c in before if config_from_dict(c["config"]).run_id() == rid]
        if r is max(copies, key=lambda c: (c["status"] == "ok", c["finished_at"])):
            expected.append({**r, "id": rid})
    assert {r["id"] for r in expected} == kept
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(after, key=key) == sorted(expected, key=key)
    # A second open finds schema 2 and changes nothing.
    assert main(["runs", str(db), "--json"]) == 0
    again = capsys.readouterr()
    assert json.loads(again.out) == after and "migrated" not in again.err


def test_sweeps_reuse_the_migrated_runs(tmp_path):
    db = _v1_copy(tmp_path)
    summary = run_sweep({"name": "again", "base": TINY,
                         "grid": {"seed": [0, 1], "batch_size": [2, 4]}}, db, progress=False)
    assert (summary.total, summary.skipped, summary.ran) == (4, 4, 0)


def test_unreadable_configs_keep_their_ids_and_image_runs_get_the_image_rule(tmp_path):
    db = _v1_copy(tmp_path)
    conn = sqlite3.connect(db)
    row = conn.execute("SELECT * FROM runs LIMIT 1").fetchone()
    cols = [c[1] for c in conn.execute("PRAGMA table_info(runs)")]
    rec = dict(zip(cols, row))
    image = ImageConfig(subset=64, checkpoint_dir="/ckpt")
    unknown = {"task": "nosuchtask", "x": 1}
    for rid, cfg in (("old-image-id", image.to_dict()), ("old-unknown-id", unknown)):
        conn.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(cols))})",
                     [{**rec, "id": rid, "config": json.dumps(cfg)}[c] for c in cols])
        conn.execute("INSERT INTO metrics VALUES (?, 0, 0.0, 'train', 'error', 0.5)", (rid,))
    conn.commit()
    conn.close()
    with Store(db) as store:
        ids = {r["id"] for r in store.runs()}
        assert image.run_id() in ids and "old-image-id" not in ids
        assert image.run_id() == ImageConfig(subset=64).run_id()  # checkpoint_dir: bookkeeping
        assert "old-unknown-id" in ids  # still listed; no sweep will find it
        assert len(store.metrics(image.run_id())) == 1 and store.integrity() == "ok"


def test_a_failed_migration_leaves_the_store_at_schema_1(tmp_path, monkeypatch):
    """One transaction: an error half way (here: after the ids were rewritten) rolls it all
    back, and the store opens as schema 1 again."""
    from adamlab.sweep import migrate

    db = _v1_copy(tmp_path)
    before = _v1_rows(db)
    real = migrate.v1_to_v2

    def fail_late(conn, schema):
        real(conn, schema)
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setattr(migrate, "v1_to_v2", fail_late)
    with pytest.raises(Exception, match="simulated"):
        Store(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    assert _v1_rows(db) == before
    monkeypatch.setattr(migrate, "v1_to_v2", real)
    with Store(db) as store:
        assert len(store.runs()) == 5
