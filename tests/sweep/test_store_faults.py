"""Faults: a sweep killed while it writes a run, a full disk, files that are not usable stores.
Each ends with the store passing SQLite's integrity check and every finished run present once."""
import hashlib
import resource
import signal
import sqlite3
import subprocess
import sys

import pytest

from adamlab import SyntheticConfig, train
from adamlab.cli import main
from adamlab.sweep import Store, load_spec, run_sweep
from sweep_helpers import ROOT, TINY, cli, cli_env, toml
from test_sweep_store import result

def _probe_spec(tmp_path, runs: int, **base):
    return toml(tmp_path / "probes.toml", "probes", {"task": "sweepprobe", **base},
                {"x": [float(i) for i in range(runs)]})


def _check(db, n_rows: int) -> list[str]:
    """Integrity, no orphan rows, each stored run once and whole; returns the stored ids."""
    with Store(db) as store:
        assert store.integrity() == "ok"
        ids = [r["id"] for r in store.runs()]
        assert len(ids) == len(set(ids))
        for rid in ids:
            assert len(store.metrics(rid)) == n_rows, rid
        return ids


@pytest.mark.parametrize("point, stored", [("begin", 2), ("run", 2), ("metrics", 2),
                                           ("commit", 3)])
def test_sigkill_while_a_run_is_written(tmp_path, point, stored):
    """ADAMLAB_TEST_KILL_IN_PUT kills `adamlab sweep` with SIGKILL inside its third write of a
    run: after BEGIN, after the run's row, after its metric rows, or right after COMMIT. (The
    batched backend computes in the driver, so no worker is spawned: the kill lands in the same
    Store.put every backend uses.) The killed sweep's claims stay behind and the next sweep
    takes them over at once: their owner is gone."""
    spec = toml(tmp_path / "b.toml", "b", {**TINY, "engine": "batched"}, {"seed": [0, 1, 2, 3]})
    db = tmp_path / "s.sqlite"
    proc = subprocess.run(cli("sweep", spec, "--store", db, "--backend", "batched",
                              "--no-progress"),
                          env={**cli_env(), "ADAMLAB_TEST_KILL_IN_PUT": f"{point}:3"}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    rows = len(train(SyntheticConfig(**TINY)).metrics)
    before = _check(db, rows)
    assert len(before) == stored  # the killed write left nothing, or (after COMMIT) all of it
    with Store(db) as store:  # the dead sweep's claims are still there, and expired
        assert len(store.claims()) == 4 - stored
    again = run_sweep(load_spec(spec), db, backend="batched", progress=False)
    assert (again.skipped, again.ran) == (stored, 4 - stored)
    after = _check(db, rows)
    assert sorted(after) == sorted(load_spec(spec).run_ids())
    with Store(db) as store:
        assert store.claims() == []


def _limit_file_size(limit: int):
    def preexec():
        # Writes past the limit fail with EFBIG (a full disk, as far as SQLite can tell) instead
        # of killing the process with SIGXFSZ.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_a_full_disk_stops_the_sweep_with_one_line_and_keeps_what_was_finished(tmp_path):
    import sweeptask  # noqa: F401

    rows = 2000  # about 150 kB of metric rows per run: the fourth or so no longer fits
    spec = _probe_spec(tmp_path, 8, rows=rows)
    db = tmp_path / "s.sqlite"
    Store(db).close()
    proc = subprocess.run(cli("sweep", spec, "--store", db, "--workers", "1", "--import",
                              "sweeptask", "--no-progress"), env=cli_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(600_000))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"adamlab: error: {db}: cannot write run ")
    assert lines[0].endswith("; the store keeps the runs finished before it")
    kept = _check(db, rows + 1)
    assert 1 <= len(kept) < 8
    again = run_sweep(load_spec(spec), db, workers=1, progress=False)
    assert (again.skipped, again.ran) == (len(kept), 8 - len(kept))
    assert sorted(_check(db, rows + 1)) == sorted(load_spec(spec).run_ids())


def _digest(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _real_store(path):
    with Store(path) as store:
        for i in range(40):
            store.put(result(x=float(i), n_metrics=50))
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _not_a_database(folder):
    path = folder / "runs.sqlite"
    path.write_bytes(b"id,status\n" + b"abc,ok\n" * 500)
    return path, "not an adamlab results store (not an SQLite database)"


def _truncated(folder):
    path = _real_store(folder / "runs.sqlite")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path, "truncated results store"


def _newer_schema(folder):
    path = _real_store(folder / "runs.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    return path, "store schema 99 is newer than this adamlab"


@pytest.mark.parametrize("make", [_not_a_database, _truncated, _newer_schema])
def test_unusable_store_files_fail_with_one_line_naming_the_file_and_stay_untouched(
        tmp_path, capsys, make):
    folder = tmp_path / "out"
    folder.mkdir()
    path, message = make(folder)
    spec = _probe_spec(tmp_path, 1)
    before = _digest(folder)
    for args in (["runs", str(path)], ["runs", str(path), "--by", "x"],
                 ["sweep", str(spec), "--store", str(path), "--import", "sweeptask"],
                 ["reproduce", "table", "--quick", "--out", str(folder)]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith(f"adamlab: error: {path}: {message}"), err
        assert _digest(folder) == before  # nothing written, nothing beside it


# Another process asking for a write lock on SQLite's SHARED byte range (PENDING_BYTE + 2, 510
# bytes): refused while a connection of this process holds its shared lock on the file.
_LOCK_PROBE = r"""
import fcntl, sys
with open(sys.argv[1], "rb+") as f:
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 510, 0x40000002)
        print("granted")
    except OSError:
        print("refused")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX advisory locks")
def test_a_second_store_on_an_open_file_keeps_the_first_ones_locks(tmp_path):
    """Closing any descriptor of a file drops all of the process's POSIX locks on it, so reading
    the header of a store this process already has open (as the claims heartbeat's thread does
    during every sweep) would release the first connection's locks: another process could then
    take the file exclusively, checkpoint and delete the WAL under a live writer, and the store
    ends "malformed" (measured: a critical-batch study's claims table). The first Store's locks
    must survive a second Store opened and closed on the same file."""
    db = tmp_path / "runs.sqlite"
    probe = lambda: subprocess.run([sys.executable, "-c", _LOCK_PROBE, str(db)],  # noqa: E731
                                   capture_output=True, text=True, check=True).stdout.strip()
    with Store(db) as first:
        first.put(result())
        assert first.runs() and probe() == "refused"
        second = Store(db, create=False)
        second.close()
        second.close()  # closing twice is harmless
        assert probe() == "refused"
        with Store(tmp_path / "other.sqlite"):  # another file: checked, and no effect here
            assert probe() == "refused"
    assert probe() == "granted"  # every connection closed: nothing holds the file
    # a header check still guards a file no Store here has open
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 10)
    with pytest.raises(Exception, match="not an adamlab results store"):
        Store(tmp_path / "junk.sqlite")
