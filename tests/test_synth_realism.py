"""Realism, measured: do the synthetic generator's ranges cover what real depth frames show?

The measurement functions are checked on small made-up arrays; then statistics of the annotated real frames
(``tests/data/realism_annotations.json``, frames in ../shared/data) are compared with 64 synthetic hands per
camera (the numbers in docs/realism.json). Known gaps are marked xfail with the measured shortfall; see
docs/realism.md.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from livepose.synth import realism

COUNT = 64  # synthetic hands per camera, as in docs/realism.json
SEED = 0
INTR = (500.0, 500.0, 32.0, 32.0)


# --------------------------------------------------------------------------------------------------
# The measurements on made-up frames
# --------------------------------------------------------------------------------------------------


def _plane(height: int, width: int, z0: float, slope_x: float = 0.0) -> np.ndarray:
    """Depth of a plane through (cx, cy, z0) rising by ``slope_x`` mm per mm of x (camera INTR)."""
    fx, _, cx, _ = INTR
    u = np.arange(width)[None, :].repeat(height, 0)
    # z = z0 + s * x with x = (u - cx) * z / fx  =>  z = z0 / (1 - s (u - cx) / fx)
    return z0 / (1.0 - slope_x * (u - cx) / fx)


def test_gradient_slopes_of_planes() -> None:
    region = np.zeros((64, 64), dtype=bool)
    region[12:52, 12:52] = True
    flat = realism.gradient_slopes(_plane(64, 64, 500.0), region, INTR)
    assert len(flat) > 0 and np.allclose(flat, 0.0)
    tilted = realism.gradient_slopes(_plane(64, 64, 500.0, slope_x=1.0), region, INTR)
    assert np.median(tilted) == pytest.approx(1.0, rel=0.03)  # 45 degrees: 1 mm of depth per mm across
    assert realism.gradient_stats(tilted)["p50"] == pytest.approx(1.0, rel=0.03)


def test_hand_region_stops_at_depth_jumps_and_distance() -> None:
    depth = np.full((64, 64), 900.0)  # a wall 400 mm behind
    depth[20:44, 20:44] = 500.0  # the "hand"
    depth[30:34, 44:50] = 520.0  # attached, a little further
    depth[0:4, 0:64] = 0.0  # no reading
    region = realism.hand_region(depth, (32, 32, 500.0), INTR)
    assert region[20:44, 20:44].all() and region[30:34, 44:50].all()
    assert region.sum() == 24 * 24 + 4 * 6
    # The same hand seen from further away than radius_mm: nothing near the centre.
    assert not realism.hand_region(depth, (32, 32, 800.0), INTR, radius_mm=100.0).any()


def test_invalid_fraction_counts_the_band_outside_the_hand() -> None:
    depth = np.full((64, 64), 900.0)
    depth[20:44, 20:44] = 500.0
    depth[17:20, :] = 0.0  # the three rows above the hand have no reading
    region = realism.hand_region(depth, (32, 32, 500.0), INTR)
    band = realism.silhouette_band(region, 3)
    assert band.sum() == 30 * 30 - 24 * 24
    assert realism.invalid_fraction(depth > 0, region, 3) == pytest.approx(3 * 30 / (30 * 30 - 24 * 24))


def test_segment_width_converts_pixels_at_the_local_depth() -> None:
    depth = np.full((64, 64), 500.0)
    # 19 px between the outermost pixels + 1 px, at 500 mm with f = 500: 20 mm.
    assert realism.segment_width_mm(depth, (10, 30), (29, 30), INTR) == pytest.approx(20.0)
    assert realism.segment_width_mm(depth, (30, 10), (30, 29), INTR) == pytest.approx(20.0)
    assert math.isnan(realism.segment_width_mm(np.zeros((64, 64)), (10, 30), (29, 30), INTR))


def test_synthetic_finger_points_walk_to_the_silhouette() -> None:
    part = np.full((64, 64), -1, dtype=np.int16)
    part[:, 25:37] = 4  # a vertical middle finger, 12 px wide
    valid = np.ones((64, 64), dtype=bool)
    valid[:, 36] = False  # its right edge pixel column has no reading
    joints_uvd = np.zeros((21, 3))
    joints_mm = np.zeros((21, 3))
    for j, v in ((9, 50.0), (10, 20.0), (11, 5.0)):  # MCP, PIP, DIP straight up the image
        joints_uvd[j] = (30.5, v, 500.0)
        joints_mm[j] = ((30.5 - 32.0) * 500.0 / 500.0, (v - 32.0) * 500.0 / 500.0, 500.0)
    ends = realism.synthetic_finger_points(part, valid, joints_uvd, joints_mm, "middle", 500.0, radius_mm=8.0)
    assert ends is not None
    (u0, v0), (u1, v1) = ends
    assert (min(u0, u1), max(u0, u1)) == (25, 35) and v0 == v1 == 35
    # A sensor that fattens silhouettes (Kinect v1) reports the finger's depth 2 px past the part mask on the
    # left: with the depth the walk follows those readings and stops where the depth jumps to the background.
    depth = np.full((64, 64), 900.0)
    depth[:, 25:37] = 500.0
    depth[:, 23:25] = 503.0
    wide = realism.synthetic_finger_points(part, valid, joints_uvd, joints_mm, "middle", 500.0, radius_mm=8.0,
                                           depth=depth)
    assert wide is not None and (min(wide[0][0], wide[1][0]), max(wide[0][0], wide[1][0])) == (23, 35)
    # A neighbour touching the finger: no free edge, no measurement.
    part[:, 37:45] = 5
    assert realism.synthetic_finger_points(part, valid, joints_uvd, joints_mm, "middle", 500.0, 8.0) is None


def test_frame_formats_match_the_published_encodings() -> None:
    depth = np.array([[0.0, 600.0, 1900.0, 2500.0]])
    nyu = realism.FORMATS["nyu"]
    published = nyu.publish(depth, 600.0)
    assert published.tolist() == [[2001.0, 600.0, 1900.0, 2001.0]]
    assert nyu.valid(published).tolist() == [[False, True, True, False]]
    hands = realism.FORMATS["hands2017"].publish(depth, 600.0)
    assert hands.tolist() == [[0.0, 600.0, 0.0, 0.0]]


# --------------------------------------------------------------------------------------------------
# Real frames against synthetic ones
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured(shared_data):
    torch.set_num_threads(1)
    real, synthetic, _ = realism.run(shared_data, realism.DEFAULT_ANNOTATIONS, count=COUNT, seed=SEED)
    return real, synthetic


def test_annotated_points_lie_on_the_hand(shared_data) -> None:
    for entry in realism.load_annotations():
        row = realism.measure_real(entry, shared_data)
        assert row["hand_pixels"] > 3000, entry["file"]
        widths = ([row["palm_width_mm"]] if row["palm_width_mm"] is not None else []) + row["finger_widths_mm"]
        assert widths and all(5.0 < w < 130.0 for w in widths), entry["file"]


# Real values the synthetic frames do not reach (measured with COUNT hands per camera, seeds SEED + i).
# strict: a structural gap (the check must keep failing until the generator changes); not strict: a
# marginal one that a different sample of hands may close.
KNOWN_GAPS = {
    ("sr305", "gradient_p50"): (True, "real SR305 hands are smoother than synthetic ones: 4 of 10 frames have median "
                                      "slopes 0.23-0.27 against a synthetic 5-95% range starting at 0.28 (real hands "
                                      "are held flat to the camera and the SR305 smooths its depth; synthetic sphere "
                                      "chains are ridged)"),
    ("nyu", "gradient_p50"): (True, "median slope 0.40 against a synthetic 5-95% range of 0.50-1.15"),
}


def _cases() -> list:
    cases = []
    for camera in realism.CAMERAS:
        for statistic, *_ in realism.CHECKS:
            marks = []
            if (camera, statistic) in KNOWN_GAPS:
                strict, reason = KNOWN_GAPS[(camera, statistic)]
                marks.append(pytest.mark.xfail(strict=strict, reason=reason))
            cases.append(pytest.param(camera, statistic, marks=marks, id=f"{camera}-{statistic}"))
    return cases


@pytest.mark.parametrize(("camera", "statistic"), _cases())
def test_real_statistic_inside_synthetic_range(measured, camera: str, statistic: str) -> None:
    real, synthetic = measured
    rows = [c for c in realism.compare(real, synthetic) if c["camera"] == camera and c["statistic"] == statistic]
    if not rows:
        pytest.skip(f"no real {statistic} for {camera} (the HANDS2017 palm is seen edge-on)")
    outside = [c for c in rows if not c["inside"]]
    assert not outside, "\n".join(
        f"{c['file']}: real {c['real']:.3f} outside synthetic {c['range']} {c['low']:.3f}..{c['high']:.3f} "
        f"by {c['outside_by']:.3f}" for c in outside)
