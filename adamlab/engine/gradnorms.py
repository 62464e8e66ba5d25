"""Batch-gradient norms along a run: to choose a clipping threshold that binds, and to say how
often it bound (PAPER.md "Limits": gradient clipping is not analysed by the paper).

Clipping by global norm (optim/clip.py) changes a step only when the L2 norm of the batch-loss
gradient exceeds `clip_norm`. The engines do not count how often that happens (it would cost the
fast loop a branch and an output), so `gradient_norms` replays a run instead: the same data,
initialisation and batch order as `adamlab.train`, on the same step engine, taking one step at a
time through a sample of its epochs and recording, before each step, the norm the engine's
clipping sees (the dense autograd gradient of models/cnn.py: the reference definition, which the
fast kernels match to rounding). The other epochs run in bulk. With clipping on, the run replayed
is the clipped run, so `fraction_above(cfg.clip_norm)` is the share of its sampled steps that were
clipped.

Cost: one training run plus about 0.3 ms per sampled step (50 sampled epochs of a B = 2 run:
5000 steps, ~2 s on top of the run's ~40 s at 10^4 epochs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.synthetic import make_dataset
from ..models import cnn
from ..models.activations import sigma_of
from .sampler import BatchSampler

SAMPLED_EPOCHS = 50  # epochs sampled evenly over the run (the first and the last included)


@dataclass(frozen=True)
class GradientNorms:
    """norms[k]: the norms before each step of epoch epochs[k] (1-based: the epochs[k]-th epoch
    of the run, floor(n/B) steps); status "ok", or "diverged" when a batch loss was not finite
    (the norms stop there); weight_norm: ||W|| at the end of the replay (equal to the run's
    summary["weight_norm"]: the same run)."""

    epochs: tuple[int, ...]
    norms: tuple[np.ndarray, ...]
    status: str = "ok"
    weight_norm: float = float("nan")

    @property
    def all(self) -> np.ndarray:
        return np.concatenate(self.norms) if self.norms else np.zeros(0)

    def fraction_above(self, threshold: float) -> float:
        """The share of sampled steps whose norm exceeded `threshold` (clip_grad_norm_ scales a
        gradient by min(1, c / (norm + 1e-6)): below 1 only when norm > c - 1e-6)."""
        x = self.all
        return float(np.mean(x > threshold - 1e-6)) if x.size else float("nan")

    def quantiles(self, qs=(0.1, 0.5, 0.9, 1.0)) -> dict[float, float]:
        x = self.all
        return {q: float(np.quantile(x, q)) if x.size else float("nan") for q in qs}


def sample_epochs(epochs: int, samples: int = SAMPLED_EPOCHS) -> list[int]:
    """`samples` epochs spread evenly over 1..epochs (all of them when there are fewer)."""
    if epochs <= samples:
        return list(range(1, epochs + 1))
    return sorted({int(round(x)) for x in np.linspace(1, epochs, samples)})


def gradient_norms(cfg, samples: int = SAMPLED_EPOCHS) -> GradientNorms:
    """Replay the run of `cfg` (a SyntheticConfig) and return the batch-gradient norms of every
    step of `samples` evenly spread epochs (see the module docstring)."""
    from .train import engine_for, make_engine

    data = make_dataset(cfg)
    W0 = cnn.init_weights(cfg)
    engine = make_engine(cfg, data, W0, engine=engine_for(cfg)[0])
    sampler = BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed)
    sigma = sigma_of(cfg)
    X = torch.tensor(data.train.to_dense(), dtype=torch.float64)
    y = torch.tensor(data.train.y, dtype=torch.float64)
    done, epochs, norms = 0, [], []

    def result(status):
        return GradientNorms(tuple(epochs), tuple(norms), status,
                             float(np.linalg.norm(engine.weights())))

    for epoch in sample_epochs(cfg.epochs, samples):
        if epoch - 1 > done:  # the epochs before this one, in bulk (the same batch stream)
            if engine.run(sampler.epochs(epoch - 1 - done)) is not None:
                return result("diverged")
        row = []
        for batch in sampler.epochs(1):
            W = torch.tensor(engine.weights(), dtype=torch.float64, requires_grad=True)
            index = torch.from_numpy(batch)
            (grad,) = torch.autograd.grad(cnn.loss(W, X[index], y[index], sigma), W)
            row.append(float(torch.linalg.vector_norm(grad)))
            if engine.run(batch[None, :]) is not None:
                epochs.append(epoch)
                norms.append(np.asarray(row))
                return result("diverged")
        epochs.append(epoch)
        norms.append(np.asarray(row))
        done = epoch
    return result("ok")


def main(argv=None) -> None:
    """`python -m adamlab.engine.gradnorms PRESET [--variant V] [--seeds 0 1] [--clip X ...]`:
    the batch-gradient norms of every run of a sweep preset (quantiles over the sampled steps,
    and the share above each X): how the limits preset chose its clip_norm."""
    import argparse

    from ..sweep.spec import load_spec

    p = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    p.add_argument("preset")
    p.add_argument("--variant", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--clip", type=float, nargs="*", default=[])
    p.add_argument("--samples", type=int, default=SAMPLED_EPOCHS)
    args = p.parse_args(argv)
    for cfg in load_spec(args.preset, variant=args.variant).configs:
        if args.seeds is not None and cfg.seed not in args.seeds:
            continue
        g = gradient_norms(cfg, args.samples)
        q = g.quantiles((0.1, 0.5, 0.9, 0.99, 1.0))
        early = g.norms[0] if g.norms else np.zeros(0)
        above = ", ".join(f"> {c:g}: {g.fraction_above(c):.1%}" for c in args.clip)
        print(f"{cfg.optimizer} B={cfg.batch_size} seed={cfg.seed} clip={cfg.clip_norm} "
              f"{g.status}: epoch-1 median {np.median(early):.3g}; quantiles 10/50/90/99/100% "
              + " ".join(f"{v:.3g}" for v in q.values()) + (f"; {above}" if above else ""),
              flush=True)


__all__ = ["GradientNorms", "gradient_norms", "sample_epochs", "SAMPLED_EPOCHS"]


if __name__ == "__main__":
    main()
