"""Which detector finds the region a model crops: a hand centre or a person's box.

A model's crop method (its checkpoint's :class:`~livepose.calibration.CropSettings`) decides:
``"centre"`` models (hands) take :class:`~livepose.detect.centre.HandCentreDetector`, ``"box"``
models (bodies) :class:`~livepose.detect.centre.BodyBoxDetector`. Both offer ``detect(depth_mm,
intrinsics)`` and ``track(depth_mm, intrinsics, previous_joints_uvd)`` returning a detection with
``found``, ``uvd`` and ``reason`` (body detections also ``box``), which is what the engine needs.
"""

from __future__ import annotations

from livepose.calibration import CropSettings
from livepose.detect.centre import BodyBoxDetector, HandCentreDetector
from livepose.errors import LivePoseError


def detector_for(crop: CropSettings) -> HandCentreDetector | BodyBoxDetector:
    """A detector for a model with these crop settings (both kinds are stateless and thread-safe)."""
    if crop.method == "centre":
        return HandCentreDetector()
    if crop.method == "box":
        return BodyBoxDetector()
    raise LivePoseError(f"crop method {crop.method!r}: expected 'centre' (hands) or 'box' (bodies)")
