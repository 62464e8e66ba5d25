"""Beyond the paper's limits (docs/implementation.md "More classes, label noise, a trained second
layer"): K classes, label noise and a trained second layer. Their defaults keep the paper's data,
numbers and run ids; the variants follow their definitions, their gradients are the model's, and
they train end to end."""
import warnings

import numpy as np
import pytest
import torch

from adamlab import SyntheticConfig
from adamlab.core.errors import ConfigError
from adamlab.synthetic import model as cnn
from adamlab.synthetic.activations import sigma_of
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.metrics import class_outputs, class_outputs_torch, evaluate, evaluate_general
from adamlab.synthetic.train import EngineFallbackWarning, train_batched, train_synthetic

TINY = dict(d=60, n=24, s=8, n_test=300, width=4, epochs=8, batch_size=4, log_every=4)
DEFAULTS = dict(classes=2, label_noise=0.0, second_layer="fixed")


def run(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EngineFallbackWarning)
        return train_synthetic(SyntheticConfig(**{**TINY, **kw}))


# ---- the defaults are the paper's --------------------------------------------------------------

def test_defaults_keep_run_ids_and_numbers():
    plain, explicit = SyntheticConfig(**TINY), SyntheticConfig(**TINY, **DEFAULTS)
    assert plain.run_id() == explicit.run_id()
    assert not set(DEFAULTS) & set(explicit.id_fields()) and explicit.variants() == {}
    for engine in ("fast", "reference"):
        a = train_synthetic(plain.replace(engine=engine))
        b = train_synthetic(explicit.replace(engine=engine))
        assert a.meta["engine"] == b.meta["engine"] == engine
        assert a.metrics == b.metrics  # same rows, same numbers, bit for bit
    # a variant is a different run
    assert SyntheticConfig(**TINY, classes=3).run_id() != plain.run_id()


def test_general_metrics_reproduce_the_paper_path():
    """The K-class metric path on the paper's data (a = 1, i.e. a trained second layer at step 0)
    gives the sparse kernel's metrics to 1e-12, so K = 2 runs mean the same in both."""
    cfg = SyntheticConfig(**{**TINY, "sigma0": 0.3, "sigma_p": 1.0})
    data, W = make_dataset(cfg), cnn.init_weights(cfg)
    sigma = sigma_of(cfg)
    paper = evaluate(W, data.train, data.test, sigma)
    general = evaluate_general(W, data.train, data.test, sigma, np.ones((2, cfg.width)))
    assert 0 < paper[("test", "error")] < 1
    for key, value in paper.items():
        assert general[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


# ---- K classes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("K", [3, 10])
def test_k_class_data(K):
    cfg = SyntheticConfig(d=80, n=31, s=10, n_test=3000, classes=K, alpha=0.3, seed=5)
    data = make_dataset(cfg)
    # balanced: n // K a class, the first n mod K classes one more
    expected = [31 // K + (c < 31 % K) for c in range(K)]
    assert np.array_equal(np.bincount(data.train.label, minlength=K), expected)
    test_share = np.bincount(data.test.label, minlength=K) / cfg.n_test
    assert np.abs(test_share - 1 / K).max() < 0.03  # uniform labels (sd 0.009 at K = 3)
    for part in (data.train, data.test):
        X = part.to_dense()
        sig = np.where(part.signal_first[:, None], X[:, 0], X[:, 1])
        noise = np.where(part.signal_first[:, None], X[:, 1], X[:, 0])
        rows = np.arange(len(part))
        # the signal patch is e_c of the example's class and nothing else
        assert np.array_equal(sig[rows, part.label], np.ones(len(part)))
        assert np.count_nonzero(sig, axis=1).max() == 1
        # the noise support avoids the K feature coordinates; the feature noise is +alpha times
        # the feature of another class, drawn uniformly among the K-1 others
        assert part.noise_idx.min() >= K
        assert (part.noise_class != part.label).all()
        np.testing.assert_array_equal(noise[rows, part.noise_class], cfg.alpha)
        assert np.count_nonzero(noise[:, :K], axis=1).max() == 1
        assert np.array_equal(np.count_nonzero(noise[:, K:], axis=1), np.full(len(part), cfg.s))
    # the other class is uniform: offset 1..K-1, each with probability 1/(K-1) (sd <= 0.009)
    offset = (data.test.noise_class - data.test.label) % K
    shares = np.bincount(offset, minlength=K)[1:] / cfg.n_test
    assert np.abs(shares - 1 / (K - 1)).max() < 0.04


def test_general_forward_kernel_equals_the_torch_forward():
    """The metrics' numba forward against the plain torch one, on every variant, with a trained
    second layer or without, on weights large enough that the activations dominate."""
    for kw in (dict(classes=3), dict(classes=10, label_noise=0.25), dict(label_noise=0.25),
               dict(second_layer="trained")):
        cfg = SyntheticConfig(d=60, n=40, n_test=30, s=6, width=3, sigma0=0.4, **kw)
        data, W = make_dataset(cfg), cnn.init_weights(cfg) * 3
        sigma = sigma_of(cfg)
        for a in (None, np.random.default_rng(2).normal(1.0, 0.5, size=(cfg.classes, cfg.width))):
            for part in (data.train, data.test):
                F, noise = class_outputs(W, part, sigma, a)
                F_ref, noise_ref = class_outputs_torch(W, part, sigma, a)
                assert F.shape == (len(part), cfg.classes)
                np.testing.assert_allclose(F, F_ref, rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(noise, noise_ref, rtol=1e-12, atol=1e-14)


def test_general_forward_equals_dense_model():
    """class_outputs (the metrics' sparse forward) equals synthetic/model.py for every variant."""
    for kw in (dict(classes=3), dict(classes=4, label_noise=0.25), dict(label_noise=0.25)):
        cfg = SyntheticConfig(d=50, n=40, s=6, width=3, sigma0=0.4, **kw)
        data, W = make_dataset(cfg), cnn.init_weights(cfg)
        a = np.random.default_rng(1).normal(1.0, 0.5, size=(cfg.classes, cfg.width))
        sigma = sigma_of(cfg)
        F, noise = class_outputs(W, data.train, sigma, a)
        X = torch.tensor(data.train.to_dense())
        ref = cnn.outputs(torch.tensor(W), X, sigma, torch.tensor(a)).numpy()
        np.testing.assert_allclose(F, ref, rtol=1e-12, atol=1e-14)
        xi = np.where(data.train.signal_first[:, None], X[:, 1].numpy(), X[:, 0].numpy())
        own = data.train.label  # the label the loss sees
        expected = [(W[own[i]] @ xi[i]).max() for i in range(cfg.n)]
        np.testing.assert_allclose(noise, expected, rtol=1e-12, atol=1e-14)
        m = evaluate(W, data.train, data.test, sigma, a)
        y = torch.tensor(data.train.y)
        loss = cnn.loss(torch.tensor(W), X, y, sigma, torch.tensor(a)).item()
        assert m[("train", "loss")] == pytest.approx(loss, rel=1e-12)
        assert m[("train", "error")] == pytest.approx(np.mean(ref.argmax(1) != own))
        K = cfg.classes
        names = [f"feature_learning_class{j}" for j in range(K)] if K > 2 else \
            ["feature_learning_pos", "feature_learning_neg"]
        for j, name in enumerate(names):
            v = W[j, :, j] if K > 2 else (1 - 2 * j) * W[j, :, 0]
            assert m[("model", name)] == pytest.approx(v.max())


# ---- label noise -------------------------------------------------------------------------------

@pytest.mark.parametrize("classes, p", [(2, 0.1), (3, 0.1), (2, 0.2), (10, 0.2)])
def test_label_noise_exact_and_drawn_once(classes, p):
    cfg = SyntheticConfig(d=60, n=50, s=8, n_test=100, classes=classes, label_noise=p, seed=3)
    data = make_dataset(cfg)
    clean = make_dataset(cfg.replace(label_noise=0.0))
    flipped = data.train.flipped
    assert flipped.sum() == round(p * 50)  # exactly that fraction
    assert np.array_equal(data.train.clean_class, clean.train.label)
    assert (data.train.label[flipped] != clean.train.label[flipped]).all()
    assert np.array_equal(data.train.label[~flipped], clean.train.label[~flipped])
    # the patches are the clean run's; the test labels stay clean
    np.testing.assert_array_equal(data.train.to_dense(), clean.train.to_dense())
    assert data.test.true_class is None and not data.test.flipped.any()
    # drawn once per seed: the same flips whatever the optimiser, batch size or engine
    for other in (cfg.replace(batch_size=25, optimizer="adamw"), cfg.replace(engine="reference")):
        assert np.array_equal(make_dataset(other).train.y, data.train.y)
    assert not np.array_equal(make_dataset(cfg.replace(seed=4)).train.flipped, flipped)


def test_label_noise_flips_to_every_other_class():
    cfg = SyntheticConfig(d=60, n=3000, s=8, n_test=10, classes=3, label_noise=0.3)
    tr = make_dataset(cfg).train
    f = tr.flipped
    offset = (tr.label[f] - tr.clean_class[f]) % 3
    assert f.sum() == 900 and abs(np.mean(offset == 1) - 0.5) < 0.05


# ---- gradients ---------------------------------------------------------------------------------

VARIANTS = [dict(classes=3), dict(label_noise=0.2), dict(second_layer="trained"),
            dict(classes=3, label_noise=0.2, second_layer="trained")]


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_gradient_matches_finite_differences(kw):
    """The reference engine's autograd gradient of each variant's loss (W and, when trained, a)
    against central finite differences in float64."""
    cfg = SyntheticConfig(d=12, n=10, s=3, width=2, sigma0=0.5, **kw)
    data = make_dataset(cfg)
    X, y = torch.tensor(data.train.to_dense()), torch.tensor(data.train.y)
    sigma = sigma_of(cfg)
    W = torch.tensor(cnn.init_weights(cfg), requires_grad=True)
    a0 = cnn.init_second_layer(cfg)
    if a0 is None:
        args = (W,)
        f = lambda W: cnn.loss(W, X, y, sigma)  # noqa: E731
    else:  # away from a = 1 so the output weights' gradient is generic
        a = torch.tensor(a0 + np.random.default_rng(0).normal(0, 0.3, a0.shape),
                         requires_grad=True)
        args = (W, a)
        f = lambda W, a: cnn.loss(W, X, y, sigma, a)  # noqa: E731
    grads = torch.autograd.grad(f(*args), args)
    assert all(g.abs().max() > 1e-6 for g in grads)  # the check is not vacuous
    assert torch.autograd.gradcheck(f, args, eps=1e-6, atol=1e-8, rtol=1e-5)


def test_three_class_loss_is_softmax_cross_entropy():
    cfg = SyntheticConfig(d=12, n=10, s=3, width=2, sigma0=0.5, classes=3)
    data = make_dataset(cfg)
    X, y = torch.tensor(data.train.to_dense()), torch.tensor(data.train.y)
    W = torch.tensor(cnn.init_weights(cfg))
    F = cnn.outputs(W, X, sigma_of(cfg)).numpy()
    lab = data.train.label
    expected = np.mean(np.log(np.exp(F).sum(1)) - F[np.arange(cfg.n), lab])
    assert cnn.loss(W, X, y, sigma_of(cfg)).item() == pytest.approx(expected, rel=1e-12)


# ---- end to end --------------------------------------------------------------------------------

def test_three_classes_and_label_noise_train_end_to_end():
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)  # the fast engine runs these
        r = train_synthetic(SyntheticConfig(**TINY, classes=3, label_noise=0.25))
    assert r.status == "ok" and r.meta["engine"] == "fast"
    names = {row[3] for row in r.metrics}
    assert {"feature_learning_class0", "feature_learning_class2", "error_flipped",
            "error_clean", "noise_memorisation_max"} <= names
    assert {"train_error_flipped", "train_error_clean", "feature_learning"} <= set(r.summary)
    first = {(row[2], row[3]): row[4] for row in r.metrics if row[0] == 0}
    assert r.summary["train_loss"] < first[("train", "loss")]  # it learns
    # two classes with label noise: the paper's metric names plus the flipped / clean errors
    r2 = run(label_noise=0.25, engine="reference")
    assert r2.status == "ok" and {"feature_learning_pos", "feature_learning_neg"} <= set(r2.summary)
    logged = {(row[2], row[3]) for row in r2.metrics}
    assert {("train", "error_flipped"), ("train", "error_clean")} <= logged
    assert r2.summary["train_error"] == pytest.approx(
        (6 * r2.summary["train_error_flipped"] + 18 * r2.summary["train_error_clean"]) / 24)


def test_trained_second_layer_moves_and_logs():
    r = run(second_layer="trained", engine="reference", sigma0=0.1)
    assert r.status == "ok"
    lo, hi = r.summary["second_layer_min"], r.summary["second_layer_max"]
    assert lo < hi and (lo, hi) != (1.0, 1.0)


def test_trained_second_layer_continues_bit_for_bit(tmp_path):
    """Saved after 4 epochs (output weights and their moments included, through the state
    file) and continued to 8 equals the uninterrupted 8-epoch run."""
    from adamlab.core.state import read_state, write_state
    cfg = SyntheticConfig(**{**TINY, "sigma0": 0.1}, second_layer="trained", engine="reference")
    whole = train_synthetic(cfg)
    half = train_synthetic(cfg.replace(epochs=4), save_state=True)
    assert "second_layer" in half.state.optimizer
    state = read_state(write_state(half.state, tmp_path / "state.npz"))
    rest = train_synthetic(cfg, start_from=state)
    assert rest.summary == whole.summary
    assert rest.metrics == [row for row in whole.metrics if row[0] > half.steps]


BATCHED_VARIANTS = VARIANTS + [dict(classes=3, second_layer="trained", clip_norm=0.05),
                                dict(label_noise=0.2, second_layer="trained", optimizer="adamw",
                                     weight_decay=0.05)]


@pytest.mark.parametrize("kw", BATCHED_VARIANTS,
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_batched_engine_runs_each_variant_like_the_reference(kw):
    """Three runs of a variant with their own seeds, learning rates and weight decays stepping
    together on the batched engine equal three reference runs (1e-9 relative on every logged
    metric, output weights included), and a batched run takes no fallback."""
    base = SyntheticConfig(**{**TINY, "sigma0": 0.1, "lr": 3e-3, **kw}, engine="batched")
    cfgs = [base.replace(seed=0), base.replace(seed=1, lr=1e-3),
            base.replace(seed=2, weight_decay=0.1, sampler="cyclic")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)
        out = train_batched(cfgs)
    for cfg, got in zip(cfgs, out):
        ref = train_synthetic(cfg.replace(engine="reference"))
        assert got.status == ref.status == "ok" and got.meta["engine"] == "batched"
        assert [r[:4] for r in got.metrics] == [r[:4] for r in ref.metrics]
        np.testing.assert_allclose([r[4] for r in got.metrics], [r[4] for r in ref.metrics],
                                   rtol=1e-9, atol=1e-12)
        if cfg.second_layer == "trained":
            assert got.summary["second_layer_min"] < got.summary["second_layer_max"]


def test_batched_group_mixes_paper_and_label_noise_runs():
    """A paper run and a label-noise run share a group (same shapes): the group takes the general
    loss, and the paper run's numbers are still the reference engine's."""
    cfgs = [SyntheticConfig(**TINY, engine="batched"),
            SyntheticConfig(**TINY, engine="batched", label_noise=0.25)]
    out = train_batched(cfgs)
    assert [r.meta["engine"] for r in out] == ["batched", "batched"]
    for cfg, got in zip(cfgs, out):
        ref = run(**{k: v for k, v in cfg.to_dict().items() if k in ("label_noise",)},
                  engine="reference")
        np.testing.assert_allclose([r[4] for r in got.metrics], [r[4] for r in ref.metrics],
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_batched_general_loss_and_gradient_equal_the_dense_model(kw):
    """The batched engine's sparse general loss of a batch, and its autograd gradient in W and a,
    equal the dense model's (synthetic/model.py) on the same examples, for two runs at once."""
    from adamlab.synthetic.engines.batched import BatchedEngine

    cfgs = [SyntheticConfig(d=30, n=12, s=4, width=3, sigma0=0.5, seed=k, **kw) for k in (0, 1)]
    data = [make_dataset(c) for c in cfgs]
    W0 = [cnn.init_weights(c) for c in cfgs]
    eng = BatchedEngine(cfgs, data, W0)
    assert eng.general
    rng = np.random.default_rng(3)
    batch = torch.as_tensor(np.stack([rng.choice(12, 5, replace=False) for _ in cfgs]))
    W = eng.W.detach().clone().requires_grad_(True)
    a = None if eng.a is None else (eng.a + torch.as_tensor(
        rng.normal(0, 0.3, eng.a.shape))).requires_grad_(True)
    losses = eng.batch_losses(W, batch, a)
    grads = torch.autograd.grad(losses.sum(), (W,) if a is None else (W, a))
    sigma = sigma_of(cfgs[0])
    for k, (c, dt) in enumerate(zip(cfgs, data)):
        Wk = torch.tensor(W0[k], requires_grad=True)
        ak = None if a is None else a[k].detach().clone().requires_grad_(True)
        X = torch.tensor(dt.train.to_dense())[batch[k]]
        y = torch.tensor(dt.train.y)[batch[k]]
        dense = cnn.loss(Wk, X, y, sigma, ak)
        assert losses[k].item() == pytest.approx(dense.item(), rel=1e-12)
        want = torch.autograd.grad(dense, (Wk,) if ak is None else (Wk, ak))
        assert want[0].abs().max() > 1e-6
        np.testing.assert_allclose(grads[0][k].reshape(Wk.shape).numpy(), want[0].numpy(),
                                   rtol=1e-10, atol=1e-13)
        if ak is not None:
            np.testing.assert_allclose(grads[1][k].numpy(), want[1].numpy(), rtol=1e-10,
                                       atol=1e-13)


def test_batched_trained_second_layer_continues_bit_for_bit():
    """On the batched engine too, a run with trained output weights saved after 4 epochs and
    continued to 8 equals the uninterrupted run, and its state has the reference's layout."""
    cfg = SyntheticConfig(**{**TINY, "sigma0": 0.1}, classes=3, second_layer="trained",
                          engine="batched")
    whole = train_synthetic(cfg)
    half = train_synthetic(cfg.replace(epochs=4), save_state=True)
    ref_half = train_synthetic(cfg.replace(epochs=4, engine="reference"), save_state=True)
    assert set(half.state.optimizer) == set(ref_half.state.optimizer)
    for key, value in ref_half.state.optimizer.items():
        assert np.shape(half.state.optimizer[key]) == np.shape(value), key
    rest = train_synthetic(cfg, start_from=half.state)
    assert rest.summary == whole.summary
    assert rest.metrics == [row for row in whole.metrics if row[0] > half.steps]


FAST_VARIANTS = [dict(classes=3), dict(label_noise=0.2), dict(classes=10, d=80),
                 dict(classes=3, label_noise=0.2, clip_norm=0.05, sampler="cyclic"),
                 dict(classes=3, label_noise=0.1, optimizer="adamw", weight_decay=0.05,
                      sampler="shuffle-carry", batch_size=5),
                 dict(classes=3, optimizer="sgd", lr=0.5, momentum=0.9, schedule="cosine"),
                 # a trained second layer: the extra row of the general loop
                 dict(second_layer="trained"),
                 dict(classes=3, label_noise=0.2, clip_norm=0.05, second_layer="trained"),
                 dict(label_noise=0.1, optimizer="adamw", weight_decay=0.05, schedule="cosine",
                      second_layer="trained"),
                 dict(optimizer="sgd", lr=0.5, momentum=0.9, weight_decay=1e-3,
                      second_layer="trained")]


@pytest.mark.parametrize("kw", FAST_VARIANTS,
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_fast_engine_runs_every_variant_like_the_reference(kw):
    """The fast engine's general loop (synthetic/general_kernels.py) against the reference
    engine: the same rows, every logged metric equal to 1e-9 relative (float64, another
    summation order), for K classes, label noise and a trained second layer (its output
    weights' range included; clipping of the joint norm) with clipping, L2 and decoupled decay,
    momentum, a schedule and every sampler."""
    cfg = SyntheticConfig(**{**TINY, "sigma0": 0.1, "lr": 3e-3, **kw})
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)
        fast = train_synthetic(cfg)
    ref = train_synthetic(cfg.replace(engine="reference"))
    assert fast.meta["engine"] == "fast" and fast.status == ref.status == "ok"
    assert [r[:4] for r in fast.metrics] == [r[:4] for r in ref.metrics]
    np.testing.assert_allclose([r[4] for r in fast.metrics], [r[4] for r in ref.metrics],
                               rtol=1e-9, atol=1e-12)
    first = {(r[2], r[3]): r[4] for r in fast.metrics if r[0] == 0}
    assert fast.summary["train_loss"] < first[("train", "loss")]  # it trained
    if cfg.second_layer == "trained":  # the output weights moved
        lo, hi = fast.summary["second_layer_min"], fast.summary["second_layer_max"]
        assert lo < hi and (lo, hi) != (1.0, 1.0)


@pytest.mark.parametrize("kw, trained", [(dict(classes=3, label_noise=0.2), False),
                                         (dict(label_noise=0.2), False),
                                         (dict(classes=3, label_noise=0.2), True),
                                         (dict(), True)],
                         ids=["classes=3,label_noise=0.2", "label_noise=0.2",
                              "classes=3,label_noise=0.2,trained", "paper,trained"])
def test_general_kernel_gradient_equals_the_dense_model(kw, trained):
    """general_batch_gradient's loss and gradient of a batch against the dense model's
    autograd (synthetic/model.py), at generic weights; a trained second layer at generic output
    weights, its gradient (the extra row of WT) included."""
    from adamlab.synthetic.general_kernels import general_batch_gradient
    from adamlab.synthetic.kernels import from_coordinate_major, to_coordinate_major

    cfg = SyntheticConfig(d=30, n=12, s=4, width=3, sigma0=0.5, **kw)
    data = make_dataset(cfg)
    W = cnn.init_weights(cfg)
    a = np.random.default_rng(5).uniform(-1.5, 2.0, size=(cfg.classes, cfg.width))
    batch = np.array([0, 3, 5, 7, 11])
    sc, ss, nc, nv = data.train.features()
    WT = to_coordinate_major(W)
    if trained:  # the second layer as row d of WT (engines/fast.py)
        WT = np.vstack([WT, a.reshape(1, -1)])
    GT = np.zeros_like(WT)
    K, nf = cfg.classes, WT.shape[1]
    buf = [np.empty(nf) for _ in range(4)]
    loss = general_batch_gradient(WT, GT, batch, data.train.label.astype(np.int64),
                                  sc.astype(np.int64), ss.astype(float), nc.astype(np.int64),
                                  nv.astype(float), data.train.noise_idx, data.train.noise_val,
                                  *sigma_of(cfg).kernel_args, cfg.width,
                                  cfg.d if trained else -1, *buf, np.empty(K))
    Wt = torch.tensor(W, requires_grad=True)
    at = torch.tensor(a, requires_grad=True) if trained else None
    X = torch.tensor(data.train.to_dense())[batch]
    dense = cnn.loss(Wt, X, torch.tensor(data.train.y)[batch], sigma_of(cfg), at)
    grads = torch.autograd.grad(dense, (Wt, at) if trained else (Wt,))
    assert loss == pytest.approx(dense.item(), rel=1e-12)
    assert grads[0].abs().max() > 1e-6
    np.testing.assert_allclose(from_coordinate_major(GT[:cfg.d], cfg.width), grads[0].numpy(),
                               rtol=1e-10, atol=1e-14)
    if trained:
        assert grads[1].abs().max() > 1e-6
        np.testing.assert_allclose(GT[cfg.d].reshape(K, cfg.width), grads[1].numpy(),
                                   rtol=1e-10, atol=1e-14)


def test_fast_engine_continues_a_three_class_run_bit_for_bit():
    cfg = SyntheticConfig(**{**TINY, "sigma0": 0.1}, classes=3, label_noise=0.2)
    whole = train_synthetic(cfg)
    half = train_synthetic(cfg.replace(epochs=4), save_state=True)
    rest = train_synthetic(cfg, start_from=half.state)
    assert whole.meta["engine"] == rest.meta["engine"] == "fast"
    assert rest.summary == whole.summary
    assert rest.metrics == [row for row in whole.metrics if row[0] > half.steps]


def test_fast_engine_continues_a_trained_second_layer_across_engines():
    """A fast run saved after 4 epochs continues to 8 bit for bit on the fast engine, and the
    reference engine continues the same state (output weights and their moments in the shared
    layout) to the same numbers within rounding."""
    cfg = SyntheticConfig(**{**TINY, "sigma0": 0.1}, classes=3, second_layer="trained")
    whole = train_synthetic(cfg)
    half = train_synthetic(cfg.replace(epochs=4), save_state=True)
    assert {"second_layer", "second_layer.m", "second_layer.v"} <= set(half.state.optimizer)
    rest = train_synthetic(cfg, start_from=half.state)
    assert rest.summary == whole.summary
    assert rest.metrics == [row for row in whole.metrics if row[0] > half.steps]
    on_ref = train_synthetic(cfg.replace(engine="reference"), start_from=half.state)
    assert on_ref.summary == pytest.approx(whole.summary, rel=1e-9, abs=1e-12)


# ---- one-line errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw, field", [
    (dict(classes=1), "classes"), (dict(classes=3, d=60, s=58), "classes"),
    (dict(label_noise=0.5), "label_noise"), (dict(label_noise=-0.1), "label_noise"),
    (dict(second_layer="deep"), "second_layer"),
    (dict(classes=3, dtype="float32"), "dtype"),
])
def test_bad_values_fail_in_one_line(kw, field):
    with pytest.raises(ConfigError) as e:
        SyntheticConfig(**{**TINY, **kw})
    msg = str(e.value)
    assert msg.startswith(f"{field}: ") and "\n" not in msg


# ---- the report item ---------------------------------------------------------------------------

def test_beyond_item_quick(tmp_path):
    """`adamlab reproduce beyond --quick`: its section, figure and CSV, one extension finding
    per setting in the ledger's words, and the flipped-label column from the stored runs."""
    from adamlab.cli import main
    from adamlab.report.items import DEFAULT_ITEMS, ITEMS
    from adamlab.report.ledger import load_ledger
    from adamlab.sweep.store import Store

    assert "beyond" in ITEMS and "beyond" not in DEFAULT_ITEMS  # only when named
    # --no-end-state: the end state of the survival findings is tested on the limits item
    # (tests/test_reproduce_limits.py); here it would only add the continuations' time
    assert main(["reproduce", "beyond", "--quick", "--out", str(tmp_path), "--workers", "2",
                 "--no-progress", "--no-end-state"]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "## The table past two classes, clean labels and a fixed second layer" in md
    assert {"beyond-panels.png", "beyond-panels.svg", "beyond-trajectories.png"} <= {
        p.name for p in (tmp_path / "figures").iterdir()}
    rows = (tmp_path / "data" / "beyond.csv").read_text().splitlines()
    assert len(rows) == 1 + 6 * 2  # (setting, optimiser)
    for name in ("the paper's (the table)", "3 classes", "10 classes", "label noise 0.1",
                 "label noise 0.2", "trained second layer"):
        assert sum(r.startswith(f"{name},") for r in rows[1:]) == 2, name
    found = md.split("## What we found")[1]
    ids = [c.id for c in load_ledger().values() if c.item == "beyond"]
    assert len(ids) == 5 and all(f"`{cid}`" in found for cid in ids)
    assert all(load_ledger()[cid].kind == "extension" for cid in ids)
    # the flipped-label column is the stored runs' train error on the flipped labels
    with Store(tmp_path / "runs.sqlite") as store:
        noisy = [r for r in store.runs() if r["config"].get("label_noise")]
    assert len(noisy) == 8 and all("train_error_clean" in r["final"] for r in noisy)
    large = [r for r in noisy if r["config"]["batch_size"] == 100
             and r["config"]["optimizer"] == "adam" and r["config"]["label_noise"] == 0.1]
    line = next(r for r in rows if r.startswith("label noise 0.1,Adam,"))
    assert f"{large[0]['final']['train_error_flipped']:g}" in line


def test_theory_and_gradient_replay_know_the_variants():
    """The theorems do not cover the variants (one reason names them); the gradient-norm replay
    of a trained second layer measures the joint gradient that clip_norm clips."""
    from adamlab.synthetic.gradnorms import gradient_norms
    from adamlab.synthetic.theory import predict
    for kw in VARIANTS:
        report = predict(SyntheticConfig(**kw))
        assert report.strict_regime == "outside_theory" and not report.covered
        assert report.reasons[0].startswith(next(iter(kw)) + "=")
    cfg = SyntheticConfig(**{**TINY, "epochs": 2}, second_layer="trained")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EngineFallbackWarning)
        fixed = gradient_norms(cfg.replace(second_layer="fixed"))
        trained = gradient_norms(cfg)
    # step 1 starts from the same weights (a = 1); the output weights add their gradient
    assert trained.norms[0][0] > fixed.norms[0][0] > 0


def test_settling_reads_every_class_feature_with_k_classes():
    """With K = 3 the features are logged per class (feature_learning_class<j>): settling reads
    all three, so a K = 3 run can settle, and one class still growing keeps it moving."""
    from adamlab.synthetic.regimes import settling

    logged = list(range(0, 1001, 10))

    def traj(growing_class2):
        out = {f"feature_learning_class{j}": [(e, 1.0) for e in logged] for j in range(3)}
        if growing_class2:
            out["feature_learning_class2"] = [(e, 1.0 + 2.0 * e / 1000) for e in logged]
        for name in ("noise_memorisation_min", "noise_memorisation_max"):
            out[name] = [(e, 0.5) for e in logged]
        out["test_error"] = [(e, 0.0) for e in logged]
        out["train_error"] = [(e, 0.0) for e in logged]
        out["train_loss"] = [(e, 1e-3) for e in logged]
        return out

    flat, moving = settling(traj(False)), settling(traj(True))
    assert flat.settled and set(flat.moved) >= {"feature_learning_class2"}
    assert not moving.settled and moving.moved["feature_learning_class2"] > 0.04


def test_seed_trajectory_reads_the_least_learned_class():
    """The trajectories figure's feature curve is the minimum over the run's classes, two or K,
    and its noise curves the logged max and min."""
    from types import SimpleNamespace

    from adamlab.report.items.beyond import seed_trajectory

    logged = {"feature_learning_class0": [0.1, 2.0], "feature_learning_class1": [0.3, 0.5],
              "feature_learning_class2": [0.2, 4.0], "noise_memorisation_max": [0.4, 1.0],
              "noise_memorisation_min": [0.0, 0.2], "feature_learning_pos": [1.0, 3.0],
              "feature_learning_neg": [2.0, 1.5]}
    store = SimpleNamespace(metrics=lambda rid, name: [
        (i, 10.0 * i, "train", name, v) for i, v in enumerate(logged.get(name, []))])
    ctx = SimpleNamespace(store=store)
    three = seed_trajectory(ctx, {"id": "r", "config": {"classes": 3}})
    assert three == {"epochs": [0.0, 10.0], "feature": [0.1, 0.5], "noise_max": [0.4, 1.0],
                     "noise_min": [0.0, 0.2]}
    assert seed_trajectory(ctx, {"id": "r", "config": {}})["feature"] == [1.0, 1.5]
    logged.clear()
    assert seed_trajectory(ctx, {"id": "r", "config": {}}) is None


def test_extra_columns_read_flipped_labels_and_output_weights():
    """Per batch size: the flipped labels' train error, and the output weights' range, where a
    weight decayed to a float residue reads ≈0 rather than -9.61e-145."""
    from adamlab.report.items.beyond import LARGE_B, MINI_B, extra_columns

    def run(b, **final):
        return {"status": "ok", "config": {"batch_size": b}, "final": final}

    trained = [run(LARGE_B, second_layer_min=-9.61e-145, second_layer_max=1.26),
               run(MINI_B, second_layer_min=0.5, second_layer_max=1.5)]
    cols = extra_columns(trained)
    assert cols == {"output weights large batch (min / max)": "≈0 / 1.26",
                    "output weights mini batch (min / max)": "0.5 / 1.5"}
    noisy = extra_columns([run(LARGE_B, train_error_flipped=0.0),
                           run(MINI_B, train_error_flipped=0.25)])
    assert noisy["train_error_flipped_mini_batch"].mean == 0.25
    assert extra_columns([run(LARGE_B), run(MINI_B)]) == {}
