"""The compiled form of a chain (adamlab/optim/chain.py): the source of its fused update loop.

One numba function per chain, `fused_update(kernel, W, states, G, t, lr, hp, scal, tiny_m,
tiny_v)` (compiled by adamlab/synthetic/update_kernel.py): the options unpacked from hp, each
transform's prelude once per step (in float64, each per-step scalar rounded once to the
weights' dtype by `ft`), then one loop over the weights running each transform's element code
and the final write

    W[e] = w * shrink - k_1 * x_1 - k_2 * x_2 ...

the algebra of ChainRule.step on source text: an L2 decay before the first stateful transform
is `g = g + lambda * w`, a decay after one is the shrink 1 - lr * lambda, and each term's
coefficient k_i is its template with the scale (lr) filled in. Read `Chain.kernel_source()` of
any registry entry to see the result.
"""
from __future__ import annotations

import ast
import inspect

_HEADER = """\
def {name}(kernel, W, states, G, t, lr, hp, scal, tiny_m, tiny_v):
    ft = W.dtype.type
    n = W.shape[0]
    one, zero = ft(1.0), ft(0.0)
    tm, tv = ft(tiny_m), ft(tiny_v)
"""


class _Source:
    """Writes a chain's fused loop: the same algebra as ChainRule.step on source text."""

    def __init__(self, chain):
        self.chain = chain
        self.pre: list[str] = []    # per-step lines (in the function body)
        self.body: list[str] = []   # per-weight lines (in the loop)
        self.k = 0

    def scalar(self, expr: str) -> str:
        """A per-step scalar: computed in float64, rounded once to the weights' dtype."""
        name = f"_k{self.k}"
        self.k += 1
        self.pre.append(f"{name} = ft({expr})")
        return name

    def render(self, name: str) -> str:
        c = self.chain
        out = _HEADER.format(name=name)
        opts = c.kernel_options()
        if opts:
            out += f"    {', '.join(opts)}, = hp\n"
        for i, key in enumerate(c.state):
            out += f"    {key.upper()} = states[{i}]\n"
        for i, key in enumerate(c.scalars):
            out += f"    {key} = scal[{i}]\n"
        g_terms, decay = None, None  # None: the update is still the variable g
        l2 = next((t for t in c.transforms if t.linear is None or t.linear == "weight_decay"),
                  None)
        if l2 is None or l2.linear != "weight_decay":  # the unused L2 slot (see below)
            self.body.append("g = g + zero * w")
        for tr in c.transforms:
            self.pre.append(f"# {tr.name}")
            for k, v in tr.constants.items():
                self.pre.append(f"{k} = {float(v)!r}")
            if tr.linear == "weight_decay":
                if g_terms is None:
                    self.body.append(f"g = g + {self.scalar('weight_decay')} * w")
                else:
                    decay = ["{s} * weight_decay", None]
            elif tr.linear == "lr":
                g_terms = g_terms if g_terms is not None else [["{s}", "g", None]]
                for x in (*g_terms, decay):
                    if x is not None:
                        x[-1] = "lr" if x[-1] is None else f"{x[-1]} * lr"
            else:
                if g_terms is not None:
                    parts = [f"{self.coefficient(x)} * {x[1]}" for x in g_terms]
                    if decay is not None:
                        parts.append(f"{self.coefficient(decay)} * w")
                    self.body.append("g = " + " + ".join(parts))
                    decay = None
                self.pre.extend(_lines(tr.prelude))
                self.body.extend(_lines(tr.element))
                g_terms = [[coef, expr, None] for coef, expr in tr.terms]
        # Without decoupled decay the shrink is 1, computed at run time like the unused L2 slot's
        # 0 * w above: LLVM then compiles the same arithmetic for every chain (it would drop a
        # constant w * 1.0 and contract the other product of the write into a multiply-add
        # instead, a different rounding), so L2 and decoupled chains round alike and as the
        # hand-written kernels did.
        shrink = "ft(1.0 - 0.0 * lr)" if decay is None else \
            f"ft(1.0 - {_fill(decay[0], decay[1])})"
        self.pre.append(f"shrink = {shrink}")
        write = "W[e] = w * shrink" + "".join(f" - {self.coefficient(x)} * {x[1]}"
                                              for x in g_terms)
        for i, key in enumerate(c.scalars):
            self.pre.append(f"scal[{i}] = {key}")
        out += "".join(f"    {line}\n" for line in self.pre)
        out += "    for e in range(n):\n        w = W[e]\n        g = G[e]\n"
        out += "".join(f"        {line}\n" for line in self.body)
        return out + f"        {write}\n"

    def coefficient(self, x) -> str:
        return self.scalar(_fill(x[0], x[-1]))


def _fill(template: str, scale: str | None) -> str:
    return template.replace("{s}", "1.0" if scale is None else scale)


def _lines(src: str) -> list[str]:
    return inspect.cleandoc(src).splitlines() if src.strip() else []


# Names the fused loop itself defines (its arguments and _HEADER's, the loop's): a transform's
# compiled form reads them and must not assign them (g aside: the update it passes on).
KERNEL_NAMES = frozenset({"kernel", "W", "states", "G", "t", "lr", "hp", "scal", "tiny_m",
                          "tiny_v", "ft", "n", "one", "zero", "tm", "tv", "shrink", "e", "w",
                          "math"})


def check_names(transforms) -> None:
    """Two transforms of one chain must not assign the same name in their compiled forms (they
    share one function), nor one of the loop's own names; state arrays are named by their keys
    in upper case (M for "m"), so a key must not name one of the loop's arrays."""
    owner: dict[str, str] = {}
    for t in transforms:
        for key in t.state:
            if key.upper() in KERNEL_NAMES or not key.isidentifier():
                raise ValueError(f"state: {t.name}'s array {key!r} would be {key.upper()}, a name "
                                 f"the fused loop uses")
        names = set()
        for src in (t.prelude, t.element):
            if src.strip():
                for node in ast.walk(ast.parse(inspect.cleandoc(src))):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        names.add(node.id)
        for n in names - {"g"}:
            if n in KERNEL_NAMES or n.startswith("_k"):
                raise ValueError(f"chain: {t.name} assigns {n!r}, a name of the fused loop")
            if n in owner and owner[n] != t.name:
                raise ValueError(f"chain: {t.name} and {owner[n]} both assign {n!r} in their "
                                 f"compiled forms")
            owner[n] = t.name


def render(chain, name: str = "fused_update") -> str:
    """The source of `chain`'s fused update loop, a function called `name`."""
    return _Source(chain).render(name)

