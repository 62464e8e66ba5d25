"""Per-step speed of adamlab's fast engine beside a plain PyTorch loop and a compiled JAX peer.

Four programs train the paper's synthetic setting (d=1000, n=200, s=100, m=20, q=3; Adam lr
5e-5, L2 weight decay 1e-5, bias correction, eps 1e-8) from the same weights on the same data and
the same batches, one thread each, repeats alternating between them; medians are printed:

  * plain torch: what one writes first: an nn.Module holding W (2, m, d), dense (B, 2, d) batches,
    autograd, torch.optim.Adam, one Python iteration per step, float32;
  * JAX scan (benchmarks/jax_peer.py, when jax is installed: `pip install 'adamlab[bench]'`):
    dense patches, jax.grad, Adam written out, one epoch per jit-compiled lax.scan, float32;
    its compile time is measured on its own and excluded;
  * adamlab fast: the numba engine on sparse patches, in float64 (the default) and float32
    (`dtype = "float32"`).

The "memory floor" is a compiled pass that only reads W, m, v and the gradient and writes W, m, v
(2*m*d values each, no sqrt, no division): the least any dense Adam step can cost here.

    .venv/bin/python benchmarks/synthetic_speed.py [--steps 3000] [--repeats 5]
        [--batch-sizes 1,2,10,100,200] [--no-jax] [--kernels] [--interleave K]

`--kernels` also times the fast engine's update kernel of every registered optimiser that has one;
`--interleave K` times K independent runs stepping in one compiled loop against the same runs
one after another (do small-batch runs gain from sharing a loop?).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jax_peer  # noqa: E402  (first: it sets up jax's threads before anything imports jax)
import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from numba import njit  # noqa: E402

from adamlab import SyntheticConfig  # noqa: E402
from adamlab.synthetic.data import make_dataset  # noqa: E402
from adamlab.synthetic.engines import fast  # noqa: E402
from adamlab.synthetic.engines.fast import FastEngine  # noqa: E402
from adamlab.synthetic.general_kernels import clear_rows  # noqa: E402
from adamlab.synthetic.kernels import batch_gradient  # noqa: E402
from adamlab.synthetic.sampler import BatchSampler  # noqa: E402
from adamlab.synthetic.update_kernel import fused_update  # noqa: E402
from adamlab.synthetic.model import init_weights  # noqa: E402

BATCH_SIZES = (1, 2, 10, 100, 200)


class PlainCNN(torch.nn.Module):
    def __init__(self, W0: np.ndarray, power: float):
        super().__init__()
        self.W = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float32))
        self.power = power

    def forward(self, x):
        z = torch.einsum("jrd,npd->njrp", self.W, x)
        return torch.relu(z).pow(self.power).sum(dim=(2, 3))


def timed(fn, steps: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per step of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def plain_loop(cfg, data, W0, batches) -> tuple[float, float]:
    X = torch.tensor(data.train.to_dense(), dtype=torch.float32)
    target = torch.tensor((data.train.y < 0).astype(np.int64))  # class 0 = +1, class 1 = -1
    model = PlainCNN(W0, cfg.power)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                           eps=cfg.eps, weight_decay=cfg.weight_decay)
    idx = torch.from_numpy(batches)

    def loop():
        for b in idx:
            loss = torch.nn.functional.cross_entropy(model(X[b]), target[b])
            opt.zero_grad()
            loss.backward()
            opt.step()

    return timed(loop, len(batches))


def jax_loop(peer, batches) -> tuple[float, float]:
    peer.reset()
    return timed(lambda: peer.run(batches), len(batches))


def fast_loop(cfg, data, W0, batches) -> tuple[float, float]:
    engine = FastEngine(cfg, data, W0)
    return timed(lambda: engine.run(batches), len(batches))


@njit(cache=True, error_model="numpy")
def state_passes(W, M, V, G, b1, b2, lr, passes):
    """`passes` sweeps that read W, M, V, G and write W, M, V: the memory traffic of one dense
    Adam update with none of its arithmetic (no sqrt, no division). The constants come in the
    arrays' dtype, so float32 is computed in float32 (float64 literals would widen it)."""
    for _ in range(passes):
        for e in range(W.shape[0]):
            g = G[e]
            mm = b1 * M[e] + g
            M[e] = mm
            V[e] = b2 * V[e] + g * g
            W[e] = W[e] - lr * mm


def memory_floor(size: int, dtype: np.dtype, passes: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per pass over `size` values of W, M, V, G in `dtype`."""
    W, M, V = (np.zeros(size, dtype) for _ in range(3))
    G = np.full(size, 1e-3, dtype)  # M, V settle at finite values: no subnormals
    consts = [dtype.type(c) for c in (0.9, 0.999, 1e-9)]
    state_passes(W, M, V, G, *consts, 1)  # compile (cached on disk)
    return timed(lambda: state_passes(W, M, V, G, *consts, passes), passes)


def fmt(x: float | None, width: int, spec: str = ".1f", suffix: str = "") -> str:
    return f"{'-':>{width}}" if x is None else f"{format(x, spec) + suffix:>{width}}"


COLUMNS = ["batch", "plain torch f32", "JAX scan f32", "adamlab fast f64", "adamlab fast f32",
           "torch/f64", "JAX/f64", "JAX/f32", "JAX compile s"]
WIDTHS = [max(len(c), 6) for c in COLUMNS]


def table_row(B: int, med: dict, compile_s: float | None) -> str:
    def ratio(a, b):
        return med[a] / med[b] if a in med and b in med else None
    cells = [B, med["torch"], med.get("jax"), med["fast"], med["fast32"], ratio("torch", "fast"),
             ratio("jax", "fast"), ratio("jax", "fast32"), compile_s]
    specs = ["d", ".1f", ".1f", ".1f", ".1f", ".1f", ".2f", ".2f", ".2f"]
    sufs = ["", "", "", "", "", "x", "x", "x", ""]
    return "  ".join(fmt(c, w, f, x) for c, w, f, x in zip(cells, WIDTHS, specs, sufs))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="steps per timed run")
    ap.add_argument("--repeats", type=int, default=5, help="alternating repeats per column")
    ap.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)),
                    help="comma-separated batch sizes B")
    ap.add_argument("--no-jax", action="store_true", help="skip the JAX column")
    ap.add_argument("--kernels", action="store_true",
                    help="also time the fast engine with every registered optimiser's kernel")
    ap.add_argument("--interleave", type=int, default=0, metavar="K",
                    help="also time K runs stepping in one compiled loop vs one after another")
    args = ap.parse_args(argv)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    torch.set_num_threads(1)

    use_jax = jax_peer.AVAILABLE and not args.no_jax
    why_no_jax = ("disabled with --no-jax" if args.no_jax else
                  "jax is not installed: pip install 'adamlab[bench]' (or make bench)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"torch {torch.__version__}, numba {numba.__version__}, "
          f"jax {jax_peer.version() if use_jax else '-'}; 1 thread each; "
          f"{args.steps} steps x {args.repeats} alternating repeats")
    if not use_jax:
        print(f"JAX scan column skipped: {why_no_jax}")
    header = "  ".join(f"{c:>{w}}" for c, w in zip(COLUMNS, WIDTHS))
    print("wall time, us/step (median)")
    print(header)

    results, first_call = {}, None
    for B in sizes:
        cfg = SyntheticConfig(batch_size=B, n_test=10)
        data, W0 = make_dataset(cfg), init_weights(cfg)
        spe = cfg.steps_per_epoch
        batches = BatchSampler(cfg.n, B, "shuffle", 0).epochs(-(-args.steps // spe))[:args.steps]
        tic = time.perf_counter()
        fast_loop(cfg, data, W0, batches[:10])  # numba: compiled, or loaded from its disk cache
        first_call = first_call or time.perf_counter() - tic
        plain_loop(cfg, data, W0, batches[:10])  # warm-up: torch's allocator, autograd graph
        runs = {"torch": lambda: plain_loop(cfg, data, W0, batches)}
        compile_s = None
        if use_jax:
            peer = jax_peer.JaxAdam(cfg, data, W0)
            compile_s = peer.compile(batches)
            jax_loop(peer, batches[:spe])  # warm-up: first-execution allocations
            runs["jax"] = lambda: jax_loop(peer, batches)
        runs["fast"] = lambda: fast_loop(cfg, data, W0, batches)
        cfg32 = cfg.replace(dtype="float32")
        fast_loop(cfg32, data, W0, batches[:10])
        runs["fast32"] = lambda: fast_loop(cfg32, data, W0, batches)
        wall, cpu = {k: [] for k in runs}, {k: [] for k in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                w, c = run()
                wall[name].append(w * 1e6)
                cpu[name].append(c * 1e6)
        results[B] = {"median_us": {k: statistics.median(v) for k, v in wall.items()},
                      "cpu_median_us": {k: statistics.median(v) for k, v in cpu.items()},
                      "all_us": wall, "cpu_all_us": cpu, "jax_compile_s": compile_s}
        print(table_row(B, results[B]["median_us"], compile_s), flush=True)

    print("process CPU time, us/step (median; what each loop itself used, less sensitive to "
          "other jobs)")
    print(header)
    for B, r in results.items():
        print(table_row(B, r["cpu_median_us"], r["jax_compile_s"]))
    print("torch/f64, JAX/f64, JAX/f32: that loop's time per step over adamlab fast f64's or "
          "f32's (above 1: adamlab is faster)")
    print(f"compile: excluded from every column; JAX's is listed, adamlab fast's first call "
          f"(numba compile or disk-cache load) took {first_call:.2f} s")
    cores = {k: statistics.median(c / w for r in results.values()
                                  for c, w in zip(r["cpu_all_us"][k], r["all_us"][k]))
             for k in results[sizes[0]]["all_us"]}
    print("cores used (process CPU / wall time, median over runs; 1.00 = one core busy, less = "
          "waiting for other jobs): " + ", ".join(f"{k} {v:.2f}" for k, v in cores.items()))
    if any(v > 1.2 for v in cores.values()):
        print("warning: a loop used more than one core; the comparison is not one thread each")

    size = 2 * SyntheticConfig().width * SyntheticConfig().d
    passes = max(args.steps, 100)
    floor = {(d, k): [] for d in ("float64", "float32") for k in ("wall", "cpu")}
    for _ in range(args.repeats):
        for dtype in ("float64", "float32"):
            wall, cpu = memory_floor(size, np.dtype(dtype), passes)
            floor[dtype, "wall"].append(wall * 1e6)
            floor[dtype, "cpu"].append(cpu * 1e6)
    floor_med = {f"{d} {k}": statistics.median(v) for (d, k), v in floor.items()}
    print(f"memory floor (numba pass reading W, m, v, g and writing W, m, v, {size:,} values "
          f"each, median of {args.repeats} x {passes} passes), us/step wall (CPU): " + ", ".join(
              f"{d} {floor_med[d + ' wall']:.1f} ({floor_med[d + ' cpu']:.1f})"
              for d in ("float64", "float32")))
    smallest = results[min(sizes)]["cpu_median_us"]
    print(f"adamlab fast at B = {min(sizes)} over its floor (CPU): float64 "
          f"{smallest['fast'] / floor_med['float64 cpu']:.1f}x, float32 "
          f"{smallest['fast32'] / floor_med['float32 cpu']:.1f}x")
    if args.kernels:
        kernels(args)
    if args.interleave > 1:
        interleave(args)
    return {"results": results, "cores": cores, "memory_floor_us": floor_med, "jax": use_jax}


def kernels(args) -> None:
    """The fast engine per optimiser with a kernel (its registry defaults; sgd with momentum),
    process CPU time (steadier than wall time on a shared machine)."""
    from adamlab.optim import get, list_optimizers

    print("\nfast engine, process CPU us/step by optimiser (median of the repeats)")
    print(f"{'optimizer':>10} {'B=2 f64':>9} {'B=2 f32':>9} {'B=100 f64':>10} {'B=100 f32':>10}")
    for name in list_optimizers(kernel=True):
        row = []
        for B in (2, 100):
            extra = {"momentum": 0.9} if "momentum" in get(name).options else {}
            cfg = SyntheticConfig(optimizer=name, batch_size=B, n_test=10, **extra)
            data, W0 = make_dataset(cfg), init_weights(cfg)
            batches = BatchSampler(cfg.n, B, "shuffle", 0).epochs(
                -(-args.steps // cfg.steps_per_epoch))[:args.steps]
            for c in (cfg, cfg.replace(dtype="float32")):
                fast_loop(c, data, W0, batches[:10])  # compile
            times = {c.dtype: [] for c in (cfg, cfg.replace(dtype="float32"))}
            for _ in range(args.repeats):
                for c in (cfg, cfg.replace(dtype="float32")):
                    times[c.dtype].append(fast_loop(c, data, W0, batches)[1])
            row += [statistics.median(times["float64"]), statistics.median(times["float32"])]
        print(f"{name:>10} {row[0] * 1e6:>9.1f} {row[1] * 1e6:>9.1f} {row[2] * 1e6:>10.1f} "
              f"{row[3] * 1e6:>10.1f}")


@njit(error_model="numpy")
def interleaved_steps(WT, S, GT, batches, y, noise_idx, noise_val, alpha, act, dact, power, rho,
                      m, update, lr, hp, tiny_m, tiny_v):
    """K independent runs of one optimiser in one compiled loop: each step, run r's gradient,
    update and clear, for r = 0..K-1 in turn (WT, GT: (K, d, 2m); S: (K, k, d, 2m), the
    optimiser's state arrays; batches: (K, steps, B)). The same kernels as
    synthetic/engines/fast.py's run_steps, so the work per run is the same."""
    K, nf = WT.shape[0], WT.shape[2]
    zs, zn = np.empty(nf, WT.dtype), np.empty(nf, WT.dtype)
    cs, cn = np.empty(nf, WT.dtype), np.empty(nf, WT.dtype)
    scal = np.ones(0)  # Adam keeps no scalar state
    n = WT.shape[1] * WT.shape[2]
    for k in range(batches.shape[1]):
        for r in range(K):
            batch_gradient(WT[r], GT[r], batches[r, k], y[r], noise_idx[r], noise_val[r], alpha,
                           act, dact, power, rho, m, zs, zn, cs, cn)
            fused_update(update, WT[r].reshape(-1), S[r].reshape((S.shape[1], n)),
                         GT[r].reshape(-1), k + 1, lr, hp, scal, tiny_m, tiny_v)
            clear_rows(GT[r], batches[r, k], noise_idx[r], 1, -1)


def interleave(args) -> None:
    """K runs (seeds 0..K-1) in one compiled loop vs the same K runs one after another, at the
    small batch sizes that dominate the paper's budget; process CPU us per run-step."""
    K = args.interleave
    print(f"\n{K} runs in one compiled loop (interleaved per step) vs one after another, "
          f"process CPU us per run-step (median of the repeats)")
    print(f"{'dtype':>8} {'B':>3} {'one by one':>11} {'interleaved':>12} {'ratio':>6}")
    for dtype in ("float64", "float32"):
        for B in (1, 2):
            cfgs = [SyntheticConfig(batch_size=B, n_test=10, seed=s, dtype=dtype)
                    for s in range(K)]
            datas = [make_dataset(c) for c in cfgs]
            W0s = [init_weights(c) for c in cfgs]
            batches = np.stack([BatchSampler(c.n, B, "shuffle", c.seed).epochs(
                -(-args.steps // c.steps_per_epoch))[:args.steps] for c in cfgs])
            first = FastEngine(cfgs[0], datas[0], W0s[0])

            def one_by_one():
                for c, dt, w, b in zip(cfgs, datas, W0s, batches):
                    FastEngine(c, dt, w).run(b)

            def together():
                engines = [FastEngine(c, dt, w) for c, dt, w in zip(cfgs, datas, W0s)]
                WT = np.stack([e.WT for e in engines])
                interleaved_steps(WT, np.stack([e.S for e in engines]), np.zeros_like(WT),
                                  batches, np.stack([d.train.y for d in datas]),
                                  np.stack([d.train.noise_idx for d in datas]),
                                  np.stack([e.noise_val for e in engines]), datas[0].train.alpha,
                                  *first.sigma.kernel_args, cfgs[0].width, first.update,
                                  cfgs[0].lr, first.hp, *fast.TINY[first.dtype])

            one_by_one(), together()  # compile
            times = {"one": [], "together": []}
            for _ in range(args.repeats):
                for key, fn in (("one", one_by_one), ("together", together)):
                    times[key].append(timed(fn, K * args.steps)[1] * 1e6)
            one, tog = (statistics.median(times[k]) for k in ("one", "together"))
            print(f"{dtype:>8} {B:>3} {one:>11.1f} {tog:>12.1f} {one / tog:>5.2f}x")


if __name__ == "__main__":
    main()
