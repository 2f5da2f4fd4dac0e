"""A small string-keyed registry, one per extension point (detectors, explainers, segmenters, checks, writers).

Example:
    >>> from forensics.registry import Registry
    >>> shapes = Registry("shape")
    >>> @shapes.register("square")
    ... def make_square(side=1):
    ...     return ("square", side)
    >>> shapes.create("square", side=2)
    ('square', 2)
    >>> shapes.names()
    ['square']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from forensics.errors import UnknownComponentError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a name to a factory. ``create(name, **kw)`` calls the factory."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            self._meta[name] = dict(meta)
            return factory

        return decorator

    def create(self, name: str, **kwargs: Any) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            raise UnknownComponentError(
                f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._factories)) or 'none'}"
            ) from None
        return factory(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def meta(self, name: str) -> dict[str, Any]:
        if name not in self._meta:
            raise UnknownComponentError(f"unknown {self.kind} {name!r}")
        return dict(self._meta[name])

    def __contains__(self, name: object) -> bool:
        return name in self._factories
