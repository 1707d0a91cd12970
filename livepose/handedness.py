"""Left or right hand, from the chirality of a 3D hand skeleton.

The hand model predicts 21 joints for left and right hands alike and has no
handedness output. A left hand is the mirror image of a right one, and a
rotation cannot turn one into the other, so the 3D joints themselves tell
the side (a reflection would be needed to swap it):

- ``n = (index_mcp - wrist) x (little_mcp - wrist)`` is a normal of the palm
  plane (wrist, index MCP, little MCP). It points out of the **palm** of a
  right hand and out of the **back** of a left hand.
- Which side of that plane is the palm side is found from where the thumb and
  fingers are: the thumb's metacarpal lies in front of the palm (the thenar
  eminence; opposition takes the thumb further palm-ward), fingers flex toward
  the palm, and the knuckles of the middle and ring fingers stand out on the
  back (the transverse metacarpal arch).

The score is, with heights above the plane (along ``n``) divided by the palm
length ``L = |middle_mcp - wrist|``::

    s = mean h(thumb CMC, MCP, IP, tip) + 0.5 mean h(finger PIP, DIP, tip) - mean h(middle MCP, ring MCP)

``s > 0``: right hand, ``s < 0``: left hand. The confidence is
``tanh(|s| / (2 * SCORE_SCALE))`` in [0, 1) (0: no idea), i.e. ``|2 p - 1|``
for a logistic ``p = 1 / (1 + exp(-s / SCORE_SCALE))``, with ``SCORE_SCALE``
fitted on synthetic hands (:mod:`livepose.synth.hand`) whose joints carry 15 mm
of independent noise per coordinate, about a hand model's error. Below
``UNKNOWN_BELOW`` the label is ``"unknown"``. On the synthetic hands' true
joints the sign is right for every hand; with 10 / 15 / 20 mm of noise for
about 99 / 96 / 92 % of them (see ``tests/test_handedness.py``).

Layouts: ``hand21`` (livepose's own, the only one checked). Other layouts
(the datasets' hand layouts, whose frames' chirality is not checked here;
bodies) are always ``"unknown"``, as are hands not found, skeletons with a
missing joint and degenerate ones (a palm shorter than 30 mm or longer than
250 mm, as an untrained network's collapsed skeleton; wrist, index and little
MCP nearly on one line).

Joints are in any right-handed frame in mm (livepose's camera frame: x
right, y down, z forward). A left-handed frame (a mirrored image) swaps the
answer. Pure numpy, any thread; about 20 us per hand.

Over time (:class:`HandednessFilter`): a hand does not change sides while it
is tracked, but a hand model's skeleton is sometimes mirrored for a frame or
a few (about 15% of frames for the first shipped model on synthetic hands).
The streams and :class:`livepose.Tracker` therefore report the score averaged
over the last second of the tracked hand (an exponential moving average,
restarted when the hand is lost or after a gap); ``--out`` lines keep the
per-frame estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEFT, RIGHT, UNKNOWN = "left", "right", "unknown"

# Logistic scale of the score s (fitted on synthetic hands with 15 mm joint noise).
SCORE_SCALE = 0.1
# Labels with a confidence below this are reported as "unknown" (|s| < 0.11, p < 0.75).
UNKNOWN_BELOW = 0.5
FINGER_WEIGHT = 0.5  # weight of the long fingers' flexion (hyperextended fingers point the wrong way)
PALM_LENGTH_MM = (30.0, 250.0)  # plausible wrist -> middle MCP distance
MIN_SIN_ANGLE = 0.1  # wrist->index MCP and wrist->little MCP must be at least ~6 degrees apart


@dataclass(frozen=True)
class HandJoints:
    """Where the joints the estimate uses are in a layout (indices)."""

    wrist: int
    index_mcp: int
    middle_mcp: int
    ring_mcp: int
    little_mcp: int
    thumb: tuple[int, ...]  # CMC (or MCP), MCP, IP, tip
    fingers: tuple[int, ...]  # PIP, DIP, tip of index, middle, ring, little
    num_joints: int = 21


# hand21: wrist, thumb CMC MCP IP tip, then MCP PIP DIP tip of index, middle, ring, little (MediaPipe's order).
LAYOUT_JOINTS: dict[str, HandJoints] = {
    "hand21": HandJoints(0, 5, 9, 13, 17, thumb=(1, 2, 3, 4), fingers=(6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20)),
}


@dataclass(frozen=True)
class Handedness:
    """The estimated side of one hand.

    Attributes:
        label: ``"left"``, ``"right"`` or ``"unknown"``.
        confidence: in [0, 1]: how sure the estimate is of the more likely side (0: no idea, or no hand);
            ``label`` is ``"unknown"`` below :data:`UNKNOWN_BELOW`.
        score: the signed chirality score ``s`` (> 0 right, < 0 left; NaN when not computable).
    """

    label: str
    confidence: float
    score: float

    @property
    def known(self) -> bool:
        return self.label != UNKNOWN


NO_HAND = Handedness(UNKNOWN, 0.0, math.nan)


def chirality_score(joints_mm: np.ndarray, layout: str = "hand21") -> float:
    """The signed score ``s`` (module docstring) of one skeleton: > 0 right hand, < 0 left; NaN if not computable.

    Args:
        joints_mm: (J, 3) joints in a right-handed frame, mm.
        layout: the joint layout name.
    """
    where = LAYOUT_JOINTS.get(layout)
    joints = np.asarray(joints_mm, dtype=np.float64)
    if where is None or joints.shape != (where.num_joints, 3) or not np.isfinite(joints).all():
        return math.nan
    wrist = joints[where.wrist]
    to_index, to_little = joints[where.index_mcp] - wrist, joints[where.little_mcp] - wrist
    normal = np.cross(to_index, to_little)
    palm_length = float(np.linalg.norm(joints[where.middle_mcp] - wrist))
    spread = float(np.linalg.norm(normal))
    lengths = float(np.linalg.norm(to_index) * np.linalg.norm(to_little))
    if not PALM_LENGTH_MM[0] <= palm_length <= PALM_LENGTH_MM[1] or lengths == 0 or spread / lengths < MIN_SIN_ANGLE:
        return math.nan
    heights = (joints - wrist) @ (normal / spread) / palm_length  # (J,) in palm lengths
    thumb = heights[list(where.thumb)].mean()
    fingers = heights[list(where.fingers)].mean()
    arch = heights[[where.middle_mcp, where.ring_mcp]].mean()
    return float(thumb + FINGER_WEIGHT * fingers - arch)


def from_score(score: float) -> Handedness:
    """Label and confidence for a chirality score."""
    if not math.isfinite(score):
        return NO_HAND
    confidence = math.tanh(abs(score) / (2.0 * SCORE_SCALE))
    label = UNKNOWN if confidence < UNKNOWN_BELOW else (RIGHT if score > 0 else LEFT)
    return Handedness(label, confidence, score)


def estimate_handedness(joints_mm: np.ndarray, layout: str = "hand21") -> Handedness:
    """Left or right hand from one skeleton's (J, 3) joints in mm (see the module docstring)."""
    return from_score(chirality_score(joints_mm, layout))


def result_handedness(result) -> Handedness:
    """The handedness of a :class:`~livepose.types.PoseResult`: the one a :class:`HandednessFilter` attached
    (``handedness_estimate`` of a smoothed result), else the per-frame estimate (``unknown`` without a hand)."""
    attached = getattr(result, "handedness_estimate", None)
    if attached is not None:
        return attached
    if not result.found or result.joints_mm is None:
        return NO_HAND
    return estimate_handedness(result.joints_mm, result.layout)


class HandednessFilter:
    """The chirality score of one tracked hand averaged over time (see the module docstring).

    An exponential moving average with time constant ``time_constant_s`` of the per-frame scores, timed by
    the frames' own timestamps; it restarts after a gap longer than ``max_gap_s``, when time goes backwards,
    and on :meth:`reset` (call it when the hand is lost). Frames whose score cannot be computed leave it as
    it was. One instance per stream, used from one thread.
    """

    def __init__(self, time_constant_s: float = 1.0, max_gap_s: float = 0.5) -> None:
        if not (time_constant_s > 0 and max_gap_s > 0):
            raise ValueError("time_constant_s and max_gap_s must be positive")
        self.time_constant_s = time_constant_s
        self.max_gap_s = max_gap_s
        self.reset()

    def reset(self) -> None:
        self._score: float | None = None
        self._t: float | None = None

    def __call__(self, joints_mm: np.ndarray, layout: str, t_s: float) -> Handedness:
        """The averaged estimate after the frame at ``t_s`` seconds with (J, 3) joints in mm."""
        score = chirality_score(joints_mm, layout)
        if not math.isfinite(score):
            return NO_HAND if self._score is None else from_score(self._score)
        dt = math.nan if self._t is None else t_s - self._t
        if self._score is None or not 0 <= dt <= self.max_gap_s:
            self._score = score
        else:
            self._score += (1.0 - math.exp(-dt / self.time_constant_s)) * (score - self._score)
        self._t = t_s
        return from_score(self._score)


__all__ = ["LEFT", "NO_HAND", "RIGHT", "UNKNOWN", "Handedness", "HandednessFilter", "chirality_score",
           "estimate_handedness", "from_score", "result_handedness"]
