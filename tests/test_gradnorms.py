"""synthetic/gradnorms.py replays a run exactly and measures the norms its clipping sees."""
import numpy as np
import torch

import adamlab
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.gradnorms import GradientNorms, epoch_weights, gradient_norms, sample_epochs
from adamlab.synthetic.sampler import BatchSampler
from adamlab.synthetic import model as cnn
from adamlab.synthetic.activations import sigma_of

CFG = adamlab.SyntheticConfig(d=100, n=20, s=10, width=4, n_test=50, batch_size=2, epochs=30)


def test_sampled_epochs_are_dense_early_and_cover_the_run():
    assert sample_epochs(5) == [1, 2, 3, 4, 5]
    got = sample_epochs(10_000)
    assert got[:8] == [1, 2, 3, 4, 5, 7, 8, 11] and got[-1] == 10_000  # geometric from 1
    assert sum(e > 1000 for e in got) >= 45  # and the even spread covers the rest
    weights = epoch_weights(got, 10_000)
    assert weights[0] == 1.0 and abs(sum(weights) - 10_000) < 1e-9


def test_fractions_are_weighted_by_the_epochs_a_sample_stands_for():
    g = GradientNorms((1, 10), (np.array([1.0, 1.0]), np.array([0.0, 0.0])), (1.0, 9.0))
    assert g.fraction_above(0.5) == 0.1  # epoch 1 stands for 1 epoch in 10
    assert g.fraction_above(0.5, until=5) == 1.0
    assert g.quantiles((0.5,))[0.5] == 0.0 and g.quantiles((1.0,))[1.0] == 1.0


def test_replay_is_the_run_itself():
    """The replay ends at the trained run's weights, with and without clipping (so it follows
    the clipped trajectory, not the unclipped one)."""
    for clip in (None, 0.05):
        cfg = CFG.replace(clip_norm=clip)
        g = gradient_norms(cfg, n_log=5, n_even=3)
        assert g.status == "ok" and g.epochs == (1, 2, 5, 13, 16, 30)
        assert all(len(row) == cfg.steps_per_epoch for row in g.norms)
        want = adamlab.train(cfg).summary["weight_norm"]
        assert abs(g.weight_norm - want) <= 1e-9 * want


def test_first_norm_is_the_batch_gradient_at_initialisation():
    g = gradient_norms(CFG, n_log=2, n_even=0)
    data = make_dataset(CFG)
    batch = torch.from_numpy(BatchSampler(CFG.n, CFG.batch_size, CFG.sampler,
                                          CFG.seed).epochs(1)[0])
    W = torch.tensor(cnn.init_weights(CFG), requires_grad=True)
    X = torch.tensor(data.train.to_dense())[batch]
    y = torch.tensor(data.train.y)[batch]
    (grad,) = torch.autograd.grad(cnn.loss(W, X, y, sigma_of(CFG)), W)
    assert g.norms[0][0] == float(torch.linalg.vector_norm(grad))


def test_a_threshold_at_the_median_clips_about_half_the_steps():
    g = gradient_norms(CFG)
    median = g.quantiles((0.5,))[0.5]
    assert 0.3 <= g.fraction_above(median) <= 0.7
    assert g.fraction_above(max(x.max() for x in g.norms) * 2) == 0.0
    assert g.fraction_above(0.0) == 1.0


def test_a_diverging_run_stops_the_replay():
    g = gradient_norms(CFG.replace(optimizer="sgd", lr=1e6))
    assert g.status == "diverged" and len(g.epochs) == len(g.norms) == len(g.weights)
