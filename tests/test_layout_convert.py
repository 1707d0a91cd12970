"""livepose live --layout: HAND21 results in the dataset layouts."""

from __future__ import annotations

import numpy as np
import pytest

from livepose.calibration import load_profile
from livepose.errors import LivePoseError
from livepose.layout_convert import check_target, convert_result
from livepose.skeletons import HAND21, get_layout
from livepose.types import PoseResult


def _result(joints_mm: np.ndarray, intrinsics) -> PoseResult:
    confidence = np.linspace(0.1, 0.9, 21)
    return PoseResult(frame_number=3, t_device_ms=1.0, t_host_ms=2.0, layout="hand21", found=True,
                      joints_mm=joints_mm, joints_uvd=intrinsics.xyz_to_uvd(joints_mm), confidence=confidence,
                      anchor_weights=np.ones((16, 21)) / 16)


def test_nyu14_result_copies_tips_and_reprojects():
    intrinsics = load_profile("d435_640").intrinsics
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 40, (21, 3)) + np.array([0, 0, 500.0])
    out = convert_result(_result(joints, intrinsics), "nyu14", intrinsics)
    nyu = get_layout("nyu14")
    assert out.layout == "nyu14" and out.joints_mm.shape == (14, 3) and out.anchor_weights is None
    index_tip = HAND21.joints.index("index_tip")
    assert np.allclose(out.joints_mm[nyu.joints.index("I1")], joints[index_tip])
    assert out.confidence[nyu.joints.index("I1")] == pytest.approx(np.linspace(0.1, 0.9, 21)[index_tip])
    assert np.allclose(out.joints_uvd, intrinsics.xyz_to_uvd(out.joints_mm))
    palm = [HAND21.joints.index(n) for n in ("wrist", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp")]
    assert np.allclose(out.joints_mm[nyu.joints.index("C")], joints[palm].mean(0))


def test_layout_errors_are_one_line():
    with pytest.raises(LivePoseError, match="only hand21 models"):
        check_target("itop15", "nyu14")
    with pytest.raises(LivePoseError, match="expected one of"):
        check_target("hand21", "coco17")
    check_target("itop15", "itop15")
