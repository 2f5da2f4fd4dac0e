"""A small string-keyed registry, one per extension point (detectors, explainers, segmenters, checks, writers).

Each entry carries its metadata (``title`` for people, ``default`` for the role it is the default of, and whatever
else the extension point needs), so pickers, commands and reports read titles and defaults from one place. Former
names live in a deprecation map: they still resolve (with a ``FutureWarning``) but are never listed.

Example:
    >>> from forensics.registry import Registry
    >>> shapes = Registry("shape")
    >>> @shapes.register("square", title="Square", default="shape")
    ... def make_square(side=1):
    ...     return ("square", side)
    >>> shapes.create("square", side=2), shapes.title("square"), shapes.default("shape")
    (('square', 2), 'Square', 'square')
    >>> shapes.deprecate("box", "square")
    >>> shapes.names(), shapes.canonical("box")                        # doctest: +SKIP
    (['square'], 'square')
"""

from __future__ import annotations

import warnings
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
        self._former: dict[str, str] = {}  # former name -> current name

    def register(self, name: str, **meta: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories or name in self._former:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            role = meta.get("default")
            if role is not None and any(m.get("default") == role for m in self._meta.values()):
                raise ValueError(f"two {self.kind}s are the default for {role!r}")
            self._factories[name] = factory
            self._meta[name] = dict(meta)
            return factory

        return decorator

    def deprecate(self, former: str, current: str) -> None:
        """``former`` is an old name of ``current``: it resolves with a warning and is never listed."""
        if former in self._factories:
            raise ValueError(f"{self.kind} {former!r} is registered; it cannot also be a former name")
        self._former[former] = current

    def canonical(self, name: str) -> str:
        """The current name for ``name`` (a former name warns once per call site)."""
        if name in self._former:
            current = self._former[name]
            warnings.warn(f"{self.kind} {name!r} was renamed {current!r}; use the new name", FutureWarning, 3)
            return current
        return name

    def create(self, name: str, **kwargs: Any) -> T:
        name = self.canonical(name)
        try:
            factory = self._factories[name]
        except KeyError:
            raise UnknownComponentError(
                f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._factories)) or 'none'}"
            ) from None
        return factory(**kwargs)

    def names(self) -> list[str]:
        """Current names only (former names are not offered anywhere)."""
        return sorted(self._factories)

    def former_names(self) -> dict[str, str]:
        return dict(self._former)

    def meta(self, name: str) -> dict[str, Any]:
        name = self._former.get(name, name)
        if name not in self._meta:
            raise UnknownComponentError(f"unknown {self.kind} {name!r}")
        return dict(self._meta[name])

    def title(self, name: str) -> str:
        """How people read ``name`` (its ``title`` metadata; the name itself when it has none)."""
        try:
            return str(self.meta(name).get("title") or name)
        except UnknownComponentError:
            return name

    def default(self, role: str) -> str:
        """The entry registered with ``default=role``."""
        for name, m in self._meta.items():
            if m.get("default") == role:
                return name
        raise UnknownComponentError(f"no {self.kind} is the default for {role!r}")

    def __contains__(self, name: object) -> bool:
        return name in self._factories or name in self._former
