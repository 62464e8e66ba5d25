"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2).

    W_{t-1} <- (1 - eta_t * lambda) * W_{t-1}                 (decoupled decay, as the paper)
    c_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    W_t = W_{t-1} - eta_t * sign(c_t)                         (sign(0) = 0)
    m_t = beta2 * m_{t-1} + (1 - beta2) * g_t

Every coordinate with a non-zero interpolated momentum moves by exactly eta_t: a sign method with
momentum, so the paper's SignSGDW picture (decoupled decay) is its nearest kin. The Lion paper's
defaults: betas (0.9, 0.99), a learning rate 3-10x smaller than AdamW's and a weight decay 3-10x
larger (so that eta * lambda stays about the same). torch.optim has no Lion; tests check this rule
against the published update written out independently.
"""
from __future__ import annotations

import torch

from ._checks import check_range


class Lion:
    def __init__(self, lr, weight_decay=0.0, beta1=0.9, beta2=0.99):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("beta1", beta1, 0.0, 1.0)
        check_range("beta2", beta2, 0.0, 1.0)
        self.lr, self.weight_decay, self.beta1, self.beta2 = lr, weight_decay, beta1, beta2

    def init(self, W: torch.Tensor) -> dict:
        return {"m": torch.zeros_like(W)}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        lr = self.lr if lr is None else lr
        m = state["m"]
        W.mul_(1 - lr * self.weight_decay)
        W.sub_(lr * torch.sign(self.beta1 * m + (1 - self.beta1) * grad))
        m.mul_(self.beta2).add_((1 - self.beta2) * grad)


__all__ = ["Lion"]
