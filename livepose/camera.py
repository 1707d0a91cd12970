"""Pinhole intrinsics and the projections between image and camera frames.

livepose's camera frame: x right, y down, z forward, millimetres. Image
coordinates are (u, v) = (column, row) in pixels with the origin at the centre
of the top-left pixel, and d is the depth along z in millimetres.

Datasets that publish a y-up convention (NYU's negative fy, ITOP's
``y = (120 - v) * z * 0.0035``) are converted where they are read; see
:mod:`livepose.calibration`. Every function here is pure and thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livepose.errors import LivePoseError


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera with a depth unit.

    Attributes:
        fx, fy: focal lengths in pixels, both positive (y points down).
        cx, cy: principal point in pixels.
        width, height: image size in pixels.
        depth_unit_mm: millimetres per raw depth count (1.0 for most cameras,
            0.125 for an SR305, 1000.0 for depth stored in metres).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    depth_unit_mm: float = 1.0

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "depth_unit_mm"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise LivePoseError(f"intrinsics: {name} = {value!r}, expected a positive finite number "
                                    "(livepose's camera frame has y pointing down, so fy > 0)")
        for name in ("cx", "cy"):
            if not np.isfinite(getattr(self, name)):
                raise LivePoseError(f"intrinsics: {name} = {getattr(self, name)!r}, expected a finite number")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise LivePoseError(f"intrinsics: image size {self.width}x{self.height}, expected positive integers")

    def uvd_to_xyz(self, uvd: np.ndarray) -> np.ndarray:
        """Back-project image points to the camera frame.

        Args:
            uvd: (..., 3) array of u (column px), v (row px), d (depth, mm).

        Returns:
            (..., 3) float64 array of x, y, z in millimetres (y down).
        """
        uvd = np.asarray(uvd, dtype=np.float64)
        xyz = np.empty_like(uvd)
        xyz[..., 0] = (uvd[..., 0] - self.cx) * uvd[..., 2] / self.fx
        xyz[..., 1] = (uvd[..., 1] - self.cy) * uvd[..., 2] / self.fy
        xyz[..., 2] = uvd[..., 2]
        return xyz

    def xyz_to_uvd(self, xyz: np.ndarray) -> np.ndarray:
        """Project camera-frame points (..., 3) in mm to (..., 3) u, v (px) and d (mm)."""
        xyz = np.asarray(xyz, dtype=np.float64)
        uvd = np.empty_like(xyz)
        uvd[..., 0] = xyz[..., 0] * self.fx / xyz[..., 2] + self.cx
        uvd[..., 1] = xyz[..., 1] * self.fy / xyz[..., 2] + self.cy
        uvd[..., 2] = xyz[..., 2]
        return uvd

    def to_dict(self) -> dict[str, float]:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy, "width": int(self.width),
                "height": int(self.height), "depth_unit_mm": self.depth_unit_mm}

    @classmethod
    def from_dict(cls, values: dict, source: str = "intrinsics") -> Intrinsics:
        """Build from a mapping with fx, fy, cx, cy, width, height and optional depth_unit_mm.

        ``source`` names the file or value in error messages.
        """
        if not isinstance(values, dict):
            raise LivePoseError(f"{source}: expected an object with fx, fy, cx, cy, width, height")
        missing = [k for k in ("fx", "fy", "cx", "cy", "width", "height") if k not in values]
        if missing:
            raise LivePoseError(f"{source}: missing {', '.join(missing)} (expected fx, fy, cx, cy, width, height)")
        try:
            return cls(fx=float(values["fx"]), fy=float(values["fy"]), cx=float(values["cx"]),
                       cy=float(values["cy"]), width=int(values["width"]), height=int(values["height"]),
                       depth_unit_mm=float(values.get("depth_unit_mm", 1.0)))
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: 1e400, Infinity as a size
            raise LivePoseError(f"{source}: camera values must be numbers ({exc})") from None
        except LivePoseError as exc:
            raise LivePoseError(f"{source}: {exc}") from None
