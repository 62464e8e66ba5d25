"""NAdam: Adam with Nesterov momentum (Dozat 2016), with an L2 penalty (torch.optim.NAdam).

With psi = MOMENTUM_DECAY (torch's momentum_decay, 0.004) and mu_t the momentum schedule:

    g_t = grad + lambda * W_{t-1}
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi)),   P_t = mu_1 * ... * mu_t   (P_0 = 1)
    m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
    D_t = sqrt(v_t / (1 - beta2^t)) + eps
    W_t = W_{t-1} - eta_t * (1 - mu_t) / (1 - P_t) * g_t / D_t
                  - eta_t * mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t / D_t

The second moment is always bias-corrected (as torch); the running product P_t is state.
Per-coordinate step size: eta_t / D_t.
"""
from __future__ import annotations

import torch

from ._checks import check_range

MOMENTUM_DECAY = 0.004  # torch.optim.NAdam's default psi (Dozat 2016 uses the same 0.96^(t/250))


class NAdam:
    def __init__(self, lr, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8,
                 momentum_decay=MOMENTUM_DECAY):
        check_range("lr", lr, 0.0, lo_open=True)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("beta1", beta1, 0.0, 1.0)
        check_range("beta2", beta2, 0.0, 1.0)
        check_range("eps", eps, 0.0)
        check_range("momentum_decay", momentum_decay, 0.0)
        self.lr, self.weight_decay, self.eps = lr, weight_decay, eps
        self.beta1, self.beta2, self.momentum_decay = beta1, beta2, momentum_decay

    def init(self, W: torch.Tensor) -> dict:
        # P_t: one value, or one per run when beta1 is a per-run tensor (K, 1, 1).
        ones = torch.ones_like(self.beta1, dtype=W.dtype, device=W.device) \
            if isinstance(self.beta1, torch.Tensor) else W.new_ones(())
        return {"m": torch.zeros_like(W), "v": torch.zeros_like(W), "mu_product": ones}

    def mu(self, t: int):
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        lr = self.lr if lr is None else lr
        b1, b2 = self.beta1, self.beta2
        grad = grad + self.weight_decay * W
        mu, mu_next = self.mu(t), self.mu(t + 1)
        state["mu_product"].mul_(mu)
        P = state["mu_product"]
        m, v = state["m"], state["v"]
        m.mul_(b1).add_((1 - b1) * grad)
        v.mul_(b2).add_((1 - b2) * grad * grad)
        denom = (v / (1 - b2 ** t)).sqrt() + self.eps
        W.sub_(lr * (1 - mu) / (1 - P) * grad / denom)
        W.sub_(lr * mu_next / (1 - P * mu_next) * m / denom)

    def preconditioner(self, state: dict, t: int) -> torch.Tensor:
        """1 / (sqrt(v_hat_t) + eps), v_hat = v / (1 - beta2^t) (1/eps at t = 0)."""
        v = state["v"]
        if t > 0:
            return 1.0 / ((v / (1 - self.beta2 ** t)).sqrt() + self.eps)
        return 1.0 / (v.sqrt() + self.eps)


__all__ = ["NAdam", "MOMENTUM_DECAY"]
