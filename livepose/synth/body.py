"""Synthetic human bodies for the ITOP15 layout: shapes, poses, forward kinematics and sphere sets.

Everything is batched torch (CPU or CUDA), with no Python loop over the batch, and deterministic for a given
``torch.Generator``: every sampler draws the same number of random numbers whatever the families drawn, so
the same generator state always gives the same bodies.

Body frame
----------
Millimetres. The origin is on the floor, midway between the two ``Foot`` (ankle) joints.

* ``+y`` is up; the floor is ``y = 0`` and the lowest sole touches it (every family keeps both feet on the
  floor or, for the trailing foot of a walking step, just above it).
* The person faces ``-z`` (towards a camera placed at negative z looking along ``+z``).
* The person's **right** is ``-x`` and the person's **left** is ``+x``.

This frame has the handedness of ITOP's camera frame (x to the image's right, y up, z away from the camera):
placing a body at camera position ``(0, 0, d)`` with an identity rotation shows the person facing the camera,
with their right hand on the image's left, as a real person facing the sensor appears. A rotation about y
(det +1) turns the body; it never mirrors it.

Joints are :data:`livepose.skeletons.ITOP15` in that order: Head (centre of the head), Neck (base of the neck,
between the shoulders), R/LShoulder (shoulder joint centres), R/LElbow, R/LHand (the hand just past the wrist),
Torso (on the spine, 0.38-0.44 of the way from the hips' midpoint to the neck: the belly / lower chest),
R/LHip (hip joint centres), R/LKnee, R/LFoot (ankles). Every joint lies inside the body volume.

Sphere parts (:data:`PART_NAMES`): 0 head (head and neck), 1 torso, 2 right arm, 3 left arm, 4 right leg,
5 left leg (hands and feet belong to their limb). :data:`JOINT_PARTS` gives the part each joint lies in.

Shapes
------
Adults 1.45-1.95 m tall (uniform; :data:`HEIGHT_RANGE_MM`); children and very tall people are left out, as
ITOP's subjects are adults. Segment lengths follow anthropometric fractions of height with +-3-6 %
independent variation, then the vertical chain is rescaled so the standing height is exact. Builds run
from thin (0.82) to heavy (1.30): limb radii scale with the build, torso width with build^0.8 and torso depth
with build^1.3 plus a belly for heavy builds.

Poses
-----
Families (:data:`FAMILIES`): standing, walking (leg swing with the opposite arm), reaching (one or both arms
forward / up / to the side / diagonally), sitting (hips and knees near 90 degrees, torso upright; the chair is
**not** drawn: the scene may add one under the hips, see :attr:`BodySample.seat`), bending (torso 15-50
degrees forward, arms hanging), arms_crossed and waving (one hand up beside the head). All families vary the
torso lean, side lean and twist and the head; the body's global yaw is left to the scene. Angles are
clamped to joint limits (:data:`LIMITS_DEG`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from livepose.synth.geometry import SphereSet, bone_spheres, rotation_x, rotation_y, rotation_z

FAMILIES = ("standing", "walking", "reaching", "sitting", "bending", "arms_crossed", "waving")
PART_NAMES = ("head", "torso", "right_arm", "left_arm", "right_leg", "left_leg")
HEAD, TORSO, RIGHT_ARM, LEFT_ARM, RIGHT_LEG, LEFT_LEG = range(6)
# Part of the body each ITOP15 joint lies in.
JOINT_PARTS = (HEAD, HEAD, RIGHT_ARM, LEFT_ARM, RIGHT_ARM, LEFT_ARM, RIGHT_ARM, LEFT_ARM, TORSO, RIGHT_LEG,
               LEFT_LEG, RIGHT_LEG, LEFT_LEG, RIGHT_LEG, LEFT_LEG)
HEIGHT_RANGE_MM = (1450.0, 1950.0)
BUILD_RANGE = (0.82, 1.30)

# Joint limits in degrees (see BodyPose for the sign conventions).
LIMITS_DEG = {
    "torso_lean": (-20.0, 60.0), "torso_side": (-25.0, 25.0), "torso_twist": (-45.0, 45.0),
    "head_pitch": (-40.0, 50.0), "head_yaw": (-70.0, 70.0),
    "hip_flex": (-30.0, 120.0), "hip_abd": (-15.0, 45.0), "hip_rot": (-30.0, 40.0), "knee_flex": (0.0, 140.0),
    "shoulder_flex": (-60.0, 180.0), "shoulder_abd": (-30.0, 180.0), "shoulder_rot": (-110.0, 100.0),
    "elbow_flex": (0.0, 150.0),
}

# Sphere counts, fixed for every sample. Consecutive spheres of a chain (and neighbouring torso spheres) lie at
# most about one smaller radius apart over the sampled shapes (median about 0.6): the ripple of the union is
# at most 13 % of the radius (< 4 mm on the limbs), below a pixel at ITOP's distances (about 10 mm at 3 m).
_NECK_N = 5
_TORSO_LEVELS = 14
_TORSO_ACROSS = 5
_UPPER_ARM_N = 12
_FOREARM_N = 14
_HAND_N = 6
_THIGH_N = 12
_SHANK_N = 16
_FOOT_N = 10
_RIGHT, _LEFT = 0, 1
_SIDE = (-1.0, 1.0)  # x sign of the person's right and left

J = {name: i for i, name in enumerate(("Head", "Neck", "RShoulder", "LShoulder", "RElbow", "LElbow", "RHand",
                                        "LHand", "Torso", "RHip", "LHip", "RKnee", "LKnee", "RFoot", "LFoot"))}


def _spheres_per_part() -> dict[int, int]:
    arm = _UPPER_ARM_N + _FOREARM_N + _HAND_N
    leg = _THIGH_N + _SHANK_N + _FOOT_N
    return {HEAD: 1 + _NECK_N, TORSO: _TORSO_LEVELS * _TORSO_ACROSS, RIGHT_ARM: arm, LEFT_ARM: arm,
            RIGHT_LEG: leg, LEFT_LEG: leg}


NUM_SPHERES = sum(_spheres_per_part().values())


# --------------------------------------------------------------------------------------------------------------
# Data classes


@dataclass
class BodyShape:
    """Per-sample body dimensions, all (B,) float tensors in mm (``torso_frac`` and ``build`` are ratios).

    Lengths: ``height`` (standing, sole to crown), ``ankle_h`` (sole to ankle joint), ``shank`` (knee to
    ankle), ``thigh`` (hip to knee), ``spine`` (hip joints' midpoint to neck), ``torso_frac`` (where the
    Torso joint lies on the spine), ``head_offset`` (neck to head centre), ``shoulder_half`` /
    ``shoulder_drop`` (shoulder joint beside / below the neck), ``hip_half`` (hip joint beside the pelvis
    centre), ``upper_arm`` (shoulder to elbow), ``forearm`` (elbow to the Hand joint), ``hand_len``,
    ``foot_len``, ``heel`` (ankle to the back of the heel).
    Radii: ``head_r``, ``neck_r``, ``shoulder_r``, ``elbow_r``, ``wrist_r``, ``hand_r``, ``hip_r`` (top of
    the thigh), ``knee_r``, ``ankle_r``, ``foot_r``.
    Torso half-width (a, across) and half-depth (b, front to back) at the hips, waist and chest; ``belly``
    pushes the waist forward (heavy builds).
    """

    height: torch.Tensor
    build: torch.Tensor
    ankle_h: torch.Tensor
    shank: torch.Tensor
    thigh: torch.Tensor
    spine: torch.Tensor
    torso_frac: torch.Tensor
    head_offset: torch.Tensor
    shoulder_half: torch.Tensor
    shoulder_drop: torch.Tensor
    hip_half: torch.Tensor
    upper_arm: torch.Tensor
    forearm: torch.Tensor
    hand_len: torch.Tensor
    foot_len: torch.Tensor
    heel: torch.Tensor
    head_r: torch.Tensor
    neck_r: torch.Tensor
    shoulder_r: torch.Tensor
    elbow_r: torch.Tensor
    wrist_r: torch.Tensor
    hand_r: torch.Tensor
    hip_r: torch.Tensor
    knee_r: torch.Tensor
    ankle_r: torch.Tensor
    foot_r: torch.Tensor
    hip_a: torch.Tensor
    hip_b: torch.Tensor
    waist_a: torch.Tensor
    waist_b: torch.Tensor
    chest_a: torch.Tensor
    chest_b: torch.Tensor
    belly: torch.Tensor

    @property
    def batch(self) -> int:
        return int(self.height.shape[0])

    def to(self, device: torch.device | str) -> BodyShape:
        return BodyShape(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass
class BodyPose:
    """Per-sample joint angles in radians; (B,) tensors, or (B, 2) as [right, left].

    Sign conventions (person's point of view):

    * ``torso_lean`` > 0 bends the upper body forward; ``torso_side`` > 0 leans it to the person's left;
      ``torso_twist`` > 0 turns the chest to the person's right (left shoulder forward). The lean pivots on
      the hips' midpoint; the pelvis itself stays level and the twist fades out towards the hips.
    * ``head_pitch`` > 0 tilts the head down (chin to chest); ``head_yaw`` > 0 turns it to the person's left.
    * ``hip_flex`` > 0 swings the thigh forward (90 degrees: thigh horizontal, as when sitting);
      ``hip_abd`` > 0 moves it out to its own side; ``hip_rot`` > 0 is internal rotation (knee turns in);
      ``knee_flex`` >= 0 bends the knee (the shank folds backward).
    * ``shoulder_flex`` > 0 swings the arm forward (90: pointing forward, 180: straight up; < 0: backward);
      ``shoulder_abd`` > 0 raises it out to its own side (90: horizontal sideways), < 0 across the body;
      ``shoulder_rot`` > 0 is internal rotation (a bent forearm turns towards the belly), < 0 external
      (with the arm out sideways and the elbow at 90, -90 points the forearm up);
      ``elbow_flex`` >= 0 bends the elbow.

    ``family`` (B,) int64 indexes :data:`FAMILIES`.
    """

    family: torch.Tensor
    torso_lean: torch.Tensor
    torso_side: torch.Tensor
    torso_twist: torch.Tensor
    head_pitch: torch.Tensor
    head_yaw: torch.Tensor
    hip_flex: torch.Tensor
    hip_abd: torch.Tensor
    hip_rot: torch.Tensor
    knee_flex: torch.Tensor
    shoulder_flex: torch.Tensor
    shoulder_abd: torch.Tensor
    shoulder_rot: torch.Tensor
    elbow_flex: torch.Tensor

    @property
    def batch(self) -> int:
        return int(self.family.shape[0])

    @staticmethod
    def neutral(batch: int, device: torch.device | str = "cpu") -> BodyPose:
        """Everything at zero: standing straight, arms hanging, family ``standing``."""
        one = torch.zeros(batch, device=device)
        two = torch.zeros(batch, 2, device=device)
        return BodyPose(family=torch.zeros(batch, dtype=torch.int64, device=device), torso_lean=one,
                        torso_side=one, torso_twist=one, head_pitch=one, head_yaw=one, hip_flex=two, hip_abd=two,
                        hip_rot=two, knee_flex=two, shoulder_flex=two, shoulder_abd=two, shoulder_rot=two,
                        elbow_flex=two)


@dataclass
class BodySample:
    """A batch of bodies in the body frame (see the module docstring).

    joints: (B, 15, 3) ITOP15 joints, mm. spheres: the body as a :class:`SphereSet` (parts per
    :data:`PART_NAMES`). family: (B,) int64 index into :data:`FAMILIES`. seat: (B,) height in mm of the
    underside of the buttocks (where a chair's seat would be for the sitting family; meaningless otherwise).
    """

    joints: torch.Tensor
    spheres: SphereSet
    family: torch.Tensor
    shape: BodyShape
    pose: BodyPose
    seat: torch.Tensor


# --------------------------------------------------------------------------------------------------------------
# Sampling helpers


def _rand(generator: torch.Generator | None, *size: int) -> torch.Tensor:
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(*size, generator=generator, device=device)


def _uniform(generator: torch.Generator | None, lo: float, hi: float, *size: int) -> torch.Tensor:
    return lo + (hi - lo) * _rand(generator, *size)


def _deg(generator: torch.Generator | None, lo: float, hi: float, *size: int) -> torch.Tensor:
    return torch.deg2rad(_uniform(generator, lo, hi, *size))


def _vary(generator: torch.Generator | None, batch: int, spread: float) -> torch.Tensor:
    """A factor 1 +- spread (uniform)."""
    return 1.0 + _uniform(generator, -spread, spread, batch)


# --------------------------------------------------------------------------------------------------------------
# Shapes


def sample_shape(batch: int, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> BodyShape:
    """Random adult body dimensions (see the module docstring for the ranges)."""
    g = generator
    height = _uniform(g, *HEIGHT_RANGE_MM, batch)
    build = _uniform(g, *BUILD_RANGE, batch)
    h = height
    # Vertical chain (fractions of height), varied independently then rescaled to the exact height.
    ankle_h = 0.040 * h * _vary(g, batch, 0.08)
    shank = 0.240 * h * _vary(g, batch, 0.05)
    thigh = 0.240 * h * _vary(g, batch, 0.05)
    spine = 0.300 * h * _vary(g, batch, 0.05)
    head_r = 0.057 * h * _vary(g, batch, 0.06)
    head_offset = 0.123 * h * _vary(g, batch, 0.05)
    scale = h / (ankle_h + shank + thigh + spine + head_offset + head_r)
    ankle_h, shank, thigh, spine, head_r, head_offset = (v * scale for v in
                                                         (ankle_h, shank, thigh, spine, head_r, head_offset))
    torso_frac = _uniform(g, 0.38, 0.44, batch)
    shoulder_half = 0.100 * h * _vary(g, batch, 0.07) * (0.92 + 0.1 * build)
    shoulder_drop = 0.015 * h * _vary(g, batch, 0.3)
    hip_half = 0.055 * h * _vary(g, batch, 0.08) * (0.9 + 0.1 * build)
    upper_arm = 0.180 * h * _vary(g, batch, 0.05)
    forearm = 0.165 * h * _vary(g, batch, 0.05)
    hand_len = 0.100 * h * _vary(g, batch, 0.06)
    foot_len = 0.150 * h * _vary(g, batch, 0.05)
    heel = 0.22 * foot_len

    s = h / 1750.0  # radii: mm at 1.75 m, scaled with height and build
    limb = s * build

    def radius(mm: float, spread: float = 0.08) -> torch.Tensor:
        return mm * limb * _vary(g, batch, spread)

    neck_r = radius(52.0)
    shoulder_r = radius(50.0)
    elbow_r = radius(39.0)
    wrist_r = radius(29.0, 0.06)
    hand_r = 31.0 * s * (0.85 + 0.15 * build) * _vary(g, batch, 0.06)
    hip_r = radius(82.0)
    knee_r = radius(50.0)
    ankle_r = radius(34.0, 0.06)
    foot_r = 33.0 * s * (0.85 + 0.15 * build) * _vary(g, batch, 0.06)
    # ankle height must keep the ankle inside the foot blob.
    ankle_h = torch.maximum(ankle_h, 1.6 * foot_r)

    wide = s * build ** 0.8
    deep = s * build ** 1.3
    hip_a = torch.maximum(175.0 * wide * _vary(g, batch, 0.07), hip_half + 0.9 * hip_r)
    hip_b = 108.0 * deep * _vary(g, batch, 0.07)
    waist_a = 150.0 * wide * _vary(g, batch, 0.07)
    waist_b = 98.0 * deep * _vary(g, batch, 0.07)
    chest_a = torch.maximum(165.0 * wide * _vary(g, batch, 0.07), 0.8 * shoulder_half)
    chest_b = 112.0 * deep * _vary(g, batch, 0.07)
    belly = (build - 1.0).clamp_min(0.0) * 120.0 * s * _rand(g, batch)
    shape = BodyShape(height=height, build=build, ankle_h=ankle_h, shank=shank, thigh=thigh, spine=spine,
                      torso_frac=torso_frac, head_offset=head_offset, shoulder_half=shoulder_half,
                      shoulder_drop=shoulder_drop, hip_half=hip_half, upper_arm=upper_arm, forearm=forearm,
                      hand_len=hand_len, foot_len=foot_len, heel=heel, head_r=head_r, neck_r=neck_r,
                      shoulder_r=shoulder_r, elbow_r=elbow_r, wrist_r=wrist_r, hand_r=hand_r, hip_r=hip_r,
                      knee_r=knee_r, ankle_r=ankle_r, foot_r=foot_r, hip_a=hip_a, hip_b=hip_b, waist_a=waist_a,
                      waist_b=waist_b, chest_a=chest_a, chest_b=chest_b, belly=belly)
    return shape.to(device)


# --------------------------------------------------------------------------------------------------------------
# Poses


def _family_ids(batch: int, generator: torch.Generator | None, family: str | int | torch.Tensor | None,
                device: torch.device) -> torch.Tensor:
    if family is None:
        return (_rand(generator, batch) * len(FAMILIES)).long().clamp_max(len(FAMILIES) - 1).to(device)
    if isinstance(family, str):
        if family not in FAMILIES:
            raise ValueError(f"unknown body pose family {family!r}; expected one of {FAMILIES}")
        family = FAMILIES.index(family)
    if isinstance(family, int):
        if not 0 <= family < len(FAMILIES):
            raise ValueError(f"body pose family {family} out of range 0..{len(FAMILIES) - 1}")
        return torch.full((batch,), family, dtype=torch.int64, device=device)
    ids = torch.as_tensor(family, dtype=torch.int64, device=device).expand(batch).clone()
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(FAMILIES)):
        raise ValueError(f"body pose family ids must lie in 0..{len(FAMILIES) - 1}")
    return ids


def _base(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    """Relaxed standing, the starting point of every family (degrees)."""
    knee = _uniform(g, 0, 10, b, 2)
    return {
        "torso_lean": _uniform(g, -5, 8, b), "torso_side": _uniform(g, -5, 5, b),
        "torso_twist": _uniform(g, -12, 12, b), "head_pitch": _uniform(g, -12, 20, b),
        "head_yaw": _uniform(g, -35, 35, b),
        # a bent knee goes forward by half its bend so that the foot stays down
        "hip_flex": _uniform(g, -4, 4, b, 2) + 0.5 * knee, "hip_abd": _uniform(g, 0, 8, b, 2),
        "hip_rot": _uniform(g, -8, 12, b, 2), "knee_flex": knee,
        "shoulder_flex": _uniform(g, -12, 18, b, 2), "shoulder_abd": _uniform(g, 4, 18, b, 2),
        "shoulder_rot": _uniform(g, -10, 35, b, 2), "elbow_flex": _uniform(g, 5, 35, b, 2),
    }


def _pick_side(g: torch.Generator | None, b: int) -> torch.Tensor:
    """(B, 2) one-hot of a random side."""
    right = _rand(g, b) < 0.5
    return torch.stack((right, ~right), dim=1)


def _standing(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    # Weight on one leg now and then: that leg straight, the other knee a little bent and out.
    shift = _pick_side(g, b) & (_rand(g, b) < 0.4)[:, None]
    bend = torch.where(shift, _uniform(g, 5, 20, b, 2), torch.zeros(b, 2, device=shift.device))
    p["knee_flex"] = p["knee_flex"] + bend
    p["hip_flex"] = p["hip_flex"] + 0.5 * bend
    p["hip_abd"] = torch.where(shift, p["hip_abd"] + _uniform(g, 0, 6, b, 2), p["hip_abd"])
    # Hands on the hips now and then (per arm).
    akimbo = _rand(g, b, 2) < 0.15
    p["shoulder_flex"] = torch.where(akimbo, _uniform(g, -15, 0, b, 2), p["shoulder_flex"])
    p["shoulder_abd"] = torch.where(akimbo, _uniform(g, 35, 50, b, 2), p["shoulder_abd"])
    p["shoulder_rot"] = torch.where(akimbo, _uniform(g, 65, 85, b, 2), p["shoulder_rot"])
    p["elbow_flex"] = torch.where(akimbo, _uniform(g, 95, 115, b, 2), p["elbow_flex"])
    return p


def _walking(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    phase = _uniform(g, -1, 1, b)
    amp = _uniform(g, 10, 25, b)
    swing = torch.stack((phase, -phase), dim=1) * amp[:, None]  # right leg forward when phase > 0
    p["hip_flex"] = swing
    p["hip_abd"] = _uniform(g, 0, 5, b, 2)
    # The trailing leg bends at the knee (push-off); the leading one is nearly straight.
    p["knee_flex"] = _uniform(g, 2, 12, b, 2) + _uniform(g, 0.3, 1.2, b)[:, None] * (-swing).clamp_min(0)
    # Arms swing opposite to the legs.
    p["shoulder_flex"] = -swing * _uniform(g, 0.6, 1.1, b)[:, None]
    p["shoulder_abd"] = _uniform(g, 4, 14, b, 2)
    p["elbow_flex"] = _uniform(g, 10, 30, b, 2) + 0.8 * p["shoulder_flex"].clamp_min(0)
    p["torso_lean"] = _uniform(g, 0, 8, b)
    p["torso_twist"] = 0.3 * phase * amp + _uniform(g, -5, 5, b)
    return p


def _reaching(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    which = _rand(g, b)
    reach = torch.stack((which < 2 / 3, which >= 1 / 3), dim=1)  # right, left or both
    mode = (_rand(g, b, 2) * 4).long()  # forward, up, side, diagonal up-forward-out
    flex = torch.stack((_uniform(g, 60, 110, b, 2), _uniform(g, 130, 175, b, 2), _uniform(g, -10, 30, b, 2),
                        _uniform(g, 80, 140, b, 2)))
    abd = torch.stack((_uniform(g, -15, 30, b, 2), _uniform(g, -10, 25, b, 2), _uniform(g, 70, 115, b, 2),
                       _uniform(g, 30, 65, b, 2)))
    pick = mode[None]
    p["shoulder_flex"] = torch.where(reach, flex.gather(0, pick)[0], p["shoulder_flex"])
    p["shoulder_abd"] = torch.where(reach, abd.gather(0, pick)[0], p["shoulder_abd"])
    p["shoulder_rot"] = torch.where(reach, _uniform(g, -30, 30, b, 2), p["shoulder_rot"])
    p["elbow_flex"] = torch.where(reach, _uniform(g, 0, 35, b, 2), p["elbow_flex"])
    p["torso_lean"] = _uniform(g, -5, 22, b)
    return p


def _sitting(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    # Thighs near horizontal, shanks tilted by the same angle give both feet on the floor.
    p["hip_flex"] = _uniform(g, 78, 100, b)[:, None] + _uniform(g, -3, 3, b, 2)
    shank_tilt = _uniform(g, -20, 25, b)[:, None] + _uniform(g, -3, 3, b, 2)  # > 0: feet ahead of the knees
    p["knee_flex"] = p["hip_flex"] - shank_tilt
    p["hip_abd"] = _uniform(g, 0, 15, b, 2)
    p["hip_rot"] = _uniform(g, -10, 10, b, 2)
    p["torso_lean"] = _uniform(g, -10, 15, b)
    # Hands on the lap or thighs (per arm), else hanging.
    lap = _rand(g, b, 2) < 0.6
    flex = _uniform(g, 10, 40, b, 2)
    p["shoulder_flex"] = torch.where(lap, flex, p["shoulder_flex"])
    p["shoulder_abd"] = torch.where(lap, _uniform(g, 0, 15, b, 2), p["shoulder_abd"])
    # forearm 60-95 degrees from hanging: about level, resting on the thigh
    p["elbow_flex"] = torch.where(lap, (_uniform(g, 60, 95, b, 2) - flex).clamp_min(10), p["elbow_flex"])
    return p


def _bending(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    lean = _uniform(g, 15, 50, b)
    p["torso_lean"] = lean
    p["knee_flex"] = _uniform(g, 0, 25, b, 2)
    # The hips go back over the heels: thighs slope forward, knees ahead of the ankles.
    p["hip_flex"] = p["knee_flex"] * 0.4 + _uniform(g, 3, 15, b, 2)
    # Arms hang roughly vertically, i.e. forward relative to the chest.
    p["shoulder_flex"] = lean[:, None] + _uniform(g, -10, 25, b, 2)
    p["elbow_flex"] = _uniform(g, 5, 40, b, 2)
    p["head_pitch"] = _uniform(g, -30, 15, b)
    return p


def _arms_crossed(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    p["shoulder_flex"] = _uniform(g, 10, 35, b, 2)
    p["shoulder_abd"] = _uniform(g, 0, 15, b, 2)
    p["shoulder_rot"] = _uniform(g, 65, 90, b, 2)
    p["elbow_flex"] = _uniform(g, 100, 130, b, 2)
    return p


def _waving(g: torch.Generator | None, b: int) -> dict[str, torch.Tensor]:
    p = _base(g, b)
    wave = _pick_side(g, b)
    p["shoulder_flex"] = torch.where(wave, _uniform(g, -10, 40, b, 2), p["shoulder_flex"])
    p["shoulder_abd"] = torch.where(wave, _uniform(g, 60, 115, b, 2), p["shoulder_abd"])
    p["shoulder_rot"] = torch.where(wave, _uniform(g, -105, -60, b, 2), p["shoulder_rot"])
    p["elbow_flex"] = torch.where(wave, _uniform(g, 55, 120, b, 2), p["elbow_flex"])
    return p


_FAMILY_SAMPLERS = (_standing, _walking, _reaching, _sitting, _bending, _arms_crossed, _waving)


def sample_pose(batch: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                family: str | int | torch.Tensor | None = None) -> BodyPose:
    """Random poses; ``family`` is None (uniform over :data:`FAMILIES`), a name, an index or (B,) indices.

    Every family is drawn for every sample and the wanted one selected, so the random stream does not depend
    on which families come out.
    """
    device = torch.device(device)
    ids_draw = _family_ids(batch, generator, None, device)
    ids = ids_draw if family is None else _family_ids(batch, None, family, device)
    drawn = [sampler(generator, batch) for sampler in _FAMILY_SAMPLERS]
    values: dict[str, torch.Tensor] = {}
    for key, (lo, hi) in LIMITS_DEG.items():
        stack = torch.stack([d[key].to(device) for d in drawn])  # (F, B) or (F, B, 2)
        index = ids.view(1, -1, *([1] * (stack.dim() - 2))).expand(1, *stack.shape[1:])
        values[key] = torch.deg2rad(stack.gather(0, index)[0].clamp(lo, hi))
    return BodyPose(family=ids, **values)


# --------------------------------------------------------------------------------------------------------------
# Forward kinematics








def _apply(r: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (r @ v.unsqueeze(-1)).squeeze(-1)


def _vec(x: torch.Tensor | float, y: torch.Tensor | float, z: torch.Tensor | float,
         like: torch.Tensor) -> torch.Tensor:
    parts = [t if isinstance(t, torch.Tensor) else torch.full_like(like, t) for t in (x, y, z)]
    return torch.stack(torch.broadcast_tensors(*parts), dim=-1)


def forward_kinematics(shape: BodyShape, pose: BodyPose) -> torch.Tensor:
    """(B, 15, 3) ITOP15 joints in the body frame (mm, y up, facing -z, person's right on -x, floor y = 0)."""
    dev = shape.height.device
    side = torch.tensor(_SIDE, device=dev, dtype=shape.height.dtype)  # (2,) x sign of right, left
    zero = torch.zeros_like(shape.height)

    # Upper body: lean about the pelvis (hips' midpoint, at the origin for now).
    r_lean = rotation_x(-pose.torso_lean) @ rotation_z(-pose.torso_side)
    r_chest = r_lean @ rotation_y(pose.torso_twist)
    neck = _apply(r_lean, _vec(zero, shape.spine, zero, zero))
    torso = neck * shape.torso_frac[:, None]
    shoulder_local = _vec(side[None] * shape.shoulder_half[:, None], -shape.shoulder_drop[:, None].expand(-1, 2),
                          0.0, shape.shoulder_half[:, None].expand(-1, 2))  # (B, 2, 3)
    shoulders = neck[:, None] + _apply(r_chest[:, None], shoulder_local)
    r_head = r_chest @ rotation_y(-pose.head_yaw) @ rotation_x(-pose.head_pitch)
    head = neck + _apply(r_head, _vec(zero, shape.head_offset, -0.1 * shape.head_r, zero))

    # Arms: R = chest . Rx(flex) . Rz(side * abd) . Ry(side * rot); the forearm bends towards local -z.
    r_upper = (r_chest[:, None] @ rotation_x(pose.shoulder_flex) @ rotation_z(side * pose.shoulder_abd)
               @ rotation_y(side * pose.shoulder_rot))
    down = _vec(0.0, -1.0, 0.0, pose.shoulder_flex)
    elbows = shoulders + _apply(r_upper, down) * shape.upper_arm[:, None, None]
    e = pose.elbow_flex
    forearm_dir = _apply(r_upper, _vec(torch.zeros_like(e), -torch.cos(e), -torch.sin(e), e))
    hands = elbows + forearm_dir * shape.forearm[:, None, None]

    # Legs: R = Rx(flex) . Rz(side * abd) . Ry(side * rot); the shank bends towards local +z.
    hips = _vec(side[None] * shape.hip_half[:, None], 0.0, 0.0, pose.hip_flex)
    r_thigh = rotation_x(pose.hip_flex) @ rotation_z(side * pose.hip_abd) @ rotation_y(side * pose.hip_rot)
    knees = hips + _apply(r_thigh, down) * shape.thigh[:, None, None]
    k = pose.knee_flex
    shank_dir = _apply(r_thigh, _vec(torch.zeros_like(k), -torch.cos(k), torch.sin(k), k))
    ankles = knees + shank_dir * shape.shank[:, None, None]

    joints = torch.stack((head, neck, shoulders[:, 0], shoulders[:, 1], elbows[:, 0], elbows[:, 1], hands[:, 0],
                          hands[:, 1], torso, hips[:, 0], hips[:, 1], knees[:, 0], knees[:, 1], ankles[:, 0],
                          ankles[:, 1]), dim=1)
    # Floor: the lower sole at y = 0; origin between the ankles.
    sole = ankles[..., 1].min(dim=1).values - shape.ankle_h
    mid = ankles.mean(dim=1)
    offset = torch.stack((-mid[:, 0], -sole, -mid[:, 2]), dim=-1)
    return joints + offset[:, None]


# --------------------------------------------------------------------------------------------------------------
# Spheres


def _normalise(v: torch.Tensor, fallback: torch.Tensor | None = None) -> torch.Tensor:
    n = v.norm(dim=-1, keepdim=True)
    out = v / n.clamp_min(1e-6)
    if fallback is not None:
        out = torch.where(n > 1e-6, out, fallback.expand_as(out))
    return out


def _interp(knots_u: list[float], knots_v: list[torch.Tensor], u: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear profile: knots_v (B,) values at knots_u, sampled at u (B, L) -> (B, L)."""
    values = torch.stack(knots_v, dim=1)  # (B, K)
    ku = torch.tensor(knots_u, device=u.device, dtype=u.dtype)
    i = torch.searchsorted(ku, u.contiguous(), right=True).clamp(1, len(knots_u) - 1)
    u0, u1 = ku[i - 1], ku[i]
    w = ((u - u0) / (u1 - u0)).clamp(0, 1)
    return values.gather(1, i - 1) * (1 - w) + values.gather(1, i) * w


def body_spheres(joints: torch.Tensor, shape: BodyShape) -> SphereSet:
    """The body around ``joints`` (B, 15, 3) as :data:`NUM_SPHERES` spheres with parts per :data:`PART_NAMES`.

    Head: one sphere at the Head joint and a neck chain from the Neck joint. Torso: rows of spheres across the
    body at levels from below the hip joints to the neck, each row an elliptical cross-section (wider than
    deep) following the spine and the hip / shoulder lines. Limbs: tapered chains; hands and feet: short
    chains (feet flat on the floor plane of the body frame, pointing forward and slightly out).
    """
    dev, dt = joints.device, joints.dtype
    batch = joints.shape[0]
    up = torch.tensor([0.0, 1.0, 0.0], device=dev, dtype=dt)
    j = {name: joints[:, i] for name, i in J.items()}
    centres: list[torch.Tensor] = []
    radii: list[torch.Tensor] = []
    parts: list[int] = []

    def add(c: torch.Tensor, r: torch.Tensor, part: int) -> None:
        centres.append(c)
        radii.append(r)
        parts.extend([part] * c.shape[1])

    # Head and neck.
    add(j["Head"][:, None], shape.head_r[:, None], HEAD)
    to_head = _normalise(j["Head"] - j["Neck"], up)
    neck_top = j["Head"] - to_head * (0.55 * shape.head_r[:, None])
    c, r = bone_spheres(j["Neck"], neck_top, shape.neck_r, shape.neck_r * 0.9, _NECK_N)
    add(c, r, HEAD)

    # Torso: levels u along the spine (0 = hips' midpoint, 1 = neck).
    pelvis = 0.5 * (j["RHip"] + j["LHip"])
    spine = j["Neck"] - pelvis
    axis = _normalise(spine, up)
    hip_lat = j["LHip"] - j["RHip"]
    sh_lat = j["LShoulder"] - j["RShoulder"]
    length = spine.norm(dim=-1)
    u_bottom = -(0.1 * shape.hip_b) / length  # the buttocks reach 0.9 hip_b below the hip joints
    u_top = 0.93
    steps = torch.linspace(0, 1, _TORSO_LEVELS, device=dev, dtype=dt)
    u = u_bottom[:, None] + (u_top - u_bottom[:, None]) * steps  # (B, L)
    knot_u = [0.0, 0.1, 0.35, 0.6, 0.82, 1.0]
    uc = u.clamp_min(0)
    half_w = _interp(knot_u, [shape.hip_a * 0.97, shape.hip_a, shape.waist_a, shape.chest_a, shape.chest_a,
                              0.8 * shape.shoulder_half], uc)
    half_d = _interp(knot_u, [shape.hip_b, shape.hip_b, shape.waist_b, shape.chest_b, shape.chest_b,
                              0.75 * shape.chest_b], uc)
    belly = _interp(knot_u, [shape.belly * 0, shape.belly * 0.3, shape.belly, shape.belly * 0.4, shape.belly * 0,
                             shape.belly * 0], uc)
    # Below the hip joints (the buttocks and crotch) the rows narrow.
    below = (-u).clamp_min(0) / (-u_bottom[:, None]).clamp_min(1e-6)  # 0 at the hip joints, 1 at the bottom
    half_w = half_w * (1 - 0.25 * below ** 2)
    half_d = half_d * (1 - 0.2 * below ** 2)
    w = u.clamp(0, 1)[..., None]  # 0 at the hips, 1 at the shoulders
    lateral = hip_lat[:, None] * (1 - w) + sh_lat[:, None] * w
    lateral = lateral - (lateral * axis[:, None]).sum(-1, keepdim=True) * axis[:, None]
    lateral = _normalise(lateral, torch.tensor([1.0, 0.0, 0.0], device=dev, dtype=dt))
    # The person's forward, -z when upright: up x left = y x x = -z (coordinate cross product).
    forward = torch.linalg.cross(axis[:, None].expand_as(lateral), lateral, dim=-1)
    centre = pelvis[:, None] + u[..., None] * spine[:, None] + forward * belly[..., None] * 0.5
    across = torch.linspace(-1, 1, _TORSO_ACROSS, device=dev, dtype=dt)
    shrink = torch.sqrt(1 - 0.5 * across ** 2)  # end spheres 0.71 of the depth: an elliptical section
    row_r = half_d[..., None] * shrink  # (B, L, A)
    reach = (half_w - half_d * shrink[-1]).clamp_min(0)  # centre offset of the end spheres
    row_c = centre[:, :, None] + lateral[:, :, None] * (reach[..., None] * across)[..., None]
    row_r = row_r + (belly[..., None] * 0.5) * shrink
    add(row_c.reshape(batch, -1, 3), row_r.reshape(batch, -1), TORSO)

    # Arms.
    for prefix, part in (("R", RIGHT_ARM), ("L", LEFT_ARM)):
        sh, el, hd = j[prefix + "Shoulder"], j[prefix + "Elbow"], j[prefix + "Hand"]
        c1, r1 = bone_spheres(sh, el, shape.shoulder_r, shape.elbow_r, _UPPER_ARM_N)
        c2, r2 = bone_spheres(el, hd, shape.elbow_r, shape.wrist_r, _FOREARM_N)
        direction = _normalise(hd - el, -up)
        start = hd - direction * (0.15 * shape.hand_len[:, None])
        end = hd + direction * ((0.75 * shape.hand_len - shape.hand_r)[:, None])
        c3, r3 = bone_spheres(start, end, shape.hand_r, shape.hand_r * 0.8, _HAND_N)
        add(torch.cat((c1, c2, c3), 1), torch.cat((r1, r2, r3), 1), part)

    # Legs; feet point along the person's forward (from the hip line), turned out a little.
    hip_fwd = torch.linalg.cross(up.expand_as(hip_lat), hip_lat, dim=-1)
    hip_fwd = _normalise(hip_fwd * torch.tensor([1.0, 0.0, 1.0], device=dev, dtype=dt),
                         torch.tensor([0.0, 0.0, -1.0], device=dev, dtype=dt))
    hip_left = _normalise(hip_lat * torch.tensor([1.0, 0.0, 1.0], device=dev, dtype=dt),
                          torch.tensor([1.0, 0.0, 0.0], device=dev, dtype=dt))
    toe_out = math.radians(10.0)
    for k, (prefix, part) in enumerate((("R", RIGHT_LEG), ("L", LEFT_LEG))):
        sgn = _SIDE[k]
        hp, kn, an = j[prefix + "Hip"], j[prefix + "Knee"], j[prefix + "Foot"]
        c1, r1 = bone_spheres(hp, kn, shape.hip_r, shape.knee_r, _THIGH_N)
        c2, r2 = bone_spheres(kn, an, shape.knee_r, shape.ankle_r, _SHANK_N)
        fwd = hip_fwd * math.cos(toe_out) + hip_left * (sgn * math.sin(toe_out))
        floor_y = (an[:, 1] - shape.ankle_h)[:, None]
        heel = an - fwd * shape.heel[:, None]
        heel = torch.cat((heel[:, :1], floor_y + shape.foot_r[:, None] * 1.05, heel[:, 2:]), dim=1)
        toe = an + fwd * (shape.foot_len - shape.heel - 0.8 * shape.foot_r)[:, None]
        toe = torch.cat((toe[:, :1], floor_y + shape.foot_r[:, None] * 0.8, toe[:, 2:]), dim=1)
        c3, r3 = bone_spheres(heel, toe, shape.foot_r * 1.05, shape.foot_r * 0.8, _FOOT_N)
        add(torch.cat((c1, c2, c3), 1), torch.cat((r1, r2, r3), 1), part)

    return SphereSet(centres=torch.cat(centres, 1), radii=torch.cat(radii, 1),
                     parts=torch.tensor(parts, dtype=torch.int64, device=dev))


# --------------------------------------------------------------------------------------------------------------


def sample_bodies(batch: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                  family: str | int | torch.Tensor | None = None) -> BodySample:
    """Random bodies: shape, pose, joints and spheres, in the body frame (see the module docstring)."""
    shape = sample_shape(batch, generator, device)
    pose = sample_pose(batch, generator, device, family)
    joints = forward_kinematics(shape, pose)
    spheres = body_spheres(joints, shape)
    pelvis_y = 0.5 * (joints[:, J["RHip"], 1] + joints[:, J["LHip"], 1])
    seat = pelvis_y - 0.9 * shape.hip_b
    return BodySample(joints=joints, spheres=spheres, family=pose.family, shape=shape, pose=pose, seat=seat)
