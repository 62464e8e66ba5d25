"""Run many configs in worker processes (spawned, one torch thread each), in submission order."""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor


def _init_worker() -> None:
    from ..cli import limit_threads

    limit_threads(1)


def _train(config):
    from ..engine.train import train

    return train(config)


def train_many(configs, workers: int | None = None, on_done=None) -> list:
    """Results of `adamlab.train` for each config, in order. workers=1 runs in this process."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(configs)))
    if workers == 1:
        results = []
        for c in configs:
            results.append(_train(c))
            if on_done:
                on_done(results[-1])
        return results
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker) as pool:
        futures = [pool.submit(_train, c) for c in configs]
        results = []
        for f in futures:
            results.append(f.result())
            if on_done:
                on_done(results[-1])
        return results
