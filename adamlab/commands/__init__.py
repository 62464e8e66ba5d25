"""The `adamlab` subcommands, one module each, every one with `register(subparsers)`."""


class UsageError(Exception):
    """A user error detected by a command; printed as one line, exit status 2.

    It lives here, not in cli.py, so that `python -m adamlab.cli` (where cli.py runs as __main__)
    and the commands share one class."""
