"""Sphere sets: the shape representation shared by the synthetic hand and body models.

A body part is a union of spheres. A *bone* is a dense chain of spheres whose
centres are evenly spaced along a segment and whose radii interpolate linearly
from one end to the other; when consecutive spheres overlap well (spacing at
most half the smaller radius) the union is indistinguishable, at depth-camera
resolution, from a tapered capsule. Everything is batched torch in
millimetres; the number of spheres is the same for every sample of a batch so
that sets stack into plain tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SphereSet:
    """A batch of sphere unions.

    Attributes:
        centres: (B, S, 3) sphere centres in mm, in the frame of the model that made them (the hand or
            body frame) until :meth:`transformed` moves them, typically into the camera frame.
        radii: (B, S) radii in mm, > 0 for a real sphere (a radius of 0 marks an absent sphere).
        parts: (S,) int64 part id of each sphere, the same for every sample of the batch (the models
            document their ids, e.g. :data:`livepose.synth.hand.PART_NAMES`).
    """

    centres: torch.Tensor
    radii: torch.Tensor
    parts: torch.Tensor

    def __post_init__(self) -> None:
        if self.centres.ndim != 3 or self.centres.shape[-1] != 3:
            raise ValueError(f"SphereSet: centres must be (B, S, 3), got {tuple(self.centres.shape)}")
        if self.radii.shape != self.centres.shape[:2]:
            raise ValueError(f"SphereSet: radii must be (B, S) = {tuple(self.centres.shape[:2])}, "
                             f"got {tuple(self.radii.shape)}")
        if self.parts.shape != (self.centres.shape[1],):
            raise ValueError(f"SphereSet: parts must be (S,) = ({self.centres.shape[1]},), "
                             f"got {tuple(self.parts.shape)}")

    @property
    def batch_size(self) -> int:
        return self.centres.shape[0]

    @property
    def num_spheres(self) -> int:
        return self.centres.shape[1]

    def transformed(self, rotation: torch.Tensor, translation: torch.Tensor) -> SphereSet:
        """The same spheres moved rigidly: ``x' = R x + t`` for every centre; radii and parts unchanged.

        Args:
            rotation: (B, 3, 3) rotation matrices.
            translation: (B, 3) translations in mm.
        """
        centres = self.centres @ rotation.transpose(1, 2) + translation[:, None, :]
        return SphereSet(centres=centres, radii=self.radii, parts=self.parts)

    def concat(self, other: SphereSet) -> SphereSet:
        """The union of two sets of the same batch size: ``self``'s spheres first, then ``other``'s."""
        if other.centres.shape[0] != self.centres.shape[0]:
            raise ValueError(f"SphereSet.concat: batch sizes differ ({self.centres.shape[0]} and "
                             f"{other.centres.shape[0]})")
        return SphereSet(centres=torch.cat((self.centres, other.centres), dim=1),
                         radii=torch.cat((self.radii, other.radii), dim=1),
                         parts=torch.cat((self.parts, other.parts.to(self.parts.device)), dim=0))

    def to(self, device: torch.device | str) -> SphereSet:
        return SphereSet(centres=self.centres.to(device), radii=self.radii.to(device), parts=self.parts.to(device))


def bone_spheres(start: torch.Tensor, end: torch.Tensor, r_start: torch.Tensor, r_end: torch.Tensor,
                 count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A tapered capsule as a chain of ``count`` spheres.

    Centres are evenly spaced from ``start`` to ``end`` (both ends included) and radii go linearly
    from ``r_start`` to ``r_end``.

    Args:
        start, end: (B, 3) segment ends in mm.
        r_start, r_end: (B,) radii at the two ends in mm.
        count: number of spheres (>= 2); see :func:`chain_count` to choose it.

    Returns:
        centres (B, count, 3) in mm and radii (B, count) in mm.
    """
    if count < 2:
        raise ValueError(f"bone_spheres: count must be at least 2, got {count}")
    t = torch.linspace(0.0, 1.0, count, device=start.device, dtype=start.dtype)
    centres = start[:, None, :] + (end - start)[:, None, :] * t[None, :, None]
    radii = r_start[:, None] + (r_end - r_start)[:, None] * t[None, :]
    return centres, radii


SPHERE_SPACING = 0.8
"""Default largest gap between consecutive sphere centres, as a fraction of the smaller radius. At 0.8 the
surface ripple along a chain is about 8 % of the radius (under 1 mm on a finger, below sensor noise) and a
hand needs about 40 % fewer spheres than at 0.5, which is what rendering time follows."""


def chain_count(max_length_over_radius: float, spacing: float = SPHERE_SPACING) -> int:
    """Spheres needed on a bone so that consecutive centres are at most ``spacing`` x the smaller radius apart.

    Args:
        max_length_over_radius: the largest ratio (bone length / smaller end radius) the model can produce
            for this bone type over all the shapes it samples.
        spacing: the allowed spacing as a fraction of the smaller radius (0.5 keeps the surface ripple
            below about 3% of the radius, 0.8 below about 8%).
    """
    return max(2, math.ceil(max_length_over_radius / spacing - 1e-9) + 1)


def rotation_x(angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations by ``angle`` (..., radians) about x (right-handed)."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([one, zero, zero, zero, c, -s, zero, s, c], dim=-1).view(*angle.shape, 3, 3)


def rotation_y(angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations by ``angle`` (..., radians) about y."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([c, zero, s, zero, one, zero, -s, zero, c], dim=-1).view(*angle.shape, 3, 3)


def rotation_z(angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations by ``angle`` (..., radians) about z."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([c, -s, zero, s, c, zero, zero, zero, one], dim=-1).view(*angle.shape, 3, 3)
