"""Every update rule (a registry entry's chain of transforms, in its torch form) against an
independent implementation (torch.optim, or the published update where torch has none), step by
step; per-run tensor hyperparameters; the registry's entries."""
import types

import numpy as np
import pytest
import torch

from adamlab.synthetic.config import SyntheticConfig
from adamlab.optim import get, list_optimizers


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


def _rule(name, **options):
    """The torch rule of registry entry `name` for these options."""
    return get(name).make(**options)


W0 = torch.randn(2, 3, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("wd", [0.0, 1e-2, 0.5])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.0, 0.5), (0.5, 0.95)])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_torch(wd, betas, decoupled):
    grads = _grads(1, 50)
    ours = _run_ours(_rule("adamw" if decoupled else "adam", lr=1e-2, weight_decay=wd,
                           beta1=betas[0], beta2=betas[1], eps=1e-8), W0, grads)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = _run_torch(lambda p: cls(p, lr=1e-2, betas=betas, eps=1e-8, weight_decay=wd,
                                   foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_adam_without_bias_correction_is_the_papers_equations():
    grads = _grads(2, 30)
    lr, wd, b1, b2, eps = 1e-2, 0.1, 0.9, 0.999, 1e-8
    ours = _run_ours(_rule("adam", lr=lr, weight_decay=wd, beta1=b1, beta2=b2, eps=eps,
                           bias_correction=False), W0, grads)
    W, m, v = W0.numpy().copy(), 0.0, 0.0
    for t, g in enumerate(grads):
        g = g.numpy() + wd * W
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        W = W - lr * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(ours[t].numpy(), W, rtol=1e-12, atol=1e-14)
    # ...and it really differs from the bias-corrected rule (the switch does something).
    corrected = _run_ours(_rule("adam", lr=lr, weight_decay=wd, beta1=b1, beta2=b2, eps=eps),
                          W0, grads)
    assert not torch.allclose(corrected[0], ours[0])


@pytest.mark.parametrize("decoupled", [False, True])
def test_signsgd_matches_adam_with_zero_betas(decoupled):
    # Adam with beta1 = beta2 = 0 and eps -> 0 steps by lr * g / |g| = lr * sign(g).
    grads = _grads(3, 40)
    wd = 0.05
    ours = _run_ours(_rule("signsgdw" if decoupled else "signsgd", lr=1e-2, weight_decay=wd),
                     W0, grads)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = _run_torch(lambda p: cls(p, lr=1e-2, betas=(0.0, 0.0), eps=1e-300, weight_decay=wd,
                                   foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_signsgd_leaves_zero_gradients_alone():
    W = W0.clone()
    _rule("signsgd", lr=0.1, weight_decay=0.0).step(W, torch.zeros_like(W), {}, 1)
    assert torch.equal(W, W0)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True),
                                                (0.5, True)])
@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_sgd_matches_torch(momentum, nesterov, wd):
    grads = _grads(4, 40)
    ours = _run_ours(_rule("sgd", lr=0.1, weight_decay=wd, momentum=momentum, nesterov=nesterov),
                     W0, grads)
    ref = _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, momentum=momentum, weight_decay=wd,
                                               nesterov=nesterov, foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    if nesterov:  # ...and Nesterov really differs from heavy ball
        heavy = _run_ours(_rule("sgd", lr=0.1, weight_decay=wd, momentum=momentum), W0, grads)
        assert not torch.allclose(heavy[5], ours[5], rtol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_rmsprop_matches_torch(momentum, wd):
    grads = _grads(5, 50)
    ours = _run_ours(_rule("rmsprop", lr=1e-2, weight_decay=wd, beta2=0.95, eps=1e-8,
                           momentum=momentum), W0, grads)
    ref = _run_torch(lambda p: torch.optim.RMSprop(p, lr=1e-2, alpha=0.95, eps=1e-8,
                                                   weight_decay=wd, momentum=momentum,
                                                   foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adagrad_matches_torch(wd):
    grads = _grads(6, 50)
    ours = _run_ours(_rule("adagrad", lr=1e-2, weight_decay=wd, eps=1e-10), W0, grads)
    ref = _run_torch(lambda p: torch.optim.Adagrad(p, lr=1e-2, eps=1e-10, weight_decay=wd,
                                                   foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.fixture
def float64_scalars():
    """torch.optim keeps NAdam's running product mu_1...mu_t in the default dtype (float32 unless
    float64 is the default), which alone moves it ~1e-7 from exact; compare in float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9)])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_nadam_matches_torch(float64_scalars, betas, wd):
    grads = _grads(7, 50)
    ours = _run_ours(_rule("nadam", lr=1e-2, weight_decay=wd, beta1=betas[0], beta2=betas[1],
                           eps=1e-8), W0, grads)
    ref = _run_torch(lambda p: torch.optim.NAdam(p, lr=1e-2, betas=betas, eps=1e-8,
                                                 weight_decay=wd, foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def _lion_published(W, grads, lr, wd, beta1, beta2):
    """Lion as Chen et al. (2023) publish it (Algorithm 2, lion-pytorch), in numpy:
    update = sign(beta1*m + (1-beta1)*g); W = W - lr*(update + wd*W); m = beta2*m + (1-beta2)*g."""
    W, m, out = W.numpy().copy(), np.zeros_like(W.numpy()), []
    for g in grads:
        g = g.numpy()
        update = np.sign(beta1 * m + (1 - beta1) * g)
        W = W - lr * (update + wd * W)
        m = beta2 * m + (1 - beta2) * g
        out.append(W.copy())
    return out


@pytest.mark.parametrize("wd", [0.0, 0.3])
@pytest.mark.parametrize("betas", [(0.9, 0.99), (0.95, 0.98)])
def test_lion_matches_its_published_update(wd, betas):
    grads = _grads(8, 60)
    ours = _run_ours(_rule("lion", lr=1e-3, weight_decay=wd, beta1=betas[0], beta2=betas[1]), W0,
                     grads)
    ref = _lion_published(W0, grads, 1e-3, wd, *betas)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-12, atol=1e-14)
    # every coordinate with a non-zero momentum moves by exactly lr (plus the decay): a sign method
    step = (ours[1] - ours[0] * (1 - 1e-3 * wd)).abs()
    assert torch.allclose(step[step > 0], torch.full_like(step[step > 0], 1e-3), rtol=1e-9)


def _cfg(name: str, **kw):
    """A config-like object with every optimiser field (registry entries read theirs)."""
    base = dict(optimizer=name, lr=1e-2, weight_decay=0.05, beta1=0.9, beta2=0.99, eps=1e-8,
                bias_correction=True, momentum=0.9 if "momentum" in get(name).options else 0.0,
                nesterov="nesterov" in get(name).options)
    return types.SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("optimizer", list_optimizers(torch=True))
def test_every_registered_rule_matches_its_torch_class(optimizer, float64_scalars):
    """The registry's rule and its torch.optim class (as the images task builds it), from the
    same options, step by step: the entry's option mapping and weight-decay convention agree."""
    entry = get(optimizer)
    cfg = _cfg(optimizer)
    grads = _grads(9, 40)
    ours = _run_ours(entry.build(cfg), W0, grads)
    ref = _run_torch(lambda p: entry.torch_optimizer(cfg, p, foreach=False), W0, grads)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer", list_optimizers())
def test_every_registered_rule_steps_many_runs_at_once(optimizer):
    """K runs with their own per-run hyperparameters (the entry's per_run, as (K, 1, 1, 1)
    tensors) == K separate rules: what the batched engine relies on."""
    entry = get(optimizer)
    K = 3
    values = {"lr": [1e-2, 3e-3, 1e-3], "weight_decay": [0.0, 0.1, 0.5],
              "beta1": [0.9, 0.5, 0.0], "beta2": [0.99, 0.999, 0.9], "eps": [1e-8, 1e-6, 1e-3],
              "momentum": [0.9, 0.5, 0.3]}
    grads = [torch.stack(gs) for gs in zip(*[_grads(20 + k, 20) for k in range(K)])]
    col = lambda xs: torch.tensor(xs, dtype=torch.float64).view(K, 1, 1, 1)  # noqa: E731
    batched_cfg = _cfg(optimizer, **{k: col(values[k]) for k in entry.per_run})
    batched = _run_ours(entry.build(batched_cfg), torch.stack([W0] * K), grads)
    for k in range(K):
        cfg = _cfg(optimizer, **{n: values[n][k] for n in entry.per_run})
        single = _run_ours(entry.build(cfg), W0, [g[k] for g in grads])
        for a, b in zip(batched, single):
            torch.testing.assert_close(a[k], b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer, state_key", [("adam", "exp_avg_sq"), ("adamw", "exp_avg_sq"),
                                                  ("nadam", "exp_avg_sq"),
                                                  ("rmsprop", "square_avg"), ("adagrad", "sum")])
def test_preconditioner_is_the_per_coordinate_step_size(optimizer, state_key, float64_scalars):
    """The step-size metric's P (synthetic/mechanism.py) from torch's own state: Adam-type
    1/(sqrt(v/(1-beta2^t)) + eps), RMSprop and Adagrad 1/(sqrt(v) + eps)."""
    entry = get(optimizer)
    cfg = _cfg(optimizer)
    rule, grads = entry.build(cfg), _grads(11, 7)
    W = W0.clone()
    state = rule.init(W)
    P = torch.nn.Parameter(W0.clone())
    opt = entry.torch_optimizer(cfg, [P], foreach=False)
    for t, g in enumerate(grads, start=1):
        rule.step(W, g, state, t)
        P.grad = g.clone()
        opt.step()
    v = opt.state[P][state_key]
    t = len(grads)
    bc2 = 1 - cfg.beta2 ** t if optimizer in ("adam", "adamw", "nadam") else 1.0
    torch.testing.assert_close(rule.preconditioner(state, t), 1 / ((v / bc2).sqrt() + cfg.eps),
                               rtol=1e-12, atol=0)
    assert torch.equal(rule.preconditioner(rule.init(W), 0), torch.full_like(W, 1 / cfg.eps))


def test_registry_defaults_and_conventions():
    assert SyntheticConfig(optimizer="lion").lr == 1e-5  # 5x below Adam's (Lion: 3-10x)
    assert (SyntheticConfig(optimizer="lion").beta1, SyntheticConfig(optimizer="lion").beta2) \
        == (0.9, 0.99)
    assert SyntheticConfig(optimizer="lion").decay_semantics() == {
        "kind": "decoupled", "per_step_shrink": pytest.approx(5e-7)}  # = AdamW's 5e-5 * 0.01
    for name in ("rmsprop", "adagrad", "nadam"):  # torch's L2-in-the-gradient convention
        assert SyntheticConfig(optimizer=name).decay_semantics() == {
            "kind": "l2_in_gradient", "l2_coefficient": 1e-5}
    assert SyntheticConfig(optimizer="adagrad").eps == 1e-10  # torch's Adagrad default
    assert SyntheticConfig(optimizer="rmsprop").beta2 == 0.99  # torch's RMSprop alpha
    # replace() resolves defaulted fields again for the new optimiser...
    assert SyntheticConfig().replace(optimizer="lion").lr == 1e-5
    # ...but keeps the ones that were set
    assert SyntheticConfig(lr=1e-3).replace(optimizer="lion").lr == 1e-3


def test_tensor_hyperparameters_step_many_runs_at_once_adamw_betas():
    """K independent optimisers == one optimiser over a leading run axis with per-run tensors."""
    K = 3
    lrs, wds = [1e-2, 3e-3, 1e-3], [0.0, 0.1, 0.5]
    grads = [torch.stack(gs) for gs in zip(*[_grads(10 + k, 20) for k in range(K)])]
    Ws = torch.stack([W0] * K)
    col = lambda xs: torch.tensor(xs, dtype=torch.float64).view(K, 1, 1, 1)  # noqa: E731
    batched = _run_ours(_rule("adamw", lr=col(lrs), weight_decay=col(wds), beta1=col([0.9] * K),
                              beta2=col([0.99, 0.999, 0.9])), Ws, grads)
    for k in range(K):
        single = _run_ours(_rule("adamw", lr=lrs[k], weight_decay=wds[k],
                                 beta2=[0.99, 0.999, 0.9][k]), W0, [g[k] for g in grads])
        for a, b in zip(batched, single):
            torch.testing.assert_close(a[k], b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad, match", [
    (dict(lr=0.0), "lr: must be > 0.0"),
    (dict(), "lr: must be given"),
    (dict(lr=1e-3, momentum=0.9), "options: chain\\(add_decayed_weights, scale_by_adam, "
     "scale_by_learning_rate\\) reads no option 'momentum'"),
    (dict(lr=1e-3, beta1=1.5), "beta1: must be in"),
    (dict(lr=1e-3, weight_decay=-1.0), "weight_decay: must be >= 0.0"),
])
def test_bad_arguments_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        _rule("adam", **bad)
