"""RMSprop with an L2 penalty and optional momentum (torch.optim.RMSprop, centered=False).

    g_t = grad + lambda * W_{t-1}
    v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2          (beta2 is torch's `alpha`; v_0 = 0)
    m_t = mu * m_{t-1} + g_t / (sqrt(v_t) + eps)         (mu = momentum; m_0 = 0)
    W_t = W_{t-1} - eta_t * m_t                          (mu = 0: eta_t * g_t / (sqrt(v_t) + eps))

No bias correction: early steps are larger than Adam's (v_1 = (1 - beta2) g_1^2). This is Adam
with beta1 = 0 without bias correction and the momentum applied after normalising (Hinton's
lecture 6e; Tieleman & Hinton 2012). Per-coordinate step size: eta_t / (sqrt(v_t) + eps).
"""
from __future__ import annotations

import torch

from ._checks import check_range


class RMSprop:
    def __init__(self, lr, weight_decay=0.0, beta2=0.99, eps=1e-8, momentum=0.0):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("beta2", beta2, 0.0, 1.0)
        check_range("eps", eps, 0.0)
        check_range("momentum", momentum, 0.0, 1.0)
        self.lr, self.weight_decay, self.beta2, self.eps = lr, weight_decay, beta2, eps
        self.momentum = momentum

    def init(self, W: torch.Tensor) -> dict:
        return {"m": torch.zeros_like(W), "v": torch.zeros_like(W)}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        lr = self.lr if lr is None else lr
        grad = grad + self.weight_decay * W
        m, v = state["m"], state["v"]
        v.mul_(self.beta2).add_((1 - self.beta2) * grad * grad)
        # Always through the momentum buffer (mu = 0 gives exactly g / (sqrt(v) + eps)), so the
        # momentum may be a per-run tensor with zeros in it.
        m.mul_(self.momentum).add_(grad / (v.sqrt() + self.eps))
        W.sub_(lr * m)

    def preconditioner(self, state: dict, t: int) -> torch.Tensor:
        """1 / (sqrt(v_t) + eps): each coordinate's step size per unit of lr."""
        return 1.0 / (state["v"].sqrt() + self.eps)


__all__ = ["RMSprop"]
