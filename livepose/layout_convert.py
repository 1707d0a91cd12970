"""Results of a HAND21 model in another hand layout (``livepose live --layout nyu14``).

:func:`convert_result` maps a :class:`~livepose.types.PoseResult` of the 21-joint hand to NYU14,
ICVL16, HANDS21 or MSRA21 with :func:`livepose.synth.layouts.convert` (which states the physical point
behind every target joint): camera-frame joints are converted, image joints re-projected with the
frame's camera, and each target joint's confidence is that of the joint it copies, or the mean over
the joints a derived point is built from (palm centre: wrist and four MCPs; wrist sides: the wrist).
Anchor weights belong to the network's own joints and are dropped. Pure; safe from any thread.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.skeletons import HAND21
from livepose.synth.layouts import TARGET_POINTS, convert
from livepose.types import PoseResult

_INDEX = {name: i for i, name in enumerate(HAND21.joints)}
_DERIVED_SOURCES = {
    "palm_centre": ("wrist", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp"),
    "wrist_ulnar": ("wrist",),
    "wrist_radial": ("wrist",),
}
CONVERTIBLE_LAYOUTS = tuple(TARGET_POINTS)


def check_target(source_layout: str, target: str) -> None:
    """Raise a one-line error unless results in ``source_layout`` can be shown in ``target``."""
    if target == source_layout:
        return
    if source_layout != "hand21":
        raise LivePoseError(f"--layout {target}: only hand21 models convert to other layouts (this model "
                            f"predicts {source_layout})")
    if target not in TARGET_POINTS:
        raise LivePoseError(f"--layout {target!r}: expected one of {', '.join(CONVERTIBLE_LAYOUTS)}")


def convert_confidence(confidence: np.ndarray, target: str) -> np.ndarray:
    """(21,) HAND21 confidences -> (J,) confidences of the ``target`` layout's joints."""
    out = []
    for point in TARGET_POINTS[target].values():
        sources = _DERIVED_SOURCES.get(point, (point,))
        out.append(float(np.mean([confidence[_INDEX[s]] for s in sources])))
    return np.asarray(out, dtype=np.float64)


def convert_result(result: PoseResult, target: str, intrinsics: Intrinsics) -> PoseResult:
    """``result`` (a hand21 result) in the ``target`` layout; see the module docstring."""
    if target == result.layout:
        return result
    check_target(result.layout, target)
    joints_mm = convert(torch.from_numpy(np.asarray(result.joints_mm, dtype=np.float64)), target).numpy()
    joints_uvd = intrinsics.xyz_to_uvd(joints_mm) if result.found else np.full_like(joints_mm, np.nan)
    confidence = convert_confidence(np.asarray(result.confidence, dtype=np.float64), target)
    return dataclasses.replace(result, layout=target, joints_mm=joints_mm, joints_uvd=joints_uvd,
                               confidence=confidence, anchor_weights=None)
