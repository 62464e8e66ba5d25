"""Gradient clipping by global norm (docs/paper.md "Limits": not analysed by the paper).

    g <- g * min(1, c / (||g||_2 + 1e-6))

exactly torch.nn.utils.clip_grad_norm_(params, max_norm=c) (its 1e-6 included). The engines clip
the gradient of the batch loss before the optimiser adds its L2 term, as clip_grad_norm_ on
.grad followed by torch.optim's step would. The norm is over all weights of one run; `run_dims`
leading axes index independent runs (the batched engine), each clipped by its own norm.
"""
from __future__ import annotations

import torch

CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ adds this to the norm


def clip_by_global_norm(grad: torch.Tensor, max_norm: float, run_dims: int = 0) -> torch.Tensor:
    """The clipped gradient (a new tensor; `grad` is not changed)."""
    norm = torch.linalg.vector_norm(grad.flatten(run_dims), dim=-1)
    coef = (max_norm / (norm + CLIP_EPS)).clamp(max=1.0)
    return grad * coef.view(coef.shape + (1,) * (grad.dim() - run_dims))


__all__ = ["clip_by_global_norm", "CLIP_EPS"]
