"""Optimisers composed from transforms: Adam and AdamW are one transform apart, an optimiser
composed in a test file (tests/toy_optimizer.py's Adamax) runs on the fast engine equal to
torch.optim step by step, and the compiled form of any chain follows its torch form."""
import dataclasses

import numpy as np
import pytest
import torch

from adamlab import SyntheticConfig
from adamlab.optim import chain, get, list_optimizers, register, unregister
from adamlab.optim.registry import OptimizerSpec
from adamlab.optim.transforms import (add_decayed_weights, scale_by_adagrad, scale_by_adam,
                                      scale_by_learning_rate, scale_by_sign, trace)
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.engines.fast import FastEngine
from adamlab.synthetic.engines.reference import ReferenceEngine
from adamlab.synthetic.model import init_weights
from adamlab.synthetic.sampler import BatchSampler
from toy_optimizer import NAME as ADAMAX

SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=50, epochs=3,
                        batch_size=4, lr=3e-3, weight_decay=0.05)


def test_adam_and_adamw_differ_in_where_weight_decay_sits():
    adam, adamw = get("adam").chain.transforms, get("adamw").chain.transforms
    assert adam == (add_decayed_weights, scale_by_adam, scale_by_learning_rate)
    assert adamw == (scale_by_adam, add_decayed_weights, scale_by_learning_rate)
    assert not get("adam").decoupled and get("adamw").decoupled
    for name in list_optimizers():  # every entry's convention is its chain's
        transforms = get(name).chain.transforms
        decay = transforms.index(add_decayed_weights)
        assert get(name).decoupled == any(t.linear is None for t in transforms[:decay])


def _steps(cfg, batches_per_call=1, steps=12):
    """(fast engine, reference engine with torch.optim's class) after each of `steps` steps."""
    data, W0 = make_dataset(cfg), init_weights(cfg)
    spec = get(cfg.optimizer)
    fast = FastEngine(cfg, data, W0)
    torch_rule = ReferenceEngine(cfg, data, W0, torch_optimizer=lambda p: spec.torch_optimizer(
        cfg, p, foreach=False))
    batches = BatchSampler(cfg.n, cfg.batch_size, "shuffle", cfg.seed).epochs(3)[:steps]
    for k in range(0, steps, batches_per_call):
        assert fast.run(batches[k:k + batches_per_call]) is None
        assert torch_rule.run(batches[k:k + batches_per_call]) is None
        yield fast.weights(), torch_rule.weights()


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adamax_composed_in_a_test_file_runs_on_the_fast_engine_equal_to_torch(weight_decay):
    """tests/toy_optimizer.py composes Adamax from one new transform; the fast engine compiles
    its chain and, step by step on the paper's model, gives torch.optim.Adamax's weights."""
    assert get(ADAMAX).kernel and ADAMAX in list_optimizers(kernel=True)
    cfg = SMALL.replace(optimizer=ADAMAX, weight_decay=weight_decay)
    W0 = init_weights(cfg)
    moved = 0.0
    for fast, ref in _steps(cfg):
        np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-13)
        moved = np.abs(fast - W0).max()
    assert moved > 5 * cfg.lr  # twelve steps of up to lr each: the comparison is not vacuous


def test_a_changed_transform_is_another_kernel():
    """The fused loop is named by a hash of its source: editing a transform compiles a new
    kernel instead of running the cached one."""
    a = get("adam").chain
    b = chain(add_decayed_weights, dataclasses.replace(
        scale_by_adam, terms=(("{s}", "mm / (math.sqrt(vv) + eps_)"),)), scale_by_learning_rate)
    assert a.kernel_key() != b.kernel_key() and a.kernel_key() == get("adam").chain.kernel_key()
    assert a.kernel_key().startswith("add_decayed_weights+scale_by_adam+scale_by_learning_rate-")


@pytest.fixture
def composed():
    """Optimisers composed here: momentum on Adagrad's update and sign steps of a momentum with
    decoupled decay (two stateful transforms: the second sees the first's update as its input)."""
    entries = {
        "adagrad_momentum": chain(add_decayed_weights, scale_by_adagrad, trace,
                                  scale_by_learning_rate),
        "signum_w": chain(trace, scale_by_sign, add_decayed_weights, scale_by_learning_rate),
    }
    for name, c in entries.items():
        register(OptimizerSpec(name, c, name), replace=True)
    yield list(entries)
    for name in entries:
        unregister(name)


def test_composed_chains_compile_to_their_torch_form(composed):
    """A chain the library does not register runs the same on the fast and reference engines
    (in float64; and the decoupled one shrinks the weights as AdamW does)."""
    assert [get(n).decoupled for n in composed] == [False, True]
    for name in composed:
        cfg = SMALL.replace(optimizer=name, momentum=0.5, epochs=6)
        data, W0 = make_dataset(cfg), init_weights(cfg)
        fast, ref = FastEngine(cfg, data, W0), ReferenceEngine(cfg, data, W0)
        batches = BatchSampler(cfg.n, cfg.batch_size, "shuffle", cfg.seed).epochs(6)
        assert fast.run(batches) is None and ref.run(batches) is None
        np.testing.assert_allclose(fast.weights(), ref.weights(), rtol=1e-9, atol=1e-12)
        assert not np.allclose(fast.weights(), W0, rtol=1e-3)


def test_a_chain_says_what_is_wrong_with_it():
    with pytest.raises(ValueError, match="needs scale_by_learning_rate"):
        chain(add_decayed_weights, scale_by_adam)
    with pytest.raises(ValueError, match="add_decayed_weights may appear once"):
        chain(add_decayed_weights, scale_by_adam, add_decayed_weights, scale_by_learning_rate)
    with pytest.raises(ValueError, match="scale_by_adam and scale_by_adam both keep state 'm'"):
        chain(scale_by_adam, scale_by_adam, scale_by_learning_rate)
    with pytest.raises(ValueError, match="trace and scale_by_adam both keep state 'm'"):
        chain(scale_by_adam, trace, scale_by_learning_rate)
    rule = get("sgd").make(lr=0.1, momentum=0.0)
    assert not hasattr(rule, "preconditioner")  # no second moment: no step-ratio metric
    assert hasattr(get("adam").make(lr=0.1), "preconditioner")
    with pytest.raises(ValueError, match="nesterov: needs momentum > 0"):
        get("sgd").make(lr=0.1, nesterov=True)


def test_the_torch_form_of_a_chain_equals_the_hand_written_rule():
    """chain(add_decayed_weights, scale_by_adam, scale_by_learning_rate) in torch is the paper's
    Adam written out, bit for bit (the chain keeps torch's order of operations)."""
    g = torch.Generator().manual_seed(0)
    W0 = torch.randn(2, 3, 7, dtype=torch.float64, generator=g)
    lr, wd, b1, b2, eps = 1e-2, 0.1, 0.9, 0.999, 1e-8
    rule = get("adam").make(lr=lr, weight_decay=wd, beta1=b1, beta2=b2, eps=eps)
    W, W_ref = W0.clone(), W0.clone()
    state = rule.init(W)
    m, v = torch.zeros_like(W0), torch.zeros_like(W0)
    for t in range(1, 21):
        grad = torch.randn(2, 3, 7, dtype=torch.float64, generator=g) * 1e-2
        rule.step(W, grad, state, t)
        grad = grad + wd * W_ref
        m.mul_(b1).add_((1 - b1) * grad)
        v.mul_(b2).add_((1 - b2) * grad * grad)
        W_ref.sub_((lr / (1 - b1 ** t)) * m / (v.sqrt() / (1 - b2 ** t) ** 0.5 + eps))
        assert torch.equal(W, W_ref)
