"""The sparse kernels (fast engine, metrics) compute the dense reference model and its gradient,
for every registered activation."""
import numpy as np
import pytest
import torch

from adamlab import SyntheticConfig
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.metrics import evaluate, margins_and_noise
from adamlab.synthetic import activations, model as cnn
from adamlab.synthetic.activations import sigma_of
from adamlab.synthetic.kernels import batch_gradient, from_coordinate_major, to_coordinate_major

# (activation, power): the paper's q = 3 fast path, other powers through pow(), and every entry.
CASES = [("relu-power", 3.0), ("relu-power", 2.0), ("relu-power", 4.5), ("smooth-relu", 2.0)] + \
    [(name, 3.0) for name in activations.names() if name != "relu-power"]


def check_gradient(cfg: SyntheticConfig, B: int) -> None:
    """The fast engine's batch loss and gradient equal autograd through synthetic/model.py."""
    data = make_dataset(cfg)
    W0 = cnn.init_weights(cfg)
    batch = np.random.default_rng(0).permutation(cfg.n)[:B].astype(np.int64)
    sigma = sigma_of(cfg)
    W = torch.tensor(W0, requires_grad=True)
    X = torch.tensor(data.train.to_dense())
    y = torch.tensor(data.train.y)
    loss = cnn.loss(W, X[batch], y[batch], sigma)
    (grad,) = torch.autograd.grad(loss, W)
    WT = to_coordinate_major(W0)
    GT = np.zeros_like(WT)
    nf = 2 * cfg.width
    ours = batch_gradient(WT, GT, batch, data.train.y, data.train.noise_idx,
                          data.train.noise_val, cfg.alpha, *sigma.kernel_args, cfg.width,
                          *(np.empty(nf) for _ in range(4)))
    assert ours == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(from_coordinate_major(GT, cfg.width), grad.numpy(),
                               rtol=1e-10, atol=1e-14)
    assert np.abs(grad.numpy()).max() > 0  # the check is not vacuous


def check_metrics(cfg: SyntheticConfig) -> None:
    """Margins, noise memorisation, errors and loss of the metrics equal the dense model."""
    data = make_dataset(cfg)
    W = cnn.init_weights(cfg)
    sigma = sigma_of(cfg)
    margin, noise = margins_and_noise(W, data.train, sigma)
    Wt = torch.tensor(W)
    X = torch.tensor(data.train.to_dense())
    y = torch.tensor(data.train.y)
    ref = cnn.margins(Wt, X, y, sigma).numpy()
    np.testing.assert_allclose(margin, ref, rtol=1e-10, atol=1e-14)
    # noise memorisation: max_r <w_{y_i, r}, xi_i> from the dense noise patch.
    xi = np.where(data.train.signal_first[:, None], X[:, 1].numpy(), X[:, 0].numpy())
    rows = np.where(data.train.y > 0, 0, 1)
    expected = np.array([(W[rows[i]] @ xi[i]).max() for i in range(cfg.n)])
    np.testing.assert_allclose(noise, expected, rtol=1e-10, atol=1e-14)
    m = evaluate(W, data.train, data.test, sigma)
    assert m[("train", "error")] == pytest.approx(float(np.mean(ref <= 0)))
    assert 0 < m[("train", "error")] < 1  # some right, some wrong: the margins' signs matter
    assert m[("model", "feature_learning_pos")] == pytest.approx(W[0, :, 0].max())
    assert m[("model", "feature_learning_neg")] == pytest.approx((-W[1, :, 0]).max())
    assert m[("train", "loss")] == pytest.approx(cnn.loss(Wt, X, y, sigma).item(), rel=1e-10)


@pytest.mark.parametrize("activation, power", CASES)
@pytest.mark.parametrize("B", [1, 5, 40])
def test_sparse_gradient_equals_autograd(activation, power, B):
    # sigma0 = 0.3 and rho = 0.2: pre-activations on both sides of 0 and of rho.
    check_gradient(SyntheticConfig(d=120, n=40, s=15, width=4, sigma0=0.3, power=power,
                                   activation=activation, rho=0.2, n_test=10), B)


@pytest.mark.parametrize("activation, power", CASES)
def test_metrics_match_dense_model(activation, power):
    check_metrics(SyntheticConfig(d=80, n=30, s=10, width=3, sigma0=0.5, n_test=50, power=power,
                                  activation=activation, rho=0.2))


def test_activation_changes_the_metrics():
    """The metrics use the configured activation, not the paper's one: same weights, different
    margins."""
    cfg = SyntheticConfig(d=80, n=30, s=10, width=3, sigma0=0.5, n_test=50)
    data, W = make_dataset(cfg), cnn.init_weights(cfg)
    losses = {name: evaluate(W, data.train, data.test, sigma_of(cfg.replace(activation=name)))[
        ("train", "loss")] for name in activations.names()}
    assert len({round(v, 12) for v in losses.values()}) == len(losses)
