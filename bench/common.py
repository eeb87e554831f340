"""Shared helpers for the benchmarks: timing, percentiles, RSS, a small table printer."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def percentile(values: list[float], pct: float) -> float:
    """Return the ``pct`` percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def summary_ms(samples: list[float]) -> dict[str, float]:
    """Return p50 / p99 / mean of seconds as milliseconds."""
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "mean_ms": statistics.fmean(samples) * 1000 if samples else float("nan"),
    }


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid: int | None = None) -> float:
    """Return the current resident set size of ``pid`` (default: this process) in MB."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Yield a one-element list that holds the elapsed seconds afterwards."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def table(title: str, rows: Iterable[tuple[str, object]]) -> str:
    """Print and return a two-column table."""
    rows = list(rows)
    width = max(len(k) for k, _ in rows)
    lines = [title, "-" * len(title)]
    for key, value in rows:
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        lines.append(f"{key.ljust(width)}  {shown}")
    text = "\n".join(lines)
    print(text, flush=True)
    return text
