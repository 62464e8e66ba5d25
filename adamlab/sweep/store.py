"""The results store: one embedded SQLite file holding every run's record and its metrics.

Why SQLite: one file, no server, transactional, and readable by anything. Every run (docs/contributing.md "Runs,
sweeps, results") keeps its config, status (ok / diverged at step k / failed with reason), timings,
code version, environment and final metrics in `runs`, and its metrics in long form
(step, epoch, split, name, value) in `metrics`. `sweep_runs` records which sweeps planned which
runs, so a run shared by two sweeps is computed once and listed under both; `claims` holds the
runs being computed right now (adamlab/sweep/claims.py), so concurrent sweeps never compute one run
twice.

Ids: a run's id is adamlab.core.fields's run id (the hash of the task, the id-rule version and the
settings that change the numbers, defaults left out), so a store keeps recognising its runs when a
later adamlab adds settings, and a run computed by one engine is found by a sweep asking for
another. A store of an older schema is migrated once, in one transaction, when opened
(adamlab/sweep/migrate.py); one of a newer schema is refused, untouched.

Safety: a run's rows are written in one transaction (`BEGIN IMMEDIATE` ... `COMMIT`), so a kill at
any moment leaves either the whole run or nothing; only finished runs are written, so every row in
`runs` is final and "done" means "has a row". The database is in WAL mode with a busy timeout, so
several sweeps (processes) can write to one store at once and readers never block the writer.
With `synchronous=FULL` a committed run survives a power cut too. WAL needs a local file system
(not NFS). Rows are replaced on a second `put` of the same id (last write wins): training is
deterministic given the config, so both writes carry the same numbers. A write that fails (disk
full) rolls back and raises StoreError naming the file; a file that is not a store, a truncated
one or one of a newer schema raises StoreError before anything is written to it.

Run states (core/state.py: what a run needs to continue past its epochs) are ~1 MB of arrays
each, kept out of the database as compressed .npz files in a folder beside it,
`<store file name>.states/<run id>.npz`, each written atomically (a temporary file renamed into
place), so a kill never leaves half a state. `put` writes a result's state before its row, so a
run that is done with a state always finds it.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from ..core.fields import did_you_mean
from ..core.result import atomic_write
from ..core.state import RunState, read_state, write_state
from ..core.stats import summarise
from . import claims as C
from . import migrate

# ids per `IN (...)` query: under SQLite's smallest limit on bound parameters (999)
_IN_CHUNK = 500

# The store files this process has open, (st_dev, st_ino) -> how many Stores. POSIX advisory
# locks belong to the process, and closing any descriptor of a file drops all of the process's
# locks on it (sqlite.org/howtocorrupt.html, 2.2). Reading the header of a store this process
# already has open (a second Store on it: the claims heartbeat's thread, a nested command)
# would silently release the first connection's locks; another process closing its own
# connection could then checkpoint and delete the WAL under it, and the next writes corrupt the
# file. So `check_file` reads the header only of a file no Store here has open (it was checked
# when first opened), and the check, the connect and the count happen under one lock.
_OPEN: dict[tuple[int, int], int] = {}
_OPEN_LOCK = threading.Lock()


def _file_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


# 1: runs, metrics, sweep_runs, ids = hash of the full config; 2: ids by adamlab.core.fields's run-id
# rule (RUN_ID_VERSION 2) and a claims table.
SCHEMA_VERSION = 2
FINAL_STATUSES = ("ok", "diverged", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,          -- config.run_id(): what changes the numbers
    sweep         TEXT,                      -- the sweep that produced this row
    task          TEXT NOT NULL,
    config        TEXT NOT NULL,             -- JSON, the full config
    status        TEXT NOT NULL CHECK (status IN ('ok', 'diverged', 'failed')),
    reason        TEXT,                      -- why diverged / failed
    steps         INTEGER,
    epochs        REAL,
    seconds       REAL,                      -- the training loop's own time
    wall_seconds  REAL,                      -- the whole run incl. data, init, evaluation
    code_commit   TEXT,
    code_dirty    INTEGER,
    code          TEXT,                      -- JSON: commit, dirty flag, package version
    environment   TEXT,                      -- JSON: python, packages, threads, device, host
    final         TEXT NOT NULL,             -- JSON: the final metrics (Result.summary)
    meta          TEXT,                      -- JSON: everything else the trainer recorded
    started_at    TEXT,
    finished_at   TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step    INTEGER,
    epoch   REAL,
    split   TEXT,
    name    TEXT,
    value   REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics (run_id);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep   TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    PRIMARY KEY (sweep, run_id)
);
""" + C.SCHEMA + ";\n"

# Columns of `runs` a `where` filter or a `by` key may name directly (others are config fields).
RUN_COLUMNS = ("id", "sweep", "task", "status", "reason", "steps", "epochs", "seconds",
               "wall_seconds", "code_commit", "started_at", "finished_at")


_RUN_ID = re.compile(r"[A-Za-z0-9_-]+")


class StoreError(Exception):
    """The store file cannot be used (not a database, truncated, a newer schema, a failed write,
    a bad filter); the message is one line and names the file."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def json_finite(x: Any) -> Any:
    """JSON without NaN/inf (not JSON): non-finite numbers become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_finite(v) for v in x]
    return x


def _dumps(x: Any) -> str:
    return json.dumps(json_finite(x), sort_keys=True, default=str)


class Store:
    """An SQLite results store. Open one per process (connections are not shared across processes).

    `Store(path)` creates the file if needed; `Store(path, create=False)` raises FileNotFoundError
    when it does not exist (for commands that only read).
    """

    def __init__(self, path: str | os.PathLike, create: bool = True, timeout: float = 600.0):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(2, "no such store", str(self.path))
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = None
        with _OPEN_LOCK:
            if _OPEN.get(_file_key(self.path), 0) == 0:
                check_file(self.path)
            try:
                # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is
                # exactly one run. The timeout (seconds) is how long a writer waits for another's
                # lock.
                self.conn = sqlite3.connect(str(self.path), timeout=timeout,
                                            isolation_level=None)
                self._key = _file_key(self.path)
                _OPEN[self._key] = _OPEN.get(self._key, 0) + 1
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot use the results store ({e})") from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._init_schema(create)
        except BaseException as e:
            self.close()  # closing removes the -wal / -shm files opening created
            if isinstance(e, sqlite3.DatabaseError):
                raise StoreError(f"{self.path}: cannot use the results store ({e})") from None
            raise

    def _init_schema(self, create: bool) -> None:
        # One read transaction for both reads: read apart, another process's schema could land
        # between them (version 0, then its tables), and this one would call the store foreign.
        self.conn.execute("BEGIN")
        try:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self.conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        finally:
            self.conn.execute("COMMIT")
        if version == 0:  # an empty file becomes a store; a foreign database is left alone
            if tables or not create:
                raise StoreError(f"{self.path}: not an adamlab results store (an SQLite "
                                 f"database without adamlab's schema)")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema {version} is newer than this adamlab "
                             f"({SCHEMA_VERSION}); upgrade adamlab")
        mode = self._enter_wal()
        if mode.lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch the store to WAL mode (got {mode})")
        self.conn.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            with self._write():
                # Another process may have set the schema up while this one waited for the lock.
                version = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            self.conn.execute(stmt)
                elif version == 1:

                    done = migrate.v1_to_v2(self.conn, C.SCHEMA)
                    print(f"adamlab: {self.path}: migrated from store schema 1 to "
                          f"{SCHEMA_VERSION} (new run ids): {done['runs']} runs, "
                          f"{done['merged']} merged into the copy kept of the same run, "
                          f"{done['unreadable']} with configs no longer readable (old ids kept)",
                          file=sys.stderr)
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _enter_wal(self) -> str:
        """Switch the file to WAL mode (a no-op once it is). Switching a new store out of its
        rollback journal needs every other connection gone, and SQLite answers "database is
        locked" at once then, without waiting for the busy timeout: so wait here, as long."""
        timeout = self.conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        deadline, delay = time.monotonic() + timeout, 0.005
        while True:
            try:
                return self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(2 * delay, 0.2)

    def _write(self):
        return _Transaction(self.conn)

    def close(self) -> None:
        """Close the SQLite connection (the store is also a context manager); closing twice is
        harmless."""
        with _OPEN_LOCK:
            self.conn.close()
            if self._key is not None:
                left = _OPEN.get(self._key, 1) - 1
                if left > 0:
                    _OPEN[self._key] = left
                else:
                    _OPEN.pop(self._key, None)
                self._key = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- writing --------------------------------------------------------------------------------
    def register(self, sweep: str, run_ids: Iterable[str]) -> None:
        """Record that `sweep` plans these runs (so `runs --where sweep=NAME` lists all of them,
        including runs another sweep computed)."""
        rows = [(sweep, rid) for rid in run_ids]
        with self._write():
            self.conn.executemany("INSERT OR IGNORE INTO sweep_runs VALUES (?, ?)", rows)

    def put(self, result, sweep: str | None = None) -> None:
        """Write one finished run (an `adamlab.Result`) and its metrics in one transaction, and
        drop its claim; its state too when it has one (`put_state`). A failed write (disk full)
        leaves the store as it was and raises StoreError."""
        if result.status not in FINAL_STATUSES:
            raise ValueError(f"status: must be one of {', '.join(FINAL_STATUSES)}, "
                             f"got {result.status!r}")
        if getattr(result, "state", None) is not None:
            self.put_state(result.run_id, result.state)
        meta = dict(result.meta or {})
        code = meta.pop("code", {}) or {}
        env = meta.pop("env", {}) or {}
        wall = meta.pop("wall_seconds", None)
        started = meta.pop("started_at", None)
        dirty = code.get("dirty")
        row = (result.run_id, sweep, result.config.get("task", "synthetic"),
               _dumps(result.config), result.status, result.reason, result.steps,
               result.epochs, result.seconds, wall, code.get("commit"),
               None if dirty is None else int(bool(dirty)), _dumps(code), _dumps(env),
               _dumps(result.summary or {}), _dumps(meta), started, _now())
        metrics = [(result.run_id, int(s), float(e), sp, nm, _real(v))
                   for (s, e, sp, nm, v) in result.metrics]
        try:
            with self._write():
                _fault("begin")
                self.conn.execute("DELETE FROM metrics WHERE run_id = ?", (result.run_id,))
                self.conn.execute("INSERT OR REPLACE INTO runs VALUES "
                                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                _fault("run")
                self.conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", metrics)
                _fault("metrics")
                if sweep is not None:
                    self.conn.execute("INSERT OR IGNORE INTO sweep_runs VALUES (?, ?)",
                                      (sweep, result.run_id))
                self.conn.execute("DELETE FROM claims WHERE run_id = ?", (result.run_id,))
            _fault("commit")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot write run {result.run_id} ({e}); the store "
                             f"keeps the runs finished before it") from None

    @property
    def states_dir(self) -> Path:
        """The folder of run states beside the database: `<store file name>.states`."""
        return self.path.with_name(self.path.name + ".states")

    def _state_path(self, run_id: str) -> Path:
        if not _RUN_ID.fullmatch(run_id):  # a file name inside states_dir, never a path
            raise ValueError(f"run_id: must be letters, digits, '_' or '-', got {run_id!r}")
        return self.states_dir / f"{run_id}.npz"

    def put_state(self, run_id: str, state: RunState) -> Path:
        """Keep run `run_id`'s state (replacing any earlier one), atomically."""
        path = self._state_path(run_id)
        try:
            self.states_dir.mkdir(exist_ok=True)
            return write_state(state, path)
        except OSError as e:
            raise StoreError(f"{path}: cannot write the state of run {run_id} ({e})") from None

    def state(self, run_id: str) -> RunState | None:
        """Run `run_id`'s state, or None when none is kept; an unreadable one raises
        StateError naming the file."""
        path = self._state_path(run_id)
        return read_state(path, name="state") if path.is_file() else None

    # ---- claims (adamlab/sweep/claims.py) -------------------------------------------------------
    def claim(self, run_id: str, owner: C.Owner, done: Iterable[str] = FINAL_STATUSES,
              ttl: float = C.CLAIM_TTL_S) -> str:
        """Claim a run for `owner` before computing it, in one short transaction. Returns "done"
        (stored with a status in `done`: nothing to compute), "busy" (claimed by another owner
        that still lives) or "ours" (claimed now, or already ours; an expired claim is taken
        over)."""
        done = tuple(done)
        with self._write():
            row = self.conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None and row[0] in done:
                return "done"
            held = self.conn.execute("SELECT token, host, pid, pid_started, heartbeat FROM "
                                     "claims WHERE run_id = ?", (run_id,)).fetchone()
            if held is not None and held[0] != owner.token and not C.expired(*held[1:], ttl=ttl):
                return "busy"
            now = time.time()
            self.conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              (run_id, owner.sweep, owner.host, owner.pid, owner.pid_started,
                               owner.token, now, now))
        return "ours"

    def refresh_claims(self, owner: C.Owner) -> None:
        """The owner's heartbeat: its claims hold for another CLAIM_TTL_S on other hosts."""
        with self._write():
            self.conn.execute("UPDATE claims SET heartbeat = ? WHERE token = ?",
                              (time.time(), owner.token))

    def release_claims(self, owner: C.Owner) -> None:
        """Drop every claim the owner still holds (a sweep that ends, whatever the reason)."""
        with self._write():
            self.conn.execute("DELETE FROM claims WHERE token = ?", (owner.token,))

    def claims(self) -> list[dict]:
        """The claims held now (expired ones included), oldest first."""
        cur = self.conn.execute("SELECT * FROM claims ORDER BY claimed_at")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    # ---- reading --------------------------------------------------------------------------------
    def done_ids(self, statuses: Iterable[str] = FINAL_STATUSES) -> set[str]:
        """Ids of the runs finished with one of `statuses` (default: any final status)."""
        statuses = tuple(statuses)
        marks = ", ".join("?" * len(statuses))
        cur = self.conn.execute(f"SELECT id FROM runs WHERE status IN ({marks})", statuses)
        return {r[0] for r in cur}

    def status_of(self, run_id: str) -> str | None:
        """The stored status of run `run_id` (ok, diverged, failed), or None when it is not stored."""
        row = self.conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def ids_starting(self, prefix: str) -> list[str]:
        """The stored run ids that start with `prefix` (all of an id is a prefix of it)."""
        rows = self.conn.execute("SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id",
                                 (len(prefix), prefix))  # not LIKE: `_` and `%` are literal
        return [r[0] for r in rows]

    def sweeps(self) -> dict[str, int]:
        """sweep name -> number of runs it planned."""
        cur = self.conn.execute("SELECT sweep, COUNT(*) FROM sweep_runs GROUP BY sweep")
        return dict(cur.fetchall())

    def runs(self, where: dict | None = None, full: bool = False) -> list[dict]:
        """Finished runs, oldest first, each a dict with id, sweep, task, status, reason, steps,
        epochs, seconds, wall_seconds, code_commit, started_at, finished_at, `config` (dict) and
        `final` (dict of final metrics); `full=True` adds `code`, `environment` and `meta`.

        `where`: {key: value or list of values}. A key is a column above, `sweep` (matches runs
        the sweep planned as well as produced), a config field (`batch_size` or
        `config.batch_size`) or a final metric (`final.test_error`). Values compare loosely, so
        strings from a command line match numbers: "1e-2" == 0.01, "2" == 2, "true" == True."""
        where = dict(where or {})
        sql, args = "SELECT * FROM runs", []
        sweep = where.pop("sweep", None)
        if sweep is not None:
            names = sweep if isinstance(sweep, (list, tuple)) else [sweep]
            names = [str(s) for s in names]
            marks = ", ".join("?" * len(names))
            sql += (f" WHERE sweep IN ({marks}) OR id IN (SELECT run_id FROM sweep_runs WHERE "
                    f"sweep IN ({marks}))")
            args = names + names
        out = self._read(sql + " ORDER BY finished_at, rowid", args, full)
        if where:
            known = set(RUN_COLUMNS) | {f"config.{k}" for r in out for k in r["config"]} | \
                {f"final.{k}" for r in out for k in r["final"]}
            for key in where:
                if out and lookup_key(key) not in known:
                    bare = sorted({k for r in out for k in r["config"]} | set(RUN_COLUMNS))
                    raise StoreError(f"where: unknown key {key!r}{did_you_mean(key, bare)} (not a "
                                     f"run column or a config field of any stored run; known: "
                                     f"{', '.join(bare)})")
            out = [r for r in out if all(matches(value_of(r, k), v) for k, v in where.items())]
        return out

    def runs_by_id(self, ids, full: bool = False) -> dict[str, dict]:
        """{id: run} for the finished runs among `ids` (exact ids; unknown ones are left out),
        each as `runs` gives it, without reading the rest of the store."""
        ids, out = list(dict.fromkeys(ids)), {}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i:i + _IN_CHUNK]
            sql = (f"SELECT * FROM runs WHERE id IN ({', '.join('?' * len(chunk))}) "
                   f"ORDER BY finished_at, rowid")
            out.update((r["id"], r) for r in self._read(sql, chunk, full))
        return out

    def _read(self, sql: str, args, full: bool) -> list[dict]:
        """Run rows of a SELECT * as dicts, JSON columns decoded."""
        cur = self.conn.execute(sql, args)
        cols = [c[0] for c in cur.description]
        out = []
        for values in cur:
            rec = dict(zip(cols, values))
            run = {k: rec[k] for k in RUN_COLUMNS}
            run["config"] = json.loads(rec["config"])
            run["final"] = json.loads(rec["final"])
            if full:
                run["code"] = json.loads(rec["code"] or "{}")
                run["environment"] = json.loads(rec["environment"] or "{}")
                run["meta"] = json.loads(rec["meta"] or "{}")
            out.append(run)
        return out

    def metrics(self, run_id: str, split: str | None = None, name: str | None = None) -> list:
        """Long-form metric rows (step, epoch, split, name, value) of one run, in logged order."""
        sql, args = "SELECT step, epoch, split, name, value FROM metrics WHERE run_id = ?", [run_id]
        if split is not None:
            sql += " AND split = ?"
            args.append(split)
        if name is not None:
            sql += " AND name = ?"
            args.append(name)
        return [tuple(r) for r in self.conn.execute(sql + " ORDER BY rowid", args)]

    def aggregate(self, by: list[str] | None = None, metrics: list[str] | None = None,
                  where: dict | None = None) -> list[dict]:
        """Final metrics summarised over the runs that share the `by` keys (typically: over seeds).

        `by`: config fields or run columns; default: every config field that varies among the
        selected runs except `seed`. `metrics`: names in the final metrics; default: every numeric
        one. Each group is a dict with the `by` values, `runs` (how many runs), `ok`, `diverged`,
        `failed` (how many of each status: diverged runs are kept and counted, never dropped) and,
        per metric, `{m}_mean`, `{m}_std` (sample standard deviation, n-1 in the denominator; None
        for fewer than two values), `{m}_n` (finished, `ok` runs with a finite value: a diverged
        run's last values are where it blew up, not a result, so it is counted but not averaged)
        and `{m}_ci95_lo` / `{m}_ci95_hi` (seeded bootstrap interval of the mean; adamlab/core/stats.py
        holds every convention).
        Groups are sorted by their `by` values.
        """
        runs = self.runs(where)
        if by is None:
            by = varying_keys(runs, exclude=("seed",))
        if metrics is None:
            metrics = sorted({k for r in runs for k, v in r["final"].items()
                              if isinstance(v, (int, float)) and not isinstance(v, bool)})
        present = {k for r in runs for k in r["final"]}
        for m in metrics:
            if runs and m not in present:
                raise StoreError(f"metrics: unknown metric {m!r} (known: "
                                 f"{', '.join(sorted(present))})")
        known = set(RUN_COLUMNS) | {k for r in runs for k in r["config"]}
        for key in by:
            if runs and lookup_key(key).split(".", 1)[-1] not in known:
                raise StoreError(f"by: unknown key {key!r}{did_you_mean(key, known)} "
                                 f"(known: {', '.join(sorted(known))})")
        groups: dict[tuple, list[dict]] = {}
        for r in runs:
            groups.setdefault(tuple(_hashable(value_of(r, k)) for k in by), []).append(r)
        out = []
        for key in sorted(groups, key=_sort_key):
            members = groups[key]
            row: dict[str, Any] = {k: value_of(members[0], k) for k in by}
            row["runs"] = len(members)
            for status in FINAL_STATUSES:
                row[status] = sum(m["status"] == status for m in members)
            for m in metrics:  # over finished runs: a diverged run's last values are no result
                st = summarise(x["final"].get(m) for x in members if x["status"] == "ok")
                row[f"{m}_mean"], row[f"{m}_std"], row[f"{m}_n"] = st.mean, st.std, st.n
                row[f"{m}_ci95_lo"], row[f"{m}_ci95_hi"] = st.ci95 or (None, None)
            out.append(row)
        return out

    # ---- export ---------------------------------------------------------------------------------
    def table(self, kind: str = "runs", where: dict | None = None, by: list[str] | None = None,
              metrics: list[str] | None = None) -> tuple[list[str], list[list]]:
        """(columns, rows) of a flat table: `runs` (one row per run: columns, then `config.*`,
        then `final.*`), `metrics` (long form with run_id) or `aggregate` (see `aggregate`)."""
        if kind == "aggregate":
            rows = self.aggregate(by, metrics, where)
            cols = list(rows[0]) if rows else list(by or []) + ["runs", *FINAL_STATUSES]
            return cols, [[r[c] for c in cols] for r in rows]
        runs = self.runs(where)
        if kind == "metrics":
            cols = ["run_id", "step", "epoch", "split", "name", "value"]
            return cols, [[r["id"], *m] for r in runs for m in self.metrics(r["id"])]
        if kind != "runs":
            raise ValueError(f"kind: must be runs, metrics or aggregate, got {kind!r}")
        cfg_keys = _ordered_union(r["config"] for r in runs)
        fin_keys = _ordered_union(r["final"] for r in runs)
        cols = list(RUN_COLUMNS) + [f"config.{k}" for k in cfg_keys] + \
            [f"final.{k}" for k in fin_keys]
        rows = [[r[c] for c in RUN_COLUMNS] + [r["config"].get(k) for k in cfg_keys] +
                [r["final"].get(k) for k in fin_keys] for r in runs]
        return cols, rows

    def export_csv(self, path: str | os.PathLike, kind: str = "runs", **kw) -> int:
        """Write a table (see `table`) as CSV; returns the number of rows."""

        _check_folder(path)
        cols, rows = self.table(kind, **kw)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        w.writerows([["" if v is None else v for v in row] for row in rows])
        atomic_write(Path(path), buf.getvalue())
        return len(rows)

    def export_parquet(self, path: str | os.PathLike, kind: str = "runs", **kw) -> int:
        """Write a table (see `table`) as Parquet (needs the optional extra adamlab[parquet])."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingExtra("Parquet export needs pyarrow: pip install 'adamlab[parquet]'") \
                from None
        _check_folder(path)
        cols, rows = self.table(kind, **kw)
        columns = {c: [row[i] for row in rows] for i, c in enumerate(cols)}
        arrays = {}
        for c, values in columns.items():
            try:
                arrays[c] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types (e.g. int and str)
                arrays[c] = pa.array([None if v is None else str(v) for v in values])
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # as atomic_write (CSV) names it
        try:
            with open(tmp, "wb") as f:
                pq.write_table(pa.table(arrays) if arrays else pa.table({}), f)
                f.flush()
                os.fsync(f.fileno())  # on disk before the rename makes it the export
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return len(rows)

    def integrity(self) -> str:
        """SQLite's own check ("ok" when sound) plus a check that no metric row lacks its run."""
        result = self.conn.execute("PRAGMA integrity_check").fetchone()[0]
        orphans = self.conn.execute("SELECT COUNT(*) FROM metrics WHERE run_id NOT IN "
                                    "(SELECT id FROM runs)").fetchone()[0]
        return result if not orphans else f"{orphans} metric rows without a run"


SQLITE_MAGIC = b"SQLite format 3\x00"


def check_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not an SQLite database or is shorter than
    its own header says (a truncated copy): one line naming the file, nothing written. An empty
    file is a new store. (Header layout: sqlite.org/fileformat.html, section 1.3.)"""
    # Another process may be writing the file: a checkpoint (or a rollback-mode commit while a
    # new store is set up) writes page 1, the header, before the pages that extend the file, so
    # the two sizes disagree for a moment. A truncated copy disagrees for good: look again for
    # about a second before calling it one. With a -wal or -journal file beside it the store is
    # live, and SQLite's own errors (one line through the commands) are the check.
    for attempt in range(TRUNCATION_LOOKS):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0:
            return
        with open(path, "rb") as f:
            head = f.read(100)
        if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
            if attempt + 1 < TRUNCATION_LOOKS and len(head) < 100:
                time.sleep(0.05)  # being written: its first page is not all there yet
                continue
            raise StoreError(f"{path}: not an adamlab results store (not an SQLite database)")
        page_size = int.from_bytes(head[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(head[28:32], "big")
        header_valid = head[92:96] == head[24:28]  # "version-valid-for" == change counter
        live = any(Path(f"{path}{end}").exists() for end in ("-wal", "-journal"))
        if not header_valid or live or size >= pages * page_size:
            return
        if attempt + 1 < TRUNCATION_LOOKS:
            time.sleep(0.05)
    raise StoreError(f"{path}: truncated results store ({size} of the {pages * page_size} "
                     f"bytes its header records); restore it from a copy")


TRUNCATION_LOOKS = 20  # 20 x 50 ms: far longer than a checkpoint of one run's rows takes


def _fault(point: str) -> None:
    """Tests only (tests/sweep/test_store_faults.py): ADAMLAB_TEST_KILL_IN_PUT=POINT:N kills this
    process with SIGKILL at POINT of the N-th write of a run (begin, run, metrics, commit)."""
    spec = os.environ.get("ADAMLAB_TEST_KILL_IN_PUT")
    if not spec or spec.split(":")[0] != point:
        return
    _FAULT_COUNT[point] = _FAULT_COUNT.get(point, 0) + 1
    if _FAULT_COUNT[point] == int(spec.split(":")[1]):
        os.kill(os.getpid(), signal.SIGKILL)


_FAULT_COUNT: dict[str, int] = {}


def _check_folder(path) -> None:
    """Exports go to a temporary file beside `path`; name the user's folder if it is missing."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(2, "no such folder", str(folder))


class MissingExtra(ImportError):
    """An optional dependency (pyarrow, ray) is not installed; the message says how to get it."""


class _Transaction:
    """BEGIN IMMEDIATE takes the write lock at the start (waiting up to busy_timeout), so two
    writers never deadlock upgrading read locks; COMMIT on success, ROLLBACK on any error."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.conn.execute("COMMIT")  # where most pages reach the WAL: may fail too
        finally:
            if self.conn.in_transaction:  # after a full disk SQLite may have rolled back already
                with contextlib.suppress(sqlite3.Error):  # keep the first error, not this one
                    self.conn.execute("ROLLBACK")
        return False


def _real(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def lookup_key(key: str) -> str:
    """Canonical form of a filter / group key: run columns stay, bare names are config fields."""
    if key in RUN_COLUMNS or key.startswith(("config.", "final.")):
        return key
    return f"config.{key}"


def value_of(run: dict, key: str) -> Any:
    """The value of `key` in a run row from `runs()`: a config field, a final metric or a run column."""
    key = lookup_key(key)
    if key.startswith("config."):
        return run["config"].get(key[7:])
    if key.startswith("final."):
        return run["final"].get(key[6:])
    return run.get(key)


def matches(actual: Any, wanted: Any) -> bool:
    """Loose equality, so command-line strings match typed values; a list means any of."""
    if isinstance(wanted, (list, tuple)):
        return any(matches(actual, w) for w in wanted)
    if actual == wanted and type(actual) is type(wanted):
        return True
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return str(actual).lower() == str(wanted).lower()
    if actual is None or wanted is None:
        return str(actual).lower() in ("none", "null") and str(wanted).lower() in ("none", "null")
    try:
        return math.isclose(float(actual), float(wanted), rel_tol=1e-12, abs_tol=0.0)
    except (TypeError, ValueError):
        return str(actual) == str(wanted)


def varying_keys(runs: list[dict], exclude: Iterable[str] = ()) -> list[str]:
    """Config fields whose value differs between the runs, in config order."""
    exclude = set(exclude)
    keys = _ordered_union(r["config"] for r in runs)
    return [k for k in keys if k not in exclude
            and len({json.dumps(r["config"].get(k), sort_keys=True) for r in runs}) > 1]


def _ordered_union(dicts: Iterable[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for d in dicts:
        for k in d:
            seen.setdefault(k, None)
    return list(seen)


def _hashable(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


def _sort_key(key: tuple) -> tuple:
    # None first, then numbers, then strings: mixed types never compare directly
    return tuple((0, 0, "") if v is None else (1, v, "") if isinstance(v, (int, float))
                 else (2, 0, str(v)) for v in key)
