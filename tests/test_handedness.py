"""Handedness from the skeleton's chirality (:mod:`livepose.handedness`) on synthetic left and right hands."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

from livepose.handedness import (
    LEFT,
    NO_HAND,
    RIGHT,
    UNKNOWN,
    UNKNOWN_BELOW,
    HandednessFilter,
    chirality_score,
    estimate_handedness,
    result_handedness,
)
from livepose.outputs.smoothing import PoseSmoother, unsmoothed
from livepose.synth.generator import camera_tensor
from livepose.synth.hand import FAMILIES, sample_hands
from livepose.synth.scene import place_hands
from livepose.types import PoseResult

HANDS = 3000


@pytest.fixture(scope="module")
def hands() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, 21, 3) true joints in the camera frame (placed as the generator places them), (B,) is_left, family."""
    generator = torch.Generator().manual_seed(8)
    sample = sample_hands(HANDS, generator)
    camera, width, height, _ = camera_tensor("d435_640", HANDS, "cpu")
    anchor = sample.joints[:, [0, 5, 9, 13, 17]].mean(1)
    joints = place_hands(anchor, camera, width, height, generator).apply(sample.joints)
    return joints.double().numpy(), sample.side.numpy(), sample.family.numpy()


def labels(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    estimates = [estimate_handedness(j) for j in joints]
    return np.array([e.label for e in estimates]), np.array([e.confidence for e in estimates])


def test_true_joints_of_left_and_right_hands(hands) -> None:
    joints, is_left, family = hands
    assert 0.4 < is_left.mean() < 0.6  # both sides are there
    truth = np.where(is_left, LEFT, RIGHT)
    found, confidence = labels(joints)
    accuracy = (found == truth).mean()
    unknown = (found == UNKNOWN).mean()
    per_family = {name: (found[family == i] == truth[family == i]).mean()
                  for i, name in [*enumerate(FAMILIES), (-1, "independent")]}
    sys.stderr.write(f"handedness on {len(joints)} synthetic hands' true joints: accuracy {accuracy:.4f}, "
                     f"unknown {unknown:.4f}, median confidence {np.median(confidence):.3f}; per pose family "
                     + ", ".join(f"{k} {v:.3f}" for k, v in per_family.items()) + "\n")
    assert accuracy >= 0.99, per_family
    assert min(per_family.values()) >= 0.97, per_family
    assert np.median(confidence) > 0.9
    assert ((found == LEFT) | (found == RIGHT) | (found == UNKNOWN)).all()


def test_a_mirror_image_swaps_the_side_and_a_rotation_does_not(hands) -> None:
    joints, is_left, _ = hands
    joints = joints[:300]
    scores = np.array([chirality_score(j) for j in joints])
    mirrored = np.array([chirality_score(j * [-1.0, 1.0, 1.0]) for j in joints])
    np.testing.assert_allclose(mirrored, -scores, rtol=1e-9, atol=1e-12)
    q, r = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    rotation = q * np.sign(np.diag(r))
    rotation *= np.sign(np.linalg.det(rotation))  # a proper rotation
    moved = np.array([chirality_score(j @ rotation.T + [10.0, -40.0, 300.0]) for j in joints])
    np.testing.assert_allclose(moved, scores, rtol=1e-9, atol=1e-12)
    assert ((scores > 0) == ~is_left[:300]).all()


def test_noisy_joints_confidence_tracks_accuracy(hands) -> None:
    """With 15 mm of noise per coordinate (about a hand model's error) most hands keep their side, and the
    confident estimates are right more often than the hesitant ones."""
    joints, is_left, _ = hands
    noisy = joints + np.random.default_rng(1).normal(0.0, 15.0, joints.shape)
    estimates = [estimate_handedness(j) for j in noisy]
    scores = np.array([e.score for e in estimates])
    confidence = np.array([e.confidence for e in estimates])
    correct = (scores > 0) == ~is_left
    known = np.array([e.label != UNKNOWN for e in estimates])
    assert (confidence[known] >= UNKNOWN_BELOW).all() and (confidence[~known] < UNKNOWN_BELOW).all()
    high, low = confidence >= np.quantile(confidence, 0.5), confidence < np.quantile(confidence, 0.2)
    figures = (f"15 mm noise: sign right {correct.mean():.3f}, {known.mean():.3f} labelled, of those right "
               f"{correct[known].mean():.3f}; most confident half right {correct[high].mean():.3f}, least "
               f"confident fifth {correct[low].mean():.3f}")
    sys.stderr.write(figures + "\n")
    assert correct.mean() > 0.9, figures
    assert correct[known].mean() > 0.95 and known.mean() > 0.85, figures
    assert correct[high].mean() > correct[low].mean() + 0.1, figures


def test_unknown_without_a_usable_hand(hands) -> None:
    joints = hands[0][0]
    assert estimate_handedness(joints, layout="itop15") == NO_HAND  # a body
    assert estimate_handedness(joints[:14], layout="nyu14") == NO_HAND  # a layout without MCPs
    broken = joints.copy()
    broken[3] = np.nan
    assert estimate_handedness(broken).label == UNKNOWN
    collapsed = joints.mean(0) + (joints - joints.mean(0)) * 0.05  # an untrained network's skeleton: tiny
    assert estimate_handedness(collapsed).label == UNKNOWN
    in_line = joints.copy()
    in_line[5] = in_line[0] + (in_line[17] - in_line[0]) * 0.9  # index MCP on the wrist-little line
    assert estimate_handedness(in_line).label == UNKNOWN
    flat = joints.copy()
    assert math.isnan(NO_HAND.score) and NO_HAND.confidence == 0.0 and not NO_HAND.known
    lost = PoseResult(frame_number=1, t_device_ms=0.0, t_host_ms=0.0, layout="hand21", found=False,
                      joints_mm=np.full((21, 3), np.nan), joints_uvd=np.full((21, 3), np.nan),
                      confidence=np.zeros(21), reason="no surface")
    assert result_handedness(lost) == NO_HAND
    seen = PoseResult(frame_number=2, t_device_ms=0.0, t_host_ms=0.0, layout="hand21", found=True,
                      joints_mm=flat, joints_uvd=flat, confidence=np.ones(21))
    assert result_handedness(seen) == estimate_handedness(flat)
    assert result_handedness(seen).label == (LEFT if hands[1][0] else RIGHT)
    # Tracker results (SmoothedPoseResult) carry it as a property
    assert unsmoothed(seen).handedness == result_handedness(seen) and PoseSmoother()(lost).handedness == NO_HAND


def test_filter_outvotes_mirrored_frames_and_restarts_when_the_hand_is_lost(hands) -> None:
    """A tracked left hand whose skeleton comes out mirrored in 3 of every 10 frames (30 FPS): per frame the
    side flips, averaged over time it stays left; a lost hand starts the average again."""
    joints, is_left, _ = hands
    hand = joints[int(np.flatnonzero(is_left)[0])]
    mirrored = hand * [-1.0, 1.0, 1.0]
    side = HandednessFilter()
    frames = [mirrored if i % 10 in (3, 4, 5) else hand for i in range(60)]
    per_frame = [estimate_handedness(j).label for j in frames]
    averaged = [side(j, "hand21", i / 30) for i, j in enumerate(frames)]
    assert per_frame.count(RIGHT) == 18 and per_frame.count(LEFT) == 42
    assert all(a.label == LEFT for a in averaged), [a.label for a in averaged]
    assert min(a.confidence for a in averaged[10:]) < max(a.confidence for a in averaged[10:])  # doubt shows
    # lost: reset (the smoother calls it); a gap or time going back restarts from the next frame alone
    side.reset()
    assert side(mirrored, "hand21", 5.0).label == RIGHT
    assert side(hand, "hand21", 6.0).score == pytest.approx(chirality_score(hand))  # 1 s gap
    assert side(mirrored, "hand21", 2.0).score == pytest.approx(chirality_score(mirrored))  # backwards
    assert side(joints[0][:3], "hand21", 2.01).label == RIGHT  # not computable: the average stands
    assert HandednessFilter()(hand, "itop15", 0.0) == NO_HAND


def test_smoother_attaches_the_averaged_side(hands) -> None:
    joints, is_left, _ = hands
    hand = joints[int(np.flatnonzero(~is_left)[0])]
    smoother = PoseSmoother()
    results = []
    for i in range(12):
        frame = hand * [-1.0, 1.0, 1.0] if i == 6 else hand  # one mirrored frame
        results.append(smoother(PoseResult(frame_number=i, t_device_ms=i * 33.3, t_host_ms=0.0, layout="hand21",
                                           found=True, joints_mm=frame, joints_uvd=frame,
                                           confidence=np.ones(21))))
    assert [r.handedness.label for r in results] == [RIGHT] * 12
    assert results[6].handedness_estimate is results[6].handedness
    assert estimate_handedness(results[6].raw_joints_mm).label == LEFT  # that frame alone says left
    lost = smoother(PoseResult(frame_number=12, t_device_ms=400.0, t_host_ms=0.0, layout="hand21", found=False,
                               joints_mm=np.full((21, 3), np.nan), joints_uvd=np.full((21, 3), np.nan),
                               confidence=np.zeros(21)))
    assert lost.handedness == NO_HAND
