"""The transforms optimisers are composed from (optax's names), each in its two forms side by side:
the torch form (the reference and batched engines; options may be per-run tensors) and the
compiled per-element form (numba source fused into the fast engine's update loop,
adamlab/optim/chain.py), as the activations keep their torch and numba forms together.

With g the incoming update (the gradient, plus lambda * W_{t-1} after an L2 decay) at step
t = 1, 2, ..., and eta_t the step's learning rate (the schedule's factor times lr):

    add_decayed_weights     u = g + lambda * W_{t-1}
                            before a stateful transform: Adam's L2 term in the gradient;
                            after one: AdamW's decoupled decay, W_t = (1 - eta_t lambda) W_{t-1} - ...
    scale_by_learning_rate  u = eta_t * g
    scale_by_adam           m_t = beta1 m + (1 - beta1) g,  v_t = beta2 v + (1 - beta2) g^2
                            u = m_hat / (sqrt(v_hat) + eps);  m_hat = m_t / (1 - beta1^t),
                            v_hat = v_t / (1 - beta2^t) (bias_correction=True, torch), else m_t, v_t
                            (the paper's equations, Sec. 3)
    scale_by_sign           u = sign(g), sign(0) = 0 (SignSGD: the paper's small-step limit of
                            Adam, Sec. 4: Adam with beta1 = beta2 = 0 and eps = 0)
    trace                   b_1 = g, b_t = mu b + g;  u = b_t, or g + mu b_t (nesterov; needs mu > 0)
                            (torch.optim.SGD's momentum, no dampening)
    scale_by_rms            v_t = beta2 v + (1 - beta2) g^2  (torch RMSprop's alpha is beta2)
                            b_t = mu b + g / (sqrt(v_t) + eps);  u = b_t  (mu = momentum)
    scale_by_adagrad        v_t = v + g^2;  u = g / (sqrt(v_t) + eps)  (Duchi et al. 2011)
    scale_by_nadam          mu_t = beta1 (1 - 0.5 * 0.96^(t psi)), P_t = mu_1 ... mu_t (psi = 0.004)
                            m_t, v_t as Adam's;  D = sqrt(v_t / (1 - beta2^t)) + eps
                            u = (1 - mu_t) / (1 - P_t) g / D + mu_{t+1} / (1 - P_t mu_{t+1}) m_t / D
                            (Dozat 2016; torch.optim.NAdam)
    scale_by_lion           c = beta1 m + (1 - beta1) g;  u = sign(c);  m_t = beta2 m + (1 - beta2) g
                            (Chen et al. 2023, Algorithm 2)

The optimisers of adamlab/optim/registry.py are chains of these. Each per-coordinate
preconditioner (the step size per unit of lr, for the step-ratio metric) is 1 / (sqrt(v_hat) +
eps) for Adam and NAdam and 1 / (sqrt(v_t) + eps) for RMSprop and Adagrad; the sign methods and
SGD have none.

The compiled forms flush a decaying moment to zero below `tm` (first moments, momentum buffers)
or `tv` (second moments): the fast engine's guard against subnormal floats (its module
docstring). Lion's momentum is never flushed (its step is sign(c): a tiny momentum still moves
W by lr), nor Adagrad's sum (it never decays).
"""
from __future__ import annotations

import torch

from .chain import Term, Transform

MOMENTUM_DECAY = 0.004  # torch.optim.NAdam's default psi (Dozat 2016 uses the same 0.96^(t/250))
UNIT = (0.0, 1.0)       # a coefficient in [0, 1]
NON_NEGATIVE = (0.0, None)
# Adam's and NAdam's compiled moment updates, with the flush of tiny moments (written once).
MOMENTS = """
        mm = b1_ * M[e] + c1 * g
        vv = b2_ * V[e] + c2 * g * g
        mm = mm if abs(mm) > tm else zero
        vv = vv if vv > tv else zero
        M[e] = mm
        V[e] = vv
"""


# ---- the two linear transforms (their forms are the chain's algebra, adamlab/optim/chain.py) --

add_decayed_weights = Transform(
    "add_decayed_weights", options={"weight_decay": 0.0},
    ranges={"weight_decay": NON_NEGATIVE}, linear="weight_decay")
"""u = g + lambda * W: L2 before a stateful transform, decoupled decay after one."""

scale_by_learning_rate = Transform(
    "scale_by_learning_rate", options={"lr": None}, ranges={"lr": (0.0, None, True)},
    linear="lr")
"""u = eta_t * g (eta_t: lr times the schedule's factor)."""


# ---- Adam --------------------------------------------------------------------------------------

def _adam_torch(g, state, t, o):
    m, v = state["m"], state["v"]
    m.mul_(o.beta1).add_((1 - o.beta1) * g)
    v.mul_(o.beta2).add_((1 - o.beta2) * g * g)
    if o.bias_correction:
        bc1 = 1 - o.beta1 ** t
        bc2_sqrt = (1 - o.beta2 ** t) ** 0.5
    else:
        bc1, bc2_sqrt = 1.0, 1.0
    return (Term(lambda s: s / bc1, m, v.sqrt() / bc2_sqrt + o.eps),)


def _adam_preconditioner(state, t, o):
    """1 / (sqrt(v_hat_t) + eps) (t = 0, before any step: v = 0, so 1/eps)."""
    v = state["v"]
    if o.bias_correction and t > 0:
        return 1.0 / (v.sqrt() / (1 - o.beta2 ** t) ** 0.5 + o.eps)
    return 1.0 / (v.sqrt() + o.eps)


scale_by_adam = Transform(
    "scale_by_adam",
    options={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "bias_correction": True},
    ranges={"beta1": UNIT, "beta2": UNIT, "eps": NON_NEGATIVE},
    state=("m", "v"),
    torch=_adam_torch,
    prelude="""
        b1_, b2_, c1, c2, eps_ = ft(beta1), ft(beta2), ft(1.0 - beta1), ft(1.0 - beta2), ft(eps)
        bc1 = 1.0 - beta1 ** t if bias_correction else 1.0
        bc2s = ft(math.sqrt(1.0 - beta2 ** t)) if bias_correction else one
    """,
    element=MOMENTS,
    terms=(("{s} / bc1", "mm / (math.sqrt(vv) / bc2s + eps_)"),),
    preconditioner=_adam_preconditioner)
"""Adam's preconditioner with its moments (bias_correction: torch's; off: the paper's equations)."""


# ---- sign --------------------------------------------------------------------------------------

scale_by_sign = Transform(
    "scale_by_sign",
    torch=lambda g, state, t, o: (Term(lambda s: s, torch.sign(g)),),
    terms=(("{s}", "((g > zero) * one - (g < zero) * one)"),))
"""sign(g), sign(0) = 0."""


# ---- SGD momentum ------------------------------------------------------------------------------

def _trace_torch(g, state, t, o):
    buf = state["m"]
    if t == 1:
        buf.copy_(g)
    else:
        buf.mul_(o.momentum).add_(g)
    return (Term(lambda s: s, g + o.momentum * buf if o.nesterov else buf),)


def _trace_check(o):
    if o.nesterov and not isinstance(o.momentum, torch.Tensor) and o.momentum <= 0:
        raise ValueError(f"nesterov: needs momentum > 0, got momentum={o.momentum!r}")


trace = Transform(
    "trace", options={"momentum": 0.0, "nesterov": False}, ranges={"momentum": UNIT},
    state=("m",),
    torch=_trace_torch,
    prelude="""
        mu = zero if t == 1 else ft(momentum)
        mom = ft(momentum)
    """,
    element="""
        b = mu * M[e] + g
        b = b if abs(b) > tm else zero
        M[e] = b
        d = g + mom * b if nesterov else b
    """,
    terms=(("{s}", "d"),),
    check=_trace_check)
"""Heavy-ball or Nesterov momentum, torch.optim.SGD's (m_1 = g_1, no dampening)."""


# ---- RMSprop -----------------------------------------------------------------------------------

def _rms_torch(g, state, t, o):
    m, v = state["m"], state["v"]
    v.mul_(o.beta2).add_((1 - o.beta2) * g * g)
    # Always through the momentum buffer (mu = 0 gives exactly g / (sqrt(v) + eps)), so the
    # momentum may be a per-run tensor with zeros in it.
    m.mul_(o.momentum).add_(g / (v.sqrt() + o.eps))
    return (Term(lambda s: s, m),)


def _rms_preconditioner(state, t, o):
    """1 / (sqrt(v_t) + eps)."""
    return 1.0 / (state["v"].sqrt() + o.eps)


scale_by_rms = Transform(
    "scale_by_rms", options={"beta2": 0.99, "eps": 1e-8, "momentum": 0.0},
    ranges={"beta2": UNIT, "eps": NON_NEGATIVE, "momentum": UNIT},
    state=("m", "v"),
    torch=_rms_torch,
    prelude="""
        b2_, c2, eps_, mom = ft(beta2), ft(1.0 - beta2), ft(eps), ft(momentum)
    """,
    element="""
        vv = b2_ * V[e] + c2 * g * g
        vv = vv if vv > tv else zero
        V[e] = vv
        u = g / (math.sqrt(vv) + eps_)
        if momentum > 0.0:
            u = mom * M[e] + u
            u = u if abs(u) > tm else zero
            M[e] = u
    """,
    terms=(("{s}", "u"),),
    preconditioner=_rms_preconditioner)
"""RMSprop's normalisation and momentum (torch.optim.RMSprop, centered=False, no bias correction)."""


# ---- Adagrad -----------------------------------------------------------------------------------

def _adagrad_torch(g, state, t, o):
    v = state["v"]
    v.add_(g * g)
    return (Term(lambda s: s, g, v.sqrt() + o.eps),)


scale_by_adagrad = Transform(
    "scale_by_adagrad", options={"eps": 1e-10}, ranges={"eps": NON_NEGATIVE},
    state=("v",),
    torch=_adagrad_torch,
    prelude="""
        eps_ = ft(eps)
    """,
    element="""
        vv = V[e] + g * g
        V[e] = vv
    """,
    terms=(("{s}", "g / (math.sqrt(vv) + eps_)"),),
    preconditioner=_rms_preconditioner)
"""Adagrad's sum of squared gradients (torch.optim.Adagrad, lr_decay 0): it never forgets."""


# ---- NAdam -------------------------------------------------------------------------------------

def _nadam_mu(o, t):
    return o.beta1 * (1.0 - 0.5 * 0.96 ** (t * o.momentum_decay))


def _nadam_torch(g, state, t, o):
    mu, mu_next = _nadam_mu(o, t), _nadam_mu(o, t + 1)
    state["mu_product"].mul_(mu)
    P = state["mu_product"]
    m, v = state["m"], state["v"]
    m.mul_(o.beta1).add_((1 - o.beta1) * g)
    v.mul_(o.beta2).add_((1 - o.beta2) * g * g)
    denom = (v / (1 - o.beta2 ** t)).sqrt() + o.eps
    return (Term(lambda s: s * (1 - mu) / (1 - P), g, denom),
            Term(lambda s: s * mu_next / (1 - P * mu_next), m, denom))


def _nadam_preconditioner(state, t, o):
    """1 / (sqrt(v_hat_t) + eps), v_hat = v / (1 - beta2^t) (1/eps at t = 0)."""
    v = state["v"]
    if t > 0:
        return 1.0 / ((v / (1 - o.beta2 ** t)).sqrt() + o.eps)
    return 1.0 / (v.sqrt() + o.eps)


scale_by_nadam = Transform(
    "scale_by_nadam", options={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    ranges={"beta1": UNIT, "beta2": UNIT, "eps": NON_NEGATIVE},
    state=("m", "v"), scalars=("mu_product",), constants={"momentum_decay": MOMENTUM_DECAY},
    torch=_nadam_torch,
    prelude="""
        b1_, b2_, c1, c2, eps_ = ft(beta1), ft(beta2), ft(1.0 - beta1), ft(1.0 - beta2), ft(eps)
        bc2 = ft(1.0 - beta2 ** t)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = mu_product * mu
    """,
    element=MOMENTS + """
        den = math.sqrt(vv / bc2) + eps_
    """,
    terms=(("{s} * (1.0 - mu) / (1.0 - mu_product)", "g / den"),
           ("{s} * mu_next / (1.0 - mu_product * mu_next)", "mm / den")),
    preconditioner=_nadam_preconditioner)
"""Adam with Nesterov momentum (the second moment always bias-corrected, as torch)."""


# ---- Lion --------------------------------------------------------------------------------------

def _lion_torch(g, state, t, o):
    m = state["m"]
    c = torch.sign(o.beta1 * m + (1 - o.beta1) * g)
    m.mul_(o.beta2).add_((1 - o.beta2) * g)
    return (Term(lambda s: s, c),)


scale_by_lion = Transform(
    "scale_by_lion", options={"beta1": 0.9, "beta2": 0.99},
    ranges={"beta1": UNIT, "beta2": UNIT},
    state=("m",),
    torch=_lion_torch,
    prelude="""
        b1_, b2_, c1, c2 = ft(beta1), ft(beta2), ft(1.0 - beta1), ft(1.0 - beta2)
    """,
    element="""
        c = b1_ * M[e] + c1 * g
        M[e] = b2_ * M[e] + c2 * g
    """,
    terms=(("{s}", "((c > zero) * one - (c < zero) * one)"),))
"""Lion's interpolated sign step; its momentum is never flushed (see the module docstring)."""


__all__ = ["add_decayed_weights", "scale_by_learning_rate", "scale_by_adam", "scale_by_sign",
           "trace", "scale_by_rms", "scale_by_adagrad", "scale_by_nadam", "scale_by_lion",
           "MOMENTUM_DECAY"]
