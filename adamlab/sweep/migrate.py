"""One-time migrations of a results store to the current schema, each in one transaction.

Schema 1 -> 2: run ids change from the hash of the full config to the run-id rule of
adamlab.core.fields (RUN_ID_VERSION 2: only settings that change the numbers, defaults left out), and a
`claims` table appears. Every stored run's new id is recomputed from its stored config and
rewritten in `runs`, `metrics` and `sweep_runs`. Rows that become one run (the same config
computed by the fast and by the batched engine, or with another log cadence) keep one: an `ok`
one before any other status, then the newest. A run whose config can no longer be read (a task
whose module is not imported, a setting since removed) keeps its old id: it is still listed, but
no sweep will find it. `sweep_runs` rows of runs that never finished are dropped (nothing is
stored for them; their sweep registers them again when it runs).
"""
from __future__ import annotations

import json
import sqlite3

from ..core.errors import ConfigError
from ..tasks import config_from_dict


def new_id(config_json: str) -> str | None:
    """The current run id of a stored config, or None when it cannot be built any more."""
    try:
        return config_from_dict(json.loads(config_json)).run_id()
    except (ConfigError, ValueError, TypeError, KeyError):
        return None


def v1_to_v2(conn: sqlite3.Connection, claims_schema: str) -> dict:
    """Migrate inside the caller's write transaction; returns counts for the record."""
    rows = conn.execute("SELECT id, config, status, finished_at, rowid FROM runs").fetchall()
    unfinished = conn.execute("SELECT COUNT(*) FROM sweep_runs WHERE run_id NOT IN "
                              "(SELECT id FROM runs)").fetchone()[0]
    ids = {old: new_id(cfg) for old, cfg, *_ in rows}
    mapping = {old: (ids[old] or old, status == "ok", finished or "", rowid)
               for old, _, status, finished, rowid in rows}
    best: dict[str, tuple] = {}
    for old, (new, ok, finished, rowid) in mapping.items():
        rank = (ok, finished, rowid)
        if new not in best or rank > best[new][0]:
            best[new] = (rank, old)
    keep = {old for _, old in best.values()}
    conn.execute("CREATE TEMP TABLE idmap (old TEXT PRIMARY KEY, new TEXT NOT NULL, keep INTEGER)")
    conn.executemany("INSERT INTO idmap VALUES (?, ?, ?)",
                     [(old, new, int(old in keep)) for old, (new, *_) in mapping.items()])
    # Parent keys change below while metrics still point at them: check the keys at COMMIT.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    conn.execute("DELETE FROM metrics WHERE run_id IN (SELECT old FROM idmap WHERE keep = 0)")
    conn.execute("DELETE FROM runs WHERE id IN (SELECT old FROM idmap WHERE keep = 0)")
    changed = "SELECT old FROM idmap WHERE keep = 1 AND old != new"
    conn.execute(f"UPDATE runs SET id = (SELECT new FROM idmap WHERE old = runs.id) "
                 f"WHERE id IN ({changed})")
    conn.execute(f"UPDATE metrics SET run_id = (SELECT new FROM idmap WHERE old = metrics.run_id) "
                 f"WHERE run_id IN ({changed})")
    # A run listed under a sweep stays listed under it, whichever copy was kept.
    conn.execute("INSERT OR IGNORE INTO sweep_runs SELECT s.sweep, m.new FROM sweep_runs s "
                 "JOIN idmap m ON s.run_id = m.old")
    conn.execute("DELETE FROM sweep_runs WHERE run_id NOT IN (SELECT id FROM runs)")
    conn.execute(claims_schema)
    conn.execute("DROP TABLE idmap")
    return {"runs": len(rows), "kept": len(keep), "merged": len(rows) - len(keep),
            "unreadable": sum(v is None for v in ids.values()), "unfinished_dropped": unfinished}
