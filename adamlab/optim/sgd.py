"""SGD / GD with an L2 penalty, heavy-ball or Nesterov momentum (torch.optim.SGD convention).

    g_t = grad + lambda * W_{t-1}
    m_1 = g_1;  m_t = mu * m_{t-1} + g_t      (mu = momentum; no dampening)
    d_t = m_t                                  (heavy ball)
    d_t = g_t + mu * m_t                       (nesterov=True; needs mu > 0, as torch)
    W_t = W_{t-1} - eta_t * d_t                (mu = 0: W_t = W_{t-1} - eta_t * g_t)

The baseline of the earlier (S)GD analyses the paper builds on; full batch (B = n) is GD. The
paper names momentum as one of the things its theory leaves out (docs/paper.md "Limits").
"""
from __future__ import annotations

import torch

from ._checks import check_range


class SGD:
    def __init__(self, lr, weight_decay=0.0, momentum=0.0, nesterov=False):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("momentum", momentum, 0.0, 1.0)
        if nesterov and not isinstance(momentum, torch.Tensor) and momentum <= 0:
            raise ValueError(f"nesterov: needs momentum > 0, got momentum={momentum!r}")
        self.lr, self.weight_decay, self.momentum = lr, weight_decay, momentum
        self.nesterov = nesterov

    def init(self, W: torch.Tensor) -> dict:
        return {"m": torch.zeros_like(W)}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        lr = self.lr if lr is None else lr
        grad = grad + self.weight_decay * W
        buf = state["m"]
        if t == 1:
            buf.copy_(grad)
        else:
            buf.mul_(self.momentum).add_(grad)
        W.sub_(lr * (grad + self.momentum * buf if self.nesterov else buf))
