import os

# One thread per test process: these problems are tiny and threads only add noise.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402

import toy_optimizer  # noqa: E402,F401  (registers a test-only optimiser before collection)

torch.set_num_threads(1)
