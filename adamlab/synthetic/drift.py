"""How far a step moves the noise memorisation of examples that are not in its batch.

A noise coordinate of example i gets gradient only while i is in the batch (and from the examples
that share the coordinate). An optimiser with momentum keeps stepping it afterwards: Lion's
update sign(beta1 * m + (1 - beta1) * g) moves a coordinate in the direction of m, the average of
past gradients, whether or not the current batch touches it; with beta1 = 0 it is
sign(g) (SignSGD with decoupled decay). `out_of_batch_drift` measures that, per step t of a
window:

  rho_i(t)   = max_r <w_{y_i,r}(t), xi_i>   (synthetic/metrics.py: noise memorisation of i)
  drift_in   = mean over steps and i in the batch     of |rho_i(t+1) - rho_i(t)|
  drift_out  = mean over steps and i not in the batch of |rho_i(t+1) - rho_i(t)|
  ratio      = drift_out / drift_in

The run is trained to `at_epoch` as usual (the default engine, its state saved), then the window
is stepped one batch at a time on the same engine and sampler, so its steps are the ones the
uninterrupted run takes.
"""
from __future__ import annotations

import numpy as np

from .activations import sigma_of
from .config import SyntheticConfig
from .continuation import restore
from .data import make_dataset
from .metrics import margins_and_noise
from .model import init_weights
from .sampler import BatchSampler
from .train import engine_for, make_engine, train_synthetic


def out_of_batch_drift(cfg: SyntheticConfig, at_epoch: int, window_epochs: int = 1) -> dict:
    """{at_epoch, steps, drift_in, drift_out, ratio} over `window_epochs` epochs after
    `at_epoch` (module docstring). The paper's data and model only (no variants)."""
    if at_epoch < 1 or window_epochs < 1:
        raise ValueError(f"at_epoch, window_epochs: must be integers >= 1, got {at_epoch}, "
                         f"{window_epochs}")
    first = train_synthetic(cfg.replace(epochs=at_epoch, log_every=at_epoch), save_state=True)
    if first.state is None:
        raise ValueError(f"the run {first.status} before epoch {at_epoch}: no drift to measure")
    data, sigma = make_dataset(cfg), sigma_of(cfg)
    engine = make_engine(cfg, data, init_weights(cfg), engine=engine_for(cfg)[0])
    sampler = BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed)
    restore(engine, sampler, first.state)
    _, rho = margins_and_noise(engine.weights(), data.train, sigma)
    sums, counts = np.zeros(2), np.zeros(2)
    batches = sampler.epochs(window_epochs)
    for batch in batches:
        engine.run(batch[None, :])
        _, after = margins_and_noise(engine.weights(), data.train, sigma)
        moved = np.abs(after - rho)
        inside = np.zeros(len(moved), dtype=bool)
        inside[batch] = True
        sums += moved[inside].sum(), moved[~inside].sum()
        counts += inside.sum(), (~inside).sum()
        rho = after
    drift_in, drift_out = (sums / np.maximum(counts, 1)).tolist()
    return {"at_epoch": at_epoch, "steps": len(batches), "drift_in": drift_in,
            "drift_out": drift_out, "ratio": drift_out / drift_in if drift_in > 0 else None}
