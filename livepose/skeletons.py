"""Joint layouts as data: names, bones, colours, left/right pairs.

Every layout livepose reads, predicts or draws is described here once, and
the viewer, the metrics and the dataset converters all read it from here.
Joint order is the order of the published label files of each dataset.

Colours are RGB in [0, 255], one per bone, grouped by finger or limb so the
viewer and the plots agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livepose.errors import LivePoseError

# One colour per finger / limb family, shared by every layout.
THUMB = (230, 60, 60)
INDEX = (240, 170, 30)
MIDDLE = (60, 190, 80)
RING = (40, 140, 230)
LITTLE = (170, 80, 220)
PALM = (200, 200, 200)
HEAD = (240, 240, 90)
TORSO = (200, 200, 200)
RIGHT = (230, 80, 60)
LEFT = (60, 130, 230)


@dataclass(frozen=True)
class Layout:
    """A joint layout.

    Attributes:
        name: short identifier used on the command line (``nyu14``, ``itop15``...).
        joints: joint names in the dataset's own order.
        bones: pairs of joint indices drawn as a bone.
        bone_colours: one RGB colour per bone.
        flip_pairs: (left, right) joint index pairs swapped by a horizontal flip.
        groups: named groups of joints used by the metrics (ITOP's "shoulders"...).
        description: which physical point each name stands for, where not obvious.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    bone_colours: tuple[tuple[int, int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...] = ()
    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    description: str = ""

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def __post_init__(self) -> None:
        if len(self.bones) != len(self.bone_colours):
            raise ValueError(f"layout {self.name}: {len(self.bones)} bones but {len(self.bone_colours)} colours")
        for a, b in self.bones:
            if not (0 <= a < len(self.joints) and 0 <= b < len(self.joints)):
                raise ValueError(f"layout {self.name}: bone ({a}, {b}) names a joint that does not exist")


def _chain(*indices: int) -> list[tuple[int, int]]:
    return [(indices[i], indices[i + 1]) for i in range(len(indices) - 1)]


# NYU: the 14 evaluation joints, NYU ids 0,3,6,9,12,15,18,21,24,25,27,30,31,32 of its 36.
# "1" is a fingertip, "2" the middle of that finger; W1/W2 are the two wrist points, C the palm centre.
NYU14 = Layout(
    name="nyu14",
    joints=("P1", "P2", "R1", "R2", "M1", "M2", "I1", "I2", "T1", "T2", "T3", "W1", "W2", "C"),
    bones=((0, 1), (1, 13), (2, 3), (3, 13), (4, 5), (5, 13), (6, 7), (7, 13), (8, 9), (9, 10), (10, 13),
           (11, 13), (12, 13)),
    bone_colours=(LITTLE, LITTLE, RING, RING, MIDDLE, MIDDLE, INDEX, INDEX, THUMB, THUMB, THUMB, PALM, PALM),
    description="NYU evaluation subset: little (P), ring (R), middle (M), index (I) tip and middle joint; "
    "thumb (T) tip, IP and MCP; two wrist points (W1, W2); palm centre (C).",
)

# The 36 NYU ids that make up NYU14, in NYU14 order.
NYU36_TO_NYU14 = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)

ICVL16 = Layout(
    name="icvl16",
    joints=("Palm", "Thumb.R", "Thumb.M", "Thumb.T", "Index.R", "Index.M", "Index.T", "Mid.R", "Mid.M", "Mid.T",
            "Ring.R", "Ring.M", "Ring.T", "Pinky.R", "Pinky.M", "Pinky.T"),
    bones=tuple(_chain(0, 1, 2, 3) + _chain(0, 4, 5, 6) + _chain(0, 7, 8, 9) + _chain(0, 10, 11, 12)
                + _chain(0, 13, 14, 15)),
    bone_colours=(THUMB,) * 3 + (INDEX,) * 3 + (MIDDLE,) * 3 + (RING,) * 3 + (LITTLE,) * 3,
    description="ICVL: palm, then root (MCP), middle (PIP) and tip of thumb, index, middle, ring, little.",
)

# HANDS2017 (BigHand2.2M): wrist, five MCPs, then PIP/DIP/TIP of each finger (thumb: MCP is listed first).
HANDS21 = Layout(
    name="hands21",
    joints=("Wrist", "TMCP", "IMCP", "MMCP", "RMCP", "PMCP", "TPIP", "TDIP", "TTIP", "IPIP", "IDIP", "ITIP",
            "MPIP", "MDIP", "MTIP", "RPIP", "RDIP", "RTIP", "PPIP", "PDIP", "PTIP"),
    bones=tuple(_chain(0, 1, 6, 7, 8) + _chain(0, 2, 9, 10, 11) + _chain(0, 3, 12, 13, 14)
                + _chain(0, 4, 15, 16, 17) + _chain(0, 5, 18, 19, 20)),
    bone_colours=(THUMB,) * 4 + (INDEX,) * 4 + (MIDDLE,) * 4 + (RING,) * 4 + (LITTLE,) * 4,
    description="HANDS2017 / BigHand2.2M: wrist; thumb, index, middle, ring, little MCP; then PIP, DIP and tip "
    "of each finger in the same order (for the thumb: MCP, IP, tip).",
)

MSRA21 = Layout(
    name="msra21",
    joints=("Wrist", "I1", "I2", "I3", "I4", "M1", "M2", "M3", "M4", "R1", "R2", "R3", "R4", "L1", "L2", "L3",
            "L4", "T1", "T2", "T3", "T4"),
    bones=tuple(_chain(0, 1, 2, 3, 4) + _chain(0, 5, 6, 7, 8) + _chain(0, 9, 10, 11, 12)
                + _chain(0, 13, 14, 15, 16) + _chain(0, 17, 18, 19, 20)),
    bone_colours=(INDEX,) * 4 + (MIDDLE,) * 4 + (RING,) * 4 + (LITTLE,) * 4 + (THUMB,) * 4,
    description="MSRA15: wrist, then MCP, PIP, DIP, tip of index, middle, ring, little and thumb.",
)

# livepose's own 21-joint hand (the synthetic generator's and the shipped model's), in MediaPipe's order.
HAND21 = Layout(
    name="hand21",
    joints=("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_mcp", "index_pip", "index_dip",
            "index_tip", "middle_mcp", "middle_pip", "middle_dip", "middle_tip", "ring_mcp", "ring_pip",
            "ring_dip", "ring_tip", "little_mcp", "little_pip", "little_dip", "little_tip"),
    bones=tuple(_chain(0, 1, 2, 3, 4) + _chain(0, 5, 6, 7, 8) + _chain(0, 9, 10, 11, 12)
                + _chain(0, 13, 14, 15, 16) + _chain(0, 17, 18, 19, 20)),
    bone_colours=(THUMB,) * 4 + (INDEX,) * 4 + (MIDDLE,) * 4 + (RING,) * 4 + (LITTLE,) * 4,
    description="livepose hand: wrist; thumb CMC, MCP, IP, tip; MCP, PIP, DIP, tip of index, middle, ring, "
    "little (MediaPipe's order).",
)

ITOP15 = Layout(
    name="itop15",
    joints=("Head", "Neck", "RShoulder", "LShoulder", "RElbow", "LElbow", "RHand", "LHand", "Torso", "RHip",
            "LHip", "RKnee", "LKnee", "RFoot", "LFoot"),
    bones=((0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7), (1, 8), (8, 9), (8, 10), (9, 11), (10, 12),
           (11, 13), (12, 14)),
    bone_colours=(HEAD, RIGHT, LEFT, RIGHT, LEFT, RIGHT, LEFT, TORSO, RIGHT, LEFT, RIGHT, LEFT, RIGHT, LEFT),
    flip_pairs=((2, 3), (4, 5), (6, 7), (9, 10), (11, 12), (13, 14)),
    groups={
        "head": (0,),
        "neck": (1,),
        "shoulders": (2, 3),
        "elbows": (4, 5),
        "hands": (6, 7),
        "torso": (8,),
        "hips": (9, 10),
        "knees": (11, 12),
        "feet": (13, 14),
    },
    description="ITOP: the 15 body joints of the ITOP dataset (R/L are the person's right and left).",
)

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (NYU14, ICVL16, HANDS21, MSRA21, HAND21, ITOP15)}


def get_layout(name: str) -> Layout:
    """Return the layout called ``name`` (``nyu14``, ``icvl16``, ``hands21``, ``msra21``, ``hand21``, ``itop15``)."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise LivePoseError(f"unknown joint layout {name!r}; expected one of {', '.join(sorted(LAYOUTS))}") from None
