"""SGD / GD with an L2 penalty and optional heavy-ball momentum (torch.optim.SGD convention).

    g_t = grad + lambda * W_{t-1}
    b_1 = g_1;  b_t = mu * b_{t-1} + g_t   (mu = momentum; no dampening, no Nesterov)
    W_t = W_{t-1} - eta * b_t              (mu = 0: W_t = W_{t-1} - eta * g_t)

The baseline of the earlier (S)GD analyses the paper builds on; full batch (B = n) is GD.
"""
from __future__ import annotations

import torch

from ._checks import check_range


class SGD:
    def __init__(self, lr, weight_decay=0.0, momentum=0.0):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("momentum", momentum, 0.0, 1.0)
        self.lr, self.weight_decay, self.momentum = lr, weight_decay, momentum

    def init(self, W: torch.Tensor) -> dict:
        return {"buf": torch.zeros_like(W)}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int) -> None:
        grad = grad + self.weight_decay * W
        buf = state["buf"]
        if t == 1:
            buf.copy_(grad)
        else:
            buf.mul_(self.momentum).add_(grad)
        W.sub_(self.lr * buf)
