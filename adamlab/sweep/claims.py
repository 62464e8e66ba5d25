"""Claims: a sweep marks a run as being computed before it starts it, so concurrent sweeps on one
store never compute the same run twice (docs/sweeps.md: the claim rule).

A claim is a row of the store's `claims` table: the run id, the claiming sweep's process (host,
pid, and on Linux the process start time, so a reused pid is told apart), a token unique to one
`run_sweep` call, and a heartbeat the sweep refreshes every HEARTBEAT_S seconds. A claim holds
while its owner lives: on the same host, while the owning process exists (a sweep killed with
SIGKILL leaves claims that expire at once); on another host (a driver elsewhere, where no pid can
be checked), while its heartbeat is younger than CLAIM_TTL_S. Storing a run removes its claim in
the same transaction; a sweep releases the claims it still holds when it ends, however it ends
short of SIGKILL.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

# A heartbeat every 30 s and expiry after 120 s: four missed beats before a claim of another host
# lapses, while a store write (one short transaction) takes milliseconds.
CLAIM_TTL_S = 120.0
HEARTBEAT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    run_id       TEXT PRIMARY KEY,   -- a run being computed (no row in `runs` yet)
    sweep        TEXT,               -- the claiming sweep's name
    host         TEXT NOT NULL,      -- the claiming process: host name,
    pid          INTEGER NOT NULL,   -- process id,
    pid_started  TEXT,               -- and its start time (Linux: tells a reused pid apart)
    token        TEXT NOT NULL,      -- unique per run_sweep call
    claimed_at   REAL NOT NULL,      -- unix time
    heartbeat    REAL NOT NULL       -- unix time, refreshed every HEARTBEAT_S while it lives
)"""


def process_started(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat),
    or None where /proc is missing (not Linux) or the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the name in (...) may hold spaces
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process `pid` on this host still runs (and is the one that started at `started`,
    when known). A zombie (killed, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): the pid exists, which is all we can tell
    rest = stat[stat.rindex(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        return False
    return started is None or len(rest) <= 19 or rest[19] == started


@dataclass(frozen=True)
class Owner:
    """Who holds a claim: one run_sweep call in one process."""

    sweep: str
    host: str
    pid: int
    pid_started: str | None
    token: str

    @classmethod
    def here(cls, sweep: str) -> "Owner":
        pid = os.getpid()
        return cls(sweep, socket.gethostname(), pid, process_started(pid), uuid.uuid4().hex)


def expired(host: str, pid: int, pid_started: str | None, heartbeat: float,
            ttl: float = CLAIM_TTL_S, now: float | None = None) -> bool:
    """Whether a claim no longer holds: its owner process on this host is gone, or (another
    host) its heartbeat is older than `ttl` seconds."""
    if host == socket.gethostname():
        return not process_alive(pid, pid_started)
    return (time.time() if now is None else now) - heartbeat > ttl
