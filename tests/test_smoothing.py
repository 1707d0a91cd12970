"""One Euro smoothing: hand-computed responses, resets, and jitter / lag on the benchmark sequence."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from livepose.outputs.smoothing import (
    OneEuroFilter,
    OneEuroParams,
    PoseSmoother,
    SmoothedPoseResult,
    result_time_s,
    unsmoothed,
)
from livepose.types import PoseResult

REPO = Path(__file__).resolve().parents[1]
DT = 1 / 30
ALPHA_1HZ = 1 / (1 + 1 / (2 * math.pi * 1.0 * DT))  # 0.17317...


def bench():
    spec = importlib.util.spec_from_file_location("bench_smoothing", REPO / "benchmarks" / "bench_smoothing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pose(joints: np.ndarray, t_ms: float, found: bool = True, t_device: bool = True) -> PoseResult:
    joints = np.asarray(joints, dtype=np.float64)
    return PoseResult(frame_number=int(t_ms), t_device_ms=t_ms if t_device else float("nan"), t_host_ms=t_ms + 5e6,
                      layout="hand21", found=found, joints_mm=joints, joints_uvd=joints * 0.5,
                      confidence=np.ones(len(joints)))


def test_constant_input_stays_exactly_constant() -> None:
    filt = OneEuroFilter()
    x = np.array([[10.0, -20.0, 450.0], [0.5, 0.25, 300.0]])
    for i in range(100):
        np.testing.assert_array_equal(filt(x, i * DT), x)


def test_step_response_matches_hand_computation_and_converges() -> None:
    # beta = 0: a plain exponential average with alpha = 1 / (1 + 1 / (2 pi fc dt)).
    filt = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0))
    filt(np.zeros(3), 0.0)
    out = [filt(np.ones(3), k * DT)[0] for k in range(1, 41)]
    assert out[0] == pytest.approx(ALPHA_1HZ, rel=1e-12)
    assert ALPHA_1HZ == pytest.approx(0.173171, abs=1e-6)  # (2 pi / 30) / (1 + 2 pi / 30)
    for n, value in enumerate(out, start=1):
        assert value == pytest.approx(1 - (1 - ALPHA_1HZ) ** n, rel=1e-9)
    assert 1 - out[-1] < 1e-3  # converged within 0.1 % after 40 frames (1.3 s)

    # beta > 0: speed 30 units/s, its estimate alpha_d * 30, cutoff 1 + beta * that.
    filt = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.5, d_cutoff=1.0))
    filt(np.zeros(1), 0.0)
    cutoff = 1.0 + 0.5 * ALPHA_1HZ * 30.0
    expected = 1 / (1 + 1 / (2 * math.pi * cutoff * DT))
    assert filt(np.ones(1), DT)[0] == pytest.approx(expected, rel=1e-12)
    assert expected > ALPHA_1HZ  # moving raises the cutoff: less lag


def test_filters_each_element_independently() -> None:
    filt = OneEuroFilter(OneEuroParams(beta=0.0))
    filt(np.zeros((2, 3)), 0.0)
    step = np.zeros((2, 3))
    step[1, 2] = 100.0
    out = filt(step, DT)
    assert out[1, 2] == pytest.approx(100 * ALPHA_1HZ)
    assert np.count_nonzero(out) == 1


def test_resets_on_lost_target_gap_and_time_going_back() -> None:
    smoother = PoseSmoother(OneEuroParams(beta=0.0))
    a, b = np.zeros((21, 3)), np.full((21, 3), 10.0)
    smoother(pose(a, 0.0))
    assert smoother(pose(b, 33.3)).joints_mm[0, 0] == pytest.approx(10 * ALPHA_1HZ, rel=1e-3)
    # lost: passes through, then restarts from the raw joints
    lost = smoother(pose(np.full((21, 3), np.nan), 66.7, found=False))
    assert not lost.smoothed and np.isnan(lost.joints_mm).all()
    np.testing.assert_array_equal(smoother(pose(a, 100.0)).joints_mm, a)
    # a gap longer than max_gap_s (0.5 s): restart
    np.testing.assert_array_equal(smoother(pose(b, 700.0)).joints_mm, b)
    # time going back (a looping recording): restart
    np.testing.assert_array_equal(smoother(pose(a, 10.0)).joints_mm, a)
    # a repeated timestamp returns the previous estimate
    np.testing.assert_array_equal(smoother(pose(b, 10.0)).joints_mm, a)


def test_keeps_raw_joints_and_uses_host_time_without_device_time() -> None:
    smoother = PoseSmoother()
    first = pose(np.zeros((21, 3)), 0.0, t_device=False)
    assert result_time_s(first) == pytest.approx(5000.0)
    smoother(first)
    moved = pose(np.full((21, 3), 10.0), 33.3, t_device=False)
    out = smoother(moved)
    assert isinstance(out, SmoothedPoseResult) and isinstance(out, PoseResult) and out.smoothed
    assert 0 < out.joints_mm[0, 0] < 10 and 0 < out.joints_uvd[0, 0] < 5
    assert out.raw_joints_mm is moved.joints_mm and out.raw_joints_uvd is moved.joints_uvd
    assert out.frame_number == moved.frame_number and out.confidence is moved.confidence
    plain = unsmoothed(moved)
    assert not plain.smoothed and plain.joints_mm is plain.raw_joints_mm is moved.joints_mm


def test_default_parameters_reduce_jitter_3x_with_bounded_lag() -> None:
    b = bench()
    t, truth, noisy = b.still_and_move(fps=30.0, speed_mm_s=300.0, noise_mm=3.0, seed=0)
    raw = b.figures(t, truth, b.run(None, t, noisy), 300.0)
    smooth = b.figures(t, truth, b.run(OneEuroParams(), t, noisy), 300.0)
    # white noise of 3 mm per coordinate: sqrt(2 * 3) * 3 = 7.3 mm frame to frame
    assert raw["jitter_mm"] == pytest.approx(7.35, rel=0.05)
    assert smooth["jitter_mm"] * 3 <= raw["jitter_mm"]
    # while moving at 300 mm/s: trails by well under 50 ms and stays within 10 mm
    assert 0 < smooth["lag_ms"] < 50
    assert smooth["moving_error_mm"] < 10
    # a plain 1 Hz low-pass (beta 0) would trail by ~150 ms: beta is what keeps the lag small
    slow = b.figures(t, truth, b.run(OneEuroParams(beta=0.0), t, noisy), 300.0)
    assert slow["lag_ms"] > 3 * smooth["lag_ms"]


def test_benchmark_prints_its_figures(capsys) -> None:
    assert bench().main(["--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "jitter reduced" in out and "raw" in out and "One Euro" in out
