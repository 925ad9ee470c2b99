"""Latency samples and their percentiles (nearest rank), in the unit they were taken in."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (`fraction` in 0..1); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p99 and max of the samples."""
    return {"count": len(values), "p50": percentile(values, 0.50),
            "p99": percentile(values, 0.99), "max": max(values) if values else None}
