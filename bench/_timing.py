"""Timing helper shared by the benchmark scripts (imported as ``bench._timing`` with the repo root on sys.path)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_min_ms(fn: Callable[[], Any], repeats: int, *, warmup: int = 1) -> tuple[float, float]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times; median and minimum wall time in ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)
