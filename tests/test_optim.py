"""Every update rule against an independent implementation (torch.optim), step by step."""
import numpy as np
import pytest
import torch

from adamlab.optim import SGD, Adam, SignSGD


def _grads(seed, steps, shape=(2, 3, 7)):
    g = torch.Generator().manual_seed(seed)
    # Some exact zeros, as sparse patches produce.
    out = []
    for _ in range(steps):
        x = torch.randn(shape, generator=g, dtype=torch.float64) * 1e-2
        x[torch.rand(shape, generator=g) < 0.3] = 0.0
        out.append(x)
    return out


def _run_ours(opt, W0, grads):
    W = W0.clone()
    state = opt.init(W)
    traj = []
    for t, g in enumerate(grads, start=1):
        opt.step(W, g, state, t)
        traj.append(W.clone())
    return traj


def _run_torch(make, W0, grads):
    W = torch.nn.Parameter(W0.clone())
    opt = make([W])
    traj = []
    for g in grads:
        W.grad = g.clone()
        opt.step()
        traj.append(W.detach().clone())
    return traj


W0 = torch.randn(2, 3, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("wd", [0.0, 1e-2, 0.5])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.0, 0.5), (0.5, 0.95)])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_torch(wd, betas, decoupled):
    grads = _grads(1, 50)
    ours = _run_ours(Adam(lr=1e-2, weight_decay=wd, beta1=betas[0], beta2=betas[1],
                          eps=1e-8, decoupled=decoupled), W0, grads)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = _run_torch(lambda p: cls(p, lr=1e-2, betas=betas, eps=1e-8, weight_decay=wd,
                                   foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_adam_without_bias_correction_is_the_papers_equations():
    grads = _grads(2, 30)
    lr, wd, b1, b2, eps = 1e-2, 0.1, 0.9, 0.999, 1e-8
    ours = _run_ours(Adam(lr, wd, b1, b2, eps, bias_correction=False), W0, grads)
    W, m, v = W0.numpy().copy(), 0.0, 0.0
    for t, g in enumerate(grads):
        g = g.numpy() + wd * W
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        W = W - lr * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(ours[t].numpy(), W, rtol=1e-12, atol=1e-14)
    # ...and it really differs from the bias-corrected rule (the switch does something).
    corrected = _run_ours(Adam(lr, wd, b1, b2, eps, bias_correction=True), W0, grads)
    assert not torch.allclose(corrected[0], ours[0])


@pytest.mark.parametrize("decoupled", [False, True])
def test_signsgd_matches_adam_with_zero_betas(decoupled):
    # Adam with beta1 = beta2 = 0 and eps -> 0 steps by lr * g / |g| = lr * sign(g).
    grads = _grads(3, 40)
    wd = 0.05
    ours = _run_ours(SignSGD(lr=1e-2, weight_decay=wd, decoupled=decoupled), W0, grads)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = _run_torch(lambda p: cls(p, lr=1e-2, betas=(0.0, 0.0), eps=1e-300, weight_decay=wd,
                                   foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_signsgd_leaves_zero_gradients_alone():
    W = W0.clone()
    SignSGD(lr=0.1, weight_decay=0.0).step(W, torch.zeros_like(W), {}, 1)
    assert torch.equal(W, W0)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_sgd_matches_torch(momentum, wd):
    grads = _grads(4, 40)
    ours = _run_ours(SGD(lr=0.1, weight_decay=wd, momentum=momentum), W0, grads)
    ref = _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, momentum=momentum, weight_decay=wd,
                                               foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_tensor_hyperparameters_step_many_runs_at_once():
    """K independent optimisers == one optimiser over a leading run axis with per-run tensors."""
    K = 3
    lrs, wds = [1e-2, 3e-3, 1e-3], [0.0, 0.1, 0.5]
    grads = [torch.stack(gs) for gs in zip(*[_grads(10 + k, 20) for k in range(K)])]
    Ws = torch.stack([W0] * K)
    col = lambda xs: torch.tensor(xs, dtype=torch.float64).view(K, 1, 1, 1)  # noqa: E731
    batched = _run_ours(Adam(lr=col(lrs), weight_decay=col(wds), beta1=col([0.9] * K),
                             beta2=col([0.99, 0.999, 0.9]), decoupled=True), Ws, grads)
    for k in range(K):
        single = _run_ours(Adam(lr=lrs[k], weight_decay=wds[k], beta2=[0.99, 0.999, 0.9][k],
                                decoupled=True), W0, [g[k] for g in grads])
        for a, b in zip(batched, single):
            torch.testing.assert_close(a[k], b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad, match", [
    (dict(lr=0.0), "lr: must be > 0.0"),
    (dict(lr=1e-3, beta1=1.5), "beta1: must be in"),
    (dict(lr=1e-3, weight_decay=-1.0), "weight_decay: must be >= 0.0"),
])
def test_bad_arguments_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        Adam(**bad)
