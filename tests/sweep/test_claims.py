"""No duplicate work: sweeps claim runs before computing them; a claim holds while its owner lives
and expires when it dies (same host: the process is gone; other hosts: no heartbeat for a TTL)."""
import collections
import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time

from adamlab.sweep import Store, run_sweep
from adamlab.sweep.claims import Owner, expired, process_alive, process_started
from sweep_helpers import ROOT, cli, cli_env, toml
from test_sweep_store import result


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _stored(db, rid) -> bool:
    with Store(db) as store:
        return store.status_of(rid) is not None


def test_claim_states_and_who_may_take_a_claim_over(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        a, b = Owner.here("a"), Owner.here("b")
        assert store.claim("r1", a) == "ours"
        assert store.claim("r1", a) == "ours"  # idempotent for its owner
        assert store.claim("r1", b) == "busy"  # a lives (it is this very process)
        store.put(result(x=1.0))
        rid = result(x=1.0).run_id
        assert store.claim(rid, b) == "done"
        assert store.claim(rid, b, done=("ok",)) == "done"
        store.put(result(x=2.0, status="failed"))
        failed = result(x=2.0).run_id
        assert store.claim(failed, b, done=("ok", "diverged")) == "ours"  # --retry-failed
        assert store.claim("r2", a) == "ours"
        store.put(dataclasses.replace(result(x=3.0), run_id="r2"))  # storing drops the claim
        assert {c["run_id"] for c in store.claims()} == {"r1", failed}
        store.release_claims(a)
        assert {c["run_id"] for c in store.claims()} == {failed}
        # A claim whose owner process is gone is taken over at once.
        ghost = dataclasses.replace(a, pid=_dead_pid(), token="ghost")
        assert store.claim("r3", ghost) == "ours"
        assert store.claim("r3", b) == "ours"


def test_liveness_rules():
    here = socket.gethostname()
    me = os.getpid()
    assert process_alive(me, process_started(me))
    assert not process_alive(_dead_pid())
    assert not process_alive(me, "not-my-start-time")  # a reused pid is another process
    now = time.time()
    assert not expired(here, me, process_started(me), heartbeat=now - 1e6)  # alive: holds
    assert expired(here, _dead_pid(), None, heartbeat=now)
    # Another host: no pid to check, the heartbeat decides.
    assert not expired("elsewhere", me, None, heartbeat=now - 10, ttl=60, now=now)
    assert expired("elsewhere", me, None, heartbeat=now - 61, ttl=60, now=now)


def test_a_zombie_owner_is_dead():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # exited but not reaped: a zombie
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    assert not process_alive(proc.pid)
    proc.wait()


def test_two_sweeps_started_together_compute_every_run_once(tmp_path):
    db = tmp_path / "shared.sqlite"
    log = tmp_path / "computed.log"
    spec = toml(tmp_path / "p.toml", "probes", {"task": "sweepprobe", "sleep": 0.1},
                {"x": [float(i) for i in range(12)]})
    env = {**cli_env(), "SWEEPPROBE_LOG": str(log)}
    procs = [subprocess.Popen(cli("sweep", spec, "--store", db, "--workers", "1",
                                  "--import", "sweeptask", "--no-progress", "--json"),
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    summaries = [json.loads(out) for out, _ in outs]
    computed = collections.Counter(line.split()[0] for line in log.read_text().splitlines())
    assert len(computed) == 12 and set(computed.values()) == {1}  # each run computed once
    assert sum(s["ran"] for s in summaries) == 12
    for s in summaries:  # each saw all 12 before it ended: its own, and the other's waited for
        assert (s["total"], s["skipped"] + s["ran"]) == (12, 12)
    with Store(db) as store:
        assert len(store.runs()) == 12 and store.integrity() == "ok" and store.claims() == []


def test_a_sweep_waits_for_live_claims_and_takes_over_dead_ones(tmp_path):
    import sweeptask  # noqa: F401

    db = tmp_path / "s.sqlite"
    spec = {"name": "w", "base": {"task": "sweepprobe"}, "grid": {"x": [1.0, 2.0, 3.0]}}
    from adamlab.sweep import parse_spec

    ids = parse_spec(spec).run_ids()
    holders = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
               for _ in range(2)]
    try:
        with Store(db) as store:  # two runs held by other live "sweeps"
            for rid, proc in zip(ids[:2], holders):
                other = Owner("other", socket.gethostname(), proc.pid, process_started(proc.pid),
                              f"token-{proc.pid}")
                assert store.claim(rid, other) == "ours"
        box = {}
        thread = threading.Thread(target=lambda: box.setdefault(
            "summary", run_sweep(spec, db, workers=1, progress=False)))
        thread.start()
        deadline = time.monotonic() + 120
        while not _stored(db, ids[2]):  # its one free run
            assert time.monotonic() < deadline, "the free run was never computed"
            time.sleep(0.05)
        time.sleep(1.0)  # two polls of the store: a sweep that did not wait has ended by now
        assert thread.is_alive(), "the sweep ended with runs still being computed elsewhere"
        with Store(db) as store:  # the first holder finishes its run and stores it
            store.put(dataclasses.replace(result(x=1.0), run_id=ids[0]), sweep="other")
        holders[1].kill()  # the second holder dies (SIGKILL): its claim expires
        holders[1].wait()
        thread.join(timeout=120)
        assert not thread.is_alive()
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()
    summary = box["summary"]
    assert (summary.total, summary.skipped, summary.waited, summary.ran) == (3, 1, 1, 2)
    with Store(db) as store:
        assert {r["id"] for r in store.runs()} == set(ids) and store.claims() == []
