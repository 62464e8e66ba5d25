"""The registry base: a named list of what exists (optimisers, activations), read by config
choices, CLI help, engines and tests. An unknown name is a one-line ConfigError naming the field
and the known names; nothing falls back to a default."""
from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from .errors import ConfigError

Entry = TypeVar("Entry")


class Registry(Generic[Entry]):
    """name -> entry, in registration order. `field`: the config field a name is given in."""

    def __init__(self, field: str):
        self.field = field
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, entry: Entry, replace: bool = True) -> Entry:
        if name in self._entries and not replace:
            raise ValueError(f"name: {name!r} is registered already (replace=True to change it)")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def get(self, name: str, field: str | None = None) -> Entry:
        """The entry of `name`; an unknown name is a ConfigError naming `field` (default: the
        registry's) and the known names."""
        entry = self._entries.get(name) if isinstance(name, str) else None
        if entry is None:
            raise ConfigError(f"{field or self.field}: must be one of "
                              f"{', '.join(self._entries)}, got {name!r}")
        return entry

    def find(self, name: str) -> Entry | None:
        return self._entries.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def items(self) -> Iterator[tuple[str, Entry]]:
        return iter(list(self._entries.items()))
