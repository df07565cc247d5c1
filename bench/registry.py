"""One small generic registry per kind of part (tasks, methods, datasets, metrics).

Registries are filled by decorators at import time of light declaration modules;
duplicates raise, and unknown names raise with a "did you mean" suggestion.

Example:
    >>> colours = Registry("colour")
    >>> @colours.register("red")
    ... def red():
    ...     return "#f00"
    >>> colours.get("red")()
    '#f00'
    >>> colours.get("rde")
    Traceback (most recent call last):
    ...
    bench.errors.UnknownNameError: unknown colour 'rde'; did you mean 'red'? (known: red)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from bench.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping with strict registration and helpful lookups.

    Args:
        kind: what the registry holds, used in error messages ("task", "method", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name``; a second registration of a name raises."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda item: self.add(name, item)

    def get(self, name: str) -> T:
        """Return the item called ``name`` or raise :class:`UnknownNameError` with a suggestion."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(unknown_name_message(self.kind, name, self.names())) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    """The one-line error for an unknown name, with the closest known names.

    >>> unknown_name_message("task", "recon-atack", ["cardiac-ldm", "recon-attack"])
    "unknown task 'recon-atack'; did you mean 'recon-attack'? (known: cardiac-ldm, recon-attack)"
    """
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(known) or 'none'})"
