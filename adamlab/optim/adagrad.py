"""Adagrad with an L2 penalty (torch.optim.Adagrad convention: lr_decay = 0, accumulator from 0).

    g_t = grad + lambda * W_{t-1}
    v_t = v_{t-1} + g_t^2                                (the sum of squared gradients; v_0 = 0)
    W_t = W_{t-1} - eta_t * g_t / (sqrt(v_t) + eps)

Duchi, Hazan & Singer (2011). Its second moment never forgets, so the paper's memory argument
(Adam forgets an absent example's noise coordinate within log(1/(lambda*eta)) steps) does not
apply; the theory calculator leaves it outside the theorems. Per-coordinate step size:
eta_t / (sqrt(v_t) + eps).
"""
from __future__ import annotations

import torch

from ._checks import check_range


class Adagrad:
    def __init__(self, lr, weight_decay=0.0, eps=1e-10):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("eps", eps, 0.0)
        self.lr, self.weight_decay, self.eps = lr, weight_decay, eps

    def init(self, W: torch.Tensor) -> dict:
        return {"v": torch.zeros_like(W)}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        lr = self.lr if lr is None else lr
        grad = grad + self.weight_decay * W
        v = state["v"]
        v.add_(grad * grad)
        W.sub_(lr * grad / (v.sqrt() + self.eps))

    def preconditioner(self, state: dict, t: int) -> torch.Tensor:
        """1 / (sqrt(v_t) + eps): each coordinate's step size per unit of lr."""
        return 1.0 / (state["v"].sqrt() + self.eps)


__all__ = ["Adagrad"]
