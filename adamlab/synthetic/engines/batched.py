"""The batched engine: many runs stepping together as one torch program (`engine="batched"`).

Runs that share the data shapes (d, n, s, width, batch_size), the activation (the torch version
of the configured registry entry, synthetic/activations.py) and the optimiser family step as one
program: weights (K, 2m, d), each run with its own data, batches and hyperparameters (the update
rules of adamlab.optim take per-run tensors). This is the GPU path (`device="cuda"`): on an H100 a
whole grid of seeds x weight decays costs about one run. It runs on CPU too, where it is tested
against the reference engine; on CPU the fast engine is quicker per run.

The gradient is autograd through a sparse gather of the noise coordinates: O(K * B * m * s) work per
step, never a dense (B, 2, d) batch. Each run's gradient is clipped by its own global norm when
`clip_norm` is set; the learning-rate schedule (shared by a group) scales every run's rate.
Which hyperparameters may differ within a group is the optimiser's registry entry's `per_run`.
`state(k)` / `load_state(k, ...)` save and continue run k (core/state.py), in the fast engine's
layout.
"""
from __future__ import annotations

import numpy as np
import torch

from ...core.errors import ConfigError
from ...optim import make_optimizer
from ...optim.clip import clip_by_global_norm
from ...optim.registry import get
from ...optim.schedule import Schedule
from ..activations import sigma_of
from ..data import SIGNAL_COORD
from ..mechanism import STEP_RATIO, noise_coordinates, step_ratio
from ..sampler import CARRY

# What runs stepping together share, besides the options their optimiser's registry entry does not
# list as per_run; `alpha` (the data's feature noise) may differ.
SHARED = ("d", "n", "s", "width", "batch_size", "activation", "power", "rho", "optimizer",
          "device", "schedule", "warmup_epochs", "step_epochs", "step_gamma", "clip_norm")
PER_RUN = ("alpha",)


def group_key(cfg) -> tuple:
    """Runs with equal keys can step together."""
    shared = SHARED + get(cfg.optimizer).shared()
    # shuffle and cyclic take floor(n/B) steps an epoch, shuffle-carry floor(E*n/B) in E epochs:
    # runs step together only with the same steps per segment.
    return tuple(getattr(cfg, k) for k in shared) + (cfg.epochs, cfg.log_interval,
                                                     cfg.sampler == CARRY)


class _PerRun:
    """Per-run hyperparameters as (K, 1, 1) tensors, in the shape make_optimizer expects."""

    def __init__(self, cfgs, device):
        first = cfgs[0]
        entry = get(first.optimizer)
        for name in SHARED + entry.shared():
            setattr(self, name, getattr(first, name))
        for name in PER_RUN + entry.per_run:
            col = torch.tensor([getattr(c, name) for c in cfgs], dtype=torch.float64,
                               device=device).view(-1, 1, 1)
            setattr(self, name, col)


class BatchedEngine:
    def __init__(self, cfgs, data, W0):
        if any(c.variants() for c in cfgs):  # train.engine_for sends these to the reference
            raise ConfigError(f"engine: the batched engine is the paper's model only, got "
                              f"{next(c.variants() for c in cfgs if c.variants())}")
        if len({group_key(c) for c in cfgs}) != 1:
            raise ValueError("batched engine: runs must share " + ", ".join(SHARED))
        self.cfgs = cfgs
        dev = torch.device(cfgs[0].device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device: cuda was asked for but this torch sees no CUDA device "
                              f"(torch {torch.__version__}); use device='cpu'")
        self.device, self.sigma, self.m = dev, sigma_of(cfgs[0]), cfgs[0].width
        t = lambda x, **kw: torch.as_tensor(np.stack(x), device=dev, **kw)  # noqa: E731
        self.y = t([dt.train.y for dt in data], dtype=torch.float64)              # (K, n)
        self.idx = t([dt.train.noise_idx for dt in data], dtype=torch.int64)      # (K, n, s)
        self.val = t([dt.train.noise_val for dt in data], dtype=torch.float64)    # (K, n, s)
        K, two, m, d = len(cfgs), *np.shape(W0[0])
        self.W = t([w.reshape(two * m, d) for w in W0], dtype=torch.float64)      # (K, 2m, d)
        self.hp = _PerRun(cfgs, dev)
        self.opt = make_optimizer(self.hp)
        self.opt_state = self.opt.init(self.W)
        self.schedule = Schedule(cfgs[0])
        self.clip_norm = cfgs[0].clip_norm
        self.coords = [noise_coordinates(dt.train) for dt in data]
        self._precond = None  # (t, preconditioner of every run) of the last metrics log
        self.sign = torch.tensor([1.0] * m + [-1.0] * m, dtype=torch.float64, device=dev)
        self.t = 0
        self.diverged = [None] * K
        self.dead = None  # (K,) bool once some run has diverged

    def batch_losses(self, W: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """Mean batch loss of every run: (K,). batch: (K, B) example indices."""
        K, nf, d = W.shape
        y = torch.gather(self.y, 1, batch)                                        # (K, B)
        idx = torch.gather(self.idx, 1, batch[..., None].expand(-1, -1, self.idx.shape[2]))
        val = torch.gather(self.val, 1, batch[..., None].expand(-1, -1, self.val.shape[2]))
        B, s = idx.shape[1], idx.shape[2]
        w_noise = torch.gather(W, 2, idx.reshape(K, 1, B * s).expand(K, nf, B * s))
        w_noise = w_noise.view(K, nf, B, s)
        w0 = W[:, :, SIGNAL_COORD]                                                # (K, 2m)
        alpha = self.hp.alpha.view(K, 1, 1)
        zs = y[:, :, None] * w0[:, None, :]                                       # (K, B, 2m)
        zn = torch.einsum("kfbs,kbs->kbf", w_noise, val) - alpha * zs
        act = self.sigma(zs) + self.sigma(zn)
        margin = y * (act * self.sign).sum(-1)
        return torch.nn.functional.softplus(-margin).mean(1)

    def run(self, batches: np.ndarray) -> list:
        """batches: (K, T, B). Steps every run T times; returns, per run, the step whose loss was
        not finite or None. A diverged run is frozen from that step on (weights and optimiser
        state), exactly where the other engines stop it."""
        bt = torch.as_tensor(batches, device=self.device)
        for step in range(bt.shape[1]):
            self.t += 1
            W = self.W.detach().requires_grad_(True)
            losses = self.batch_losses(W, bt[:, step])
            (grad,) = torch.autograd.grad(losses.sum(), W)
            bad = ~torch.isfinite(losses)
            if bool(bad.any()):
                for r in torch.nonzero(bad).flatten().tolist():
                    if self.diverged[r] is None:
                        self.diverged[r] = self.t
                self.dead = torch.tensor([d is not None for d in self.diverged],
                                         device=self.device)
            frozen = None
            if self.dead is not None:
                grad = torch.where(self.dead.view(-1, 1, 1), torch.zeros_like(grad), grad)
                frozen = (self.W[self.dead].clone(),
                          {name: v[self.dead].clone() for name, v in self.opt_state.items()})
            if self.clip_norm is not None:
                grad = clip_by_global_norm(grad, self.clip_norm, run_dims=1)
            lr = None if self.schedule.constant else self.hp.lr * self.schedule.factor(self.t)
            with torch.no_grad():
                self.opt.step(self.W, grad.contiguous(), self.opt_state, self.t, lr=lr)
                if frozen is not None:
                    self.W[self.dead] = frozen[0]
                    for name, v in frozen[1].items():
                        self.opt_state[name][self.dead] = v
        return list(self.diverged)

    def weights(self, k: int = 0) -> np.ndarray:
        W = self.W[k].detach().cpu().numpy()
        return W.reshape(2, self.m, -1).copy()

    def state(self, k: int = 0) -> dict:
        """Run k's t, W (2, m, d) and rule state (arrays like W, per-run scalars 0-d) as numpy
        copies: the layout of FastEngine.state."""
        W = self.weights(k)
        return {"t": self.t, "weights": W, "optimizer": {
            name: v[k].detach().cpu().numpy().reshape(W.shape if v[k].numel() == W.size else ())
            .copy() for name, v in self.opt_state.items()}}

    def load_state(self, k: int, state: dict) -> None:
        """Continue run k from `state()`; the group steps together, so every run it holds must
        be at the same step t."""
        if self.t not in (0, int(state["t"])) and len(self.cfgs) > 1:
            raise ValueError(f"batched engine: run {k}'s state is at step {state['t']}, the "
                             f"group at {self.t}")
        as_tensor = lambda x, shape: torch.as_tensor(  # noqa: E731
            np.asarray(x, dtype=np.float64), device=self.device).reshape(shape)
        with torch.no_grad():
            self.W[k] = as_tensor(state["weights"], self.W[k].shape)
            for name, v in self.opt_state.items():
                v[k] = as_tensor(state["optimizer"][name], v[k].shape)
        self.t = int(state["t"])
        self._precond = None

    def extra_metrics(self, k: int = 0) -> dict:
        """Run k's step-ratio metric (synthetic/mechanism.py) from its optimiser state after its
        last update (a diverged run is frozen after step diverged - 1)."""
        if not hasattr(self.opt, "preconditioner"):
            return {}
        t = self.t if self.diverged[k] is None else self.diverged[k] - 1
        if self._precond is None or self._precond[0] != t:
            P = self.opt.preconditioner(self.opt_state, t).detach().cpu().numpy()
            self._precond = (t, P)
        return {STEP_RATIO: step_ratio(self._precond[1][k], self.coords[k])}

    def single(self) -> "_Single":
        return _Single(self)


class _Single:
    """The one-run engine interface (run(batches (T, B)) -> bad step or None) over a batch of 1."""

    def __init__(self, engine: BatchedEngine):
        self.engine = engine

    @property
    def t(self) -> int:
        bad = self.engine.diverged[0]
        return bad if bad is not None else self.engine.t

    def run(self, batches: np.ndarray):
        return self.engine.run(batches[None])[0]

    def weights(self) -> np.ndarray:
        return self.engine.weights(0)

    def extra_metrics(self) -> dict:
        return self.engine.extra_metrics(0)

    def state(self) -> dict:
        return self.engine.state(0)

    def load_state(self, state: dict) -> None:
        self.engine.load_state(0, state)
