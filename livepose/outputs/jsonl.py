"""One JSON object per processed frame (the headless output format).

Fields (stable, public): ``frame`` (number), ``t_device_ms``, ``t_host_ms``,
``layout`` (joint layout name), ``joints_mm`` (list of [x, y, z], camera
frame, mm), ``joints_uvd`` (image u, v in px and depth in mm), ``confidence``
(per joint, 0-1), ``found`` (false when no target), ``reason`` (why not, when
not found), ``timings_ms`` (per stage, ``total`` and ``latency``),
``dropped`` (per stage, cumulative), ``handedness`` (``"left"``, ``"right"``
or ``"unknown"``, estimated from the joints' chirality, see
:mod:`livepose.handedness`) and ``handedness_confidence`` (0-1, 0 when
unknown for want of a hand). Numbers that are not known (NaN) are written as
``null``, so every line is strict JSON.
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, Any

import numpy as np

from livepose.handedness import Handedness, result_handedness
from livepose.types import PoseResult


def _clean(value: Any) -> Any:
    """Plain JSON values: arrays to nested lists, NaN and infinities to None, floats rounded to 0.001."""
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else round(float(value), 3)
    if isinstance(value, np.integer):
        return int(value)
    return value


def result_to_dict(result: PoseResult) -> dict[str, Any]:
    """The result's fields of the headless output record (the session recorder's pose messages use these too;
    :func:`output_record` is the whole line)."""
    record = {
        "frame": int(result.frame_number),
        "t_device_ms": result.t_device_ms,
        "t_host_ms": result.t_host_ms,
        "layout": result.layout,
        "found": bool(result.found),
        "joints_mm": result.joints_mm,
        "joints_uvd": result.joints_uvd,
        "confidence": result.confidence,
        "timings_ms": result.timings_ms,
        "dropped": result.dropped,
    }
    if not result.found:
        record["reason"] = result.reason
    return _clean(record)


def output_record(result: PoseResult, handedness: Handedness | None = None) -> dict[str, Any]:
    """The headless output line of one result: :func:`result_to_dict` plus ``handedness`` and
    ``handedness_confidence`` (estimated from ``result``'s joints unless ``handedness`` is given)."""
    side = result_handedness(result) if handedness is None else handedness
    return {**result_to_dict(result), "handedness": side.label,
            "handedness_confidence": round(float(side.confidence), 3)}


class JsonLinesWriter:
    """Writes one line per result to a file and flushes it, so a killed process loses at most one line.

    Used from the consumer thread only.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.lines = 0

    def write(self, result: PoseResult) -> None:
        self._stream.write(json.dumps(output_record(result), separators=(",", ":")) + "\n")
        self._stream.flush()
        self.lines += 1

    def close(self) -> None:
        try:
            self._stream.flush()
            if hasattr(self._stream, "fileno"):
                os.fsync(self._stream.fileno())
        except (OSError, ValueError):
            pass
