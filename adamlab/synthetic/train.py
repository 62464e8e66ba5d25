"""The synthetic world's training loop (task "synthetic"; adamlab.train dispatches here).

The loop runs the chosen step engine segment by segment (segments end at the epochs of
`config.log_epochs()`, with no Python inside a segment for the fast engine) and logs the paper's
metrics at epoch 0 and after every segment (plus, for optimisers with a second moment, the
step-size ratio of synthetic/mechanism.py). A non-finite batch loss stops the run with status
`diverged` and the step; it is reported, never raised.

`train(config, optimizer=torch.optim.X)` runs any torch optimiser (a class, or a function
params -> optimizer) on the paper's model through the reference engine (optim/custom.py); the
config then records optimizer "custom" and the optimiser's class and repr, so its run id differs
from every built-in optimiser's. engine="fast" runs an optimiser without a fast kernel on the
reference engine with a warning; meta.engine records the engine that ran. K classes, label
noise and a trained second layer run on the fast engine's general loop
(synthetic/general_kernels.py); the batched engine runs every variant too.

`save_state=True` keeps the run's final state in `Result.state` (ok runs only: a diverged run has
nothing to continue); `start_from=state` continues a saved run to `config.epochs`, logging the
epochs of `config.log_epochs()` after the state's (synthetic/continuation.py).
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Callable

import numpy as np
from tqdm import tqdm

from ..core.errors import ConfigError
from ..core.result import Result, make_meta
from ..core.state import RunState
from ..optim.custom import describe
from ..optim.registry import CUSTOM, get
from .activations import sigma_of
from .config import SyntheticConfig
from .continuation import capture, check_start, restore
from .data import make_dataset
from .engines.batched import BatchedEngine, group_key
from .engines.fast import FastEngine
from .engines.reference import ReferenceEngine
from .mechanism import STEP_RATIO
from .metrics import evaluate
from .model import init_second_layer, init_weights
from .sampler import CARRY, BatchSampler

PROGRESS_DELAY_S = 2.0  # the bar appears only for runs longer than this


class EngineFallbackWarning(UserWarning):
    """The requested engine cannot run this optimiser; another engine runs it (meta.engine)."""


def with_custom_optimizer(cfg: SyntheticConfig, optimizer: Callable):
    """The config of a run with a torch optimiser: optimizer "custom" and custom_optimizer the
    optimiser's class and repr (so the run id tells it apart), and the options to record."""

    text, options = describe(optimizer)
    return cfg.replace(optimizer=CUSTOM, custom_optimizer=text), options


def engine_for(cfg: SyntheticConfig, custom: bool = False) -> tuple[str, str | None]:
    """(the engine that runs this config, why it is not the requested one or None)."""

    if custom and cfg.engine != "reference":
        return "reference", (f"engine: a torch optimiser runs on the reference engine, not "
                             f"{cfg.engine!r}")
    if cfg.engine == "fast" and not custom and not get(cfg.optimizer).kernel:
        return "reference", (f"engine: {cfg.optimizer} has no fast kernel; running it on the "
                             f"reference engine (slower, same numbers)")
    return cfg.engine, None


def make_engine(cfg: SyntheticConfig, data, W0, torch_optimizer=None, engine: str | None = None):
    """The step engine `engine` (default: the config's) for one run."""
    engine = engine or cfg.engine
    if engine == "reference" or torch_optimizer is not None:
        return ReferenceEngine(cfg, data, W0, torch_optimizer)
    if engine == "batched":
        return BatchedEngine([cfg], data=[data], W0=[W0]).single()
    return FastEngine(cfg, data, W0)


def summarise(values: dict) -> dict:
    """Final summary from the last metrics: the paper's headline quantities."""
    per_class = {name: v for (split, name), v in values.items()
                 if split == "model" and name.startswith("feature_learning_")}
    out = {
        "train_loss": values[("train", "loss")],
        "train_error": values[("train", "error")],
        "test_loss": values[("test", "loss")],
        "test_error": values[("test", "error")],
        "feature_learning": min(per_class.values()),
        **per_class,
        "noise_memorisation": values[("train", "noise_memorisation_mean")],
        "noise_memorisation_min": values[("train", "noise_memorisation_min")],
        "noise_memorisation_max": values[("train", "noise_memorisation_max")],
        "weight_norm": values[("model", "weight_norm")],
    }
    if STEP_RATIO in values:  # optimisers with a second moment (synthetic/mechanism.py)
        out[STEP_RATIO[1]] = values[STEP_RATIO]
    for key in (("train", "error_flipped"), ("train", "error_clean"),
                ("model", "second_layer_min"), ("model", "second_layer_max")):
        if key in values:  # label noise; a trained second layer (synthetic/metrics.py)
            out[key[1] if key[0] == "model" else "train_" + key[1]] = values[key]
    return out


class RunRecorder:
    """Logs one run's metrics and turns its end state into a Result (shared by all engines)."""

    def __init__(self, cfg: SyntheticConfig, data, W0: np.ndarray, started: float,
                 extra: dict | None = None, engine: str | None = None, note: str | None = None,
                 options: dict | None = None, cpu_started: float | None = None,
                 log_start: bool = True, a0: np.ndarray | None = None):
        self.cfg, self.data, self.started = cfg, data, started
        # CPU seconds of this process from cpu_started (time.process_time()) to the result: on a
        # shared machine wall time counts other jobs' work, this does not (the batched engine's
        # runs share one process, so each records its group's CPU time).
        self.cpu_started = time.process_time() if cpu_started is None else cpu_started
        self.sigma = sigma_of(cfg)
        self.engine, self.note, self.options = engine or cfg.engine, note, options
        self.rows: list = []
        # A continued run (log_start=False) logs only the epochs after its state's.
        self.values = self.log(0, 0, W0, extra, a0) if log_start else {}

    def log(self, step: int, epoch: float, W: np.ndarray, extra: dict | None = None,
            a: np.ndarray | None = None) -> dict:
        """Log the paper's metrics of W (with output weights a when they are trained), and
        `extra` metrics of the engine's optimiser state."""
        values = {**evaluate(W, self.data.train, self.data.test, self.sigma, a),
                  **(extra or {})}
        self.rows.extend((step, epoch, split, name, value)
                         for (split, name), value in values.items())
        self.values = values
        return values

    def log_divergence(self, bad: int, W: np.ndarray, extra: dict | None = None,
                       a: np.ndarray | None = None) -> float:
        """The run's loss was not finite at step `bad`: log its last state (after step bad-1,
        unless that is already logged or not finite) and return the epoch it reached."""
        epoch = self.cfg.epoch_of(bad - 1)
        if np.isfinite(W).all() and (not self.rows or self.rows[-1][0] != bad - 1):
            self.log(bad - 1, epoch, W, extra, a)
        return epoch

    def optimizer_options(self) -> dict:
        """The optimiser's exact options: the registry entry's (or the torch optimiser's own),
        the schedule and the clipping."""

        cfg = self.cfg
        opts = self.options if self.options is not None else get(cfg.optimizer).option_values(cfg)
        return {"optimizer": cfg.optimizer, **opts,
                **{k: getattr(cfg, k) for k in ("schedule", "warmup_epochs", "step_epochs",
                                                "step_gamma", "clip_norm")}}

    def result(self, status: str, reason: str | None, steps: int, epochs: float,
               loop_seconds: float, compile_seconds: float = 0.0, state: RunState | None = None,
               continued_from: RunState | None = None) -> Result:
        """loop_seconds: the steps' time (Result.seconds); compile_seconds: the kernels'
        compile or cache load before the first step, kept apart (meta.compile_seconds)."""
        cfg = self.cfg
        summary = summarise(self.values)
        if status == "diverged":
            summary = {k: (v if isinstance(v, float) and math.isfinite(v) else None)
                       for k, v in summary.items()}
        cfg_dict = cfg.to_dict()
        meta = make_meta(cfg.device, time.time() - self.started, self.started, {
            "engine": self.engine, "dtype": cfg.dtype, "steps_per_epoch": cfg.steps_per_epoch,
            "decay": cfg.decay_semantics(), "optimizer_options": self.optimizer_options(),
            "cpu_seconds": time.process_time() - self.cpu_started,
            "compile_seconds": compile_seconds,
            **({"engine_note": self.note} if self.note else {}),
            **({"continued_from": {"run_id": continued_from.run_id,
                                   "epochs": continued_from.epochs}} if continued_from else {}),
        })
        return Result(run_id=cfg.run_id(), config=cfg_dict, status=status, reason=reason,
                      steps=steps, epochs=epochs, seconds=loop_seconds, summary=summary,
                      metrics=self.rows, meta=meta, state=state)


def second_layer(engine) -> np.ndarray | None:
    """The engine's trained output weights, or None (the paper's fixed layer)."""
    return engine.second_layer() if hasattr(engine, "second_layer") else None


def passes(cfg: SyntheticConfig, epoch: int) -> float:
    """The epoch logged after `epoch` epochs: that integer, or with shuffle-carry the passes its
    steps made, step * B / n (at n = 200, B = 101, 10 epochs are 9 steps: 4.545 passes)."""
    return cfg.epoch_of(cfg.steps_after(epoch)) if cfg.sampler == CARRY else epoch


def _progress_bar(total, progress, desc):
    return tqdm(total=total, unit="step", disable=not progress, delay=PROGRESS_DELAY_S,
                file=sys.stderr, desc=desc, mininterval=0.5, unit_scale=True)


def train_synthetic(cfg: SyntheticConfig, progress: bool = False,
                    torch_optimizer: tuple | None = None, start_from: RunState | None = None,
                    save_state: bool = False) -> Result:
    """torch_optimizer: (class or factory, its recorded options) for a "custom" config.
    start_from: a saved state to continue (synthetic/continuation.py); save_state: keep the final
    state in Result.state."""
    started, cpu_started = time.time(), time.process_time()
    if cfg.optimizer == "custom" and torch_optimizer is None:
        raise ConfigError("optimizer: a 'custom' run needs the torch optimiser itself: "
                          "adamlab.train(config, optimizer=...), got the config alone")
    factory, options = torch_optimizer or (None, None)
    if factory is not None and save_state:
        raise ConfigError("save_state: a run with a torch optimiser keeps its state inside "
                          "torch; it cannot be saved or continued")
    if start_from is not None:
        check_start(cfg, start_from)
    name, note = engine_for(cfg, custom=factory is not None)
    if note:
        warnings.warn(note, EngineFallbackWarning, stacklevel=3)
    data = make_dataset(cfg)
    W0 = init_weights(cfg)
    engine = make_engine(cfg, data, W0, factory, engine=name)
    # numba compiles on the first call (~4 s on a fresh install, 3-4x a 200-epoch B=2 run's
    # steps): timed apart so `seconds` is the steps alone.
    compile_seconds = engine.compile() if isinstance(engine, FastEngine) else 0.0
    sampler = BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed)
    epoch = 0
    if start_from is not None:
        restore(engine, sampler, start_from)
        epoch = start_from.epochs
    rec = RunRecorder(cfg, data, W0, started, engine.extra_metrics(), name, note, options,
                      cpu_started, log_start=start_from is None, a0=init_second_layer(cfg))
    status, reason, reached = "ok", None, passes(cfg, epoch)
    loop_seconds = 0.0
    bar = _progress_bar(cfg.total_steps - cfg.steps_after(epoch), progress,
                        f"{cfg.optimizer} B={cfg.batch_size} seed={cfg.seed}")
    log_epochs = [e for e in cfg.log_epochs() if e > epoch]
    if not log_epochs:  # continued at its last epoch: nothing to run, log where it stands
        rec.log(cfg.steps_after(epoch), reached, engine.weights(), engine.extra_metrics(),
                second_layer(engine))
    for log_epoch in log_epochs:
        k = log_epoch - epoch
        batches = sampler.epochs(k)
        tic = time.perf_counter()
        bad = engine.run(batches)
        loop_seconds += time.perf_counter() - tic
        W = engine.weights()
        if bad is None and not np.isfinite(W).all():
            bad = cfg.steps_after(epoch + k)
        if bad is not None:
            status, reason = "diverged", f"non-finite loss at step {bad}"
            bar.update(bad - cfg.steps_after(epoch))
            reached = rec.log_divergence(bad, W, engine.extra_metrics(), second_layer(engine))
            break
        bar.update(cfg.steps_after(epoch + k) - cfg.steps_after(epoch))
        epoch += k
        reached = passes(cfg, epoch)
        rec.log(cfg.steps_after(epoch), reached, W, engine.extra_metrics(), second_layer(engine))
    bar.close()
    steps = engine.t if status == "ok" else engine.t - 1
    state = capture(cfg, engine, sampler, epoch) if save_state and status == "ok" else None
    return rec.result(status, reason, steps, reached, loop_seconds, compile_seconds, state,
                      start_from)


def train_batched(configs: list[SyntheticConfig], progress: bool = False,
                  on_done: Callable[[Result], None] | None = None) -> list[Result]:
    """Train many synthetic runs with the batched engine, stepping every group of compatible
    runs (same shapes, optimiser family, epochs and log schedule) together. Results come back
    in the order of `configs` and equal what `train` gives each run with engine='batched';
    `on_done(result)` is called for each as soon as its group has finished."""

    groups: dict[tuple, list[int]] = {}
    results: list[Result | None] = [None] * len(configs)
    for i, c in enumerate(configs):
        groups.setdefault(group_key(c), []).append(i)
    total = sum(c.total_steps for c in configs)
    bar = _progress_bar(total, progress, f"{len(configs)} runs, batched")
    for members in groups.values():
        cfgs = [configs[i] for i in members]
        started, cpu_started = time.time(), time.process_time()
        data = [make_dataset(c) for c in cfgs]
        W0 = [init_weights(c) for c in cfgs]
        engine = BatchedEngine(cfgs, data, W0)
        samplers = [BatchSampler(c.n, c.batch_size, c.sampler, c.seed) for c in cfgs]
        recs = [RunRecorder(c, dt, w, started, engine.extra_metrics(r),
                            cpu_started=cpu_started, a0=engine.second_layer(r))
                for r, (c, dt, w) in enumerate(zip(cfgs, data, W0))]
        # A group shares n, B, the sampler's budget and the log epochs (group_key), so the
        # steps of every segment.
        first, epoch, loop_seconds = cfgs[0], 0, 0.0
        ended: dict[int, float] = {}  # run -> epoch at which it diverged
        for log_epoch in first.log_epochs():
            k = log_epoch - epoch
            batches = np.stack([smp.epochs(k) for smp in samplers])
            tic = time.perf_counter()
            bad = engine.run(batches)
            loop_seconds += time.perf_counter() - tic
            bar.update((first.steps_after(epoch + k) - first.steps_after(epoch)) * len(cfgs))
            epoch += k
            step = first.steps_after(epoch)
            for r, rec in enumerate(recs):
                if r in ended:
                    continue
                W = engine.weights(r)
                if bad[r] is None and not np.isfinite(W).all():
                    engine.diverged[r] = bad[r] = step
                a = engine.second_layer(r)
                if bad[r] is not None:
                    ended[r] = rec.log_divergence(bad[r], W, engine.extra_metrics(r), a)
                else:
                    rec.log(step, passes(first, epoch), W, engine.extra_metrics(r), a)
        for r, (i, rec) in enumerate(zip(members, recs)):
            if r in ended:
                results[i] = rec.result("diverged", f"non-finite loss at step {engine.diverged[r]}",
                                        engine.diverged[r] - 1, ended[r], loop_seconds)
            else:
                results[i] = rec.result("ok", None, engine.t, passes(first, epoch),
                                        loop_seconds)
            if on_done is not None:
                on_done(results[i])
    bar.close()
    return results
