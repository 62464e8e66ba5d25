"""`run_sweep`: run every config of a sweep that the store does not have yet, in parallel.

Resume is the store: a run's id is the hash of what changes its numbers (adamlab.core.fields), and a
run is done when the store has its row (written in one transaction when it finishes). Starting the
same sweep again after a crash, a SIGKILL or a reboot therefore runs only what is missing, and a
run interrupted mid-way is simply run again (training is deterministic given the config).

No duplicate work (adamlab/sweep/claims.py): the driver claims each run in the store, in one short
transaction, before handing it to a worker, and skips runs that another live sweep has claimed. A
heartbeat thread keeps this sweep's claims fresh; storing a run drops its claim; the sweep releases
what it still holds when it ends. Once its own work is done, a sweep waits (polling the store) for
the runs other sweeps are still computing, so its summary and a report built after it see them; a
claim whose sweep died (SIGKILL) expires and the run is computed here.

Execution (`backend="local"`): a pool of `workers` spawned processes (spawn: no inherited locks or
torch/numba thread pools), each with one thread for torch, OpenMP, MKL and numba: these runs are
tiny sparse loops and extra threads only contend for the cores. The driver hands one run at a
time to each idle worker and is the only process that writes to the store. A run that raises is
stored as `failed` with `reason = "ExceptionType: message"` (traceback in meta); a worker that
dies (killed, out of memory, a crash in native code) fails only the run it held, and is replaced.
Either way the sweep goes on. `backend="ray"`: the same loop over Ray tasks, on a cluster at
`address` or on a local Ray bound to 127.0.0.1 (optional extra: pip install 'adamlab[ray]').

Continuation (adamlab/sweep/extend.py): a missing synthetic run whose settings the store holds
at fewer epochs, with a kept state, is continued from that state (only the extra epochs are
computed; the result equals a fresh run's, and is stored under the requested run's id with the
base's earlier metric rows). `keep_states=True` keeps every finished synthetic run's final state
(store.put_state: about 1 MB a run at the paper's d = 1000, m = 20) so later, longer sweeps can
continue it. The batched backend computes every run from the start and keeps no states.

Workers build each config from its dict, so any registered task works: the modules that define
the tasks' config classes and trainers, and the activations the runs use, are imported in each
worker first (tasks or activations defined outside adamlab, e.g. in tests, need their module
importable there, i.e. on sys.path).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import importlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing import util
from multiprocessing.connection import wait
from pathlib import Path

import torch
from tqdm import tqdm

from ..core.errors import ConfigError
from ..core.result import Result, make_meta
from ..optim.registry import CUSTOM
from ..synthetic.activations import get as activation
from ..synthetic.train import train_batched
from ..tasks import TASKS, config_from_dict, train
from .claims import CLAIM_TTL_S, HEARTBEAT_S, Owner
from .cost import run_costs
from .extend import Bases, can_keep_state
from .spec import SweepSpec, as_spec
from .store import FINAL_STATUSES, MissingExtra, Store

# One thread per worker process; set before the worker imports torch / numba.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}
BACKENDS = ("local", "ray", "batched")
# How often a sweep whose remaining runs are claimed by other sweeps looks at the store again
# (one indexed read per waiting run).
POLL_S = 0.5
# Percent of the estimated work (not of the runs), the runs done, and the time left.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"


@dataclass
class SweepSummary:
    """What one `run_sweep` call did. `skipped`: already finished in the store (by an earlier or a
    concurrent sweep); `waited`: how many of those this call waited for while another sweep
    computed them; `ran` = ok + diverged + failed of this call."""

    name: str
    total: int
    skipped: int = 0
    ok: int = 0
    diverged: int = 0
    failed: int = 0
    seconds: float = 0.0
    waited: int = 0
    continued: int = 0  # of `ran`, continued from a stored shorter run (sweep/extend.py)
    failures: list = field(default_factory=list)  # (run id, reason)

    @property
    def ran(self) -> int:
        """Runs computed by this call (ok + diverged + failed), as opposed to skipped."""
        return self.ok + self.diverged + self.failed

    def line(self) -> str:
        """The one-line summary the CLI prints at the end of a sweep."""
        more = f", {self.continued} continued from shorter runs" if self.continued else ""
        return (f"sweep {self.name}: {self.total} runs, {self.skipped} already in the store, "
                f"{self.ran} ran ({self.ok} ok, {self.diverged} diverged, {self.failed} failed"
                f"{more}) in {self.seconds:.1f} s")


def done_statuses(retry_failed: bool = False) -> tuple[str, ...]:
    """The statuses of runs a sweep counts as done (not run again): every final one, or only
    ok and diverged when `retry_failed` asks to rerun the failed."""
    return ("ok", "diverged") if retry_failed else FINAL_STATUSES


class MissingRuns(Exception):
    """`run_sweep(..., compute=False)` met runs the store lacks: it computes none of them."""

    def __init__(self, sweep: str, run_ids):
        self.sweep, self.run_ids = sweep, list(run_ids)
        super().__init__(f"sweep {sweep}: {len(self.run_ids)} run"
                         f"{'s' if len(self.run_ids) != 1 else ''} not in the store (e.g. "
                         f"{self.run_ids[0]}); nothing was computed (compute=False)")


# ---- one run, in a worker -----------------------------------------------------------------------
def limit_threads() -> None:
    for var, value in THREAD_ENV.items():
        os.environ[var] = value

    torch.set_num_threads(1)


def import_modules(modules) -> None:
    for name in modules:
        importlib.import_module(name)


def run_one(run_id: str, config: dict, options: dict | None = None):
    """Train one run; never raises: an exception becomes a `failed` Result with the reason.
    options: `start_from` (a state file to continue; one that cannot be read or used is ignored
    and the run starts over) and `save_state` (keep the final state), for adamlab.train."""

    started = time.time()
    options = dict(options or {})
    try:
        try:
            result = train(config, **options)
        except ConfigError:  # a state removed or changed since the sweep planned the run
            if options.pop("start_from", None) is None:
                raise
            result = train(config, **options)
        if result.run_id != run_id:  # would break resume: the store would never see `run_id`
            raise RuntimeError(f"trainer returned run id {result.run_id}, expected {run_id}")
        if result.status not in FINAL_STATUSES:
            raise RuntimeError(f"trainer returned status {result.status!r}, not one of "
                               f"{', '.join(FINAL_STATUSES)}")
        return result
    except Exception as e:  # noqa: BLE001 (the whole point: record it, go on)
        reason = f"{type(e).__name__}: {e}"
        tb = traceback.format_exc()
    return failed_result(run_id, config, reason, started, tb)


def failed_result(run_id, config, reason, started, tb=None):
    try:
        meta = make_meta(config.get("device", "cpu"), time.time() - started, started,
                         {"traceback": tb} if tb else None)
    except Exception:  # noqa: BLE001 (provenance is best effort for a run that already failed)
        meta = {"wall_seconds": time.time() - started, "traceback": tb}
    return Result(run_id=run_id, config=config, status="failed", reason=reason, steps=0,
                  epochs=0, seconds=0.0, summary={}, metrics=[], meta=meta)


def _exit_with_parent(parent: int) -> None:
    """A worker whose driver is gone (SIGKILL) stops within a second instead of finishing its run
    for nobody (the driver would store it, and no driver is left)."""
    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _quick_exit() -> None:
    """Skip the interpreter's teardown of torch and numba (about 1 s per worker at the end of
    every sweep): run multiprocessing's exit handlers (they unlink this process's semaphores, e.g.
    tqdm's lock), flush, and leave."""
    try:

        util._exit_function()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _worker_main(conn, modules, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _exit_with_parent(parent)
    limit_threads()
    import_modules(modules)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            _quick_exit()
        run_id, config, options = msg
        result = run_one(run_id, config, options)
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
        except Exception as e:  # noqa: BLE001 (an unpicklable result still ends as a record)
            conn.send(failed_result(run_id, config, f"{type(e).__name__}: result could not be "
                                    f"sent to the driver: {e}", time.time()))


# ---- the driver ---------------------------------------------------------------------------------
def task_modules(spec: SweepSpec) -> list[str]:
    """Modules defining the tasks' configs and trainers and the activations they use (imported in
    workers before any run)."""
    mods = []
    for cfg in spec.configs:
        trainer = TASKS[cfg.task].trainer if cfg.task in TASKS else None
        # an activation registered outside adamlab must be registered in the workers too
        registers = activation(cfg.activation).torch.__module__ if hasattr(cfg, "activation") \
            else None
        for mod in (type(cfg).__module__, getattr(trainer, "__module__", None), registers):
            if mod and mod not in ("__main__", "__mp_main__") and mod not in mods:
                mods.append(mod)
    return mods


def run_sweep(spec, store, workers: int | None = None, backend: str = "local",
              address: str | None = None, progress: bool = True,
              retry_failed: bool = False, claim_ttl: float = CLAIM_TTL_S,
              pool: "WorkerPool | None" = None, keep_states: bool = False,
              continue_runs: bool = True, compute: bool = True) -> SweepSummary:
    """Run the runs of `spec` (SweepSpec, dict, TOML path or preset name) missing from `store`
    (Store or path). Runs with any final status count as done; `retry_failed=True` runs the
    `failed` ones again. `claim_ttl`: seconds after which another host's claim without a
    heartbeat lapses. `pool`: a WorkerPool whose workers (or Ray) outlive this call, for callers
    that run many small sweeps. `keep_states`: keep each finished synthetic run's final state
    (~1 MB a run). `continue_runs`: continue a missing run from a stored shorter one with a kept
    state (sweep/extend.py). `compute=False`: only read: MissingRuns when any run is not in the
    store, and nothing is written (a replay that must not start work). Returns a SweepSummary;
    results are in the store."""
    spec = as_spec(spec)
    if backend not in BACKENDS:
        raise ConfigError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ConfigError(f"workers: must be an integer >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise ConfigError("address: only for backend 'ray'")
    if backend == "batched":
        spec = dataclasses.replace(spec, configs=tuple(on_batched_engine(spec.configs)))
    own_store = not isinstance(store, Store)
    store = Store(store) if own_store else store
    try:
        if not compute:
            done = store.done_ids(done_statuses(retry_failed))
            ids = spec.run_ids()
            missing = [rid for rid in ids if rid not in done]
            if missing:
                raise MissingRuns(spec.name, missing)
            return SweepSummary(spec.name, total=len(ids), skipped=len(ids))
        return _run(spec, store, workers, backend, address, progress, retry_failed, claim_ttl,
                    pool, keep_states, continue_runs and backend != "batched")
    finally:
        if own_store:
            store.close()


def on_batched_engine(configs) -> list:
    """`configs` with engine = "batched" (the batched backend runs them all in this process).
    `engine` is bookkeeping, left out of the run id, so the runs keep their ids and a store
    filled on the fast engine skips them. A run the batched engine cannot step (another task, a
    torch optimiser, float32) is a ConfigError naming it."""
    out, wrong = [], []
    for c in configs:
        if c.task != "synthetic":
            wrong.append(f"{c.run_id()} (task {c.task!r})")
        elif c.optimizer == CUSTOM:
            wrong.append(f"{c.run_id()} (a torch optimiser: reference engine only)")
        elif c.engine == "batched":
            out.append(c)
        else:
            try:
                out.append(c.replace(engine="batched"))
            except ConfigError as e:
                wrong.append(f"{c.run_id()} ({e})")
    if wrong:
        more = f", ... ({len(wrong)} in all)" if len(wrong) > 3 else ""
        raise ConfigError(f"backend: 'batched' steps synthetic runs of the registry's optimisers; "
                          f"it cannot run {', '.join(wrong[:3])}{more}")
    return out


def _run(spec, store, workers, backend, address, progress, retry_failed,
         claim_ttl, pool=None, keep_states=False, continue_runs=True) -> SweepSummary:

    tic = time.perf_counter()
    statuses = done_statuses(retry_failed)
    ids = spec.run_ids()
    store.register(spec.name, ids)
    done = store.done_ids(statuses)
    todo = collections.deque((rid, cfg.to_dict()) for rid, cfg in zip(ids, spec.configs)
                             if rid not in done)
    waiting: list = []  # claimed by another sweep that still runs
    summary = SweepSummary(spec.name, total=len(ids), skipped=len(ids) - len(todo))
    # The bar advances by each run's estimated cost (sweep/cost.py: a B = 1 run is ~9 B = 200
    # runs at 10^4 epochs), so its time left follows the work that remains, not the run count.
    cost = dict(zip(ids, run_costs(spec.configs)))
    bar = tqdm(total=sum(cost.values()), initial=sum(cost[i] for i in ids if i in done),
               desc=f"sweep {spec.name}", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, smoothing=0.1, bar_format=BAR_FORMAT)
    finished = [summary.skipped]

    def advance(rid: str) -> None:
        finished[0] += 1
        bar.set_postfix_str(f"{finished[0]}/{len(ids)} runs, failed={summary.failed}, "
                            f"diverged={summary.diverged}", refresh=False)
        bar.update(cost[rid])

    bar.set_postfix_str(f"{summary.skipped}/{len(ids)} runs, failed=0, diverged=0")
    owner = Owner.here(spec.name)
    bases = Bases(store) if continue_runs and todo else None
    continued: dict = {}  # run id -> (Base, its metric rows up to its end)

    def options(rid: str, cfg: dict) -> dict:
        """adamlab.train's keyword arguments for this run (continuation, keeping the state)."""
        opts = {"save_state": True} if keep_states and can_keep_state(cfg) else {}
        base = bases.find(cfg) if bases is not None else None
        if base is not None:
            continued[rid] = (base, bases.prefix(base, cfg))
            opts["start_from"] = str(store.states_dir / f"{base.run_id}.npz")
        return opts

    def claim(rid) -> str:
        state = store.claim(rid, owner, statuses, ttl=claim_ttl)
        if state == "done":  # a concurrent sweep finished it meanwhile
            summary.skipped += 1
            advance(rid)
        return state

    def next_run():
        """The next missing run, claimed for this sweep; runs another live sweep has claimed are
        set aside (`waiting`)."""
        while todo:
            rid, cfg = todo.popleft()
            state = claim(rid)
            if state == "ours":
                return rid, cfg, options(rid, cfg)
            if state == "busy":
                waiting.append((rid, cfg))
        return None

    def record(result) -> None:
        base = continued.pop(result.run_id, None)
        if base is not None and (result.meta or {}).get("continued_from"):
            result.metrics = list(base[1]) + list(result.metrics)
            summary.continued += 1
        store.put(result, sweep=spec.name)
        setattr(summary, result.status, getattr(summary, result.status) + 1)
        if result.status == "failed":
            summary.failures.append((result.run_id, result.reason))
        advance(result.run_id)

    heartbeat = _Heartbeat(store.path, owner) if todo else None
    try:
        modules = task_modules(spec) if todo else []
        while todo or waiting:
            if todo:
                if backend == "ray":
                    _drive_ray(next_run, record, modules, workers, address, pool)
                elif backend == "batched":
                    _drive_batched(next_run, record)
                else:
                    _drive_local(next_run, record, modules, workers or os.cpu_count() or 1,
                                 len(todo), pool)
            if waiting:  # the rest is being computed elsewhere: wait for it, or take it over
                bar.set_postfix_str(f"{finished[0]}/{len(ids)} runs, failed={summary.failed}, "
                                    f"diverged={summary.diverged}, waiting={len(waiting)}")
                time.sleep(POLL_S)
                still = []
                for rid, cfg in waiting:
                    state = claim(rid)
                    if state == "done":
                        summary.waited += 1
                    elif state == "busy":
                        still.append((rid, cfg))
                    else:  # its sweep died: computed here
                        todo.append((rid, cfg))
                waiting[:] = still
    finally:
        bar.close()
        if heartbeat is not None:
            heartbeat.stop()
            with contextlib.suppress(Exception):  # a full disk must not hide the first error
                store.release_claims(owner)
        summary.seconds = time.perf_counter() - tic
    return summary


class _Heartbeat:
    """Refreshes this sweep's claims every HEARTBEAT_S seconds from a thread with its own
    connection (the driver may be inside a long batched group, or waiting on its workers)."""

    def __init__(self, path, owner: Owner):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(path, owner), daemon=True,
                                        name="adamlab-claims-heartbeat")
        self._thread.start()

    def _beat(self, path, owner) -> None:
        store = None
        try:
            while not self._stop.wait(HEARTBEAT_S):
                try:
                    store = store or Store(path, create=False)
                    store.refresh_claims(owner)
                except Exception:  # noqa: BLE001 (a missed beat only shortens a remote TTL)
                    pass
        finally:
            if store is not None:
                store.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _drive_batched(next_run, record) -> None:
    """All missing runs in this process, each group of compatible runs stepping together as one
    torch program (the GPU path, adamlab.synthetic.engines.batched); a group's results are stored as soon as
    it finishes."""

    tasks = []
    while (task := next_run()) is not None:
        tasks.append(task)
    train_batched([config_from_dict(task[1]) for task in tasks], on_done=record)


class _Worker:
    def __init__(self, ctx, modules):
        self.conn, child = ctx.Pipe()
        saved = {k: os.environ.get(k) for k in THREAD_ENV}
        os.environ.update(THREAD_ENV)  # the child's environment is copied at spawn
        try:
            self.proc = ctx.Process(target=_worker_main, args=(child, modules, os.getpid()),
                                    daemon=True, name="adamlab-sweep-worker")
            self.proc.start()
        finally:
            _restore_env(saved)
        child.close()
        self.task = None  # (run id, config dict, train options) while busy

    def send(self, task) -> None:
        self.task = task  # (run id, config dict, train options)
        self.conn.send(task)

    def ask_stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
            return
        try:
            self.conn.send(None)
        except OSError:
            pass

    def join(self) -> None:
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _death_reason(proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            return f"WorkerDied: worker process killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"WorkerDied: worker process exited with status {code}"


def _drive_local(next_run, record, modules, workers: int, n_todo: int, kept=None) -> None:
    ctx = mp.get_context("spawn")
    pool = kept.take(ctx, modules, min(workers, n_todo)) if kept is not None else \
        [_Worker(ctx, modules) for _ in range(min(workers, n_todo))]
    ok = False
    try:
        for w in pool:
            task = next_run()
            if task is None:
                break
            w.send(task)
        while any(w.task for w in pool):
            busy = [w for w in pool if w.task]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for w in busy:
                if w.conn not in ready and w.proc.sentinel not in ready:
                    continue
                result = None
                if w.conn.poll():
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        result = None
                if result is None:  # the worker died holding this run
                    w.proc.join(timeout=5)
                    rid, cfg = w.task[:2]
                    record(failed_result(rid, cfg, _death_reason(w.proc), time.time()))
                    w.task = None
                    w.ask_stop(kill=True)
                    w.join()
                    task = next_run()
                    if task is not None:
                        pool[pool.index(w)] = w = _Worker(ctx, modules)
                        w.send(task)
                    continue
                w.task = None
                record(result)
                task = next_run()
                if task is not None:
                    w.send(task)
        ok = True
    finally:
        if ok and kept is not None:
            kept.give_back(pool)
        else:
            _stop(pool, kill=not ok)


def _stop(workers, kill: bool) -> None:
    for w in workers:  # ask all to stop first, then wait: they exit in parallel
        w.ask_stop(kill=kill)
    for w in workers:
        w.join()


class WorkerPool:
    """Worker processes (and a local Ray) kept across `run_sweep(..., pool=pool)` calls.

    Starting a worker (spawn, then importing torch and numba) takes about 2 s on an idle 2-core
    machine and about 7 s on a busy one; a bisection that runs one small sweep per round
    (adamlab.sweep.critical) would pay it every round. Use as a context manager; closing stops the
    workers (and a Ray this pool started). Workers import the task modules they start with, so a
    sweep needing other modules gets fresh workers."""

    def __init__(self):
        self.idle: list[_Worker] = []
        self.modules: tuple = ()
        self.ray_started = False

    def take(self, ctx, modules, k: int) -> list:
        if not set(modules) <= set(self.modules):
            self.close_workers()
            self.modules = tuple(modules)
        alive = [w for w in self.idle if w.proc.is_alive()]
        _stop([w for w in self.idle if w not in alive], kill=True)
        taken, self.idle = alive[:k], alive[k:]
        return taken + [_Worker(ctx, self.modules) for _ in range(k - len(taken))]

    def give_back(self, workers) -> None:
        self.idle += [w for w in workers if w.task is None and w.proc.is_alive()]

    def close_workers(self) -> None:
        _stop(self.idle, kill=False)
        self.idle = []

    def close(self) -> None:
        self.close_workers()
        if self.ray_started:
            import_ray().shutdown()
            self.ray_started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- Ray ----------------------------------------------------------------------------------------
def import_ray():
    try:
        import ray
    except ImportError:
        raise MissingExtra("the Ray backend needs ray: pip install 'adamlab[ray]'") from None
    return ray


@contextlib.contextmanager
def _loopback(ray):
    """While a local Ray starts, make it bind to 127.0.0.1: on Linux it otherwise advertises the
    address of the default route. This is Ray's own switch (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0,
    read into ray_constants.ENABLE_RAY_CLUSTER at import), restored afterwards."""
    from ray._private import ray_constants

    saved_env = {k: os.environ.get(k) for k in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
                                                 "RAY_USAGE_STATS_ENABLED")}
    saved = ray_constants.ENABLE_RAY_CLUSTER
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # for the processes Ray starts
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network calls
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved
        _restore_env(saved_env)


def _restore_env(saved: dict) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _ray_task(run_id, config, modules, options=None):
    limit_threads()
    import_modules(modules)
    return run_one(run_id, config, options)


def _drive_ray(next_run, record, modules, workers, address, kept=None) -> None:
    ray = import_ray()
    started_here = not ray.is_initialized()
    shutdown_here = started_here and kept is None
    if started_here and kept is not None:  # the pool shuts it down when it closes
        kept.ray_started = True
    if started_here:
        env = dict(THREAD_ENV)
        kw = dict(include_dashboard=False, log_to_driver=False)
        if address is None:
            # Local workers import adamlab (and test tasks) from the driver's path, as spawn does.
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())
            with _loopback(ray):
                ray.init(num_cpus=workers or os.cpu_count() or 1, _node_ip_address="127.0.0.1",
                         object_store_memory=100 * 2**20, runtime_env={"env_vars": env}, **kw)
        else:
            # A cluster's workers must have adamlab installed (the same version, ideally).
            ray.init(address=address, runtime_env={"env_vars": env}, **kw)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        slots = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending = {}
        while True:
            while len(pending) < 2 * slots:  # a small queue per slot, so new runs start at once
                task = next_run()
                if task is None:
                    break
                pending[remote.remote(task[0], task[1], modules, task[2])] = task
            if not pending:
                break
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            rid, cfg = pending.pop(ref)[:2]
            try:
                result = ray.get(ref)
            except Exception as e:  # noqa: BLE001 (worker crash, node lost: fail this run only)
                result = failed_result(rid, cfg, f"{type(e).__name__}: {e}", time.time())
            record(result)
    finally:
        if shutdown_here:
            ray.shutdown()
