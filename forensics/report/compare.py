"""Exact comparison of two JSON values (two copies of one bundle: the one inside a sealed PDF and the JSON file), and
the short form a differing value is quoted in. The tolerant comparison of a re-run lives in ``verify``.

    >>> diff_exact({"a": 1, "b": [1, 2]}, {"a": 1.0, "b": [1, 3]})
    ['a: first 1, second 1.0', 'b/1: first 2, second 3']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def short_repr(v: Any) -> str:
    """``repr(v)``, cut to 90 characters."""
    s = repr(v)
    return s if len(s) <= 90 else s[:87] + "..."


def diff_exact(
    a: Any, b: Any, *, names: tuple[str, str] = ("first", "second"), path: tuple[str, ...] = ()
) -> list[str]:
    """Every difference between two JSON values, exactly (no tolerance, nothing excluded): two copies of one bundle."""
    where = "/".join(path) or "(root)"
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{'/'.join((*path, str(k)))}: only in the {names[0] if k in a else names[1]} copy")
            else:
                out += diff_exact(a[k], b[k], names=names, path=(*path, str(k)))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in diff_exact(x, y, names=names, path=(*path, str(i)))
        ]
    if a == b and type(a) is type(b):
        return []
    return [f"{where}: {names[0]} {short_repr(a)}, {names[1]} {short_repr(b)}"]
