"""SignSGD (L2 penalty inside the sign) and SignSGDW (decoupled decay).

    SignSGD:   W_t = W_{t-1} - eta_t * sign(g_t + lambda * W_{t-1})
    SignSGDW:  W_t = (1 - eta_t * lambda) * W_{t-1} - eta_t * sign(g_t)

with sign(0) = 0. The paper (Sec. 4) shows stochastic Adam / AdamW behave like these for small step
sizes: Adam with beta1 = beta2 = 0 and eps = 0 is exactly SignSGD on coordinates with g != 0.
"""
from __future__ import annotations

import torch

from ._checks import check_range


class SignSGD:
    def __init__(self, lr, weight_decay=0.0, decoupled=False):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        self.lr, self.weight_decay, self.decoupled = lr, weight_decay, decoupled

    def init(self, W: torch.Tensor) -> dict:
        return {}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        lr = self.lr if lr is None else lr
        if self.decoupled:
            W.mul_(1 - lr * self.weight_decay)
        else:
            grad = grad + self.weight_decay * W
        W.sub_(lr * torch.sign(grad))
