"""Adam with an L2 penalty (paper's "Adam") and with decoupled weight decay ("AdamW").

With g_t the stochastic gradient of the batch loss at step t = 1, 2, ... and eta_t the step's
learning rate (eta times the schedule's factor; eta when no schedule is set):

    Adam  (L2):        g_t <- g_t + lambda * W_{t-1}
    AdamW (decoupled): W_{t-1} <- (1 - eta_t * lambda) * W_{t-1}     (torch.optim.AdamW convention)

    m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
    m_hat = m_t / (1 - beta1^t),  v_hat = v_t / (1 - beta2^t)     (bias_correction=True, torch)
    m_hat = m_t,                  v_hat = v_t                     (bias_correction=False, paper eqs)
    W_t = W_{t-1} - eta_t * m_hat / (sqrt(v_hat) + eps)

These are the paper's update equations (Sec. 3, "Adam" / "AdamW"); with bias correction on they
equal torch.optim.Adam(weight_decay=lambda) and torch.optim.AdamW(weight_decay=lambda) step by step.
The per-coordinate step size is eta_t / (sqrt(v_hat) + eps) (`preconditioner` without eta_t): the
quantity whose growth on noise coordinates the paper blames for large-batch failure.
"""
from __future__ import annotations

import torch

from ._checks import check_range


class Adam:
    """The paper's Adam (`decoupled=False`: L2 term in the gradient) or AdamW (`decoupled=True`),
    with the equations of this module's docstring; arguments are checked against their ranges."""

    def __init__(self, lr, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8,
                 bias_correction=True, decoupled=False):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("beta1", beta1, 0.0, 1.0)
        check_range("beta2", beta2, 0.0, 1.0)
        check_range("eps", eps, 0.0)
        self.lr, self.weight_decay, self.eps = lr, weight_decay, eps
        self.beta1, self.beta2 = beta1, beta2
        self.bias_correction, self.decoupled = bias_correction, decoupled

    def init(self, W: torch.Tensor) -> dict:
        """Zero first and second moments shaped like W."""
        return {"m": torch.zeros_like(W), "v": torch.zeros_like(W)}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        """One in-place update; t counts from 1; lr: this step's learning rate (default self.lr)."""
        lr = self.lr if lr is None else lr
        wd, b1, b2 = self.weight_decay, self.beta1, self.beta2
        if self.decoupled:
            W.mul_(1 - lr * wd)
        else:
            grad = grad + wd * W
        m, v = state["m"], state["v"]
        m.mul_(b1).add_((1 - b1) * grad)
        v.mul_(b2).add_((1 - b2) * grad * grad)
        if self.bias_correction:
            bc1 = 1 - b1 ** t
            bc2_sqrt = (1 - b2 ** t) ** 0.5
        else:
            bc1, bc2_sqrt = 1.0, 1.0
        W.sub_((lr / bc1) * m / (v.sqrt() / bc2_sqrt + self.eps))

    def preconditioner(self, state: dict, t: int) -> torch.Tensor:
        """1 / (sqrt(v_hat_t) + eps): the step size of each coordinate per unit of lr in the
        update of step t (t = 0, before any step: v_hat = 0, so 1/eps)."""
        v = state["v"]
        if self.bias_correction and t > 0:
            return 1.0 / (v.sqrt() / (1 - self.beta2 ** t) ** 0.5 + self.eps)
        return 1.0 / (v.sqrt() + self.eps)


__all__ = ["Adam"]
