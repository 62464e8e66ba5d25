"""`SyntheticConfig`: one run of the paper's synthetic world (docs/paper.md: "Data model",
"Model", "Optimisers", "Experiments"); its defaults are the synthetic setting of App. D.2.

Every default is stated once, here, except what depends on the optimiser: its registry entry
(adamlab/optim/registry.py) holds the paper's weight decay for it and any default that differs
from the paper's Adam settings (BASE_DEFAULTS), e.g. Lion's smaller learning rate. Fields left at
None are resolved from there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..core.errors import ConfigError
from ..core.fields import DEVICES, ConfigBase, spec
from ..optim.registry import CUSTOM, get, list_optimizers, optimizer_choices
from ..optim.schedule import SCHEDULES
from . import activations
from .sampler import CARRY, SAMPLERS, steps_after
ENGINES = ("fast", "reference", "batched")
# The second layer of the CNN: fixed +1 weights (the paper's Definition 3.2) or trained with the
# filters (the deeper model; docs/implementation.md "More classes, label noise, a trained
# second layer" says why this one).
SECOND_LAYERS = ("fixed", "trained")
DTYPES = ("float64", "float32")
# float32 runs hold no second moment below ~1e-36 (flushed, synthetic/engines/fast.py; subnormals are zero,
# synthetic/subnormals.py), so sqrt(v) can read 0 where it was up to 1e-18, and m up to ~3e-18 then
# steps by lr*m/eps instead of ~lr: with eps >= 1e-10 that is at most 3e-8 of lr, under float32's
# own rounding (6e-8).
FLOAT32_MIN_EPS = 1e-10


def _activation_names(cfg=None) -> tuple[str, ...]:
    return activations.names()


def _schedule_names(cfg=None) -> tuple[str, ...]:
    return SCHEDULES


# The paper's optimiser settings (App. D.2: eta = 5e-5, betas (0.9, 0.999), torch's eps), the
# defaults of the fields an optimiser's registry entry may override (adamlab/optim/registry.py:
# e.g. Lion's smaller lr, Adagrad's eps). Weight decay defaults live in the registry entries.
BASE_DEFAULTS = {"lr": 5e-5, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


@dataclass(frozen=True)
class SyntheticConfig(ConfigBase):
    """One run of the paper's synthetic experiment (defaults: docs/paper.md "Experiments", App. D.2)."""

    task: ClassVar[str] = "synthetic"

    # data (Definition 3.1)
    d: int = spec(1000, "dimension of each patch", lo=2)
    n: int = spec(200, "training examples", lo=2)
    s: int = spec(100, "non-zero Gaussian coordinates of the noise patch (< d)", lo=1)
    sigma_p: float = spec(0.1, "standard deviation of the noise patch", lo=0.0)
    alpha: float = spec(0.2, "feature noise: xi[signal coord] = -alpha*y", lo=0.0)
    n_test: int = spec(10000, "fresh test examples", lo=1)
    balanced: bool = spec(True, "exactly balanced training labels (as in the experiments)")
    # Beyond the paper (docs/implementation.md "More classes, label noise, a trained second
    # layer"): the defaults are the paper's data and model, so they keep every stored run id and
    # number.
    classes: int = spec(2, "classes K: K = 2 is the paper's pair of features +-e_0; K >= 3 gives "
                        "class k the feature e_k, the noise patch +alpha times a uniformly "
                        "drawn other class's feature and s noise coordinates among the d-K others "
                        "(needs d >= K + s)", lo=2)
    label_noise: float = spec(0.0, "fraction p in [0, 0.5) of the training labels flipped to a "
                              "uniformly drawn other class, exactly round(p*n) of them, drawn "
                              "once per seed (the patches keep the true class; test labels are "
                              "clean)", lo=0.0, hi=0.5, hi_open=True)
    # model (Definition 3.2)
    width: int = spec(20, "filters per class, m", lo=1)
    activation: str = spec("relu-power", "the activation sigma (synthetic/activations.py); "
                           "relu-power is the paper's max(z, 0)^q", choices=_activation_names)
    power: float = spec(3.0, "activation power q of sigma(z) = max(z, 0)^q (paper: q >= 3); also "
                        "the polynomial degree of smooth-relu", lo=1.0)
    # Pre-activations start near sigma0 = 0.01 and the learned feature reaches order 1 (App. D.2),
    # so rho = 0.1 gives smooth-relu the paper's polynomial regime early and a linear one late.
    rho: float = spec(0.1, "smooth-relu: where the polynomial part z^q / (q rho^(q-1)) turns "
                      "linear", lo=0.0, lo_open=True)
    sigma0: float = spec(0.01, "standard deviation of the Gaussian initialisation", lo=0.0)
    second_layer: str = spec("fixed", "fixed: the paper's +1 output weights; trained: output "
                             "weights a_{j,r} (init 1, so step 0 is the paper's model) trained "
                             "with the filters by the same optimiser", choices=SECOND_LAYERS)
    # optimiser (adamlab/optim/registry.py lists the optimisers and which of these fields each
    # reads; `adamlab train --help` prints that next to each flag)
    optimizer: str = spec("adam", "update rule, a name in the optimiser registry (adamlab.optim)",
                          choices=optimizer_choices)
    lr: float | None = spec(
        None, "learning rate eta; with a schedule, the base rate it scales. Default: the paper's "
        "5e-5 unless the optimiser's registry entry has its own", lo=0.0, lo_open=True)
    weight_decay: float | None = spec(
        None, "lambda. Optimisers with L2 decay add lambda*W to the gradient (the paper's Adam); "
        "those with decoupled decay shrink W *= 1 - lr_t*lambda every step (the paper's AdamW, "
        "torch convention); meta.decay records which and the per-step amount. Default: the "
        "paper's value for the optimiser (its registry entry)", lo=0.0)
    batch_size: int = spec(2, "examples per step B; B = n is full batch", lo=1, hi="n")
    epochs: int = spec(10000, "epochs (passes over the training set): floor(n/B) steps each, "
                       "or floor(epochs*n/B) steps in all with sampler shuffle-carry", lo=1)
    beta1: float | None = spec(
        None, "first-moment decay: m <- beta1*m + (1-beta1)*g (Lion: its interpolation "
        "c = beta1*m + (1-beta1)*g). Default 0.9", lo=0.0, hi=0.999999)
    beta2: float | None = spec(
        None, "second-moment decay: v <- beta2*v + (1-beta2)*g^2 (torch RMSprop's alpha; Lion: "
        "its momentum decay m <- beta2*m + (1-beta2)*g). Default: the paper's 0.999 unless the "
        "optimiser's registry entry has its own", lo=0.0, hi=0.999999)
    eps: float | None = spec(
        None, "added to the root of the second moment: lr*m/(sqrt(v)+eps). Default: 1e-8 (torch) "
        "unless the optimiser's registry entry has its own", lo=0.0, lo_open=True)
    bias_correction: bool = spec(True, "divide m, v by 1 - beta^t as torch.optim does "
                                 "(the paper's equations show none)")
    momentum: float = spec(0.0, "momentum mu (torch convention, no dampening): SGD's buffer "
                           "m <- mu*m + g; RMSprop's m <- mu*m + g/(sqrt(v)+eps)",
                           lo=0.0, hi=0.999999)
    nesterov: bool = spec(False, "Nesterov momentum: step along g + mu*m instead of m (torch "
                          "SGD; needs momentum > 0)")
    schedule: str = spec("constant", "learning-rate schedule per step after the warm-up: constant; "
                         "cosine (to 0 at the last step); step (times step_gamma every "
                         "step_epochs); adamlab/optim/schedule.py", choices=_schedule_names)
    warmup_epochs: int = spec(0, "linear warm-up: step t of the first W steps (the steps of "
                              "warmup_epochs epochs) uses lr*t/W; the schedule starts after it",
                              lo=0, hi="epochs")
    step_epochs: int | None = spec(None, "schedule 'step': epochs between two decays (required "
                                   "by it, unused otherwise)", lo=1)
    step_gamma: float | None = spec(None, "schedule 'step': factor of each decay; default 0.1",
                                    lo=0.0, hi=1.0, lo_open=True)
    clip_norm: float | None = spec(
        None, "clip the batch-loss gradient to this global L2 norm before the optimiser adds its "
        "L2 term (torch.nn.utils.clip_grad_norm_); None = no clipping", lo=0.0, lo_open=True)
    custom_optimizer: str | None = spec(
        None, "set by adamlab.train(config, optimizer=...) to the torch optimiser's class and "
        "repr (optimizer is then 'custom'; this enters the run id)", cli=False)
    # shuffle keeps every stored run id (the default is not hashed); shuffle-carry is the
    # budget that is smooth in B for scaling laws (synthetic/sampler.py).
    sampler: str = spec("shuffle", "shuffle: reshuffle each epoch, floor(n/B) steps, n mod B "
                        "examples unseen; cyclic: fixed order (the proofs); shuffle-carry: every "
                        "example once per pass, the left-over examples carried into the next "
                        "pass's batches, so E epochs are floor(E*n/B) steps", choices=SAMPLERS)
    seed: int = spec(0, "fixes the train data, test data, initialisation and batch order", lo=0)
    # float32 changes the numbers (rounding), so it is part of the run id; float64, the
    # reference's precision, is the default and keeps every stored id (docs/speed.md).
    dtype: str = spec("float64", "precision of the weights, moments, patches and gradient: "
                      "float64 (the reference's) or float32 (fast engine only; 2-3x faster a "
                      "step, for long sweeps; docs/speed.md); metrics are computed in float64 "
                      "either way", choices=DTYPES)
    # bookkeeping: left out of the run id (the engines agree to 1e-9 on every logged metric,
    # tests/test_engines.py; the cadence changes which epochs are logged, not the final numbers)
    log_every: int = spec(0, "epochs between metric logs (plus epochs 1, 2, 4, ... below it, so "
                          "Stage I shows on a log axis); 0 = about 100 logs per run", lo=0,
                          bookkeeping=True)
    engine: str = spec("fast", "fast: compiled sparse loop; reference: plain torch autograd; "
                       "batched: many runs stepping together in torch", choices=ENGINES,
                       bookkeeping=True)
    device: str = spec("cpu", "device of the batched engine", choices=DEVICES, bookkeeping=True)

    def __post_init__(self):
        self._validate_fields()
        self._resolve_optimizer()
        if self.s >= self.d:
            raise ConfigError(f"s: must be in [1, d-1={self.d - 1}] (the signal coordinate is "
                              f"never noise), got {self.s}")
        if self.classes > 2 and self.d < self.classes + self.s:
            raise ConfigError(f"classes: {self.classes} classes need d >= classes + s (K feature "
                              f"coordinates, s noise coordinates among the other d-K), got "
                              f"d={self.d}, s={self.s}")
        if self.dtype != "float64" and self.variants():
            raise ConfigError(f"dtype: must be float64 with {self.variants()} (float32 runs "
                              f"the paper's kernels only), got {self.dtype!r}")
        if self.dtype != "float64" and self.engine != "fast":
            raise ConfigError(f"dtype: must be float64 with engine={self.engine!r} (float32 runs "
                              f"on engine='fast' only), got {self.dtype!r}")
        if self.engine != "batched" and self.device != "cpu":
            raise ConfigError(f"device: the {self.engine} engine runs on cpu; use "
                              f"engine='batched' for {self.device}, got {self.device!r}")

    def _resolve_optimizer(self) -> None:
        """Per-optimiser defaults from its registry entry, and the settings that only some
        optimisers or schedules read."""
        custom = self.optimizer == CUSTOM
        if custom != (self.custom_optimizer is not None):
            raise ConfigError("custom_optimizer: set (only) by adamlab.train(config, "
                              "optimizer=...) together with optimizer='custom', got "
                              f"optimizer={self.optimizer!r}, "
                              f"custom_optimizer={self.custom_optimizer!r}")
        entry = None if custom else get(self.optimizer)
        for name, base in BASE_DEFAULTS.items():
            self._resolve(name, entry.defaults.get(name, base) if entry else base)
        if entry is not None:
            self._resolve("weight_decay", entry.paper_weight_decay(self.task))
        if self.dtype != "float64" and (entry is None or not entry.kernel):
            raise ConfigError(f"dtype: must be float64 for optimizer {self.optimizer!r} (float32 "
                              f"runs on the fast engine's kernels: "
                              f"{', '.join(list_optimizers(kernel=True))}), got {self.dtype!r}")
        if self.dtype == "float32" and "eps" in entry.options and self.eps < FLOAT32_MIN_EPS:
            raise ConfigError(f"eps: must be >= {FLOAT32_MIN_EPS:g} with dtype float32 (its "
                              f"moments under ~1e-36 are zero; a smaller eps would let that "
                              f"change a step), got {self.eps!r}")
        if self.nesterov:
            readers = [o for o in list_optimizers() if "nesterov" in get(o).options]
            if entry is not None and "nesterov" not in entry.options:
                raise ConfigError(f"nesterov: {self.optimizer} has no Nesterov option (it is read "
                                  f"by {', '.join(readers)}), got True")
            if self.momentum <= 0:
                raise ConfigError(f"nesterov: needs momentum > 0 (torch convention), got "
                                  f"momentum={self.momentum}")
        if self.schedule == "step":
            if self.step_epochs is None:
                raise ConfigError("step_epochs: schedule 'step' needs the epochs between two "
                                  "decays (an integer >= 1), got None")
            self._resolve("step_gamma", 0.1)
        else:
            for name in ("step_epochs", "step_gamma"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name}: only read by schedule 'step', got "
                                      f"{getattr(self, name)!r} with schedule {self.schedule!r}")

    def variants(self) -> dict:
        """The settings beyond the paper's data and model that differ from it ({} for the
        paper's): the fast engine's paper kernels assume two classes, clean labels and a fixed
        second layer, so these runs take its general loop (synthetic/general_kernels.py), in
        float64 only."""
        return {k: getattr(self, k) for k in ("classes", "label_noise", "second_layer")
                if getattr(self, k) != SyntheticConfig.__dataclass_fields__[k].default}

    # Derived quantities, recorded with every result.
    @property
    def steps_per_epoch(self) -> int | float:
        """floor(n/B); with shuffle-carry the mean n/B (an epoch then takes floor or ceil)."""
        return self.n / self.batch_size if self.sampler == CARRY else self.n // self.batch_size

    def steps_after(self, epochs: int) -> int:
        """Steps after `epochs` epochs (synthetic/sampler.py `steps_after`)."""
        return steps_after(self.n, self.batch_size, self.sampler, epochs)

    def epoch_of(self, step: int) -> float:
        """Passes over the training set after `step` steps: step / steps_per_epoch (with
        shuffle-carry step * B / n, fractional between pass boundaries)."""
        return step / self.steps_per_epoch

    @property
    def total_steps(self) -> int:
        """Steps in the whole run: epochs * floor(n/B), or floor(epochs * n/B) with shuffle-carry."""
        return self.steps_after(self.epochs)

    @property
    def decoupled(self) -> bool | None:
        """The registry entry's weight-decay convention (None for a custom torch optimiser)."""
        return None if self.optimizer == CUSTOM else get(self.optimizer).decoupled

    @property
    def log_interval(self) -> int:
        """Epochs between metric logs: log_every, or about 100 logs a run when it is unset."""
        return self.log_every or max(1, self.epochs // 100)

    def log_epochs(self) -> list[int]:
        """Epochs after which metrics are logged (epoch 0 is logged too): every log_interval
        epochs, the last epoch, and the powers of two below the interval (early dynamics)."""
        k = self.log_interval
        early = [2 ** i for i in range(k.bit_length()) if 2 ** i < min(k, self.epochs)]
        return sorted(set(early) | set(range(k, self.epochs + 1, k)) | {self.epochs})

