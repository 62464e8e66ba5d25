"""An optimiser that exists only in the tests: Adamax (Kingma & Ba 2015, Sec. 7.1), registered
here and nowhere in adamlab. conftest.py imports this module before any test module, so every
test parameterised over `list_optimizers()` trains and checks it too (tests/test_registry.py
shows that it does). It has no fast kernel: engine "fast" runs it on the reference engine.

    g_t = grad + lambda * W_{t-1}
    m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    u_t = max(beta2 * u_{t-1}, |g_t| + eps)
    W_t = W_{t-1} - eta_t / (1 - beta1^t) * m_t / u_t          (torch.optim.Adamax)
"""
import torch

from adamlab.optim.registry import L2_DECAY, OptimizerSpec, register

NAME = "adamax"


class Adamax:
    def __init__(self, lr, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.weight_decay, self.beta1, self.beta2, self.eps = \
            lr, weight_decay, beta1, beta2, eps

    def init(self, W):
        return {"m": torch.zeros_like(W), "v": torch.zeros_like(W)}

    def step(self, W, grad, state, t, lr=None):
        lr = self.lr if lr is None else lr
        grad = grad + self.weight_decay * W
        state["m"].mul_(self.beta1).add_((1 - self.beta1) * grad)
        state["v"].copy_(torch.maximum(self.beta2 * state["v"], grad.abs() + self.eps))
        W.sub_(lr / (1 - self.beta1 ** t) * state["m"] / state["v"])

    def preconditioner(self, state, t):
        """1 / u_t (1/eps before the first step, so the ratio of the step-size metric is 1)."""
        return 1.0 / state["v"] if t > 0 else torch.ones_like(state["v"]) / self.eps


SPEC = register(OptimizerSpec(
    NAME, Adamax, ("lr", "weight_decay", "beta1", "beta2", "eps"),
    ("lr", "weight_decay", "beta1", "beta2", "eps"), "Adamax", weight_decay=L2_DECAY,
    torch_class=torch.optim.Adamax,
    torch_args=lambda o: dict(lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                              weight_decay=o["weight_decay"])), replace=True)
