"""An articulated hand for synthetic depth: shape, pose, forward kinematics and a sphere-mesh body.

The hand frame (mm)
-------------------
Every joint and sphere this module returns is in the *hand frame*:

- origin at the wrist joint centre (HAND21 joint 0);
- **+y** along the hand, from the wrist toward the middle MCP (the fingers point +y when extended);
  the forearm leaves the wrist toward -y (tilted by the wrist angles, see ``wrist_flex``);
- **-z** is the palm normal (the palm faces -z, the back of the hand +z). A camera at the origin of
  livepose's camera frame looks along +z, so at a rotation that keeps z the palm faces the camera;
- x completes a right-handed frame (x = y cross z). With the fingers along +y and the palm facing -z,
  a **right hand has its thumb on the -x side** (x points to its ulnar, little-finger side). A **left
  hand is the mirror image** (x -> -x): thumb on +x.

Seen by a camera with the hand rotated by 180 degrees about z (fingers up in the image, which is what
:func:`livepose.synth.scene.place_hands` does for an upright hand) and the palm toward the camera, a
right hand shows its thumb on the image's right, as a real right hand shown palm-first does.

Internally the kinematics run in an *anatomical* frame (x radial/thumb side, y distal, z palmar) and
are mapped to the hand frame at the end (x -> -x for a right hand, z -> -z).

Angles are in degrees everywhere in the public API (:data:`JOINT_LIMITS`, :class:`HandPose`).
Positive flexion bends toward the palm; positive finger abduction moves a finger toward the thumb
(radial); see :data:`JOINT_LIMITS` for every degree of freedom.

Everything is batched torch (no Python loop over the batch), runs on CPU and CUDA, and is
deterministic for a given :class:`torch.Generator`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from livepose.skeletons import HAND21
from livepose.synth.geometry import SphereSet, bone_spheres, chain_count, rotation_x, rotation_y, rotation_z

# --------------------------------------------------------------------------------------------------
# Joints and parts
# --------------------------------------------------------------------------------------------------

JOINT_INDEX = {name: i for i, name in enumerate(HAND21.joints)}
FINGERS = ("thumb", "index", "middle", "ring", "little")
LONG_FINGERS = ("index", "middle", "ring", "little")
# HAND21 indices of each finger's four joints, base to tip (thumb: CMC, MCP, IP, tip).
FINGER_JOINTS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
                 "ring": (13, 14, 15, 16), "little": (17, 18, 19, 20)}
TIPS = (4, 8, 12, 16, 20)

# Part ids carried by every sphere (SphereSet.parts).
PART_FOREARM, PART_PALM, PART_THUMB, PART_INDEX, PART_MIDDLE, PART_RING, PART_LITTLE = range(7)
PART_NAMES = ("forearm", "palm", "thumb", "index", "middle", "ring", "little")
FINGER_PART = {"thumb": PART_THUMB, "index": PART_INDEX, "middle": PART_MIDDLE, "ring": PART_RING,
               "little": PART_LITTLE}

# --------------------------------------------------------------------------------------------------
# Shape: proportions of the reference adult hand and the ranges sampled around it
# --------------------------------------------------------------------------------------------------

# The reference hand has a palm length (wrist joint centre -> middle MCP joint centre) of 92 mm, about
# 0.48 of the hand length; with the finger lengths below its hand length is ~190 mm, an average adult
# male (ANSUR II: hand length ~193 mm male, ~180 mm female, SD ~9-10 mm).
REFERENCE_PALM_LENGTH_MM = 92.0

# Palm length, mm. Adults: normal around 89 mm (hand lengths ~165-205 mm cover the 5th percentile
# woman to the 95th percentile man in ANSUR-type tables) clipped to 72-115 mm; 25% children and young
# teenagers: uniform 65-85 mm (hand lengths ~135-175 mm, ages ~6-13 in child anthropometry surveys).
PALM_LENGTH_RANGE_MM = (65.0, 115.0)
ADULT_PALM_LENGTH_MEAN_SD_MM = (89.0, 8.0)
ADULT_PALM_LENGTH_RANGE_MM = (72.0, 115.0)
CHILD_PALM_LENGTH_RANGE_MM = (65.0, 85.0)
CHILD_FRACTION = 0.25
# Palm width: the distance across the palm (x) between the index and little MCP centres, as a fraction
# of the palm length (hand breadth at the metacarpals, ~80-90 mm of skin, less the soft tissue outside
# the two joint centres, gives ~52-64 mm for an 89 mm palm). The upper end is widened to 0.82 because the
# real SR305 hands in shared/data read 87-93 mm across the knuckles (docs/realism.md).
PALM_WIDTH_RATIO_RANGE = (0.58, 0.82)
# Palm thickness (back to palm skin at mid-palm) at the reference scale, mm; ~25-30 mm in adults.
PALM_THICKNESS_RANGE_MM = (24.0, 32.0)
# Finger thickness: one factor per hand on the reference radii below, and a small one per finger (up to 1.35:
# real SR305 proximal phalanges read up to 21 mm across).
THICKNESS_RANGE = (0.85, 1.35)
FINGER_THICKNESS_JITTER = (0.95, 1.05)
# Bone lengths: one factor per hand and finger (long- vs short-fingered hands) times one per bone.
FINGER_LENGTH_RANGE = (0.93, 1.07)
BONE_LENGTH_JITTER = (0.97, 1.03)

# Reference bone lengths (mm, joint centre to joint centre; the last bone ends at the fingertip joint,
# a few mm inside the skin at the end of the finger). Rows: thumb (CMC-MCP, MCP-IP, IP-tip), then
# index, middle, ring, little (MCP-PIP, PIP-DIP, DIP-tip). From published phalanx and metacarpal
# proportions (e.g. proximal phalanges ~40/45/42/33 mm, middle ~24/28/26/19 mm for index..little).
REFERENCE_BONE_LENGTHS_MM = (
    (46.0, 32.0, 25.0),
    (42.0, 24.0, 21.0),
    (46.0, 28.0, 23.0),
    (43.0, 25.0, 22.0),
    (34.0, 19.0, 20.0),
)
# Reference radii (mm) at each finger's four joints, base to tip (thumb: CMC, MCP, IP, tip). Adult
# fingers are ~18-21 mm thick at the proximal phalanx and ~12-15 mm at the pad; the thumb's CMC radius
# is the thenar muscle mass around its metacarpal.
REFERENCE_RADII_MM = (
    (13.0, 10.5, 9.5, 8.5),
    (10.0, 9.0, 7.8, 7.0),
    (10.3, 9.3, 8.0, 7.2),
    (9.6, 8.6, 7.5, 6.8),
    (8.6, 7.6, 6.6, 6.0),
)
# The fingertip joint sits this fraction of the tip radius inside the end of the last sphere chain's
# surface: the chain ends (1 - TIP_INSET) * r_tip before the tip joint.
TIP_INSET = 0.4

# MCP joint centres in the palm, anatomical frame: (x as a fraction of palm width, radial positive;
# y and z as fractions of palm length, z palmar). The middle MCP is at exactly (0, L, 0).
MCP_LAYOUT = {
    "index": (0.36, 0.955, 0.02),
    "middle": (0.0, 1.0, 0.0),
    "ring": (-0.31, 0.955, 0.015),
    "little": (-0.64, 0.87, 0.04),
}
# Fixed splay of each finger at zero abduction (degrees, radial positive): with abduction 0 the fingers
# lie side by side, converging slightly as adducted fingers do.
REST_SPLAY_DEG = {"index": -2.0, "middle": 0.0, "ring": 2.0, "little": 4.0}
# How much of ``palm_cup`` each metacarpal takes (the 4th and 5th carpometacarpal joints are mobile).
CUP_WEIGHT = {"index": 0.0, "middle": 0.0, "ring": 0.45, "little": 1.0}
# Thumb CMC joint centre (x fraction of palm width, y and z fractions of palm length).
THUMB_CMC_LAYOUT = (0.42, 0.24, 0.13)
# Thumb metacarpal direction at zero CMC angles (anatomical frame: radial, distal, palmar) and the
# direction its pad faces (mostly ulnar: the thumb is turned ~70 degrees about its axis relative to the
# fingers, whose pads face palmar; thumb_cmc_opp turns it further, toward the finger pads).
THUMB_REST_DIRECTION = (0.55, 0.70, 0.45)
THUMB_REST_PAD = (-0.95, 0.0, 0.3)


@dataclass(frozen=True)
class HandShape:
    """A batch of hand shapes (all tensors batched on the first dimension).

    Attributes:
        palm_length: (B,) mm, wrist joint centre to middle MCP centre.
        palm_width: (B,) mm, distance across the palm between the index and little MCP centres.
        palm_thickness: (B,) mm, back-to-palm thickness of the palm.
        bone_factors: (B, 5, 3) factors on the reference bone lengths (fingers thumb..little, bones
            base to tip), around 1.
        thickness: (B, 5) factors on the reference finger radii (hand factor times finger jitter).
    """

    palm_length: torch.Tensor
    palm_width: torch.Tensor
    palm_thickness: torch.Tensor
    bone_factors: torch.Tensor
    thickness: torch.Tensor

    @property
    def scale(self) -> torch.Tensor:
        """(B,) palm length over the reference palm length."""
        return self.palm_length / REFERENCE_PALM_LENGTH_MM

    @property
    def bone_lengths(self) -> torch.Tensor:
        """(B, 5, 3) bone lengths in mm (thumb..little; base to tip)."""
        ref = torch.tensor(REFERENCE_BONE_LENGTHS_MM, device=self.palm_length.device, dtype=self.palm_length.dtype)
        return ref[None] * self.bone_factors * self.scale[:, None, None]

    @property
    def joint_radii(self) -> torch.Tensor:
        """(B, 5, 4) finger radii in mm at each finger's four joints (thumb..little; base to tip)."""
        ref = torch.tensor(REFERENCE_RADII_MM, device=self.palm_length.device, dtype=self.palm_length.dtype)
        return ref[None] * self.thickness[:, :, None] * self.scale[:, None, None]


def _rand(size: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) drawn on the generator's device (so results do not depend on ``device``)."""
    source = generator.device if generator is not None else device
    return torch.rand(size, generator=generator, device=source).to(device)


def _randn(size: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    source = generator.device if generator is not None else device
    return torch.randn(size, generator=generator, device=source).to(device)


def _uniform(low: float, high: float, size: tuple[int, ...], generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    return low + (high - low) * _rand(size, generator, device)


def sample_shape(batch: int, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> HandShape:
    """Random hand shapes, children to large adults (see the ``*_RANGE`` constants for the ranges)."""
    device = torch.device(device)
    mean, sd = ADULT_PALM_LENGTH_MEAN_SD_MM
    adult = (mean + sd * _randn((batch,), generator, device)).clamp(*ADULT_PALM_LENGTH_RANGE_MM)
    child = _uniform(*CHILD_PALM_LENGTH_RANGE_MM, (batch,), generator, device)
    is_child = _rand((batch,), generator, device) < CHILD_FRACTION
    palm_length = torch.where(is_child, child, adult)
    palm_width = palm_length * _uniform(*PALM_WIDTH_RATIO_RANGE, (batch,), generator, device)
    scale = palm_length / REFERENCE_PALM_LENGTH_MM
    palm_thickness = scale * _uniform(*PALM_THICKNESS_RANGE_MM, (batch,), generator, device)
    bone_factors = (_uniform(*FINGER_LENGTH_RANGE, (batch, 5, 1), generator, device)
                    * _uniform(*BONE_LENGTH_JITTER, (batch, 5, 3), generator, device))
    thickness = (_uniform(*THICKNESS_RANGE, (batch, 1), generator, device)
                 * _uniform(*FINGER_THICKNESS_JITTER, (batch, 5), generator, device))
    return HandShape(palm_length=palm_length, palm_width=palm_width, palm_thickness=palm_thickness,
                     bone_factors=bone_factors, thickness=thickness)


# --------------------------------------------------------------------------------------------------
# Pose
# --------------------------------------------------------------------------------------------------

# Degrees of freedom, in the order of HandPose.angles, with their anatomical limits in degrees.
#
# Thumb (angles relative to the rest orientation THUMB_REST_DIRECTION, a thumb ~38 degrees away from
# the index in the palm plane and ~27 degrees out of it, toward the palm side):
#   thumb_cmc_flex  -25..60  CMC flexion in the plane of the palm: + swings the thumb across the palm
#                            toward the little finger, - extends it away from the index (radial abduction).
#   thumb_cmc_abd   -25..40  CMC palmar abduction: + lifts the thumb out of the palm plane (palmar),
#                            - brings it back against the side of the index.
#   thumb_cmc_opp   -15..60  axial rotation of the metacarpal: + pronates (turns the pad toward the
#                            finger pads, as in opposition).
#   thumb_mcp_flex  -10..60  thumb MCP flexion.
#   thumb_ip_flex   -15..80  thumb IP flexion (- is hyperextension).
# Fingers (index, middle, ring, little):
#   *_mcp_flex      -20..90  MCP flexion (little -20..95), - is hyperextension.
#   *_mcp_abd       radial +: index -15..25, middle -15..15, ring -20..15, little -30..15 (spreading the
#                            hand moves the index radially and the ring and little fingers ulnarly).
#   *_pip_flex      0..110   PIP flexion.
#   *_dip_flex      0..80    DIP flexion; sampled coupled to the PIP (about 2/3 of it, see DIP_COUPLING).
# Palm and wrist:
#   palm_cup        0..25    cupping of the palm: ring (45%) and little (100%) metacarpals turn palmar.
#   wrist_flex      -70..80  + flexes the hand toward the palm side of the forearm, - extends it.
#   wrist_dev       -30..20  + radial deviation (toward the thumb), - ulnar deviation.
# Sources: standard goniometry tables of active range of motion (e.g. AAOS / AMA guides: MCP 0-90 with
# ~20 of passive hyperextension, PIP 0-100/110, DIP 0-70/80, wrist flexion 80 / extension 70, radial 20 /
# ulnar 30, thumb MCP 0-50/60, IP -15..80); the thumb CMC ranges are this model's own axes.
JOINT_LIMITS: dict[str, tuple[float, float]] = {
    "thumb_cmc_flex": (-25.0, 60.0),
    "thumb_cmc_abd": (-25.0, 40.0),
    "thumb_cmc_opp": (-15.0, 60.0),
    "thumb_mcp_flex": (-10.0, 60.0),
    "thumb_ip_flex": (-15.0, 80.0),
    "index_mcp_flex": (-20.0, 90.0),
    "index_mcp_abd": (-15.0, 25.0),
    "index_pip_flex": (0.0, 110.0),
    "index_dip_flex": (0.0, 80.0),
    "middle_mcp_flex": (-20.0, 90.0),
    "middle_mcp_abd": (-15.0, 15.0),
    "middle_pip_flex": (0.0, 110.0),
    "middle_dip_flex": (0.0, 80.0),
    "ring_mcp_flex": (-20.0, 90.0),
    "ring_mcp_abd": (-20.0, 15.0),
    "ring_pip_flex": (0.0, 110.0),
    "ring_dip_flex": (0.0, 80.0),
    "little_mcp_flex": (-20.0, 95.0),
    "little_mcp_abd": (-30.0, 15.0),
    "little_pip_flex": (0.0, 110.0),
    "little_dip_flex": (0.0, 80.0),
    "palm_cup": (0.0, 25.0),
    "wrist_flex": (-70.0, 80.0),
    "wrist_dev": (-30.0, 20.0),
}
DOF_NAMES: tuple[str, ...] = tuple(JOINT_LIMITS)
DOF_INDEX = {name: i for i, name in enumerate(DOF_NAMES)}
NUM_DOF = len(DOF_NAMES)

# DIP = ratio * PIP + noise, ratio uniform in this range per finger, noise normal with this SD (degrees).
DIP_COUPLING = (0.55, 0.8)
DIP_NOISE_DEG = 5.0
# Independent draws spread the fingers together (shared spread times these directions) plus a little
# per-finger noise, so that neighbours do not cross.
SPREAD_DIRECTION_DEG = {"index": 15.0, "middle": 3.0, "ring": -12.0, "little": -25.0}


@dataclass(frozen=True)
class HandPose:
    """A batch of hand poses.

    Attributes:
        angles: (B, NUM_DOF) degrees, in :data:`DOF_NAMES` order, within :data:`JOINT_LIMITS`.
        family: (B,) int64 index into :data:`FAMILIES` of the family each pose was drawn from, -1 for a
            pose drawn independently within the limits.
    """

    angles: torch.Tensor
    family: torch.Tensor

    def __getitem__(self, name: str) -> torch.Tensor:
        """(B,) degrees of the degree of freedom ``name`` (e.g. ``"index_pip_flex"``)."""
        return self.angles[:, DOF_INDEX[name]]

    @property
    def family_names(self) -> list[str]:
        return [FAMILIES[i] if i >= 0 else "independent" for i in self.family.tolist()]


def _limits(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    lim = torch.tensor([JOINT_LIMITS[n] for n in DOF_NAMES], device=device)
    return lim[:, 0], lim[:, 1]


def clamp_to_limits(angles: torch.Tensor) -> torch.Tensor:
    """(..., NUM_DOF) degrees clamped to :data:`JOINT_LIMITS`."""
    low, high = _limits(angles.device)
    return torch.maximum(torch.minimum(angles, high.to(angles.dtype)), low.to(angles.dtype))


def _finger(mcp: float, abd: float, pip: float) -> tuple[float, float, float]:
    return (mcp, abd, pip)


def _family(thumb: tuple[float, float, float, float, float], fingers: dict[str, tuple[float, float, float]],
            cup: float) -> dict[str, float]:
    pose = dict(zip(("thumb_cmc_flex", "thumb_cmc_abd", "thumb_cmc_opp", "thumb_mcp_flex", "thumb_ip_flex"),
                    thumb, strict=True))
    for name in LONG_FINGERS:
        mcp, abd, pip = fingers[name]
        pose[f"{name}_mcp_flex"] = mcp
        pose[f"{name}_mcp_abd"] = abd
        pose[f"{name}_pip_flex"] = pip
        pose[f"{name}_dip_flex"] = 0.67 * pip
    pose["palm_cup"] = cup
    pose["wrist_flex"] = 0.0
    pose["wrist_dev"] = 0.0
    return pose


_FIST = _finger(85.0, 0.0, 100.0)
_FIST_FINGERS = {"index": _FIST, "middle": _FIST, "ring": _finger(85.0, -2.0, 100.0),
                 "little": _finger(85.0, -4.0, 100.0)}
_THUMB_OVER_FIST = (3.0, 32.0, -2.0, 31.0, 63.0)  # across the middle phalanges of index and middle
_THUMB_OVER_RING = (35.0, 40.0, 35.0, -5.0, 78.0)  # holding the ring and little fingers down
_THUMB_IN_PALM = (15.0, 40.0, 29.0, 58.0, 49.0)  # folded across the palm under extended fingers

# Base poses of the correlated families (degrees; the DIPs follow 2/3 of the PIPs; wrists neutral, the
# sampler adds wrist angles and Gaussian jitter). Each family: thumb (cmc_flex, cmc_abd, cmc_opp,
# mcp_flex, ip_flex), per finger (mcp_flex, mcp_abd, pip_flex), palm cup.
FAMILY_POSES: dict[str, dict[str, float]] = {
    "open": _family((20.0, -15.0, 0.0, 5.0, 5.0),
                    {"index": (0.0, 2.0, 5.0), "middle": (0.0, 0.0, 5.0), "ring": (0.0, -2.0, 5.0),
                     "little": (0.0, -4.0, 5.0)}, 0.0),
    "spread": _family((-10.0, -5.0, -5.0, 0.0, 0.0),
                      {"index": (0.0, 15.0, 0.0), "middle": (0.0, 2.0, 0.0), "ring": (0.0, -12.0, 0.0),
                       "little": (-5.0, -24.0, 0.0)}, 0.0),
    "relaxed": _family((5.0, 10.0, 5.0, 15.0, 15.0),
                       {"index": (18.0, 3.0, 22.0), "middle": (24.0, 0.0, 30.0), "ring": (30.0, -3.0, 35.0),
                        "little": (35.0, -6.0, 40.0)}, 8.0),
    "fist": _family(_THUMB_OVER_FIST, _FIST_FINGERS, 15.0),
    "point": _family(_THUMB_OVER_FIST, {**_FIST_FINGERS, "index": (0.0, 0.0, 5.0)}, 12.0),
    "victory": _family(_THUMB_OVER_RING, {**_FIST_FINGERS, "index": (0.0, 10.0, 3.0), "middle": (0.0, -6.0, 3.0)},
                       12.0),
    "three": _family(_THUMB_OVER_RING, {**_FIST_FINGERS, "index": (0.0, 12.0, 3.0), "middle": (0.0, 0.0, 3.0),
                                        "ring": (0.0, -10.0, 3.0)}, 10.0),
    "four": _family(_THUMB_IN_PALM, {"index": (0.0, 12.0, 3.0), "middle": (0.0, 1.0, 3.0),
                                     "ring": (0.0, -10.0, 3.0), "little": (0.0, -20.0, 3.0)}, 10.0),
    "thumbs_up": _family((31.0, -22.0, 30.0, 0.0, 5.0), _FIST_FINGERS, 15.0),
    "pinch": _family((20.0, 29.0, 39.0, 0.0, -5.0),
                     {"index": (61.0, 0.0, 22.0), "middle": (25.0, -2.0, 35.0), "ring": (30.0, -4.0, 40.0),
                      "little": (35.0, -7.0, 45.0)}, 8.0),
    "ok": _family((20.0, 29.0, 39.0, 0.0, -5.0),
                  {"index": (61.0, 0.0, 22.0), "middle": (5.0, 0.0, 5.0), "ring": (5.0, -8.0, 5.0),
                   "little": (5.0, -18.0, 5.0)}, 5.0),
    "grip": _family((30.0, 35.0, 45.0, 30.0, 10.0),
                    {"index": (45.0, 2.0, 60.0), "middle": (48.0, 0.0, 62.0), "ring": (50.0, -2.0, 62.0),
                     "little": (52.0, -5.0, 62.0)}, 15.0),
    "claw": _family((0.0, 10.0, 10.0, 30.0, 45.0),
                    {"index": (-5.0, 5.0, 85.0), "middle": (-5.0, 0.0, 88.0), "ring": (-5.0, -5.0, 88.0),
                     "little": (-5.0, -10.0, 90.0)}, 10.0),
}
FAMILIES: tuple[str, ...] = tuple(FAMILY_POSES)
FAMILY_INDEX = {name: i for i, name in enumerate(FAMILIES)}
# Jitter added to a family's base pose (SD, degrees) per kind of degree of freedom.
FAMILY_JITTER_DEG = {"thumb": 6.0, "mcp_flex": 8.0, "mcp_abd": 4.0, "pip_flex": 8.0, "dip_flex": 0.0,
                     "palm_cup": 4.0}
# Wrist angles of family poses: normal with these SDs (degrees), clamped to the limits.
FAMILY_WRIST_SD_DEG = {"wrist_flex": 20.0, "wrist_dev": 8.0}
# Fraction of poses drawn from the families when ``sample_pose`` is given no family.
FAMILY_FRACTION = 0.5


def _family_tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    base = torch.tensor([[FAMILY_POSES[f][n] for n in DOF_NAMES] for f in FAMILIES], device=device)
    sd = []
    for name in DOF_NAMES:
        if name.startswith("thumb"):
            sd.append(FAMILY_JITTER_DEG["thumb"])
        elif name.startswith("wrist"):
            sd.append(FAMILY_WRIST_SD_DEG[name])
        elif name == "palm_cup":
            sd.append(FAMILY_JITTER_DEG["palm_cup"])
        else:
            sd.append(FAMILY_JITTER_DEG[name.split("_", 1)[1]])
    return base, torch.tensor(sd, device=device)


def sample_pose(batch: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                family: str | None = None) -> HandPose:
    """Random hand poses within :data:`JOINT_LIMITS`.

    Args:
        batch: number of poses.
        generator: random source (poses are a deterministic function of its state).
        device: where the tensors go.
        family: ``None`` for the default mix (FAMILY_FRACTION from the families, chosen uniformly, the
            rest independent), a name from :data:`FAMILIES` for that family only, or ``"independent"``.

    Independent poses draw every flexion uniformly within its limits; finger abductions are one shared
    spread (uniform) along SPREAD_DIRECTION_DEG plus +-6 degrees each; DIPs follow their PIP
    (DIP_COUPLING) in every pose. Family poses are the family's base pose plus Gaussian jitter.
    """
    device = torch.device(device)
    if family is not None and family != "independent" and family not in FAMILY_INDEX:
        raise ValueError(f"sample_pose: unknown family {family!r}; expected one of {', '.join(FAMILIES)} "
                         "or 'independent'")
    low, high = _limits(device)
    # Every draw happens whatever the mix, so the stream of random numbers is the same for every mix.
    uniform = low + (high - low) * _rand((batch, NUM_DOF), generator, device)
    spread = _uniform(-0.3, 1.0, (batch, 1), generator, device)
    spread_noise = _uniform(-6.0, 6.0, (batch, 4), generator, device)
    family_choice = (_rand((batch,), generator, device) * len(FAMILIES)).long().clamp_max(len(FAMILIES) - 1)
    use_family = _rand((batch,), generator, device) < FAMILY_FRACTION
    jitter = _randn((batch, NUM_DOF), generator, device)
    ratio = _uniform(*DIP_COUPLING, (batch, 4), generator, device)
    dip_noise = DIP_NOISE_DEG * _randn((batch, 4), generator, device)

    abd_cols = [DOF_INDEX[f"{f}_mcp_abd"] for f in LONG_FINGERS]
    directions = torch.tensor([SPREAD_DIRECTION_DEG[f] for f in LONG_FINGERS], device=device)
    uniform[:, abd_cols] = spread * directions + spread_noise

    base, sd = _family_tables(device)
    family_angles = base[family_choice] + jitter * sd

    if family is None:
        chosen = torch.where(use_family[:, None], family_angles, uniform)
        family_id = torch.where(use_family, family_choice, torch.full_like(family_choice, -1))
    elif family == "independent":
        chosen = uniform
        family_id = torch.full_like(family_choice, -1)
    else:
        fixed = torch.full_like(family_choice, FAMILY_INDEX[family])
        chosen = base[fixed] + jitter * sd
        family_id = fixed
    chosen = clamp_to_limits(chosen)
    pip_cols = [DOF_INDEX[f"{f}_pip_flex"] for f in LONG_FINGERS]
    dip_cols = [DOF_INDEX[f"{f}_dip_flex"] for f in LONG_FINGERS]
    chosen[:, dip_cols] = ratio * chosen[:, pip_cols] + dip_noise
    chosen = clamp_to_limits(chosen)
    return HandPose(angles=chosen, family=family_id)


# --------------------------------------------------------------------------------------------------
# Forward kinematics
# --------------------------------------------------------------------------------------------------








def _thumb_rest(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(3, 3) rest orientation of the thumb metacarpal: columns = its flexion axis, long axis, pad normal."""
    y = torch.tensor(THUMB_REST_DIRECTION, device=device, dtype=dtype)
    y = y / y.norm()
    z = torch.tensor(THUMB_REST_PAD, device=device, dtype=dtype)
    z = z - (z @ y) * y
    z = z / z.norm()
    x = torch.linalg.cross(y, z)
    return torch.stack((x, y, z), dim=1)


def _anatomical_to_hand(points: torch.Tensor, is_left: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) anatomical-frame points (x radial, y distal, z palmar) to the hand frame (self-inverse)."""
    sign_x = torch.where(is_left, 1.0, -1.0).to(points.dtype)[:, None]
    return torch.stack((points[..., 0] * sign_x, points[..., 1], -points[..., 2]), dim=-1)


def _side(side: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
    if side is None:
        return torch.zeros(batch, dtype=torch.bool, device=device)
    return side.to(device=device, dtype=torch.bool)


def _fk_anatomical(shape: HandShape, pose: HandPose) -> torch.Tensor:
    """(B, 21, 3) HAND21 joints in the anatomical frame of a right hand (x radial, y distal, z palmar)."""
    length, width = shape.palm_length, shape.palm_width
    batch, device, dtype = length.shape[0], length.device, length.dtype
    angles = torch.deg2rad(pose.angles.to(dtype))
    bones = shape.bone_lengths
    joints = torch.zeros(batch, 21, 3, device=device, dtype=dtype)

    def along(rotation: torch.Tensor, bone: torch.Tensor) -> torch.Tensor:
        return rotation[:, :, 1] * bone[:, None]

    cup = angles[:, DOF_INDEX["palm_cup"]]
    for f, name in enumerate(LONG_FINGERS, start=1):
        fx, fy, fz = MCP_LAYOUT[name]
        cupping = rotation_y(cup * CUP_WEIGHT[name])
        mcp = (cupping @ torch.stack((fx * width, fy * length, fz * length), dim=1)[:, :, None])[..., 0]
        splay = torch.full_like(length, math.radians(REST_SPLAY_DEG[name]))
        r_mcp = (cupping @ rotation_z(-(splay + angles[:, DOF_INDEX[f"{name}_mcp_abd"]]))
                 @ rotation_x(angles[:, DOF_INDEX[f"{name}_mcp_flex"]]))
        pip = mcp + along(r_mcp, bones[:, f, 0])
        r_pip = r_mcp @ rotation_x(angles[:, DOF_INDEX[f"{name}_pip_flex"]])
        dip = pip + along(r_pip, bones[:, f, 1])
        r_dip = r_pip @ rotation_x(angles[:, DOF_INDEX[f"{name}_dip_flex"]])
        tip = dip + along(r_dip, bones[:, f, 2])
        joints[:, list(FINGER_JOINTS[name])] = torch.stack((mcp, pip, dip, tip), dim=1)

    tx, ty, tz = THUMB_CMC_LAYOUT
    cmc = torch.stack((tx * width, ty * length, tz * length), dim=1)
    r_cmc = (rotation_z(angles[:, DOF_INDEX["thumb_cmc_flex"]]) @ rotation_y(-angles[:, DOF_INDEX["thumb_cmc_abd"]])
             @ _thumb_rest(device, dtype) @ rotation_y(-angles[:, DOF_INDEX["thumb_cmc_opp"]]))
    t_mcp = cmc + along(r_cmc, bones[:, 0, 0])
    r_mcp = r_cmc @ rotation_x(angles[:, DOF_INDEX["thumb_mcp_flex"]])
    t_ip = t_mcp + along(r_mcp, bones[:, 0, 1])
    r_ip = r_mcp @ rotation_x(angles[:, DOF_INDEX["thumb_ip_flex"]])
    t_tip = t_ip + along(r_ip, bones[:, 0, 2])
    joints[:, 1:5] = torch.stack((cmc, t_mcp, t_ip, t_tip), dim=1)
    return joints


def forward_kinematics(shape: HandShape, pose: HandPose, side: torch.Tensor | None = None) -> torch.Tensor:
    """HAND21 joints of posed hands.

    Args:
        shape: hand shapes.
        pose: hand poses (degrees).
        side: (B,) bool, True for a left hand (the mirror image, x -> -x, of the right hand); None: right.

    Returns:
        (B, 21, 3) joints in mm in the hand frame (module docstring): wrist at the origin, fingers +y,
        palm facing -z, right thumb on -x.
    """
    joints = _fk_anatomical(shape, pose)
    return _anatomical_to_hand(joints, _side(side, joints.shape[0], joints.device))


# --------------------------------------------------------------------------------------------------
# Sphere mesh
# --------------------------------------------------------------------------------------------------

# Palm: a grid between the wrist line and the MCP line. Columns run radial (index) to ulnar (little)
# with the MCPs on knots (a multiple of 3 intervals); rows run wrist to MCPs.
PALM_WRIST_CORNERS = ((0.33, 0.05), (-0.38, 0.05))  # (x / palm width, y / palm length), radial then ulnar
PALM_RADIUS_WRIST = 0.55  # sphere radius / palm thickness at the wrist edge (thenar and hypothenar)
PALM_RADIUS_MCP = 0.45  # ... and at the MCP edge
# Web and thenar: a grid between the thumb metacarpal (CMC -> MCP) and the palm's radial edge (radial
# wrist corner -> index MCP); its free edge is pulled back toward the CMC by WEB_RECESS in the middle.
WEB_RECESS = 0.4
WEB_THINNING = 0.2  # radius fraction lost in the middle of the free edge of the web
# Forearm: two parallel chains (an elliptical cross-section, wider across the palm than thick).
FOREARM_LENGTH_MM = 300.0
FOREARM_RADIUS = (0.6, 0.9)  # sphere radius / palm thickness at the wrist and 300 mm up the forearm
FOREARM_HALF_SPACING = (0.14, 0.11)  # chain offset across the forearm / palm length, wrist and far end


def _chain_counts() -> tuple[tuple[int, int, int], ...]:
    """Spheres per bone (thumb..little, base to tip), enough for spacing <= 0.5 x the smaller radius for
    every shape the sampler can produce (length and radius both scale with the palm length)."""
    max_bone = FINGER_LENGTH_RANGE[1] * BONE_LENGTH_JITTER[1]
    min_thick = THICKNESS_RANGE[0] * FINGER_THICKNESS_JITTER[0]
    counts = []
    for lengths, radii in zip(REFERENCE_BONE_LENGTHS_MM, REFERENCE_RADII_MM, strict=True):
        counts.append(tuple(chain_count(lengths[b] * max_bone / (min(radii[b], radii[b + 1]) * min_thick))
                            for b in range(3)))
    return tuple(counts)


CHAIN_COUNTS = _chain_counts()
# Palm grid: rows span ~0.95 palm lengths, columns ~1.2 palm widths of polyline; radius >= 0.45 x thickness.
_PALM_MIN_RADIUS = PALM_RADIUS_MCP * PALM_THICKNESS_RANGE_MM[0] / REFERENCE_PALM_LENGTH_MM  # / palm length
PALM_ROWS = chain_count(0.95 / _PALM_MIN_RADIUS)
PALM_COLS = 3 * math.ceil((chain_count(1.2 * PALM_WIDTH_RATIO_RANGE[1] / _PALM_MIN_RADIUS) - 1) / 3) + 1
# Along the thumb metacarpal, and across the web (dense enough that neighbours stay within one radius of
# each other, no holes, even with the thumb spread wide: median spacing ~0.2 radii, 99th percentile ~0.9).
WEB_ROWS, WEB_COLS = 12, 15
_FOREARM_MIN_RADIUS = (FOREARM_RADIUS[0] * PALM_THICKNESS_RANGE_MM[0] * PALM_LENGTH_RANGE_MM[0]
                       / REFERENCE_PALM_LENGTH_MM)
FOREARM_COUNT = chain_count(FOREARM_LENGTH_MM / _FOREARM_MIN_RADIUS)


def _lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t


def _palm(joints: torch.Tensor, shape: HandShape) -> tuple[torch.Tensor, torch.Tensor]:
    """Palm grid in the anatomical frame: centres (B, rows * cols, 3), radii (B, rows * cols)."""
    device, dtype = joints.device, joints.dtype
    length, width = shape.palm_length[:, None], shape.palm_width[:, None]
    # Distal edge: the polyline index -> middle -> ring -> little MCP, columns evenly in its parameter.
    mcps = joints[:, [5, 9, 13, 17]]  # (B, 4, 3)
    s = torch.linspace(0.0, 3.0, PALM_COLS, device=device, dtype=dtype)
    seg = s.floor().long().clamp_max(2)
    w = (s - seg.to(dtype))[None, :, None]
    distal = _lerp(mcps[:, seg], mcps[:, seg + 1], w)  # (B, C, 3)
    (rx, ry), (ux, uy) = PALM_WRIST_CORNERS
    zero = torch.zeros_like(length)
    radial = torch.cat((rx * width, ry * length, zero), dim=1)
    ulnar = torch.cat((ux * width, uy * length, zero), dim=1)
    proximal = _lerp(radial[:, None], ulnar[:, None], (s / 3.0)[None, :, None])  # (B, C, 3)
    t = torch.linspace(0.0, 1.0, PALM_ROWS, device=device, dtype=dtype)[None, :, None, None]
    centres = _lerp(proximal[:, None], distal[:, None], t)  # (B, R, C, 3)
    r = shape.palm_thickness[:, None, None] * _lerp(torch.tensor(PALM_RADIUS_WRIST, device=device, dtype=dtype),
                                                    torch.tensor(PALM_RADIUS_MCP, device=device, dtype=dtype),
                                                    t[..., 0])
    radii = r.expand(-1, PALM_ROWS, PALM_COLS)
    return centres.reshape(joints.shape[0], -1, 3), radii.reshape(joints.shape[0], -1)


def _web(joints: torch.Tensor, shape: HandShape) -> tuple[torch.Tensor, torch.Tensor]:
    """Thenar eminence and first web space, anatomical frame: centres (B, N, 3), radii (B, N)."""
    device, dtype = joints.device, joints.dtype
    length, width = shape.palm_length[:, None], shape.palm_width[:, None]
    radii_joint = shape.joint_radii
    cmc, t_mcp, i_mcp = joints[:, 1], joints[:, 2], joints[:, 5]
    (rx, ry), _ = PALM_WRIST_CORNERS
    corner = torch.cat((rx * width, ry * length, torch.zeros_like(length)), dim=1)
    v = torch.linspace(0.0, 1.0, WEB_COLS, device=device, dtype=dtype)  # 0 thumb side, 1 palm side
    bulge = 4.0 * v * (1.0 - v)
    u = torch.linspace(0.0, 1.0, WEB_ROWS, device=device, dtype=dtype)[:, None] * (1.0 - WEB_RECESS * bulge)[None]
    u3, v3 = u[None, :, :, None], v[None, None, :, None]  # (1, U, V, 1)
    thumb_side = _lerp(cmc[:, None, None], t_mcp[:, None, None], u3)
    palm_side = _lerp(corner[:, None, None], i_mcp[:, None, None], u3)
    centres = _lerp(thumb_side, palm_side, v3)
    r_thumb = _lerp(radii_joint[:, 0, 0, None, None], radii_joint[:, 0, 1, None, None], u[None])
    r_palm = _lerp(PALM_RADIUS_WRIST * shape.palm_thickness[:, None, None], radii_joint[:, 1, 0, None, None], u[None])
    radii = _lerp(r_thumb, r_palm, v[None, None]) * (1.0 - WEB_THINNING * u[None] * bulge[None, None])
    return centres.reshape(joints.shape[0], -1, 3), radii.reshape(joints.shape[0], -1)


def _forearm(shape: HandShape, pose: HandPose | None, batch: int, device: torch.device,
             dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Forearm (two tapered chains from the wrist back along the forearm axis), anatomical frame."""
    if pose is None:
        rotation = torch.eye(3, device=device, dtype=dtype).expand(batch, 3, 3)
    else:
        flex = torch.deg2rad(pose["wrist_flex"].to(device=device, dtype=dtype))
        dev = torch.deg2rad(pose["wrist_dev"].to(device=device, dtype=dtype))
        rotation = rotation_x(flex) @ rotation_z(-dev)  # hand relative to forearm
    axis = -rotation[:, 1, :]  # -R^T y: from the wrist toward the elbow
    across = rotation[:, 0, :]  # R^T x: across the forearm, radial
    length = shape.palm_length
    r0 = FOREARM_RADIUS[0] * shape.palm_thickness
    r1 = FOREARM_RADIUS[1] * shape.palm_thickness
    h0 = (FOREARM_HALF_SPACING[0] * length)[:, None]
    h1 = (FOREARM_HALF_SPACING[1] * length)[:, None]
    far = axis * FOREARM_LENGTH_MM
    centres, radii = [], []
    for sign in (1.0, -1.0):
        c, r = bone_spheres(sign * h0 * across, far + sign * h1 * across, r0, r1, FOREARM_COUNT)
        centres.append(c)
        radii.append(r)
    return torch.cat(centres, dim=1), torch.cat(radii, dim=1)


def hand_spheres(joints: torch.Tensor, shape: HandShape, side: torch.Tensor | None = None,
                 pose: HandPose | None = None) -> SphereSet:
    """The sphere-mesh body of posed hands.

    Args:
        joints: (B, 21, 3) HAND21 joints in the hand frame, as returned by :func:`forward_kinematics`.
        shape: the shapes the joints were made with (radii, palm size).
        side: (B,) bool, True for left hands (must match the joints); None: right hands.
        pose: the poses, for the wrist angles that aim the forearm; None: a straight wrist.

    Returns:
        A :class:`SphereSet` in the hand frame with a fixed number of spheres S (the same for every
        batch): forearm (part 0, two chains of FOREARM_COUNT spheres), palm (part 1, a PALM_ROWS x
        PALM_COLS grid plus the WEB_ROWS x WEB_COLS thenar/web grid), then the thumb (2), index (3),
        middle (4), ring (5) and little (6) finger chains (CHAIN_COUNTS spheres per bone). Each finger's
        last chain ends (1 - TIP_INSET) * r_tip short of the tip joint, so the tip joint lies inside the
        pad TIP_INSET * r_tip from the end of the finger.
    """
    batch, device, dtype = joints.shape[0], joints.device, joints.dtype
    is_left = _side(side, batch, device)
    anat = _anatomical_to_hand(joints, is_left)
    radii_joint = shape.joint_radii.to(dtype)

    pieces: list[tuple[torch.Tensor, torch.Tensor, int]] = []
    fore_c, fore_r = _forearm(shape, pose, batch, device, dtype)
    pieces.append((fore_c, fore_r, PART_FOREARM))
    palm_c, palm_r = _palm(anat, shape)
    pieces.append((palm_c, palm_r, PART_PALM))
    web_c, web_r = _web(anat, shape)
    pieces.append((web_c, web_r, PART_PALM))
    for f, name in enumerate(FINGERS):
        ids = FINGER_JOINTS[name]
        for b in range(3):
            start, end = anat[:, ids[b]], anat[:, ids[b + 1]]
            r_start, r_end = radii_joint[:, f, b], radii_joint[:, f, b + 1]
            if b == 2:
                direction = end - start
                direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-6)
                end = end - direction * ((1.0 - TIP_INSET) * r_end)[:, None]
            c, r = bone_spheres(start, end, r_start, r_end, CHAIN_COUNTS[f][b])
            pieces.append((c, r, FINGER_PART[name]))

    centres = torch.cat([p[0] for p in pieces], dim=1)
    radii = torch.cat([p[1] for p in pieces], dim=1)
    parts = torch.cat([torch.full((p[0].shape[1],), p[2], dtype=torch.int64, device=device) for p in pieces])
    return SphereSet(centres=_anatomical_to_hand(centres, is_left), radii=radii, parts=parts)


# --------------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandSample:
    """A batch of synthetic hands in the hand frame.

    Attributes:
        joints: (B, 21, 3) HAND21 joints, mm.
        spheres: their sphere-mesh body (:func:`hand_spheres`).
        side: (B,) bool, True for a left hand.
        family: (B,) int64 pose family (index into :data:`FAMILIES`, -1 for an independent pose).
        shape, pose: what they were made from.
    """

    joints: torch.Tensor
    spheres: SphereSet
    side: torch.Tensor
    family: torch.Tensor
    shape: HandShape
    pose: HandPose

    @property
    def family_names(self) -> list[str]:
        return self.pose.family_names

    @property
    def palm_centre(self) -> torch.Tensor:
        """(B, 3) mean of the wrist and the four finger MCPs (NYU's and ICVL's palm joint)."""
        return self.joints[:, [0, 5, 9, 13, 17]].mean(dim=1)


def sample_hands(batch: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                 family: str | None = None, left_fraction: float = 0.5) -> HandSample:
    """Random hands: shape, pose (see :func:`sample_pose` for ``family``), side, joints and spheres."""
    device = torch.device(device)
    shape = sample_shape(batch, generator, device)
    pose = sample_pose(batch, generator, device, family=family)
    side = _rand((batch,), generator, device) < left_fraction
    joints = forward_kinematics(shape, pose, side)
    spheres = hand_spheres(joints, shape, side, pose)
    return HandSample(joints=joints, spheres=spheres, side=side, family=pose.family, shape=shape, pose=pose)
