"""JSON at the edge: the one place results become JSON values.

``plain`` turns what the library holds (dicts, tuples, numpy scalars and arrays, enums, paths) into plain JSON values;
``canonical_json`` writes the byte-exact form the audit log and the report bundle hash.

    >>> import numpy as np
    >>> plain({"x": float("nan"), "y": np.float32(0.5), "z": (1, 2), "w": np.arange(2)})
    {'x': None, 'y': 0.5, 'z': [1, 2], 'w': [0, 1]}
    >>> canonical_json({"b": 1, "a": [1.5, "é"]}).decode()
    '{"a":[1.5,"é"],"b":1}'
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def plain(obj: Any, *, digits: int | None = None, strict: bool = False) -> Any:
    """A copy of ``obj`` in plain JSON values: keys become strings, tuples and arrays lists, numpy scalars Python
    numbers, str-valued enums their value, paths strings, and non-finite floats ``None`` (JSON has no NaN).
    ``digits`` rounds floats. Anything else becomes its ``str``, or with ``strict`` raises TypeError."""
    if isinstance(obj, dict):
        return {str(k): plain(v, digits=digits, strict=strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v, digits=digits, strict=strict) for v in obj]
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        v = float(obj)
        if not math.isfinite(v):
            return None
        return round(v, digits) if digits is not None else v
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", None) == 0:  # numpy scalar
        return plain(obj.item(), digits=digits, strict=strict)
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy array
        return plain(obj.tolist(), digits=digits, strict=strict)
    if isinstance(obj, Path):
        return str(obj)
    if strict:
        raise TypeError(f"cannot store {type(obj).__name__} in JSON: convert it to numbers, strings, lists or dicts")
    return str(obj)


def canonical_json(obj: Any) -> bytes:
    """UTF-8 bytes of ``obj`` as JSON with sorted keys and no whitespace; NaN/Infinity are refused (ValueError)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
