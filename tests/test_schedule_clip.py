"""Learning-rate schedules against torch.optim.lr_scheduler and gradient clipping against
torch.nn.utils.clip_grad_norm_, step by step; the fast engine's sparse norm against a dense one."""
import numpy as np
import pytest
import torch

from adamlab import ConfigError, SyntheticConfig
from adamlab.synthetic.general_kernels import clip_rows
from adamlab.optim import get
from adamlab.optim.clip import clip_by_global_norm
from adamlab.optim.schedule import Schedule, lr_factor

T_TOTAL = 40


def _torch_schedule(opt, kind: str, warmup: int, step_size: int = 7, gamma: float = 0.5):
    sched = {"constant": lambda: torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0,
                                                                     total_iters=0),
             "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(
                 opt, T_max=T_TOTAL - warmup),
             "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=step_size,
                                                             gamma=gamma)}[kind]
    if warmup == 0:
        return sched()
    linear = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / warmup, end_factor=1.0,
                                               total_iters=warmup - 1)
    return torch.optim.lr_scheduler.SequentialLR(opt, [linear, sched()], milestones=[warmup])


def _spec(kind, warmup, step_size=7, gamma=0.5):
    code = ("constant", "cosine", "step").index(kind)
    return code, warmup, T_TOTAL, step_size, gamma


@pytest.mark.parametrize("kind", ["constant", "cosine", "step"])
@pytest.mark.parametrize("warmup", [0, 5])
def test_lr_factor_matches_torch_schedulers(kind, warmup):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = _torch_schedule(opt, kind, warmup)
    ours, theirs = [], []
    for t in range(1, T_TOTAL + 1):
        theirs.append(opt.param_groups[0]["lr"])
        ours.append(0.1 * lr_factor(t, *_spec(kind, warmup)))
        opt.step()
        sched.step()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    if kind != "constant" or warmup:  # the schedule does something
        assert len(set(np.round(ours, 12))) > 2


@pytest.mark.parametrize("kind, warmup", [("cosine", 4), ("step", 0), ("step", 3)])
def test_adam_under_a_schedule_matches_torch_adam_with_its_scheduler(kind, warmup):
    """The reference rule stepped at lr * factor(t) == torch.optim.AdamW + lr_scheduler: the
    decoupled decay follows the schedule too."""
    g = torch.Generator().manual_seed(0)
    W0 = torch.randn(3, 5, dtype=torch.float64, generator=g)
    grads = [torch.randn(3, 5, dtype=torch.float64, generator=g) * 1e-2 for _ in range(T_TOTAL)]
    rule = get("adamw").make(lr=1e-2, weight_decay=0.5)
    W = W0.clone()
    state = rule.init(W)
    P = torch.nn.Parameter(W0.clone())
    opt = torch.optim.AdamW([P], lr=1e-2, weight_decay=0.5, foreach=False)
    sched = _torch_schedule(opt, kind, warmup)
    for t, grad in enumerate(grads, start=1):
        rule.step(W, grad, state, t, lr=1e-2 * lr_factor(t, *_spec(kind, warmup)))
        P.grad = grad.clone()
        opt.step()
        sched.step()
        torch.testing.assert_close(W, P.detach(), rtol=1e-12, atol=1e-14)


def test_schedule_from_a_config_counts_steps():
    cfg = SyntheticConfig(n=20, batch_size=5, epochs=10, schedule="step", step_epochs=3,
                          warmup_epochs=2)
    s = Schedule(cfg)
    assert (s.warmup, s.total, s.step_size, s.gamma) == (8, 40, 12, 0.1)  # 4 steps per epoch
    assert [s.factor(t) for t in (1, 8, 9, 20, 21)] == [0.125, 1.0, 1.0, 1.0, 0.1]
    assert Schedule(SyntheticConfig()).constant and not s.constant


@pytest.mark.parametrize("change, start", [
    ({"schedule": "step"}, "step_epochs: schedule 'step' needs"),
    ({"step_epochs": 3}, "step_epochs: only read by schedule 'step'"),
    ({"schedule": "cosine", "step_gamma": 0.5}, "step_gamma: only read by schedule 'step'"),
    ({"schedule": "step", "step_epochs": 2, "step_gamma": 1.5},
     "step_gamma: must be in (0.0, 1.0]"),
    ({"warmup_epochs": -1}, "warmup_epochs: must be in [0, epochs=10000]"),
    ({"clip_norm": -1.0}, "clip_norm: must be > 0.0"),
])
def test_bad_schedule_and_clip_settings_name_the_field(change, start):
    with pytest.raises(ConfigError) as e:
        SyntheticConfig(**change)
    assert str(e.value).startswith(start) and "\n" not in str(e.value)


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 100.0])
def test_clip_matches_torch_clip_grad_norm(max_norm):
    g = torch.randn(2, 4, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    p = torch.nn.Parameter(torch.zeros_like(g))
    p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_([p], max_norm)
    torch.testing.assert_close(clip_by_global_norm(g, max_norm), p.grad, rtol=1e-14, atol=0)
    # per run (the batched engine): each run by its own norm
    runs = torch.stack([g, 10 * g])
    clipped = clip_by_global_norm(runs, max_norm, run_dims=1)
    for k in range(2):
        torch.testing.assert_close(clipped[k], clip_by_global_norm(runs[k], max_norm),
                                   rtol=1e-14, atol=0)


def test_fast_engines_norm_over_touched_rows_equals_the_dense_norm():
    """The fast engine's gradient is non-zero only on the rows a batch touched; its norm counts
    each such row once, even when examples of the batch share noise coordinates."""
    rng = np.random.default_rng(0)
    d, nf, s = 50, 6, 8
    noise_idx = np.sort(rng.choice(np.arange(1, 12), size=(5, s)), axis=1)  # overlapping rows
    batch = np.array([0, 2, 3], dtype=np.int64)
    GT = np.zeros((d, nf))
    rows = sorted({0, *noise_idx[batch].ravel().tolist()})
    GT[rows] = rng.normal(size=(len(rows), nf))
    dense = np.linalg.norm(GT)
    buf, stamp = np.empty(1 + len(batch) * s, dtype=np.int64), np.full(d, -1, dtype=np.int64)
    G = GT.copy()
    norm = clip_rows(G, batch, noise_idx, 1, -1, 1e9, buf, stamp, 1)
    assert norm == pytest.approx(dense, rel=1e-14) and np.array_equal(G, GT)  # not clipped
    norm = clip_rows(G, batch, noise_idx, 1, -1, 0.1 * dense, buf, stamp, 2)
    expected = clip_by_global_norm(torch.from_numpy(GT), 0.1 * dense).numpy()
    np.testing.assert_allclose(G, expected, rtol=1e-14, atol=0)
    assert np.linalg.norm(G) == pytest.approx(0.1 * dense, rel=1e-6)
    # K classes: the feature rows 0..K-1 count too (once, though noise rows start at 1 here)
    rows3 = sorted({0, 1, 2, *noise_idx[batch].ravel().tolist()})
    GT3 = np.zeros((d, nf))
    GT3[rows3] = rng.normal(size=(len(rows3), nf))
    buf3 = np.empty(3 + len(batch) * s, dtype=np.int64)
    norm = clip_rows(GT3.copy(), batch, noise_idx, 3, -1, 1e9, buf3, stamp, 3)
    assert norm == pytest.approx(np.linalg.norm(GT3), rel=1e-14)
