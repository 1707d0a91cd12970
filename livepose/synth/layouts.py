"""Converting the synthetic hand's HAND21 joints to the joint layouts of the hand datasets.

:func:`convert` maps (..., 21, 3) HAND21 joints (:data:`livepose.skeletons.HAND21`, in any frame)
to NYU14, ICVL16, HANDS21 (BigHand / HANDS2017) or MSRA21, in the joint order of
:mod:`livepose.skeletons`. Each target joint is either one HAND21 joint or a point built from
several; :data:`TARGET_POINTS` states which physical point every target joint stands for.

Derived points:

- ``palm_centre``: the mean of the wrist and the index, middle, ring and little MCPs. (On NYU's test
  labels the palm centre C lies ~66 mm from the midpoint of the two wrist points, about where this
  mean falls for an average adult hand: ~0.75 palm lengths from the wrist.)
- ``wrist_ulnar`` / ``wrist_radial``: the wrist joint moved by a half wrist width along the palm's
  across axis (the little-MCP -> index-MCP direction made perpendicular to the wrist -> middle-MCP
  direction), toward the little finger and toward the thumb. NYU's two wrist points are 29 mm apart
  (median over its test labels), W1 on the little-finger side and W2 on the thumb side; the default
  half width is :data:`WRIST_HALFWIDTH_RATIO` x the index-MCP to little-MCP distance (~14-15 mm on an
  average adult), or pass ``wrist_halfwidth_mm``.
"""

from __future__ import annotations

import torch

from livepose.skeletons import HAND21, HANDS21, ICVL16, MSRA21, NYU14, Layout

# Half the distance between NYU's two wrist points over the index-MCP to little-MCP distance: NYU's test
# labels put W1 and W2 29.3 mm apart (median); a ~58 mm MCP span gives 0.25.
WRIST_HALFWIDTH_RATIO = 0.25

_H = {name: i for i, name in enumerate(HAND21.joints)}

# For every target layout: one entry per target joint, in the target's order: a HAND21 joint name or
# one of the derived points ``palm_centre``, ``wrist_ulnar``, ``wrist_radial``.
TARGET_POINTS: dict[str, dict[str, str]] = {
    # NYU: "1" is a fingertip and "2" the PIP joint (NYU ids 0, 6, 12, 18 are fingertips and 3, 9, 15, 21
    # the B end of each finger's middle segment, i.e. its PIP); thumb T1 tip, T2 IP, T3 MCP (NYU ids 24,
    # 25, 27); W1 and W2 the wrist's little-finger and thumb sides (NYU ids 30, 31); C the palm centre.
    "nyu14": {
        "P1": "little_tip", "P2": "little_pip", "R1": "ring_tip", "R2": "ring_pip",
        "M1": "middle_tip", "M2": "middle_pip", "I1": "index_tip", "I2": "index_pip",
        "T1": "thumb_tip", "T2": "thumb_ip", "T3": "thumb_mcp",
        "W1": "wrist_ulnar", "W2": "wrist_radial", "C": "palm_centre",
    },
    # ICVL: palm centre, then root (MCP), middle (PIP; IP for the thumb) and tip of each finger; the
    # thumb's root is its MCP.
    "icvl16": {
        "Palm": "palm_centre",
        "Thumb.R": "thumb_mcp", "Thumb.M": "thumb_ip", "Thumb.T": "thumb_tip",
        "Index.R": "index_mcp", "Index.M": "index_pip", "Index.T": "index_tip",
        "Mid.R": "middle_mcp", "Mid.M": "middle_pip", "Mid.T": "middle_tip",
        "Ring.R": "ring_mcp", "Ring.M": "ring_pip", "Ring.T": "ring_tip",
        "Pinky.R": "little_mcp", "Pinky.M": "little_pip", "Pinky.T": "little_tip",
    },
    # HANDS2017 / BigHand2.2M: its thumb "MCP, PIP, DIP, TIP" are the thumb's CMC, MCP, IP and tip.
    "hands21": {
        "Wrist": "wrist",
        "TMCP": "thumb_cmc", "IMCP": "index_mcp", "MMCP": "middle_mcp", "RMCP": "ring_mcp", "PMCP": "little_mcp",
        "TPIP": "thumb_mcp", "TDIP": "thumb_ip", "TTIP": "thumb_tip",
        "IPIP": "index_pip", "IDIP": "index_dip", "ITIP": "index_tip",
        "MPIP": "middle_pip", "MDIP": "middle_dip", "MTIP": "middle_tip",
        "RPIP": "ring_pip", "RDIP": "ring_dip", "RTIP": "ring_tip",
        "PPIP": "little_pip", "PDIP": "little_dip", "PTIP": "little_tip",
    },
    # MSRA: wrist, then MCP, PIP, DIP, tip of index, middle, ring, little, and thumb CMC, MCP, IP, tip.
    "msra21": {
        "Wrist": "wrist",
        "I1": "index_mcp", "I2": "index_pip", "I3": "index_dip", "I4": "index_tip",
        "M1": "middle_mcp", "M2": "middle_pip", "M3": "middle_dip", "M4": "middle_tip",
        "R1": "ring_mcp", "R2": "ring_pip", "R3": "ring_dip", "R4": "ring_tip",
        "L1": "little_mcp", "L2": "little_pip", "L3": "little_dip", "L4": "little_tip",
        "T1": "thumb_cmc", "T2": "thumb_mcp", "T3": "thumb_ip", "T4": "thumb_tip",
    },
    "hand21": {name: name for name in HAND21.joints},
}
TARGET_LAYOUTS: dict[str, Layout] = {"nyu14": NYU14, "icvl16": ICVL16, "hands21": HANDS21, "msra21": MSRA21,
                                     "hand21": HAND21}
DERIVED = ("palm_centre", "wrist_ulnar", "wrist_radial")

for _name, _points in TARGET_POINTS.items():  # the tables must follow livepose.skeletons exactly
    assert tuple(_points) == TARGET_LAYOUTS[_name].joints, _name
    assert all(p in _H or p in DERIVED for p in _points.values()), _name


def palm_centre(joints: torch.Tensor) -> torch.Tensor:
    """(..., 3) mean of the wrist and the four finger MCPs of (..., 21, 3) HAND21 joints."""
    return joints[..., [_H["wrist"], _H["index_mcp"], _H["middle_mcp"], _H["ring_mcp"], _H["little_mcp"]], :].mean(-2)


def wrist_points(joints: torch.Tensor, wrist_halfwidth_mm: float | torch.Tensor | None = None,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The wrist's little-finger-side and thumb-side points, each (..., 3).

    Args:
        joints: (..., 21, 3) HAND21 joints (mm, any frame; works for left and right hands).
        wrist_halfwidth_mm: half the distance between the two points, a number or a tensor broadcastable
            to ``joints.shape[:-2]``; None: WRIST_HALFWIDTH_RATIO x |index MCP - little MCP|.
    """
    wrist = joints[..., _H["wrist"], :]
    along = joints[..., _H["middle_mcp"], :] - wrist
    along = along / along.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    across = joints[..., _H["index_mcp"], :] - joints[..., _H["little_mcp"], :]
    span = across.norm(dim=-1, keepdim=True)
    across = across - (across * along).sum(-1, keepdim=True) * along
    across = across / across.norm(dim=-1, keepdim=True).clamp_min(1e-6)  # toward the thumb side
    if wrist_halfwidth_mm is None:
        half = WRIST_HALFWIDTH_RATIO * span
    else:
        half = torch.as_tensor(wrist_halfwidth_mm, dtype=joints.dtype, device=joints.device)
        half = half.expand(joints.shape[:-2]).unsqueeze(-1)
    return wrist - half * across, wrist + half * across


def convert(joints: torch.Tensor, target: str, wrist_halfwidth_mm: float | torch.Tensor | None = None,
            ) -> torch.Tensor:
    """HAND21 joints to another layout.

    Args:
        joints: (..., 21, 3) HAND21 joints in mm.
        target: ``nyu14``, ``icvl16``, ``hands21``, ``msra21`` or ``hand21``.
        wrist_halfwidth_mm: for NYU's two wrist points (see :func:`wrist_points`).

    Returns:
        (..., J, 3) joints in the target layout's order (:mod:`livepose.skeletons`).
    """
    if target not in TARGET_POINTS:
        raise ValueError(f"convert: unknown target layout {target!r}; expected one of {', '.join(TARGET_POINTS)}")
    if joints.shape[-2:] != (21, 3):
        raise ValueError(f"convert: expected (..., 21, 3) HAND21 joints, got {tuple(joints.shape)}")
    points = TARGET_POINTS[target]
    derived: dict[str, torch.Tensor] = {}
    if "palm_centre" in points.values():
        derived["palm_centre"] = palm_centre(joints)
    if "wrist_ulnar" in points.values() or "wrist_radial" in points.values():
        derived["wrist_ulnar"], derived["wrist_radial"] = wrist_points(joints, wrist_halfwidth_mm)
    if not derived:
        return joints[..., [_H[p] for p in points.values()], :]
    return torch.stack([derived[p] if p in derived else joints[..., _H[p], :] for p in points.values()], dim=-2)
