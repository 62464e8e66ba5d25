import os

# One thread per test process: these problems are tiny and threads only add noise.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import pytest  # noqa: E402
import torch  # noqa: E402

import toy_optimizer  # noqa: E402  (registers a test-only optimiser before collection)
from adamlab.optim import register, unregister  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def kernelless():
    """The name of an optimiser without a fast kernel (tests/toy_optimizer.py's Adamax in its
    torch form only), registered for one test."""
    register(toy_optimizer.TORCH_ONLY_SPEC, replace=True)
    yield toy_optimizer.TORCH_ONLY
    unregister(toy_optimizer.TORCH_ONLY)
