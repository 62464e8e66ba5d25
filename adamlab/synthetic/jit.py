"""How adamlab's numba kernels are compiled and cached on disk.

numba's own disk cache (`cache=True`) has two gaps this module closes:

* It is keyed on the source of the one file that defines the function. A kernel inlines code
  from other files (the activations, the model's kernels, the lr schedule) and freezes their
  constants (SIGNAL_COORD, CLIP_EPS) into its machine code, so an edit there would leave a stale
  kernel in use. `cached_njit` keys the cache on the sources of every file the kernel can reach:
  the files of the numba functions it calls (found by walking their globals) plus the modules
  named in `depends` (where its constants come from).
* It cannot key on a function argument: numba types an argument that is a numba function by the
  function object, which differs in every process, so each process would miss and write a new
  entry. The kernels take the activation as an argument. For the built-in activations that
  argument is a token naming the activation (synthetic/activations.py, `KernelToken`), typed by its
  name, so the kernels specialise on it and cache like any other argument; an activation
  registered at run time (a test file's, a user's) is passed as its numba functions and runs on
  a second, per-process compilation of the same source (`ActivationKernel`).

Measured (benchmarks/first_call.py): a fresh process spends about 3 s of CPU compiling the
kernels of the first activation it uses when nothing is cached, and a fraction of a second
loading them from this cache. A run times that first call apart (FastEngine.compile) and records
it as meta.compile_seconds, outside its `seconds`.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import types

from numba import njit
from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.dispatcher import Dispatcher

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def reachable_files(py_func, depends=()) -> list[str]:
    """The adamlab source files a kernel's compiled code can depend on: its own, those of every
    Python or numba function it reaches through its globals (recursively), and those of the
    modules in `depends` (modules or their names: where the kernel's constants come from).
    Sorted, so every process computes the same list."""
    files, seen, todo = set(), set(), [py_func]
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        path = inspect.getsourcefile(fn)
        if path is None or not os.path.abspath(path).startswith(PACKAGE_DIR):
            continue
        files.add(os.path.abspath(path))
        for code in _code_objects(fn.__code__):
            for name in code.co_names:
                value = fn.__globals__.get(name)
                if isinstance(value, Dispatcher):
                    todo.append(value.py_func)
                elif isinstance(value, types.FunctionType):
                    todo.append(value)
    for module in depends:
        module = importlib.import_module(module) if isinstance(module, str) else module
        files.add(os.path.abspath(inspect.getsourcefile(module)))
    return sorted(files)


def sources_stamp(files) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(os.path.relpath(path, PACKAGE_DIR).encode())
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


class _SourcesCache(FunctionCache):
    """numba's FunctionCache with the index stamped by the sources of `files` instead of the
    defining file alone: a change in any of them makes the index stale, and numba recompiles."""

    def __init__(self, py_func, files):
        super().__init__(py_func)
        self._cache_file = IndexDataCacheFile(cache_path=self._cache_path,
                                              filename_base=self._impl.filename_base,
                                              source_stamp=sources_stamp(files))


def cached_njit(depends=(), **options):
    """`numba.njit(**options)` with an on-disk cache keyed on every source the kernel reaches
    (`reachable_files`). Falls back to numba's own cache if its caching internals change."""
    def deco(py_func):
        dispatcher = njit(**options)(py_func)
        try:
            dispatcher._cache = _SourcesCache(py_func, reachable_files(py_func, depends))
        except (AttributeError, TypeError, ImportError):  # a numba without these internals
            dispatcher.enable_caching()
        except (OSError, RuntimeError):  # no writable cache folder: compile in every process
            pass
        return dispatcher
    return deco


class ActivationKernel:
    """A kernel that takes an activation's `kernel_args`, compiled from one source twice:
    `cached` (on disk, for built-in activations passed as tokens) and `per_process` (for an
    activation registered at run time, passed as numba functions, which no disk cache can key
    on). Calling it picks the one its arguments need."""

    def __init__(self, py_func, depends=(), **options):
        self.py_func = py_func
        self.cached = cached_njit(depends, **options)(py_func)
        self.per_process = njit(**options)(py_func)
        self.__doc__ = py_func.__doc__

    def __call__(self, *args):
        if any(isinstance(a, Dispatcher) for a in args):
            return self.per_process(*args)
        return self.cached(*args)


def activation_kernel(depends=(), **options):
    """Decorator form of ActivationKernel."""
    return lambda py_func: ActivationKernel(py_func, depends, **options)
