"""An optimiser that exists only in the tests: Adamax (Kingma & Ba 2015, Sec. 7.1), composed here
from one new transform and two of adamlab's, and named nowhere in adamlab. conftest.py imports
this module before any test module, so every test parameterised over `list_optimizers()`
trains and checks it too, on every engine, the fast one included (its transform has a compiled
form; tests/test_registry.py shows that it does, tests/test_transforms.py checks its fast engine
against torch.optim.Adamax step by step).

    g_t = grad + lambda * W_{t-1}                               (add_decayed_weights: L2)
    m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    u_t = max(beta2 * u_{t-1}, |g_t| + eps)
    W_t = W_{t-1} - eta_t / (1 - beta1^t) * m_t / u_t          (torch.optim.Adamax)
"""
import dataclasses

import torch

from adamlab.optim import Term, Transform, chain
from adamlab.optim.registry import OptimizerSpec, register
from adamlab.optim.transforms import add_decayed_weights, scale_by_learning_rate

NAME = "adamax"


def _adamax_torch(g, state, t, o):
    m, u = state["m"], state["u"]
    m.mul_(o.beta1).add_((1 - o.beta1) * g)
    u.copy_(torch.maximum(o.beta2 * u, g.abs() + o.eps))
    return (Term(lambda s: s / (1 - o.beta1 ** t), m, u),)


def _adamax_preconditioner(state, t, o):
    """1 / u_t (1/eps before the first step, so the ratio of the step-size metric is 1)."""
    return 1.0 / state["u"] if t > 0 else torch.ones_like(state["u"]) / o.eps


scale_by_adamax = Transform(
    "scale_by_adamax", options={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    ranges={"beta1": (0.0, 1.0), "beta2": (0.0, 1.0), "eps": (0.0, None, True)},
    state=("m", "u"),
    torch=_adamax_torch,
    prelude="""
        b1_, b2_, c1, eps_ = ft(beta1), ft(beta2), ft(1.0 - beta1), ft(eps)
        bc1 = 1.0 - beta1 ** t
    """,
    element="""
        mm = b1_ * M[e] + c1 * g
        mm = mm if abs(mm) > tm else zero
        M[e] = mm
        uu = max(b2_ * U[e], abs(g) + eps_)
        U[e] = uu
    """,
    terms=(("{s} / bc1", "mm / uu"),),
    preconditioner=_adamax_preconditioner)

SPEC = register(OptimizerSpec(
    NAME, chain(add_decayed_weights, scale_by_adamax, scale_by_learning_rate), "Adamax",
    torch_class=torch.optim.Adamax,
    torch_args=lambda o: dict(lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                              weight_decay=o["weight_decay"])), replace=True)

# The same transform in its torch form only: an optimiser without a fast kernel, which engine
# "fast" runs on the reference engine (registered for one test at a time: conftest.py).
TORCH_ONLY = "adamax_torch_only"
TORCH_ONLY_SPEC = dataclasses.replace(
    SPEC, name=TORCH_ONLY, chain=chain(add_decayed_weights, dataclasses.replace(
        scale_by_adamax, name="scale_by_adamax_torch", prelude="", element="", terms=()),
        scale_by_learning_rate))
