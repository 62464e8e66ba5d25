"""What the paper's theorems predict for a run config (docs/paper.md "Theorems"; paper Section 4).

    from adamlab import theory
    report = theory.predict(SyntheticConfig(optimizer="adam", weight_decay=1e-5, batch_size=100))
    report.regime        # "memorises_noise" (Thm 4.1)
    report.reasons       # the comparisons that decided it, with the numbers
    report.to_dict()     # everything, JSON-ready

The theorems are asymptotic: every boundary holds up to unknown constants and log factors. So the
calculator reports orders of magnitude and which side of each boundary a configuration falls on.
Its conventions (all keyword arguments of `predict`, recorded in `report.conventions`):

* Hidden constants are 1. "n/B >= Theta(log 1/eps)" is read as n/B >= log(1/(lambda*eta));
  "lambda = omega(sigma0^(q-2))" as lambda > sigma0^(q-2); AdamW's "O(1)" upper end is
  `adamw_upper` (default 1).
* `margin` (default sqrt(10): half a decade each side): a comparison of a with b is "above" when
  a >= margin*b, "below" when a <= b/margin, and "near" in between.
* Two kinds of comparison. A *boundary* separates two predicted behaviours (Adam's ceiling
  sigma0^(q-2) of Cor 4.3; n/B against Adam's memory; n/B against s*sigma_p + sqrt(n) for AdamW).
  A configuration "near" a boundary is "borderline". A *hypothesis* is a condition a theorem needs
  for its proof but on whose far side the paper predicts no different behaviour (Adam's
  lambda = o(sigma0^(q-2) sigma_p / n) of Thm 4.1/4.2; AdamW's window min(B^2/n, 1) <= lambda <=
  O(1) of Thm 4.4/4.5). Within `margin` it counts as met (with a caveat); beyond, the theorem does
  not cover the configuration: `covered` is False and `strict_regime` is "outside_theory", while
  `regime` still gives the side of the boundaries (the paper's mechanism, extrapolated). The
  paper's own AdamW large-batch cell (lambda = 0.01, B = 100, n = 200: window starts at
  min(50, 1) = 1) is such a case, which is why both are reported.
* Adam's memory is log(1/(lambda*eta)) iterations (`memory="lambda_eta"`, the dynamics paragraph;
  the theorems' log(1/eps) with eps = Theta(lambda*eta)); `memory="eps"` uses log(1/eps) of the
  config, `"max"` the larger of the two.
* The data-model scalings of Definition 3.1 (s = Theta(sqrt(d)/n^2), ...) are reported as
  "scaling" checks but never decide the regime: the paper's experiments (App. D.2) are far from
  them too.

Optimisers: each registry entry's `theory` says which of the paper's optimisers its theorems
treat it as (adamlab/optim/registry.py): signsgd as adam and signsgdw as adamw (the paper:
stochastic Adam(W) behaves like SignSGD(W) for small step sizes), rmsprop and nadam as adam (the
same per-coordinate normalisation with an L2 term), lion as adamw (a sign method with decoupled
decay); sgd, adagrad (a second moment that never forgets) and custom torch optimisers are outside
this paper's theorems. So is every activation but the paper's max(z, 0)^q with q >= 3 (relu,
gelu, smooth-relu, relu-power with q < 3): its regime is "outside_theory", with the reason, and
nothing is extrapolated.
Every function here is plain float arithmetic, so a (batch_size x weight_decay) phase diagram of
predictions costs microseconds per cell (`regime_grid`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..optim.registry import CUSTOM, get
from . import activations

REGIMES = ("learns_feature", "memorises_noise", "stuck_at_init", "borderline", "outside_theory")
MEMORY_CHOICES = ("lambda_eta", "eps", "max")
DEFAULT_MARGIN = math.sqrt(10.0)

STATEMENT = ("The paper's theorems hold up to unknown constants and log factors, so these numbers "
             "are orders of magnitude: they say which side of each boundary a configuration falls "
             "on, not where exactly the boundary lies. Conventions: hidden constants set to 1; a "
             "comparison within a factor {margin:.3g} of its boundary is reported as near it.")



def treated_as(optimizer: str) -> str | None:
    """The optimiser ("adam" / "adamw") the paper's theorems treat `optimizer` as (its registry
    entry's `theory`), None outside them; an unknown name is a ConfigError listing the known."""

    return None if optimizer == CUSTOM else get(optimizer).theory


@dataclass(frozen=True)
class Check:
    """One comparison `value` against `bound`: side is "above" / "below" / "near" (see `margin`).
    role: "boundary" (decides the regime), "hypothesis" (a theorem's sufficient condition) or
    "scaling" (a data-model scaling of Definition 3.1; informational)."""

    name: str
    statement: str
    value: float
    bound: float
    side: str
    role: str
    source: str

    @property
    def ratio(self) -> float:
        """value / bound: which side of the boundary the configuration falls on, and how far."""
        return _ratio(self.value, self.bound)

    def to_dict(self) -> dict:
        """The check as JSON-ready numbers, its ratio included."""
        d = dataclasses.asdict(self)
        d["ratio"] = self.ratio
        return {k: _json_number(v) for k, v in d.items()}


@dataclass(frozen=True)
class TheoryReport:
    """The prediction for one config (see the module docstring for the conventions).

    regime: side of the decisive boundaries, one of REGIMES. strict_regime: `regime` when every
    hypothesis of the deciding theorem is met (within margin), else "outside_theory".
    theorems: which results apply ("Thm 4.1", ...). reasons: why, with the numbers. caveats:
    hypotheses met only within the margin or not at all, scalings, run length, optimiser mapping.
    near_boundaries: names of the boundary checks that made the regime "borderline".
    quantities: the paper's numbers for this config (see `quantities`)."""

    optimizer: str
    treated_as: str | None
    regime: str
    strict_regime: str
    covered: bool
    theorems: tuple[str, ...]
    reasons: tuple[str, ...]
    caveats: tuple[str, ...]
    near_boundaries: tuple[str, ...]
    checks: tuple[Check, ...]
    quantities: dict
    conventions: dict
    config: dict
    statement: str

    def to_dict(self) -> dict:
        """JSON-ready: non-finite numbers become None."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["checks"] = [c.to_dict() for c in self.checks]
        for key in ("theorems", "reasons", "caveats", "near_boundaries"):
            d[key] = list(d[key])
        d["quantities"] = {k: _json_number(v) for k, v in self.quantities.items()}
        d["config"] = {k: _json_number(v) for k, v in self.config.items()}
        return d

    def check(self, name: str) -> Check:
        """The check called `name`; KeyError when the report has none."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"{name}: no such check (have: {', '.join(c.name for c in self.checks)})")


def _json_number(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return math.inf if a > 0 else (1.0 if a == 0 else -math.inf)
    return a / b


def side(value: float, bound: float, margin: float = DEFAULT_MARGIN) -> str:
    """"above" if value >= margin*bound, "below" if value <= bound/margin, else "near"."""
    if value >= margin * bound:
        return "above"
    if value <= bound / margin:
        return "below"
    return "near"


def _log_inv(x: float) -> float:
    if not x > 0:
        return math.inf
    return -math.log(x) if math.isfinite(x) else -math.inf


def quantities(config) -> dict[str, float]:
    """The paper's numbers for a config (any object with the SyntheticConfig fields).

    Weight decay (Cor 4.3, Thm 4.1/4.2, Thm 4.4/4.5): adam_weight_decay_ceiling = sigma0^(q-2),
    adam_weight_decay_bound = sigma0^(q-2) sigma_p / n, adamw_weight_decay_lower = min(B^2/n, 1).
    Memory (Thm 4.2/4.5, dynamics paragraph): memory_lambda_eta = log(1/(lambda*eta)),
    memory_eps = log(1/eps), against n_over_B, the iterations between two visits of an example.
    Noise (Thm 4.4/4.5): s_sigma_p, sqrt_n. Growth per step of a sign-like update (each coordinate
    moves about eta): feature_growth_per_step = eta on the one signal coordinate;
    noise_growth_per_step = eta*s*sigma_p for an example in the batch (s coordinates of size
    ~sigma_p; the exact mean is sqrt(2/pi) times that), on average over steps times B/n.
    steps_*_to_order_one: steps for each to reach 1 at those rates, ignoring weight decay.
    """
    n, B, s = config.n, config.batch_size, config.s
    eta, lam, eps = config.lr, config.weight_decay, config.eps
    q, sigma0, sigma_p = config.power, config.sigma0, config.sigma_p
    n_over_b = n / B
    ceiling = sigma0 ** (q - 2) if sigma0 > 0 else (0.0 if q > 2 else 1.0)
    lam_eta = lam * eta
    noise_step = eta * s * sigma_p
    noise_avg = noise_step * B / n
    return {
        "n_over_B": n_over_b,
        "iterations_per_epoch": float(config.steps_per_epoch),
        "total_steps": float(config.total_steps),
        "adam_weight_decay_ceiling": ceiling,
        "adam_weight_decay_bound": ceiling * sigma_p / n,
        "adamw_weight_decay_lower": min(B * B / n, 1.0),
        "lambda_eta": lam_eta,
        "memory_lambda_eta": _log_inv(lam_eta),
        "memory_eps": _log_inv(eps),
        "eps_over_lambda_eta": _ratio(eps, lam_eta),
        "s_sigma_p": s * sigma_p,
        "sqrt_n": math.sqrt(n),
        "s_sigma_p_plus_sqrt_n": s * sigma_p + math.sqrt(n),
        "feature_growth_per_step": eta,
        "noise_growth_per_step": noise_step,
        "noise_growth_per_step_average": noise_avg,
        "steps_feature_to_order_one": 1.0 / eta,
        "steps_noise_to_order_one": 1.0 / noise_avg if noise_avg > 0 else math.inf,
    }


def _fmt(x: float) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


_SIDE_WORDS = {"above": "above", "below": "below", "near": "within the margin of"}


def _scalings(c, mk) -> list[Check]:
    """Definition 3.1's scalings with polylog factors set to 1 (informational)."""
    n, d = c.n, c.d
    return [
        mk("scaling_s", "s vs sqrt(d)/n^2 (s = Theta(d^(1/2)/n^2))", c.s, math.sqrt(d) / n**2,
           "scaling", "Def 3.1"),
        mk("scaling_sigma_p", "sigma_p^2 vs 1/s (sigma_p^2 = Theta(1/(s polylog n)))",
           c.sigma_p**2, 1.0 / c.s, "scaling", "Def 3.1"),
        mk("scaling_alpha", "alpha vs sigma_p (alpha = Theta(sigma_p polylog n))", c.alpha,
           c.sigma_p, "scaling", "Def 3.1"),
        mk("scaling_sigma0", "sigma0 vs d^(-1/4) (sigma0 = Theta(d^(-1/4)))", c.sigma0,
           d ** -0.25, "scaling", "Def 3.1"),
        mk("scaling_width", "width m vs log n (m = polylog n)", float(c.width), math.log(n),
           "scaling", "Def 3.2"),
    ] + ([] if treated_as(c.optimizer) != c.optimizer else [
        mk("scaling_eps", "eps vs lambda*eta (eps = Theta(lambda*eta))", c.eps,
           c.weight_decay * c.lr, "scaling", "Thm 4.2/4.5")])


def predict(config, *, margin: float = DEFAULT_MARGIN, adamw_upper: float = 1.0,
            memory: str = "lambda_eta") -> TheoryReport:
    """The regime the paper's theorems predict for `config` (Thms 4.1-4.5, Cors 4.3, 4.6).

    `config`: a SyntheticConfig, or any object with its fields (weight_decay already resolved).
    `margin` > 1, `adamw_upper` > 0 and `memory` in MEMORY_CHOICES are the conventions described in
    the module docstring."""
    if not (isinstance(margin, (int, float)) and margin > 1):
        raise ValueError(f"margin: must be a number > 1, got {margin!r}")
    if not (isinstance(adamw_upper, (int, float)) and adamw_upper > 0):
        raise ValueError(f"adamw_upper: must be a number > 0, got {adamw_upper!r}")
    if memory not in MEMORY_CHOICES:
        raise ValueError(f"memory: must be one of {', '.join(MEMORY_CHOICES)}, got {memory!r}")
    c = config
    if c.weight_decay is None:
        raise ValueError("weight_decay: must be resolved (a number), got None")
    Q = quantities(c)
    mem = {"lambda_eta": Q["memory_lambda_eta"], "eps": Q["memory_eps"],
           "max": max(Q["memory_lambda_eta"], Q["memory_eps"])}[memory]
    Q["memory"] = mem
    lam = c.weight_decay
    conventions = {"margin": margin, "adamw_upper": adamw_upper, "memory": memory,
                   "hidden_constants": 1.0}

    def mk(name, statement, value, bound, role, source):
        return Check(name, statement, float(value), float(bound), side(value, bound, margin),
                     role, source)

    checks: list[Check] = []
    reasons: list[str] = []
    caveats: list[str] = []
    theorems: list[str] = []
    near: list[str] = []
    treated = treated_as(c.optimizer)
    if treated is not None and treated != c.optimizer:
        caveats.append(f"{c.optimizer} is treated as {treated} (its registry entry; the paper: "
                       f"stochastic Adam(W) behaves like SignSGD(W) for small step sizes); the "
                       f"memory log(1/(lambda*eta)) comes from Adam's moments, which "
                       f"{c.optimizer} may not share")

    regime = None
    covered = True
    outside_sigma = _sigma_not_covered(c)
    beyond = c.variants() if hasattr(c, "variants") else {}
    if beyond:
        regime = "outside_theory"
        covered = False
        reasons.append(f"{', '.join(f'{k}={v!r}' for k, v in beyond.items())}: the theorems are "
                       f"about two classes, clean labels and a fixed second layer "
                       f"(Definitions 3.1-3.2)")
    elif outside_sigma:
        regime = "outside_theory"
        covered = False
        reasons.append(outside_sigma)
    elif treated is None:
        regime = "outside_theory"
        covered = False
        reasons.append(f"{c.optimizer}: this paper's theorems are about Adam/AdamW (and the "
                       f"optimisers its registry entry treats as them); {c.optimizer} is not "
                       f"predicted here")
    elif lam <= 0:
        regime = "outside_theory"
        covered = False
        reasons.append(f"weight_decay = {_fmt(lam)}: every theorem (4.1-4.5) needs lambda > 0")
    elif Q["lambda_eta"] >= 1:
        regime = "outside_theory"
        covered = False
        reasons.append(f"lr*weight_decay = {_fmt(Q['lambda_eta'])} >= 1: the decay alone wipes "
                       f"the weights each step; the theorems need lambda*eta << 1")

    if regime is None and treated == "adam":
        regime, covered = _adam(Q, c.weight_decay, mk, checks, reasons, caveats, theorems, near)
    elif regime is None:
        regime, covered = _adamw(Q, c, mk, checks, reasons, caveats, theorems, near,
                                 adamw_upper)
    if regime in ("learns_feature", "memorises_noise") and memory != "lambda_eta":
        reasons.append(f"(memory convention '{memory}': {_fmt(mem)} iterations)")

    # How far the run gets: Stage I ends once a pattern reaches order 1 (dynamics paragraph).
    fastest = min(Q["steps_feature_to_order_one"], Q["steps_noise_to_order_one"])
    if Q["total_steps"] < fastest:
        caveats.append(f"total steps {_fmt(Q['total_steps'])} < {_fmt(fastest)}, the steps the "
                       f"faster pattern needs to reach order 1 at eta per step (feature "
                       f"{_fmt(Q['steps_feature_to_order_one'])}, noise "
                       f"{_fmt(Q['steps_noise_to_order_one'])}): the run may end inside Stage I")

    scalings = _scalings(c, mk)
    checks.extend(scalings)
    off = [s for s in scalings if s.side != "near"]
    if off:
        caveats.append("outside the data-model scalings of Definition 3.1 (polylogs set to 1; "
                       "the paper's experiments are too, and these never decide the regime): "
                       + "; ".join(f"{s.statement.split(' (')[0]}: {_fmt(s.value)} vs "
                                   f"{_fmt(s.bound)}" for s in off))

    strict = regime if (covered or regime in ("borderline", "outside_theory")) \
        else "outside_theory"
    return TheoryReport(
        optimizer=c.optimizer, treated_as=treated, regime=regime, strict_regime=strict,
        covered=strict in ("learns_feature", "memorises_noise", "stuck_at_init"),
        theorems=tuple(theorems),
        reasons=tuple(reasons), caveats=tuple(caveats), near_boundaries=tuple(near),
        checks=tuple(checks), quantities=Q, conventions=conventions,
        config=_config_dict(c), statement=STATEMENT.format(margin=margin))


def _sigma_not_covered(c) -> str | None:
    """Why the theorems do not cover the config's activation, or None when they do: every result
    is proved for the paper's sigma(z) = max(z, 0)^q with q >= 3 (Definition 3.2)."""
    name = getattr(c, "activation", "relu-power")
    act = activations.get(name)
    if not act.paper:
        return (f"activation {name} ({act.help}): the theorems assume sigma(z) = max(z, 0)^q "
                f"with q >= 3 (Definition 3.2) and say nothing about it")
    if c.power < 3:
        return (f"power q = {_fmt(float(c.power))}: the theorems assume sigma(z) = max(z, 0)^q "
                f"with q >= 3 (Definition 3.2; the paper names ReLU-like q < 3 as a limit)")
    return None


def _config_dict(c) -> dict:
    if hasattr(c, "to_dict"):
        return c.to_dict()
    if dataclasses.is_dataclass(c):
        return dataclasses.asdict(c)
    return dict(vars(c))


def _hypothesis(chk: Check, wanted: str, theorem: str, reasons, caveats) -> bool:
    """A sufficient condition: met if on the wanted side or near (then with a caveat)."""
    if chk.side == wanted:
        reasons.append(f"{chk.statement}: {_fmt(chk.value)} vs {_fmt(chk.bound)} "
                       f"({wanted}, as {theorem} needs)")
        return True
    if chk.side == "near":
        caveats.append(f"{chk.statement}: {_fmt(chk.value)} vs {_fmt(chk.bound)} is within the "
                       f"margin (ratio {_fmt(chk.ratio)}); {theorem} needs it {wanted}, counted "
                       f"as met since constants are unknown")
        return True
    caveats.append(f"{chk.statement}: {_fmt(chk.value)} vs {_fmt(chk.bound)} (ratio "
                   f"{_fmt(chk.ratio)}) is {chk.side}; {theorem} needs it {wanted}, so no theorem "
                   f"covers this configuration and the regime extrapolates the paper's mechanism")
    return False


def _boundary_reason(chk: Check) -> str:
    return (f"{chk.statement}: {_fmt(chk.value)} is {_SIDE_WORDS[chk.side]} "
            f"{_fmt(chk.bound)} (ratio {_fmt(chk.ratio)})")


def _adam(Q, lam, mk, checks, reasons, caveats, theorems, near):
    """Adam (L2 decay inside the gradient): Cor 4.3 ceiling, then Thm 4.1 vs Thm 4.2."""
    nb = Q["n_over_B"]
    ceil = mk("adam_ceiling", "weight_decay vs sigma0^(q-2) (Cor 4.3)", lam,
              Q["adam_weight_decay_ceiling"], "boundary", "Cor 4.3")
    bound = mk("adam_bound", "weight_decay vs sigma0^(q-2)*sigma_p/n (Thm 4.1/4.2)", lam,
               Q["adam_weight_decay_bound"], "hypothesis", "Thm 4.1/4.2")
    memory = mk("memory", "n/B vs Adam's memory log(1/(lambda*eta)) (Thm 4.1/4.2)", nb,
                Q["memory"], "boundary", "Thm 4.1/4.2")
    checks += [ceil, bound, memory]
    if ceil.side == "above":
        theorems.append("Cor 4.3")
        reasons.append(_boundary_reason(ceil) + ": the L2 term outweighs the loss gradient at "
                       "initialisation, so Adam stays stuck there")
        return "stuck_at_init", True
    if ceil.side == "near":
        near.append(ceil.name)
        reasons.append(_boundary_reason(ceil) + ": too close to Cor 4.3's ceiling to say whether "
                       "Adam trains or stays stuck at initialisation")
        return "borderline", True
    reasons.append(_boundary_reason(ceil) + ": below Cor 4.3's ceiling, so Adam trains")
    if memory.side == "near":
        near.append(memory.name)
        reasons.append(_boundary_reason(memory) + ": between Thm 4.1 (n/B = Theta(1)) and "
                       "Thm 4.2 (n/B >= Theta(log 1/eps))")
        return "borderline", True
    if memory.side == "below":
        theorems.append("Thm 4.1")
        reasons.append(_boundary_reason(memory) + ": an example's noise coordinates are "
                       "revisited before weight decay erodes them, and they grow eta*s*sigma_p = "
                       f"{_fmt(Q['noise_growth_per_step'])} per step vs the feature's eta = "
                       f"{_fmt(Q['feature_growth_per_step'])}: train error 0, test error "
                       ">= 1/2 - o(1)")
        regime = "memorises_noise"
    else:
        theorems.append("Thm 4.2")
        reasons.append(_boundary_reason(memory) + ": weight decay erodes each noise coordinate "
                       "for most of the n/B iterations its example is absent, while the shared "
                       "feature gets a step every iteration: test error o(1)")
        regime = "learns_feature"
    covered = _hypothesis(bound, "below", theorems[-1], reasons, caveats)
    if not covered:
        caveats.append(f"weight_decay lies between Thm 4.1/4.2's bound "
                       f"{_fmt(bound.bound)} and Cor 4.3's ceiling {_fmt(ceil.bound)}; the paper "
                       f"(Cor 4.6) treats Adam as usable below about sigma0^(q-2)")
    return regime, covered


def _adamw(Q, c, mk, checks, reasons, caveats, theorems, near, upper):
    """AdamW (decoupled decay): Thm 4.4 vs Thm 4.5 inside the window min(B^2/n, 1) .. O(1)."""
    lam, nb = c.weight_decay, Q["n_over_B"]
    lower = mk("adamw_lower", "weight_decay vs min(B^2/n, 1) (Thm 4.4/4.5)", lam,
               Q["adamw_weight_decay_lower"], "hypothesis", "Thm 4.4/4.5")
    upp = mk("adamw_upper", "weight_decay vs O(1) upper end (Thm 4.4/4.5)", lam, upper,
             "hypothesis", "Thm 4.4/4.5")
    memory = mk("memory", "n/B vs Adam's memory log(1/(lambda*eta)) (Thm 4.4/4.5)", nb,
                Q["memory"], "boundary", "Thm 4.4/4.5")
    noise = mk("noise_s_sigma_p", "n/B vs s*sigma_p (Thm 4.4)", nb, Q["s_sigma_p"], "boundary",
               "Thm 4.4")
    both = mk("noise_s_sigma_p_sqrt_n", "n/B vs s*sigma_p + sqrt(n) (Thm 4.5)", nb,
              Q["s_sigma_p_plus_sqrt_n"], "boundary", "Thm 4.5")
    checks += [lower, upp, memory, noise, both]
    large = [k for k in (memory, noise) if k.side == "below"]
    mini = memory.side == "above" and both.side == "above"
    if large:
        theorems.append("Thm 4.4")
        for k in large:
            reasons.append(_boundary_reason(k) + (
                ": noise coordinates are revisited before decoupled decay erodes them"
                if k is memory else ": an example's noise grows faster per visit "
                f"(eta*s*sigma_p = {_fmt(Q['noise_growth_per_step'])}) than the feature gains "
                f"between visits (eta*n/B = {_fmt(c.lr * nb)})"))
        reasons.append("Thm 4.4: train error 0, test error >= 1/2 - o(1)")
        regime = "memorises_noise"
    elif mini:
        theorems.append("Thm 4.5")
        reasons.append(_boundary_reason(memory) + ": decoupled decay erodes each noise "
                       "coordinate while its example is absent")
        reasons.append(_boundary_reason(both) + ": the feature, stepped every iteration, "
                       "outgrows every example's noise: test error o(1)")
        regime = "learns_feature"
    else:
        nearby = [k for k in (memory, noise, both) if k.side == "near"]
        if nearby:
            near.extend(k.name for k in nearby)
            for k in nearby:
                reasons.append(_boundary_reason(k) + ": too close to tell Thm 4.4 from Thm 4.5")
            return "borderline", True
        reasons.append(f"n/B = {_fmt(nb)} is far above the memory {_fmt(Q['memory'])} and "
                       f"s*sigma_p = {_fmt(Q['s_sigma_p'])} but far below s*sigma_p + sqrt(n) = "
                       f"{_fmt(Q['s_sigma_p_plus_sqrt_n'])}: neither Thm 4.4 nor Thm 4.5 applies")
        return "outside_theory", False
    ok_low = _hypothesis(lower, "above", theorems[-1], reasons, caveats)
    ok_up = _hypothesis(upp, "below", theorems[-1], reasons, caveats)
    return regime, ok_low and ok_up


def predicted_regime(config, *, strict: bool = False, **conventions) -> str:
    """`predict(config).regime` (or `.strict_regime` with strict=True)."""
    r = predict(config, **conventions)
    return r.strict_regime if strict else r.regime


def regime_grid(config, batch_sizes: Iterable[int], weight_decays: Iterable[float], *,
                strict: bool = False, **conventions) -> list[list[str]]:
    """Predicted regime for each (weight_decay, batch_size): rows follow `weight_decays`, columns
    `batch_sizes` (the layout of report.figures.phase_heatmap). Other fields come from `config`."""
    bs, wds = list(batch_sizes), list(weight_decays)
    return [[predicted_regime(dataclasses.replace(config, batch_size=b, weight_decay=wd),
                              strict=strict, **conventions) for b in bs] for wd in wds]


def boundary_lines(config, batch_sizes: Iterable[float], weight_decays: Iterable[float], *,
                   adamw_upper: float = 1.0, memory: str = "lambda_eta",
                   points: int = 96) -> list[dict]:
    """The theorems' boundaries in the (batch_size, weight_decay) plane, hidden constants 1, for
    report.figures.phase_heatmap: [{"label", "batch_size": [...], "weight_decay": [...]}].

    adam/signsgd: lambda = sigma0^(q-2) (Cor 4.3), lambda = sigma0^(q-2) sigma_p/n (Thm 4.1/4.2),
    n/B = memory (Thm 4.1 | 4.2). adamw/signsgdw: the window min(B^2/n, 1) .. adamw_upper, n/B =
    memory, n/B = s*sigma_p (Thm 4.4) and n/B = s*sigma_p + sqrt(n) (Thm 4.5). sgd, or an
    activation other than max(z, 0)^q with q >= 3: none. Lines reach a little beyond the given
    ranges (B over a factor 2, lambda over a factor 10), so that they cross the whole plotted
    grid; the axes clip them."""
    bs, wds = sorted(batch_sizes), sorted(weight_decays)
    if not bs or not wds or bs[0] <= 0 or wds[0] <= 0:
        raise ValueError("batch_sizes, weight_decays: need positive values")
    treated = treated_as(config.optimizer)
    if treated is None or _sigma_not_covered(config):
        return []
    n, eta = config.n, config.lr
    # a factor 2 (B) and 10 (lambda) beyond the grid, so the lines cross the plotted cells
    b0, b1 = bs[0] / 2, bs[-1] * 2
    B = [b0 * (b1 / b0) ** (k / (points - 1)) for k in range(points)]
    lo_w, hi_w = wds[0] / 10, wds[-1] * 10
    horizontal = lambda label, y: {"label": label, "batch_size": [B[0], B[-1]],  # noqa: E731
                                   "weight_decay": [y, y]}
    vertical = lambda label, b: {"label": label, "batch_size": [b, b],  # noqa: E731
                                 "weight_decay": [lo_w, hi_w]}
    # n/B = memory: log(1/(lambda*eta)) = n/B  <=>  lambda = exp(-n/B)/eta (a curve);
    # log(1/eps) = n/B is a vertical line; "max" follows the curve, then the line above it.
    L_eps = _log_inv(config.eps)
    label = "n/B = Adam's memory (" + {"lambda_eta": "log(1/(λη))", "eps": "log(1/eps)",
                                       "max": "max of both"}[memory] + ")"
    if memory == "eps":
        mem = vertical(label, n / L_eps)
    else:
        cut = n / L_eps if memory == "max" else math.inf
        xs = [b for b in B if b < cut]
        mem = {"label": label, "batch_size": xs,
               "weight_decay": [math.exp(-n / b) / eta for b in xs]}
        if memory == "max" and cut < math.inf:
            mem["batch_size"] += [cut, cut]
            mem["weight_decay"] += [math.exp(-L_eps) / eta, max(hi_w, math.exp(-L_eps) / eta)]
    q = quantities(config)
    if treated == "adam":
        return [horizontal("λ = σ0^(q-2): Adam stuck above (Cor 4.3)",
                           q["adam_weight_decay_ceiling"]),
                horizontal("λ = σ0^(q-2)·σp/n: Thm 4.1/4.2 need λ below",
                           q["adam_weight_decay_bound"]),
                mem]
    s_sp, both = q["s_sigma_p"], q["s_sigma_p_plus_sqrt_n"]
    lines = [{"label": "λ = min(B²/n, 1): AdamW window starts (Thm 4.4/4.5)", "batch_size": B,
              "weight_decay": [min(b * b / n, 1.0) for b in B]},
             horizontal(f"λ = {adamw_upper:g}: O(1) end of the window", adamw_upper),
             mem]
    if s_sp > 0:
        lines.append(vertical("n/B = s·σp (Thm 4.4 below)", n / s_sp))
    lines.append(vertical("n/B = s·σp + √n (Thm 4.5 above)", n / both))
    return lines


def format_report(report: TheoryReport) -> str:
    """Human-readable text: regime, theorems, reasons, caveats, the main quantities."""
    q = report.quantities
    cfg = report.config
    lines = [
        f"optimizer {report.optimizer}"
        + (f" (treated as {report.treated_as})" if report.treated_as not in (None,
                                                                         report.optimizer) else "")
        + f", weight_decay {_fmt(cfg['weight_decay'])}, batch_size {cfg['batch_size']}, "
          f"n {cfg['n']}, lr {_fmt(cfg['lr'])}"
        + (f", activation {cfg['activation']}" if "activation" in cfg else ""),
        f"predicted regime: {report.regime}"
        + (f"  (strictly inside a theorem: {report.strict_regime})"
           if report.strict_regime != report.regime else ""),
        f"theorems: {', '.join(report.theorems) or 'none'}",
        "why:",
        *[f"  - {r}" for r in report.reasons],
    ]
    if report.caveats:
        lines += ["caveats:", *[f"  - {r}" for r in report.caveats]]
    lines += [
        "quantities:",
        f"  Adam weight-decay ceiling sigma0^(q-2)           {_fmt(q['adam_weight_decay_ceiling'])}"
        "  (Cor 4.3)",
        f"  Adam bound sigma0^(q-2)*sigma_p/n                {_fmt(q['adam_weight_decay_bound'])}"
        "  (Thm 4.1/4.2)",
        f"  AdamW window min(B^2/n, 1) .. O(1)               "
        f"{_fmt(q['adamw_weight_decay_lower'])} .. {_fmt(report.conventions['adamw_upper'])}"
        "  (Thm 4.4/4.5)",
        f"  iterations per epoch n/B                         {_fmt(q['n_over_B'])}",
        f"  Adam memory log(1/(lambda*eta)), log(1/eps)      "
        f"{_fmt(q['memory_lambda_eta'])}, {_fmt(q['memory_eps'])}",
        f"  s*sigma_p, sqrt(n)                               "
        f"{_fmt(q['s_sigma_p'])}, {_fmt(q['sqrt_n'])}",
        f"  growth per step: feature eta, noise eta*s*sigma_p {_fmt(q['feature_growth_per_step'])}"
        f", {_fmt(q['noise_growth_per_step'])} (average over steps "
        f"{_fmt(q['noise_growth_per_step_average'])})",
        f"  total steps                                      {_fmt(q['total_steps'])}",
        report.statement,
    ]
    return "\n".join(lines)


def critical_batch(config) -> dict | None:
    """The theory's critical batch size n / log(1/(lambda*eta)) and the other batch-size
    boundaries of `adamlab theory` for this configuration (None outside the synthetic task).

    Each boundary is the batch size B at which n/B equals one of the theory's quantities:
    memory_lambda_eta (Adam's memory, Thm 4.1/4.2 and 4.4/4.5: memorises above, learns below),
    memory_eps (the same with log(1/eps), the `--memory eps` convention), and for AdamW
    noise_s_sigma_p (Thm 4.4: memorises above n/(s*sigma_p)) and noise_s_sigma_p_sqrt_n (Thm 4.5
    learns only below n/(s*sigma_p + sqrt(n))), plus adamw_window: Thm 4.4/4.5 need
    lambda >= min(B^2/n, 1), i.e. B <= sqrt(lambda*n) unless lambda >= 1. Orders of magnitude:
    hidden constants are 1."""
    if getattr(config, "task", None) != "synthetic":
        return None
    q = quantities(config)
    n, opt = config.n, config.optimizer
    treated = treated_as(opt)

    def b_at(quantity: float) -> float | None:
        return n / quantity if quantity > 0 and math.isfinite(quantity) else None

    boundaries = {
        "memory_lambda_eta": {
            "batch_size": b_at(q["memory_lambda_eta"]),
            "statement": "n/B = log(1/(lambda*eta)): memorises noise above, learns below",
            "source": "Thm 4.1/4.2" if treated != "adamw" else "Thm 4.4/4.5"},
        "memory_eps": {
            "batch_size": b_at(q["memory_eps"]),
            "statement": "n/B = log(1/eps) (the eps memory convention)",
            "source": "Thm 4.2/4.5 with eps in place of lambda*eta"},
    }
    if treated == "adamw":
        lam = config.weight_decay
        boundaries["noise_s_sigma_p"] = {
            "batch_size": b_at(q["s_sigma_p"]),
            "statement": "n/B = s*sigma_p: memorises noise above", "source": "Thm 4.4"}
        boundaries["noise_s_sigma_p_sqrt_n"] = {
            "batch_size": b_at(q["s_sigma_p_plus_sqrt_n"]),
            "statement": "n/B = s*sigma_p + sqrt(n): learns the feature only below",
            "source": "Thm 4.5"}
        boundaries["adamw_window"] = {
            "batch_size": float(n) if lam >= 1 else math.sqrt(lam * n),
            "statement": "lambda = min(B^2/n, 1): Thm 4.4/4.5 hold only below",
            "source": "Thm 4.4/4.5 (hypothesis)"}
    stuck = treated == "adam" and config.weight_decay > q["adam_weight_decay_ceiling"]
    return {
        "b_star": b_at(q["memory_lambda_eta"]),
        "formula": "n / log(1/(lambda*eta))",
        "n": n, "lambda_eta": q["lambda_eta"], "memory_lambda_eta": q["memory_lambda_eta"],
        "applies": treated is not None,
        "treated_as": treated,
        "stuck_at_init": stuck,
        "adam_weight_decay_ceiling": q["adam_weight_decay_ceiling"],
        "boundaries": boundaries,
        "statement": STATEMENT.format(margin=DEFAULT_MARGIN),
    }
