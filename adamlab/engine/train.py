"""`train(config) -> Result`: the one entry point the CLI, the sweeps and the tests all call.

The synthetic loop runs the chosen step engine segment by segment (one segment = `log_every`
epochs, with no Python inside a segment for the fast engine) and logs the paper's metrics at epoch 0,
after every segment and at the end. A non-finite batch loss stops the run with status `diverged`
and the step; it is reported, never raised.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable

import numpy as np
from tqdm import tqdm

from ..config import ConfigBase, SyntheticConfig, config_from_dict
from ..data.synthetic import make_dataset
from ..models.cnn import init_weights
from .metrics import evaluate
from .result import Result, make_meta, write_run_dir
from .sampler import BatchSampler

_TRAINERS: dict[str, Callable] = {}


def register_trainer(task: str):
    def deco(fn):
        _TRAINERS[task] = fn
        return fn
    return deco


def train(config: ConfigBase | dict, out=None, progress: bool = False) -> Result:
    """Train one run. `out`: a folder to write config.json, meta.json, metrics.csv, summary.json.
    `progress`: show a progress bar on stderr (only once the run has taken a couple of seconds)."""
    if isinstance(config, dict):
        config = config_from_dict(config)
    trainer = _TRAINERS.get(config.task)
    if trainer is None:  # tasks whose modules register on import
        from .. import tasks  # noqa: F401
        trainer = _TRAINERS[config.task]
    result = trainer(config, progress=progress)
    if out is not None:
        write_run_dir(result, out)
    return result


def make_engine(cfg: SyntheticConfig, data, W0):
    if cfg.engine == "reference":
        from .reference import ReferenceEngine
        return ReferenceEngine(cfg, data, W0)
    if cfg.engine == "batched":
        from .batched import BatchedEngine
        return BatchedEngine([cfg], data=[data], W0=[W0]).single()
    from .fast import FastEngine
    return FastEngine(cfg, data, W0)


def summarise(values: dict) -> dict:
    """Final summary from the last metrics: the paper's headline quantities."""
    fl = (values[("model", "feature_learning_pos")], values[("model", "feature_learning_neg")])
    return {
        "train_loss": values[("train", "loss")],
        "train_error": values[("train", "error")],
        "test_loss": values[("test", "loss")],
        "test_error": values[("test", "error")],
        "feature_learning": min(fl),
        "feature_learning_pos": fl[0],
        "feature_learning_neg": fl[1],
        "noise_memorisation": values[("train", "noise_memorisation_mean")],
        "noise_memorisation_min": values[("train", "noise_memorisation_min")],
        "noise_memorisation_max": values[("train", "noise_memorisation_max")],
        "weight_norm": values[("model", "weight_norm")],
    }


@register_trainer("synthetic")
def train_synthetic(cfg: SyntheticConfig, progress: bool = False) -> Result:
    started = time.time()
    data = make_dataset(cfg)
    W0 = init_weights(cfg)
    engine = make_engine(cfg, data, W0)
    sampler = BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed)
    spe = cfg.steps_per_epoch
    rows: list = []

    def log(step: int, epoch: float, W: np.ndarray) -> dict:
        values = evaluate(W, data.train, data.test, cfg.power)
        rows.extend((step, epoch, split, name, value) for (split, name), value in values.items())
        return values

    values = log(0, 0, W0)
    status, reason, epoch = "ok", None, 0
    loop_seconds = 0.0
    bar = tqdm(total=cfg.total_steps, unit="step", disable=not progress, delay=2.0,
               file=sys.stderr, desc=f"{cfg.optimizer} B={cfg.batch_size} seed={cfg.seed}",
               mininterval=0.5, unit_scale=True)
    while epoch < cfg.epochs:
        k = min(cfg.log_interval, cfg.epochs - epoch)
        batches = sampler.epochs(k)
        tic = time.perf_counter()
        bad = engine.run(batches)
        loop_seconds += time.perf_counter() - tic
        W = engine.weights()
        if bad is None and not np.isfinite(W).all():
            bad = (epoch + k) * spe
        if bad is not None:
            status, reason = "diverged", f"non-finite loss at step {bad}"
            epoch_done = (bad - 1) / spe
            bar.update(bad - epoch * spe)
            if np.isfinite(W).all():
                values = log(bad - 1, epoch_done, W)
            epoch = epoch_done
            break
        epoch += k
        bar.update(k * spe)
        values = log(epoch * spe, epoch, W)
    bar.close()
    steps = engine.t if status == "ok" else engine.t - 1
    summary = summarise(values)
    if status == "diverged":
        summary = {k: (v if isinstance(v, float) and math.isfinite(v) else None)
                   for k, v in summary.items()}
    cfg_dict = cfg.to_dict()
    meta = make_meta(cfg.device, time.time() - started, started, {
        "engine": cfg.engine, "dtype": "float64", "steps_per_epoch": spe,
        "decay": cfg.decay_semantics(),
        "optimizer_options": {k: cfg_dict[k] for k in ("optimizer", "lr", "weight_decay", "beta1",
                              "beta2", "eps", "bias_correction", "momentum")},
    })
    return Result(run_id=cfg.run_id(), config=cfg_dict, status=status, reason=reason,
                  steps=steps, epochs=epoch, seconds=loop_seconds, summary=summary,
                  metrics=rows, meta=meta)
