"""`adamlab` command line: one subcommand per module in adamlab/commands.

Every failure a user can cause (a bad flag, a bad value, a missing file) ends with one line
`adamlab: error: ...` naming what is wrong, and exit status 2; never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import torch

from .commands import UsageError, reproduce, train
from .core.errors import ConfigError


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the whole usage; one line is clearer
        raise UsageError(message)


def limit_threads(threads: int) -> None:
    """One thread per process: these steps are tiny and two threads are slower and erratic."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))

    torch.set_num_threads(threads)


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. an engine fallback) as one line on stderr, like the errors."""
    print(f"adamlab: warning: {message}", file=sys.stderr if file is None else file)


def build_parser() -> argparse.ArgumentParser:

    parser = Parser(prog="adamlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (train, reproduce):
        module.register(sub)
    for name in ("theory", "sweep", "runs", "critical_batch", "endstate"):  # optional command modules, present once built
        try:
            module = __import__(f"adamlab.commands.{name}", fromlist=["register"])
        except ModuleNotFoundError:
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        threads = getattr(args, "threads", 1)
        if threads < 1:
            raise UsageError(f"threads: must be an integer >= 1, got {threads}")
        limit_threads(threads)
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            return int(args.func(args) or 0)
    except (UsageError, ConfigError) as e:
        print(f"adamlab: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `adamlab runs ... | head`: the reader left; not an error of ours
        # (before OSError, of which it is a kind: a re-raise there would escape this try)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # a path the user gave: missing, a file where a folder should be, ...
        if e.filename is None:
            raise
        print(f"adamlab: error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adamlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
