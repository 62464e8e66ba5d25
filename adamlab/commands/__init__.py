"""The `adamlab` subcommands, one module each, every one with `register(subparsers)`."""
