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

The data and model variants (K classes, label noise, a trained second layer; the reference
engine's module docstring) take a general loss: each example's signal and feature-noise
coordinates are gathered like its noise coordinates, the K class outputs summed per class (times
the output weights a when they are trained), and the loss is the model's (synthetic/model.py:
softplus of the negative margin for K = 2, softmax cross-entropy for K >= 3). The paper's runs
keep the specialised loss below, so their numbers do not change. Trained output weights a
(runs, K, m) are stepped by the same rule with their own state, and `clip_norm` clips the joint
norm of both gradients per run, as the reference engine does.
"""
from __future__ import annotations

import numpy as np
import torch

from ...core.errors import ConfigError
from ...optim import make_optimizer
from ...optim.clip import clip_by_global_norm
from ...optim.registry import get
from ...optim.schedule import Schedule
from .. import model as cnn
from ..activations import sigma_of
from ..data import SIGNAL_COORD, feature_coordinates
from ..mechanism import STEP_RATIO, noise_coordinates, step_ratio
from ..sampler import CARRY
from .reference import SECOND_LAYER

# What runs stepping together share, besides the options their optimiser's registry entry does not
# list as per_run; `alpha` (the data's feature noise) may differ.
SHARED = ("d", "n", "s", "width", "batch_size", "activation", "power", "rho", "optimizer",
          "device", "schedule", "warmup_epochs", "step_epochs", "step_gamma", "clip_norm",
          "classes", "second_layer")
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
        K, C, m, d = len(cfgs), *np.shape(W0[0])
        self.classes = C
        self.W = t([w.reshape(C * m, d) for w in W0], dtype=torch.float64)        # (K, Cm, d)
        self.hp = _PerRun(cfgs, dev)
        self.opt = make_optimizer(self.hp)
        self.opt_state = self.opt.init(self.W)
        a0 = [cnn.init_second_layer(c) for c in cfgs]
        self.a = None if a0[0] is None else t(a0, dtype=torch.float64)            # (K, C, m)
        self.a_state = None if self.a is None else self.opt.init(self.a)
        # The general loss for any variant in the group: each example's feature coordinates.
        self.general = self.a is not None or not all(dt.train.paper for dt in data)
        if self.general:
            sc, ss, nc, nv = zip(*(dt.train.features() for dt in data))
            self.sc, self.nc = t(sc, dtype=torch.int64), t(nc, dtype=torch.int64)  # (K, n)
            self.ss, self.nv = t(ss, dtype=torch.float64), t(nv, dtype=torch.float64)
            self.label = t([dt.train.label for dt in data], dtype=torch.int64)     # (K, n)
        self.schedule = Schedule(cfgs[0])
        self.clip_norm = cfgs[0].clip_norm
        self.coords = [noise_coordinates(dt.train) for dt in data]
        self.features = tuple(range(feature_coordinates(C)))
        self._precond = None  # (t, preconditioner of every run) of the last metrics log
        self.sign = torch.tensor([1.0] * m + [-1.0] * m, dtype=torch.float64, device=dev)
        self.t = 0
        self.diverged = [None] * K
        self.dead = None  # (K,) bool once some run has diverged

    def batch_losses(self, W: torch.Tensor, batch: torch.Tensor,
                     a: torch.Tensor | None = None) -> torch.Tensor:
        """Mean batch loss of every run: (K,). batch: (K, B) example indices; a: the trained
        output weights (K, C, m), or None."""
        if self.general:
            return self._general_losses(W, batch, a)
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

    def _general_losses(self, W: torch.Tensor, batch: torch.Tensor,
                        a: torch.Tensor | None) -> torch.Tensor:
        """batch_losses for K classes, label noise and trained output weights."""
        K, nf, d = W.shape
        C = self.classes
        rows = lambda x: torch.gather(x, 1, batch)  # noqa: E731  (K, n) -> (K, B)
        idx = torch.gather(self.idx, 1, batch[..., None].expand(-1, -1, self.idx.shape[2]))
        val = torch.gather(self.val, 1, batch[..., None].expand(-1, -1, self.val.shape[2]))
        B, s = idx.shape[1], idx.shape[2]
        at = lambda coord: torch.gather(W, 2, coord[:, None, :].expand(K, nf, B))  # noqa: E731
        w_noise = torch.gather(W, 2, idx.reshape(K, 1, B * s).expand(K, nf, B * s))
        zs = at(rows(self.sc)) * rows(self.ss)[:, None, :]                        # (K, Cm, B)
        zn = (torch.einsum("kfbs,kbs->kfb", w_noise.view(K, nf, B, s), val)
              + at(rows(self.nc)) * rows(self.nv)[:, None, :])
        act = (self.sigma(zs) + self.sigma(zn)).view(K, C, nf // C, B)
        out = act.sum(2) if a is None else (act * a[..., None]).sum(2)             # (K, C, B)
        if C == 2:  # the model's closed form: softplus of the negative margin
            margin = rows(self.y) * (out[:, 0] - out[:, 1])
            return torch.nn.functional.softplus(-margin).mean(1)
        label = rows(self.label)
        own = torch.gather(out, 1, label[:, None, :]).squeeze(1)
        return (torch.logsumexp(out, dim=1) - own).mean(1)

    def run(self, batches: np.ndarray) -> list:
        """batches: (K, T, B). Steps every run T times; returns, per run, the step whose loss was
        not finite or None. A diverged run is frozen from that step on (weights and optimiser
        state), exactly where the other engines stop it."""
        bt = torch.as_tensor(batches, device=self.device)
        for step in range(bt.shape[1]):
            self.t += 1
            W = self.W.detach().requires_grad_(True)
            if self.a is None:
                losses = self.batch_losses(W, bt[:, step])
                (grad,) = torch.autograd.grad(losses.sum(), W)
                grad_a = None
            else:
                a = self.a.detach().requires_grad_(True)
                losses = self.batch_losses(W, bt[:, step], a)
                grad, grad_a = torch.autograd.grad(losses.sum(), (W, a))
            bad = ~torch.isfinite(losses)
            if bool(bad.any()):
                for r in torch.nonzero(bad).flatten().tolist():
                    if self.diverged[r] is None:
                        self.diverged[r] = self.t
                self.dead = torch.tensor([d is not None for d in self.diverged],
                                         device=self.device)
            params = [(self.W, grad, self.opt_state)]
            if grad_a is not None:
                params.append((self.a, grad_a, self.a_state))
            frozen = None
            if self.dead is not None:
                params = [(p, torch.where(self.dead.view(-1, 1, 1), torch.zeros_like(g), g), st)
                          for p, g, st in params]
                frozen = [(p[self.dead].clone(), {k: v[self.dead].clone() for k, v in st.items()})
                          for p, _, st in params]
            if self.clip_norm is not None:  # one norm per run over every trained weight
                flat = clip_by_global_norm(torch.cat([g.flatten(1) for _, g, _ in params], 1),
                                           self.clip_norm, run_dims=1)
                cuts = np.cumsum([0] + [g[0].numel() for _, g, _ in params])
                params = [(p, flat[:, lo:hi].reshape(g.shape), st)
                          for (p, g, st), lo, hi in zip(params, cuts[:-1], cuts[1:])]
            lr = None if self.schedule.constant else self.hp.lr * self.schedule.factor(self.t)
            with torch.no_grad():
                for p, g, st in params:
                    self.opt.step(p, g.contiguous(), st, self.t, lr=lr)
                for (p, _, st), (p0, st0) in zip(params, frozen or []):
                    p[self.dead] = p0
                    for name, v in st0.items():
                        st[name][self.dead] = v
        return list(self.diverged)

    def weights(self, k: int = 0) -> np.ndarray:
        W = self.W[k].detach().cpu().numpy()
        return W.reshape(self.classes, self.m, -1).copy()

    def second_layer(self, k: int = 0) -> np.ndarray | None:
        """Run k's trained output weights a (C, m), or None for the paper's fixed layer."""
        return None if self.a is None else self.a[k].detach().cpu().numpy().copy()

    def state(self, k: int = 0) -> dict:
        """Run k's t, W (C, m, d) and rule state (arrays like W, per-run scalars 0-d) as numpy
        copies: the layout of FastEngine.state (and of the reference engine's with trained
        output weights)."""
        W = self.weights(k)

        def arrays(st, like):
            return {name: v[k].detach().cpu().numpy()
                    .reshape(like.shape if v[k].numel() == like.size else ()).copy()
                    for name, v in st.items()}

        opt = arrays(self.opt_state, W)
        if self.a is not None:  # the output weights and their rule state ride along
            a = self.second_layer(k)
            opt[SECOND_LAYER] = a
            opt.update({f"{SECOND_LAYER}.{name}": v for name, v in arrays(self.a_state, a).items()})
        return {"t": self.t, "weights": W, "optimizer": opt}

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
            if self.a is not None:
                self.a[k] = as_tensor(state["optimizer"][SECOND_LAYER], self.a[k].shape)
                for name, v in self.a_state.items():
                    v[k] = as_tensor(state["optimizer"][f"{SECOND_LAYER}.{name}"], v[k].shape)
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
        return {STEP_RATIO: step_ratio(self._precond[1][k], self.coords[k], self.features)}

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

    def second_layer(self) -> np.ndarray | None:
        return self.engine.second_layer(0)

    def state(self) -> dict:
        return self.engine.state(0)

    def load_state(self, state: dict) -> None:
        self.engine.load_state(0, state)
