"""The one error type of a bad setting: its message names the field and the allowed range, so a
wrong value anywhere (config, CLI flag, sweep file, registry name) stops with one readable line."""


class ConfigError(ValueError):
    """A bad configuration value; the message names the field and the allowed range."""
