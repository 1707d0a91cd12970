"""Timing loops and the rows of the benchmark report.

Every timed call ends with its results in host memory (the CUDA paths
synchronise inside the call), so wall-clock time is the true latency. A loop
runs ``warmup`` untimed calls, then timed calls until it has ``iterations`` of
them or ``budget_s`` seconds have passed (at least ``min_iterations``): a slow
machine gives fewer samples, never a failure. Several rows are timed
interleaved (one call of each in turn) so that other work on the machine
weighs on all of them alike. Main thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

STAGES = ("read_crop", "network", "decode_uncrop")


@dataclass(frozen=True)
class LoopSettings:
    """How long to time one row: untimed warm-up calls, timed calls wanted, the time budget in seconds."""

    warmup: int = 3
    iterations: int = 50
    budget_s: float = 10.0
    min_iterations: int = 3


@dataclass
class Samples:
    """End-to-end milliseconds per call and per-stage milliseconds per call."""

    total_ms: list[float] = field(default_factory=list)
    stages_ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, total_ms: float, stages: dict[str, float]) -> None:
        self.total_ms.append(total_ms)
        for key, value in stages.items():
            self.stages_ms.setdefault(key, []).append(value)


def time_interleaved(calls: list[Callable[[int], dict[str, float]]], settings: LoopSettings) -> list[Samples]:
    """Time several calls in turn, one call of each per round, so that a change in the machine's load falls on
    all of them alike. ``call(i)`` returns its stage times in ms (``i`` counts rounds from 0, warm-up included).
    The budget is ``settings.budget_s`` per call; rounds stop at ``settings.iterations``.
    """
    for index in range(settings.warmup):
        for call in calls:
            call(index)
    samples = [Samples() for _ in calls]
    started = time.perf_counter()
    budget = settings.budget_s * len(calls)
    for index in range(settings.warmup, settings.warmup + settings.iterations):
        for call, store in zip(calls, samples, strict=True):
            t0 = time.perf_counter()
            stages = call(index)
            store.add((time.perf_counter() - t0) * 1e3, stages)
        done = index - settings.warmup + 1
        if time.perf_counter() - started > budget and done >= settings.min_iterations:
            break
    return samples


def row(model: str, backend: str, device: str, precision: str, batch: int, samples: Samples) -> dict:
    """One report row: ``fps`` = batch / median seconds per call; ``stage_ms`` the per-stage medians."""
    total = np.asarray(samples.total_ms, dtype=np.float64)
    p50 = float(np.percentile(total, 50))
    return {"model": model, "backend": backend, "device": device, "precision": precision, "batch": batch,
            "fps": round(batch * 1000.0 / p50, 2) if p50 > 0 else None, "p50_ms": round(p50, 3),
            "p99_ms": round(float(np.percentile(total, 99)), 3),
            "stage_ms": {k: round(float(np.median(v)), 3) for k, v in samples.stages_ms.items()}}
