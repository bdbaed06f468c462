"""Summary statistics shared by the benchmarks."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float], digits: int = 2) -> str:
    """Median and p95 of durations in seconds, printed in milliseconds."""
    return (
        f"median {statistics.median(values) * 1000:.{digits}f} ms, p95 {percentile(values, 0.95) * 1000:.{digits}f} ms"
    )
