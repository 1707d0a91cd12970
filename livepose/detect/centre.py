"""Finding the hand (or the body) in a depth frame before the network sees it.

Hands (:class:`HandCentreDetector`) follow the standard hand-benchmark assumption: the hand is the
nearest object to the camera. :meth:`HandCentreDetector.detect` works in four steps:

1. **Search at low resolution.** The frame is reduced to ``downsample`` x ``downsample`` blocks
   (160x120 for a 640x480 frame), each the mean of its readings within ``[min_depth_mm,
   max_depth_mm]`` (which fills isolated missing pixels and averages out noise). Samples that lie
   more than a depth jump behind a neighbour (the far side of an edge, where flying pixels sit) are
   dropped, the rest is split into connected surfaces, and surfaces smaller than ``speck_area_mm2``
   (measured in mm^2 at their own depth through the intrinsics) are discarded as noise.
2. **Nearest region.** The nearest surface depth is taken robustly (the ``near_rank``-th nearest
   remaining reading, so a few stray pixels cannot set it). The candidate region is the connected set
   of readings within ``hand_depth_extent_mm`` behind it that contains that nearest point.
3. **Forearm trimming.** Where the region reaches the image border or the back of the depth slice
   (a forearm entering the picture or receding towards the body), geodesic distances (3D path
   lengths inside the region) are measured from those places and only the part within
   ``hand_length_mm`` of the farthest extremity is kept: the hand, not the arm. A free-floating
   region longer than that (background removed, arm cut off by depth) is rooted at its end
   farthest from the nearest point.
4. **3D refinement.** The centre is the mean-shift mode of the kept points with a sphere of
   ``centre_radius_mm``, first at low resolution, then at full resolution in a window around it.
   By default this is the centre of the hand's visible surface, between palm and fingers, the
   convention of the published NYU centres; ``palm_weight_power`` moves it onto the palm.

A candidate is accepted as a hand when it has at least ``min_hand_area_mm2`` of surface, stands free
(at least ``min_isolation`` of its outline borders missing readings or a depth jump, rather than
continuing into a larger surface or off the image: a torso, a shoulder or a desk edge cut out by
the depth slice does not) and does not fill more than ``max_fill`` of a disc of ``fill_radius_mm``
around its centre (a wall does). Otherwise the candidate is set aside and the next-nearest one is
tried, up to ``max_candidates``; when none passes, the result says why.

:meth:`HandCentreDetector.track` re-centres on the hand from the previous frame's joints (their
mean is the seed) with the same 3D refinement, and reports ``reason="lost"`` when the seed no
longer sits on a hand, so the caller can fall back to :meth:`~HandCentreDetector.detect`.

Bodies (:class:`BodyBoxDetector`): the largest person-sized foreground surface between 1 and 5 m,
after removing horizontal surfaces (floor) and separating surfaces at depth jumps (a back wall), grown
over its depth band and then boxed at full resolution down to the floor under standing feet.

Conventions: depth images are (H, W) float32 millimetres with 0 for "no reading"; image points are
(u, v, d) = (column px, row px, depth mm); camera points are (x, y, z) mm with x right, y down,
z forward (see :mod:`livepose.camera`). Detectors hold only their immutable settings, so one
instance may be shared by several threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError

logger = logging.getLogger(__name__)

_FAR = np.float32(1e7)  # stands in for "no reading" where a minimum over neighbours is taken
_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # half of the 8-neighbourhood (edges are undirected)


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CentreDetection:
    """Where the hand is in one frame, or why it was not found.

    Attributes:
        found: True when a hand was found.
        uvd: (3,) float64 centre: u, v in image pixels, d in millimetres. NaN when not found.
        xyz_mm: (3,) float64 centre in the camera frame (mm, x right, y down, z forward). NaN when
            not found.
        pixels: full-resolution depth pixels that make up the hand around the centre (0 when not found).
        reason: empty when found; otherwise a short human-readable explanation (``"lost"`` from
            :meth:`HandCentreDetector.track` when the previous hand is gone).
        method: ``"detect"`` or ``"track"``: which call produced it.
    """

    found: bool
    uvd: np.ndarray
    xyz_mm: np.ndarray
    pixels: int = 0
    reason: str = ""
    method: str = "detect"

    @classmethod
    def not_found(cls, reason: str, method: str = "detect") -> CentreDetection:
        """A result saying no hand was found, and why."""
        nan = np.full(3, np.nan)
        return cls(found=False, uvd=nan, xyz_mm=nan.copy(), pixels=0, reason=reason, method=method)


@dataclass(frozen=True)
class BodyDetection:
    """The foreground person in one frame, or why none was found.

    Attributes:
        found: True when a person-sized foreground region was found.
        box: (x_min, y_min, x_max, y_max) in full-resolution image pixels (inclusive bounds of the
            region's pixels), or None when not found.
        centre_uvd: (3,) float64: the box centre u, v (px) and the region's median depth (mm); NaN
            when not found.
        height_mm, width_mm: the region's extent in millimetres (vertical and horizontal image
            directions, at its median depth); 0 when not found.
        pixels: full-resolution pixels the region covers (counted at full resolution; estimated from
            the low-resolution search when the refinement fell back to it).
        reason: empty when found, otherwise why not.
    """

    found: bool
    box: tuple[float, float, float, float] | None
    centre_uvd: np.ndarray
    height_mm: float = 0.0
    width_mm: float = 0.0
    pixels: int = 0
    reason: str = ""

    @property
    def uvd(self) -> np.ndarray:
        """(3,) the box centre u, v (px) and depth (mm): the name the engine reads for every detection."""
        return self.centre_uvd


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class HandDetectorSettings:
    """Parameters of :class:`HandCentreDetector` (defaults suit Kinect / RealSense hand data).

    Attributes:
        min_depth_mm, max_depth_mm: readings outside this range are ignored (150 mm .. 2 m).
        downsample: search resolution divisor (4: a 640x480 frame is searched as 160x120 blocks).
        depth_jump_mm, depth_jump_fraction: neighbouring low-resolution readings further apart in
            depth than ``depth_jump_mm + depth_jump_fraction * depth`` belong to different surfaces
            (20 mm + 3 %: 38 mm at 60 cm).
        speck_area_mm2: surfaces smaller than this (500 mm^2, about 2x2.5 cm) are noise.
        near_rank: the nearest surface depth is the ``near_rank``-th nearest low-resolution reading
            (0-based; 4 ignores the 4 nearest) rather than the single minimum.
        hand_depth_extent_mm: depth of the slice behind the nearest surface that can hold the hand
            (150 mm, the A2J / V2V crop depth).
        hand_length_mm: geodesic length kept from the hand's extremity when a forearm reaches the
            image border or the back of the slice, or a free-floating region is longer than this
            (225 mm: fingertip to wrist, about 190 mm, plus a little forearm).
        back_margin_mm: readings within this of the back of the slice count as "receding" (25 mm).
        centre_radius_mm: radius of the mean-shift sphere (100 mm).
        palm_weight_power: 0 (default) gives the centre of the hand's visible surface, the
            convention of the published NYU / HANDS2017 centres that A2J crops around. Above 0,
            points are weighted by (distance to the region's outline)^power, which pulls the
            centre from between palm and fingers onto the palm (1 puts it near NYU's palm joint).
        mean_shift_iterations: at most this many mean-shift steps at low resolution (10); a further
            ``refine_iterations`` (3) at full resolution.
        converged_mm: mean-shift stops when the centre moves less than this (0.5 mm).
        min_hand_area_mm2: a hand shows at least this much surface (6000 mm^2; with the kept bit of
            forearm, an open hand shows 11 000 - 21 000 and a hand seen edge-on about 9500 on the
            reference frames; pieces of objects at the image edge showed about 5500).
        min_isolation: at least this fraction (0.9) of the candidate's outline must be free (against
            missing readings or a depth jump) rather than continuing into a larger surface or off
            the image; hands held up score 1.0 on the reference frames, a torso, shoulder or arm
            cut out by the depth slice 0.55 - 0.65, an object cut by the image edge about 0.88.
        fill_radius_mm, max_fill: a candidate whose near surface covers more than ``max_fill`` (0.6)
            of the in-image part of a disc of ``fill_radius_mm`` (130 mm) around its centre is a
            wall, a table, a torso or a resting forearm, not a hand (hands: 0.2 - 0.45).
        max_candidates: candidates tried in order of depth before giving up (3).
        track_radius_mm: :meth:`HandCentreDetector.track` looks for the hand within this distance
            of the previous joints' mean (150 mm).
        track_stride: pixel stride used by ``track`` and the full-resolution refinement (2).
    """

    min_depth_mm: float = 150.0
    max_depth_mm: float = 2000.0
    downsample: int = 4
    depth_jump_mm: float = 20.0
    depth_jump_fraction: float = 0.03
    speck_area_mm2: float = 500.0
    near_rank: int = 4
    hand_depth_extent_mm: float = 150.0
    hand_length_mm: float = 225.0
    back_margin_mm: float = 25.0
    centre_radius_mm: float = 100.0
    palm_weight_power: float = 0.0
    mean_shift_iterations: int = 10
    refine_iterations: int = 3
    converged_mm: float = 0.5
    min_hand_area_mm2: float = 6000.0
    fill_radius_mm: float = 130.0
    max_fill: float = 0.6
    min_isolation: float = 0.9
    max_candidates: int = 3
    track_radius_mm: float = 150.0
    track_stride: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.min_depth_mm < self.max_depth_mm:
            raise LivePoseError(f"hand detector depth range {self.min_depth_mm}..{self.max_depth_mm} mm: "
                                "expected 0 < min_depth_mm < max_depth_mm")
        for name in ("downsample", "track_stride", "mean_shift_iterations", "max_candidates"):
            if int(getattr(self, name)) < 1:
                raise LivePoseError(f"hand detector {name} = {getattr(self, name)!r}: expected an integer >= 1")
        for name in ("hand_depth_extent_mm", "hand_length_mm", "centre_radius_mm", "min_hand_area_mm2",
                     "fill_radius_mm", "track_radius_mm", "converged_mm"):
            if not getattr(self, name) > 0:
                raise LivePoseError(f"hand detector {name} = {getattr(self, name)!r}: expected a positive number")
        if not 0 < self.max_fill <= 1:
            raise LivePoseError(f"hand detector max_fill = {self.max_fill!r}: expected a fraction in (0, 1]")
        if not 0 <= self.min_isolation <= 1:
            raise LivePoseError(f"hand detector min_isolation = {self.min_isolation!r}: expected a fraction in [0, 1]")
        for name in ("near_rank", "refine_iterations", "palm_weight_power", "speck_area_mm2", "back_margin_mm"):
            if not getattr(self, name) >= 0:
                raise LivePoseError(f"hand detector {name} = {getattr(self, name)!r}: expected a number >= 0")


@dataclass(frozen=True)
class BodyDetectorSettings:
    """Parameters of :class:`BodyBoxDetector`.

    Attributes:
        min_depth_mm, max_depth_mm: where a person may stand (1 .. 5 m).
        downsample: search resolution divisor (4).
        depth_jump_mm, depth_jump_fraction: neighbours further apart in depth than
            ``depth_jump_mm + depth_jump_fraction * depth`` are different surfaces (30 mm + 4 %).
        up: camera-frame "up" direction (y points down, so (0, -1, 0) for a level camera).
        floor_cos: surfaces whose normal is within acos(floor_cos) of ``up`` (0.85: about 32
            degrees) are floor (or ceiling, table tops) and removed.
        floor_margin_mm: the floor plane (fitted to the most common height of those surfaces) is
            removed with everything within this distance of it (40 mm), shoe soles included.
        min_height_mm, max_height_mm, min_width_mm, max_width_mm: person-sized extent
            (0.5 .. 2.3 m tall, 0.1 .. 1.5 m wide: a person seen side-on at 4 m is ~0.12 m).
        min_area_mm2, max_area_mm2: person-sized surface (0.08 .. 2.0 m^2).
        grow_front_mm, grow_back_mm, grow_margin_mm: the chosen surface is grown over the non-floor
            readings connected to it between ``grow_front_mm`` in front of and ``grow_back_mm`` behind
            its median depth, up to ``grow_margin_mm`` beyond its extent on each side, so limbs that
            sensor noise or self-occlusion cut off from the torso stay in the box (700, 350, 600 mm).
        grow_back_near_wall_mm, grow_max_ratio: when the region grown with ``grow_back_mm`` is too large to be
            a person, or holds more than ``grow_max_ratio`` times the samples of the surface it grew from (it
            ran into a wall close behind), it is grown again with this band behind (150 mm, 3).
        grow_bridge_mm: vertical gaps in the readings up to this tall (at the surface's depth) do not cut the
            grown region (250 mm: a sensor hole or dropout band across the hips must not leave the legs or the
            torso alone in the box); never fewer than two grid samples.
        occluder_mm, max_occluded_fraction: a grown region with more than ``max_occluded_fraction`` of the
            samples around it over ``occluder_mm`` nearer than its median depth has something in front of it
            (a strip of wall seen beside the person): it is chosen only when no other surface passes (300 mm,
            0.3; people score under 0.1 in the held-out splits, wall strips over 0.3).
        max_seeds: surfaces grown and size-checked per frame, at most (8).
        box_pad_mm: the full-resolution box is padded by this much on each side (25 mm), as the sensor
            erodes a silhouette's outermost pixels (edge dropouts, thin hands at 4 m); it then matches
            the true silhouette box the body models are trained on (median edge error about 0).
    """

    min_depth_mm: float = 1000.0
    max_depth_mm: float = 5000.0
    downsample: int = 4
    depth_jump_mm: float = 30.0
    depth_jump_fraction: float = 0.04
    up: tuple[float, float, float] = (0.0, -1.0, 0.0)
    floor_cos: float = 0.85
    floor_margin_mm: float = 40.0
    min_height_mm: float = 500.0
    max_height_mm: float = 2300.0
    min_width_mm: float = 100.0
    max_width_mm: float = 1500.0
    min_area_mm2: float = 80_000.0
    max_area_mm2: float = 2_000_000.0
    grow_front_mm: float = 700.0
    grow_back_mm: float = 350.0
    grow_margin_mm: float = 600.0
    grow_back_near_wall_mm: float = 150.0
    grow_max_ratio: float = 3.0
    occluder_mm: float = 300.0
    max_occluded_fraction: float = 0.3
    grow_bridge_mm: float = 250.0
    max_seeds: int = 8
    box_pad_mm: float = 25.0

    def __post_init__(self) -> None:
        if not 0 < self.min_depth_mm < self.max_depth_mm:
            raise LivePoseError(f"body detector depth range {self.min_depth_mm}..{self.max_depth_mm} mm: "
                                "expected 0 < min_depth_mm < max_depth_mm")
        if int(self.downsample) < 1:
            raise LivePoseError(f"body detector downsample = {self.downsample!r}: expected an integer >= 1")
        if not np.linalg.norm(np.asarray(self.up, dtype=float)) > 0:
            raise LivePoseError(f"body detector up = {self.up!r}: expected a non-zero 3-vector")


# ------------------------------------------------------------------------------------------------ helpers


def _check_frame(depth_mm: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """(H, W) float32 depth with non-finite values set to 0, checked against the intrinsics."""
    depth = np.asarray(depth_mm)
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[:, :, 0]
    if depth.ndim != 2:
        raise LivePoseError(f"depth frame of shape {depth.shape}: expected a 2D (H, W) image in millimetres")
    if not np.issubdtype(depth.dtype, np.number) or np.issubdtype(depth.dtype, np.complexfloating):
        raise LivePoseError(f"depth frame of dtype {depth.dtype}: expected integer or float depths in millimetres")
    if depth.shape != (int(intrinsics.height), int(intrinsics.width)):
        raise LivePoseError(f"depth frame is {depth.shape[1]}x{depth.shape[0]} but the intrinsics are for "
                            f"{intrinsics.width}x{intrinsics.height}: expected matching sizes")
    depth = depth.astype(np.float32, copy=False)
    if not np.isfinite(depth.sum(dtype=np.float64)):  # one pass; NaN / inf anywhere make the sum non-finite
        depth = np.where(np.isfinite(depth), depth, np.float32(0))
    return depth


@dataclass(frozen=True)
class _Grid:
    """A reduced view of a frame: sample (i, j) sits at full-resolution (v, u) = (rows[i], cols[j])
    and stands for the step x step pixels starting at (step * i, step * j) (block grids) or around it."""

    z: np.ndarray  # (h, w) float32 mm, 0 where there is no usable reading
    rows: np.ndarray  # (h,) full-resolution row of each sample (fractional for block grids)
    cols: np.ndarray  # (w,) full-resolution column of each sample
    xn: np.ndarray  # (w,) (u - cx) / fx
    yn: np.ndarray  # (h,) (v - cy) / fy
    step: int
    area_scale: float  # mm^2 per sample = z^2 * area_scale

    @classmethod
    def _make(cls, z: np.ndarray, rows: np.ndarray, cols: np.ndarray, intrinsics: Intrinsics, step: int) -> _Grid:
        return cls(z=z, rows=rows, cols=cols, xn=(cols - intrinsics.cx) / intrinsics.fx,
                   yn=(rows - intrinsics.cy) / intrinsics.fy, step=step,
                   area_scale=step * step / (intrinsics.fx * intrinsics.fy))

    @classmethod
    def blocks(cls, depth: np.ndarray, intrinsics: Intrinsics, step: int, min_depth: float, max_depth: float,
               min_coverage: float = 0.25) -> _Grid:
        """The whole frame in step x step blocks: each sample is the mean of its block's readings in
        [min_depth, max_depth], or 0 when fewer than ``min_coverage`` of the block has one. Averaging
        (rather than picking one pixel) fills isolated missing pixels and divides the noise by ``step``."""
        h, w = depth.shape[0] // step, depth.shape[1] // step
        depth = depth[:h * step, :w * step]
        # OpenCV thresholds are several times faster than the numpy equivalents on a full frame.
        _, kept = cv2.threshold(depth, float(max_depth), 0, cv2.THRESH_TOZERO_INV)  # > max -> 0
        _, kept = cv2.threshold(kept, float(np.nextafter(np.float32(min_depth), np.float32(0))), 0,
                                cv2.THRESH_TOZERO)  # < min -> 0
        _, in_range = cv2.threshold(kept, 0, 1, cv2.THRESH_BINARY)
        total = cv2.resize(kept, (w, h), interpolation=cv2.INTER_AREA)
        coverage = cv2.resize(in_range, (w, h), interpolation=cv2.INTER_AREA)
        z = np.where(coverage >= min_coverage, total / np.maximum(coverage, np.float32(1e-6)), np.float32(0))
        rows = np.arange(h) * step + (step - 1) / 2.0
        cols = np.arange(w) * step + (step - 1) / 2.0
        return cls._make(z.astype(np.float32, copy=False), rows, cols, intrinsics, step)

    @classmethod
    def sample(cls, depth: np.ndarray, intrinsics: Intrinsics, step: int, min_depth: float,
               max_depth: float, window: tuple[int, int, int, int]) -> _Grid:
        """Every ``step``-th pixel of ``window`` = (x0, y0, x1, y1); readings outside the range are 0."""
        x0, y0, x1, y1 = window
        z = depth[y0:y1:step, x0:x1:step].astype(np.float32)  # a copy
        z[(z < min_depth) | (z > max_depth)] = 0
        rows = np.arange(y0, y1, step)[:z.shape[0]].astype(np.float64)
        cols = np.arange(x0, x1, step)[:z.shape[1]].astype(np.float64)
        return cls._make(z, rows, cols, intrinsics, step)

    def points(self, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
        """(N, 3) float64 camera-frame points of samples (ii, jj)."""
        zz = self.z[ii, jj].astype(np.float64)
        return np.stack([self.xn[jj] * zz, self.yn[ii] * zz, zz], axis=1)


def _split_surfaces(z: np.ndarray, jump_mm: float, jump_fraction: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Label the smooth surfaces of a depth grid.

    A reading more than ``jump_mm + jump_fraction * z`` behind any of its 8 neighbours is the far
    side of a depth edge (where flying pixels live) and is left out, so surfaces on either side of
    an edge fall apart. Returns (valid-and-not-edge mask, int32 labels with 0 = none, label count).
    """
    valid = z > 0
    nearest_neighbour = cv2.erode(np.where(valid, z, _FAR), np.ones((3, 3), np.uint8),
                                  borderType=cv2.BORDER_REPLICATE)
    surface = valid & (z - nearest_neighbour <= jump_mm + jump_fraction * z)
    count, labels = cv2.connectedComponents(surface.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return surface, labels, count


def _mean_shift(points: np.ndarray, start: np.ndarray, radius: float, iterations: int, converged: float,
                weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flat-kernel mean shift: move to the (weighted) mean of the points within ``radius`` until it
    settles. ``points`` is (N, 3), ``weights`` (N,) non-negative or None for equal weights.

    Returns the (3,) centre and the boolean mask of points within the radius of it.
    """
    centre = np.asarray(start, dtype=np.float64)
    r2 = radius * radius
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2: one matrix-vector product per step instead of an (N, 3) temporary.
    norms = np.einsum("ij,ij->i", points, points)

    def within(c: np.ndarray) -> np.ndarray:
        return norms - 2.0 * (points @ c) <= r2 - float(c @ c)

    inside = within(centre)
    for _ in range(iterations):
        mass = inside.astype(np.float64) if weights is None else np.where(inside, weights, 0.0)
        total = float(mass.sum())
        if total <= 0:
            break
        new = (mass @ points) / total
        moved = float(np.linalg.norm(new - centre))
        centre = new
        inside = within(centre)
        if moved < converged:
            break
    return centre, inside


def _isolation(z: np.ndarray, surface: np.ndarray, hand: np.ndarray, region: np.ndarray, jump_mm: float,
               jump_fraction: float, image_edges: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> float:
    """How free-standing a hand candidate is.

    Looks at the boundary samples of ``hand`` (a subset of ``region``; the rest of the region is the
    trimmed-off forearm). A boundary sample is *attached* when an outside neighbour lies off the
    image or is a ``surface`` sample (a reading not on the far side of a depth edge) that continues
    it smoothly; it is *free* when it is not attached and some outside neighbour is a missing
    reading, an edge sample or a reading more than a depth jump behind it. Samples that only touch
    the trimmed forearm are not counted. Returns free / (free + attached): a hand held up in front
    of the body scores near 1; a patch cut out of a larger surface by the depth slice (a torso, a
    wall, a desk edge) scores low.

    The arrays may be a window of the grid; ``image_edges`` says which of its top, left, bottom and
    right edges are the image's (beyond the others, ``hand`` must have no samples).
    """
    h, w = z.shape
    hand_p = np.pad(hand, 1, constant_values=False)
    trimmed_p = np.pad(region & ~hand, 1, constant_values=False)
    z_p = np.pad(z, 1, constant_values=0)
    surface_p = np.pad(surface, 1, constant_values=False)
    inside_p = np.pad(np.ones_like(hand), 1, constant_values=True)
    top, left, bottom, right = image_edges
    inside_p[0, :] = not top
    inside_p[:, 0] = not left
    inside_p[-1, :] = not bottom
    inside_p[:, -1] = not right
    jump = jump_mm + jump_fraction * z
    has_free = np.zeros_like(hand)
    attached = np.zeros_like(hand)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            sl = (slice(1 + di, h + 1 + di), slice(1 + dj, w + 1 + dj))
            outside = ~hand_p[sl] & ~trimmed_p[sl]
            z_n = z_p[sl]
            free = inside_p[sl] & (~surface_p[sl] | (z_n > z + jump))
            has_free |= outside & free
            attached |= outside & ~free
    attached &= hand
    free_samples = int((has_free & hand & ~attached).sum())
    total = free_samples + int(attached.sum())
    return free_samples / total if total else 0.0


def _project(intrinsics: Intrinsics, xyz: np.ndarray) -> np.ndarray:
    return intrinsics.xyz_to_uvd(np.asarray(xyz, dtype=np.float64))


def _near_fill(depth: np.ndarray, intrinsics: Intrinsics, centre_xyz: np.ndarray, radius_mm: float,
               z_back: float, min_depth: float, step: int) -> float:
    """Fraction of the in-image part of a disc (radius_mm lateral, at the centre's depth) covered by
    readings between ``min_depth`` and ``z_back`` mm, sampled every ``step`` pixels."""
    u0, v0, z0 = _project(intrinsics, centre_xyz)
    rx, ry = radius_mm * intrinsics.fx / z0, radius_mm * intrinsics.fy / z0
    height, width = depth.shape
    us = np.arange(max(0, int(np.ceil(u0 - rx))), min(width, int(np.floor(u0 + rx)) + 1), step)
    vs = np.arange(max(0, int(np.ceil(v0 - ry))), min(height, int(np.floor(v0 + ry)) + 1), step)
    if us.size == 0 or vs.size == 0:
        return 0.0
    disc = (((us[None, :] - u0) / rx) ** 2 + ((vs[:, None] - v0) / ry) ** 2) <= 1.0
    patch = depth[vs[0]:vs[-1] + 1:step, us[0]:us[-1] + 1:step]
    near = (patch >= min_depth) & (patch <= z_back)
    total = int(disc.sum())
    return float((near & disc).sum()) / total if total else 0.0


# ------------------------------------------------------------------------------------------------- hands


class HandCentreDetector:
    """Finds the hand's centre in a depth frame (nearest hand-sized region, refined in 3D).

    Stateless apart from its immutable settings: ``detect`` and ``track`` may be called from several
    threads at once. Cost on one CPU core for a 640x480 frame: ``detect`` about 3-5 ms (more when
    several candidates must be examined), ``track`` about 1-2 ms.
    """

    def __init__(self, settings: HandDetectorSettings | None = None) -> None:
        self._settings = settings if settings is not None else HandDetectorSettings()

    @property
    def settings(self) -> HandDetectorSettings:
        return self._settings

    # ------------------------------------------------------------------------------------- detect

    def detect(self, depth_mm: np.ndarray, intrinsics: Intrinsics) -> CentreDetection:
        """Find the hand as the nearest hand-sized region and return its centre.

        Args:
            depth_mm: (H, W) depth in millimetres (float32 preferred; any real dtype), 0 or
                non-finite where there is no reading. Not modified.
            intrinsics: the camera (H, W must match the frame; fy > 0, y down).

        Returns:
            A :class:`CentreDetection`; ``found`` is False (with ``reason``) when nothing hand-like
            is in range.
        """
        cfg = self._settings
        depth = _check_frame(depth_mm, intrinsics)
        grid = _Grid.blocks(depth, intrinsics, int(cfg.downsample), cfg.min_depth_mm, cfg.max_depth_mm)
        if not (grid.z > 0).any():
            return CentreDetection.not_found(
                f"no depth readings between {cfg.min_depth_mm:g} and {cfg.max_depth_mm:g} mm")

        surface, labels, count = _split_surfaces(grid.z, cfg.depth_jump_mm, cfg.depth_jump_fraction)
        area = np.bincount(labels.ravel(), weights=(grid.z.astype(np.float64) ** 2 * grid.area_scale).ravel(),
                           minlength=count)
        big_enough = area >= cfg.speck_area_mm2
        big_enough[0] = False
        usable = big_enough[labels]
        if not usable.any():
            return CentreDetection.not_found(
                f"only specks in range (no surface of {cfg.speck_area_mm2:g} mm^2 or more)")

        reasons: list[str] = []
        for _ in range(int(cfg.max_candidates)):
            if not usable.any():
                break
            result, region = self._try_candidate(depth, intrinsics, grid, surface, usable)
            if result.found:
                return result
            reasons.append(result.reason)
            # Set this candidate aside and try the next-nearest one. (Only the slice region: an arm
            # can merge smoothly into the torso further back, so whole surfaces may hold the hand.)
            usable &= ~region
        reason = "no hand-like region: " + "; ".join(reasons) if reasons else "no hand-like region in range"
        logger.debug("hand detect: %s", reason)
        return CentreDetection.not_found(reason)

    def _try_candidate(self, depth: np.ndarray, intrinsics: Intrinsics, grid: _Grid, surface: np.ndarray,
                       usable: np.ndarray) -> tuple[CentreDetection, np.ndarray]:
        """Examine the nearest usable region. Returns the result and the region's low-res mask."""
        cfg = self._settings
        z = grid.z
        flat = np.where(usable, z, np.inf).ravel()
        rank = min(int(cfg.near_rank), int(usable.sum()) - 1)
        seed = int(np.argpartition(flat, rank)[rank])
        z_near = float(flat[seed])
        z_back = z_near + cfg.hand_depth_extent_mm
        in_slice = usable & (z <= z_back)
        _, slice_labels = cv2.connectedComponents(in_slice.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        region = slice_labels == slice_labels.flat[seed]

        ii, jj = np.nonzero(region)
        # Work inside the region's bounding box grown by one sample: every neighbour of a region
        # sample is inside it unless it is off the image.
        h, w = z.shape
        y0, y1 = max(int(ii.min()) - 1, 0), min(int(ii.max()) + 2, h)
        x0, x1 = max(int(jj.min()) - 1, 0), min(int(jj.max()) + 2, w)
        box = (slice(y0, y1), slice(x0, x1))
        points = grid.points(ii, jj)
        keep = self._trim_forearm(grid.z.shape, ii, jj, (y0, x0, y1, x1), points, z_near)
        kept_area = float(np.sum(points[keep, 2] ** 2) * grid.area_scale)
        if kept_area < cfg.min_hand_area_mm2:
            return CentreDetection.not_found(
                f"nearest surface at {z_near:.0f} mm is too small for a hand ({kept_area:.0f} mm^2)"), region

        hand_mask = np.zeros_like(region)
        hand_mask[ii[keep], jj[keep]] = True
        isolation = _isolation(z[box], surface[box], hand_mask[box], region[box], cfg.depth_jump_mm,
                               cfg.depth_jump_fraction, (y0 == 0, x0 == 0, y1 == h, x1 == w))
        if isolation < cfg.min_isolation:
            logger.debug("hand detect: candidate at %.0f mm: %.0f mm^2, isolation %.2f", z_near, kept_area, isolation)
            return CentreDetection.not_found(
                f"nearest surface at {z_near:.0f} mm is part of a larger surface, not a free-standing hand "
                f"(only {isolation:.0%} of its outline is free)"), region

        hand = points[keep]
        weight_map, weights, start = None, None, hand.mean(axis=0)
        if cfg.palm_weight_power > 0:
            # Weight by the distance to the region's outline (mm): thick parts (the palm) count more
            # than thin ones (fingers), which moves the centre from the hand's middle to the palm.
            weight_map = np.zeros(z.shape, np.float32)
            thickness = cv2.distanceTransform(region[box].view(np.uint8), cv2.DIST_L2, 3)
            thickness *= z[box] * np.float32(grid.step / intrinsics.fx)
            weight_map[box] = thickness ** np.float32(cfg.palm_weight_power)
            weights = weight_map[ii[keep], jj[keep]].astype(np.float64)
            if weights.sum() > 0:
                start = weights @ hand / weights.sum()
        centre, _ = _mean_shift(hand, start, cfg.centre_radius_mm, int(cfg.mean_shift_iterations),
                                cfg.converged_mm, weights)

        fill = _near_fill(depth, intrinsics, centre, cfg.fill_radius_mm, z_back, cfg.min_depth_mm, grid.step)
        logger.debug("hand detect: candidate at %.0f mm: %.0f mm^2, isolation %.2f, fill %.2f",
                     z_near, kept_area, isolation, fill)
        if fill > cfg.max_fill:
            return CentreDetection.not_found(
                f"nearest surface at {z_near:.0f} mm fills {fill:.0%} of a {cfg.fill_radius_mm:g} mm disc "
                "(a wall, table or body, not a hand)"), region
        centre, pixels = self._refine_full_resolution(depth, intrinsics, grid, hand_mask, weight_map, centre, z_back)
        uvd = _project(intrinsics, centre)
        logger.debug("hand detect: centre u=%.1f v=%.1f d=%.1f mm, %d px", *uvd, pixels)
        return CentreDetection(found=True, uvd=uvd, xyz_mm=centre, pixels=pixels, method="detect"), region

    def _trim_forearm(self, shape: tuple[int, int], ii: np.ndarray, jj: np.ndarray,
                      box: tuple[int, int, int, int], points: np.ndarray, z_near: float) -> np.ndarray:
        """Keep the hand end of a region that a forearm drags to the image border or slice back.

        Geodesic distances (3D path length through 8-connected samples) are measured from the
        region's samples on the image border and at the back of the depth slice; when the farthest
        sample is more than ``hand_length_mm`` away, only samples within ``hand_length_mm`` of that
        farthest distance are kept. ``ii, jj`` are the region's sample rows and columns in a grid
        of ``shape``, all inside ``box`` = (y0, x0, y1, x1); ``points`` their (N, 3) camera points.
        Returns a (N,) boolean mask over the region's samples.
        """
        cfg = self._settings
        count = ii.size
        keep = np.ones(count, dtype=bool)
        h, w = shape
        roots = (ii == 0) | (jj == 0) | (ii == h - 1) | (jj == w - 1)
        roots |= points[:, 2] >= z_near + cfg.hand_depth_extent_mm - cfg.back_margin_mm
        if count < 2:
            return keep
        y0, x0, y1, x1 = box
        h, w = y1 - y0, x1 - x0
        index = np.full((h, w), -1, dtype=np.int64)
        index[ii - y0, jj - x0] = np.arange(count)
        src, dst = [], []
        for di, dj in _NEIGHBOURS:
            a = index[0:h - di, max(0, -dj):w - max(0, dj)]
            b = index[di:h, max(0, dj):w + min(0, dj)]
            both = (a >= 0) & (b >= 0)
            src.append(a[both])
            dst.append(b[both])
        src_i, dst_i = np.concatenate(src), np.concatenate(dst)
        if src_i.size == 0:
            return keep
        lengths = np.linalg.norm(points[src_i] - points[dst_i], axis=1) + 1e-3  # no zero-weight edges
        graph = csr_matrix((lengths, (src_i, dst_i)), shape=(count, count))
        if not roots.any():
            # A free-floating region (background removed, arm cut off by depth): its root is the end
            # farthest from the nearest point, which is taken to be on the hand.
            from_near = dijkstra(graph, directed=False, indices=int(np.argmin(points[:, 2])))
            from_near[~np.isfinite(from_near)] = -1.0
            if from_near.max() <= cfg.hand_length_mm:
                return keep
            roots[int(np.argmax(from_near))] = True
        geodesic = dijkstra(graph, directed=False, indices=np.flatnonzero(roots), min_only=True)
        reachable = np.isfinite(geodesic)
        farthest = float(geodesic[reachable].max()) if reachable.any() else 0.0
        if farthest > cfg.hand_length_mm:
            keep = reachable & (geodesic >= farthest - cfg.hand_length_mm)
        return keep

    def _refine_full_resolution(self, depth: np.ndarray, intrinsics: Intrinsics, grid: _Grid,
                                hand_mask: np.ndarray, weight_map: np.ndarray | None, centre: np.ndarray,
                                z_back: float) -> tuple[np.ndarray, int]:
        """Mean-shift again on full-resolution pixels (every ``track_stride``-th) near the centre,
        restricted to the low-resolution hand samples (grown by one sample) and the depth slice,
        weighted (when ``weight_map`` is given) by the nearest low-resolution sample's weight."""
        cfg = self._settings
        window = self._window(intrinsics, depth.shape, centre, cfg.centre_radius_mm)
        if window is None:
            return centre, 0
        fine = _Grid.sample(depth, intrinsics, int(cfg.track_stride), cfg.min_depth_mm, z_back, window)
        grown = cv2.dilate(hand_mask.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        # Nearest low-resolution sample of each fine sample.
        li = np.clip(np.rint((fine.rows - grid.rows[0]) / grid.step).astype(int), 0, grid.z.shape[0] - 1)
        lj = np.clip(np.rint((fine.cols - grid.cols[0]) / grid.step).astype(int), 0, grid.z.shape[1] - 1)
        member = (fine.z > 0) & grown[li[:, None], lj[None, :]]
        fi, fj = np.nonzero(member)
        if fi.size == 0:
            return centre, 0
        points = fine.points(fi, fj)
        weights = None if weight_map is None else weight_map[li[fi], lj[fj]].astype(np.float64)
        refined, inside = _mean_shift(points, centre, cfg.centre_radius_mm, int(cfg.refine_iterations),
                                      cfg.converged_mm, weights)
        pixels = int(inside.sum()) * fine.step * fine.step
        return (refined, pixels) if inside.any() else (centre, 0)

    @staticmethod
    def _window(intrinsics: Intrinsics, shape: tuple[int, int], centre: np.ndarray,
                radius_mm: float) -> tuple[int, int, int, int] | None:
        """Pixel window (x0, y0, x1, y1) holding a sphere of ``radius_mm`` around a 3D centre."""
        u, v, d = _project(intrinsics, centre)
        near = max(d - radius_mm, 1.0)
        hx, hy = radius_mm * intrinsics.fx / near, radius_mm * intrinsics.fy / near
        x0, x1 = max(0, int(u - hx)), min(shape[1], int(u + hx) + 2)
        y0, y1 = max(0, int(v - hy)), min(shape[0], int(v + hy) + 2)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1

    # -------------------------------------------------------------------------------------- track

    def track(self, depth_mm: np.ndarray, intrinsics: Intrinsics,
              previous_joints_uvd: np.ndarray) -> CentreDetection:
        """Re-centre on the hand near the previous frame's joints.

        The seed is the mean of the previous joints (in 3D); the hand is the nearest surface
        within ``track_radius_mm`` of it (up to ``hand_depth_extent_mm`` deep), and the centre is
        the mean-shift mode of those points, as in :meth:`detect`.

        Args:
            depth_mm: (H, W) depth in millimetres, 0 / non-finite where there is no reading.
            intrinsics: the camera.
            previous_joints_uvd: (J, 3) previous joints: u, v (px), d (mm); rows with NaN or a
                non-positive depth are ignored.

        Returns:
            A :class:`CentreDetection` with ``method="track"``; ``found=False`` and
            ``reason="lost"`` when too little surface is left near the seed or what is there is
            not hand-like, so the caller should run :meth:`detect` again.
        """
        cfg = self._settings
        depth = _check_frame(depth_mm, intrinsics)
        joints = np.asarray(previous_joints_uvd, dtype=np.float64).reshape(-1, 3)
        usable = np.isfinite(joints).all(axis=1) & (joints[:, 2] > 0)
        if not usable.any():
            return CentreDetection.not_found("lost", method="track")
        seed = intrinsics.uvd_to_xyz(joints[usable]).mean(axis=0)
        window = self._window(intrinsics, depth.shape, seed, cfg.track_radius_mm)
        if window is None:
            logger.debug("hand track: seed %s is outside the image", seed)
            return CentreDetection.not_found("lost", method="track")
        fine = _Grid.sample(depth, intrinsics, int(cfg.track_stride), cfg.min_depth_mm, cfg.max_depth_mm, window)
        fi, fj = np.nonzero(fine.z > 0)
        points = fine.points(fi, fj)
        points = points[np.sum((points - seed) ** 2, axis=1) <= cfg.track_radius_mm ** 2]
        area = float(np.sum(points[:, 2] ** 2) * fine.area_scale)
        if area < cfg.min_hand_area_mm2:
            logger.debug("hand track: %.0f mm^2 of surface near the seed, lost", area)
            return CentreDetection.not_found("lost", method="track")
        # The same share of surface as detect's near_rank blocks.
        rank = min(int(cfg.near_rank) * max(int(cfg.downsample) // fine.step, 1) ** 2, points.shape[0] - 1)
        z_near = float(np.partition(points[:, 2], rank)[rank])
        z_back = z_near + cfg.hand_depth_extent_mm
        points = points[points[:, 2] <= z_back]
        centre, inside = _mean_shift(points, seed, cfg.centre_radius_mm, int(cfg.mean_shift_iterations),
                                     cfg.converged_mm)
        area = float(np.sum(points[inside, 2] ** 2) * fine.area_scale)
        if area < cfg.min_hand_area_mm2:
            return CentreDetection.not_found("lost", method="track")
        fill = _near_fill(depth, intrinsics, centre, cfg.fill_radius_mm, z_back, cfg.min_depth_mm,
                          int(cfg.downsample))
        if fill > cfg.max_fill:
            logger.debug("hand track: surface near the seed fills %.0f%% of the disc, lost", 100 * fill)
            return CentreDetection.not_found("lost", method="track")
        pixels = int(inside.sum()) * fine.step * fine.step
        return CentreDetection(found=True, uvd=_project(intrinsics, centre), xyz_mm=centre, pixels=pixels,
                               method="track")


# ------------------------------------------------------------------------------------------------ bodies


def _bridged_component(mask: np.ndarray, seeds: np.ndarray | tuple[np.ndarray, np.ndarray],
                       bridge: int, bridge_rows: int | None = None) -> np.ndarray:
    """(h, w) bool: the pixels of ``mask`` in the connected parts that hold a seed, where parts with a gap
    of up to ``bridge`` - 1 pixels between them count as connected (an 8-connected labelling of ``mask``
    dilated by a ``bridge`` x ``bridge`` square; ``bridge`` odd). ``bridge_rows`` (odd), when given, sets the
    square's height instead, so vertical gaps of up to ``bridge_rows`` - 1 rows are bridged. ``seeds``: an
    (h, w) bool mask or (rows, cols) index arrays."""
    kernel = np.ones((bridge if bridge_rows is None else bridge_rows, bridge), np.uint8)
    bridged = cv2.dilate(mask.view(np.uint8), kernel)
    _, labels = cv2.connectedComponents(bridged, connectivity=8, ltype=cv2.CV_32S)
    keep = np.zeros(int(labels.max()) + 1, dtype=bool)
    keep[labels[seeds]] = True
    keep[0] = False
    return keep[labels] & mask


@dataclass(frozen=True)
class _FloorPlane:
    """The floor fitted by :meth:`BodyBoxDetector._horizontal`: a point on it and its unit normal,
    camera frame, mm."""

    centroid: np.ndarray  # (3,)
    normal: np.ndarray  # (3,) unit length

    def distance(self, points: np.ndarray) -> np.ndarray:
        """(N,) distances in mm of (N, 3) camera-frame points from the plane."""
        return np.abs((points - self.centroid) @ self.normal)

    def distance_map(self, z: np.ndarray, xn: np.ndarray, yn: np.ndarray) -> np.ndarray:
        """(h, w) float32 distances of a depth window's points: ``z`` (h, w) mm with normalised pixel
        coordinates ``xn`` (w,) = (u - cx) / fx and ``yn`` (h,) = (v - cy) / fy."""
        n = self.normal.astype(np.float32)
        slope = (xn[None, :] * n[0] + yn[:, None] * n[1]) + n[2]  # (h, w): n . ray(u, v)
        return np.abs(z * slope - np.float32(self.centroid @ self.normal))


@dataclass(frozen=True)
class _GrownRegion:
    """A surface grown by :meth:`BodyBoxDetector._grow`: its (M,) grid ``rows`` and ``cols``, coarse pixel
    ``box`` (x_min, y_min, x_max, y_max), its height and width in mm at the surface's depth, whether those
    and its area are a person's, and the band behind it it was grown with (mm)."""

    rows: np.ndarray
    cols: np.ndarray
    box: tuple[float, float, float, float]
    height_mm: float
    width_mm: float
    person_sized: bool
    back_mm: float


class BodyBoxDetector:
    """Finds the foreground person's pixel box in a depth frame.

    Readings between ``min_depth_mm`` and ``max_depth_mm`` are searched at low resolution;
    horizontal surfaces (floor, ceiling, table tops: normals within ~32 degrees of ``up``) are
    removed; what remains is split into smooth surfaces at depth jumps (separating a person from
    the wall behind), and the largest surface of person size (height, width and area in mm at its
    median depth) is the person. Each surface is first grown over its depth band, across vertical gaps in the
    readings (a hole across the hips), and grown again with a narrower band when it ran into a wall close
    behind; a surface with much of its outline covered by something nearer (a strip of wall seen past the
    person) is taken only if nothing else passes. Its box is then redrawn at full resolution (:meth:`_refine`): thin
    limbs that block averages blur away come back, standing feet reach the floor, and the box is padded
    by ``box_pad_mm``, so it matches the silhouette boxes the body models are trained on.

    Stateless apart from its immutable settings; safe to share between threads. About 4 ms per
    320x240 frame and 10 ms per 640x480 frame on one loaded CPU core.
    """

    def __init__(self, settings: BodyDetectorSettings | None = None) -> None:
        self._settings = settings if settings is not None else BodyDetectorSettings()

    @property
    def settings(self) -> BodyDetectorSettings:
        return self._settings

    def detect(self, depth_mm: np.ndarray, intrinsics: Intrinsics) -> BodyDetection:
        """Find the person.

        Args:
            depth_mm: (H, W) depth in millimetres, 0 / non-finite where there is no reading.
            intrinsics: the camera (sizes must match).

        Returns:
            A :class:`BodyDetection`: the pixel box (x_min, y_min, x_max, y_max) and centre, or
            ``found=False`` with a reason.
        """
        cfg = self._settings
        depth = _check_frame(depth_mm, intrinsics)
        grid = _Grid.blocks(depth, intrinsics, int(cfg.downsample), cfg.min_depth_mm, cfg.max_depth_mm)
        not_found = np.full(3, np.nan)
        if not (grid.z > 0).any():
            return BodyDetection(False, None, not_found,
                                 reason=f"no depth readings between {cfg.min_depth_mm:g} and {cfg.max_depth_mm:g} mm")
        z = grid.z
        floor, floor_plane = self._horizontal(grid)
        z_upright = np.where(floor, np.float32(0), z)
        surface, labels, count = _split_surfaces(z_upright, cfg.depth_jump_mm, cfg.depth_jump_fraction)
        if count <= 1:
            return BodyDetection(False, None, not_found, reason="only floor-like (horizontal) surfaces in range")

        ii, jj = np.nonzero(labels)
        lab = labels[ii, jj]
        zz = z[ii, jj].astype(np.float64)
        area = np.bincount(lab, weights=zz ** 2 * grid.area_scale, minlength=count)
        order = np.argsort(lab, kind="stable")
        starts = np.searchsorted(lab[order], np.arange(count + 1))
        # Seeds: surfaces of a third of a person's minimum area or more, largest first; a seed that runs
        # off the left or right image edge (a wall, a door frame) ranks after every one inside the image.
        # Each seed grows over its depth band (limbs that noise split off rejoin) and the grown region must
        # be person-sized.
        seeds = [label for label in np.argsort(-area) if label != 0 and area[label] >= cfg.min_area_mm2 / 3]
        last_col = z.shape[1] - 1
        at_side = {}
        for label in seeds:
            cols = jj[order[starts[label]:starts[label + 1]]]
            at_side[label] = bool(cols.min() == 0 or cols.max() == last_col)
        rejected: list[str] = []
        hidden: BodyDetection | None = None
        step = grid.step
        for label in sorted(seeds, key=lambda seed: at_side[seed])[:cfg.max_seeds]:  # stable: largest first
            members = order[starts[label]:starts[label + 1]]
            z_mid = float(np.median(zz[members]))
            # A person standing close to a wall grows into it (the region is too large, or far larger than the
            # surface it grew from); then it is grown again with a band that reaches less far behind the person,
            # and that region is used unless it fails the size test where the first one passed.
            region = self._grown_region(z_upright, ii[members], jj[members], z_mid, intrinsics, grid, depth.shape,
                                        cfg.grow_back_mm)
            if not region.person_sized or region.rows.size > cfg.grow_max_ratio * members.size:
                near_wall = self._grown_region(z_upright, ii[members], jj[members], z_mid, intrinsics, grid,
                                               depth.shape, cfg.grow_back_near_wall_mm)
                if near_wall.person_sized or not region.person_sized:
                    region = near_wall
            if not region.person_sized:
                size = f"{region.width_mm / 1000:.1f} x {region.height_mm / 1000:.1f} m"
                rejected.append(f"{size} at {z_mid / 1000:.1f} m")
                continue
            if self._occluded_fraction(z_upright, region.rows, region.cols, z_mid) > cfg.max_occluded_fraction:
                # Something stands in front of it along much of its outline: a strip of wall seen past the
                # person, not the person. Kept only in case no other surface passes.
                if hidden is None:
                    hidden = self._detection(depth, intrinsics, region, step, z_mid, floor_plane)
                continue
            return self._detection(depth, intrinsics, region, step, z_mid, floor_plane)
        if hidden is not None:
            return hidden
        detail = f" (largest surfaces: {', '.join(rejected[:3])})" if rejected else ""
        return BodyDetection(False, None, not_found, reason=f"no person-sized foreground surface{detail}")

    def _detection(self, depth: np.ndarray, intrinsics: Intrinsics, region: _GrownRegion, step: int, z_mid: float,
                   floor_plane: _FloorPlane | None) -> BodyDetection:
        """The detection of a chosen grown region: its full-resolution box where that is person-sized, else the
        region's coarse box."""
        box, height, width = region.box, region.height_mm, region.width_mm
        pixels = int(region.rows.size) * step * step
        refined = self._refine(depth, intrinsics, region.rows, region.cols, step, z_mid, floor_plane, region.back_mm)
        if refined is not None:
            fine_box, fine_pixels = refined
            fine_height = (fine_box[3] - fine_box[1] + 1) * z_mid / intrinsics.fy
            fine_width = (fine_box[2] - fine_box[0] + 1) * z_mid / intrinsics.fx
            if self._person_extent(fine_height, fine_width):
                box, height, width, pixels = fine_box, fine_height, fine_width, fine_pixels
        centre = np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0, z_mid])
        logger.debug("body detect: box %s, %.2f x %.2f m at %.2f m", box, width / 1000, height / 1000, z_mid / 1000)
        return BodyDetection(True, box, centre, height_mm=height, width_mm=width, pixels=pixels)

    def _person_extent(self, height_mm: float, width_mm: float) -> bool:
        """Whether a box ``height_mm`` tall and ``width_mm`` wide (at the person's depth) could hold a person."""
        cfg = self._settings
        return cfg.min_height_mm <= height_mm <= cfg.max_height_mm and cfg.min_width_mm <= width_mm <= cfg.max_width_mm

    def _grown_region(self, z: np.ndarray, rows: np.ndarray, cols: np.ndarray, z_mid: float, intrinsics: Intrinsics,
                      grid: _Grid, frame_shape: tuple[int, ...], back_mm: float) -> _GrownRegion:
        """A surface (grid ``rows``, ``cols`` of ``z``, median depth ``z_mid`` mm) grown with ``back_mm`` behind
        (:meth:`_grow`), its coarse pixel box in a frame of ``frame_shape`` (H, W), and whether it is
        person-sized (height, width and area)."""
        cfg = self._settings
        step = grid.step
        rows_i, cols_j = self._grow(z, rows, cols, z_mid, intrinsics, step, back_mm)
        # Sample (i, j) stands for the block of pixels [step * i, step * i + step - 1] (rows), etc.
        box = (float(cols_j.min() * step), float(rows_i.min() * step),
               float(min(cols_j.max() * step + step - 1, frame_shape[1] - 1)),
               float(min(rows_i.max() * step + step - 1, frame_shape[0] - 1)))
        height = (box[3] - box[1] + 1) * z_mid / intrinsics.fy
        width = (box[2] - box[0] + 1) * z_mid / intrinsics.fx
        area = float((z[rows_i, cols_j].astype(np.float64) ** 2).sum() * grid.area_scale)
        person_sized = self._person_extent(height, width) and cfg.min_area_mm2 <= area <= cfg.max_area_mm2
        return _GrownRegion(rows_i, cols_j, box, height, width, person_sized, back_mm)

    def _occluded_fraction(self, z: np.ndarray, rows: np.ndarray, cols: np.ndarray, z_mid: float) -> float:
        """The share of the samples just outside a grown region (grid ``rows``, ``cols``; ``z`` (h, w) mm with
        floor and missing readings at 0) that lie more than ``occluder_mm`` in front of its median depth
        ``z_mid``: near 0 for a person, who stands in front of what surrounds them."""
        region = np.zeros(z.shape, np.uint8)
        region[rows, cols] = 1
        ring = cv2.dilate(region, np.ones((3, 3), np.uint8)).view(bool) & ~region.view(bool)
        around = z[ring]
        if around.size == 0:
            return 0.0
        return float(np.mean((around > 0) & (around < z_mid - self._settings.occluder_mm)))

    def track(self, depth_mm: np.ndarray, intrinsics: Intrinsics,
              previous_joints_uvd: np.ndarray | None = None) -> BodyDetection:
        """The engine's detect-then-track call. A person's silhouette box must follow the whole body (a
        box drawn around last frame's joints would clip a moving arm), and detection costs ~3 ms, so this
        simply detects again; ``previous_joints_uvd`` (J, 3) is accepted for the engine's interface."""
        return self.detect(depth_mm, intrinsics)

    def _grow(self, z: np.ndarray, rows: np.ndarray, cols: np.ndarray, z_mid: float, intrinsics: Intrinsics,
              step: int, back_mm: float) -> tuple[np.ndarray, np.ndarray]:
        """Grow a chosen surface over the readings of its depth band connected to it.

        Args:
            z: (h, w) grid depths in mm with floor samples and missing readings at 0.
            rows, cols: (N,) grid indices of the chosen surface's samples.
            z_mid: its median depth (mm); ``back_mm``: how far behind it the band reaches.
            intrinsics: the frame's camera; ``step`` the grid's pixels per sample.

        Returns:
            (M,) rows and cols of the grown region (M >= N; the surface itself is always kept).
        """
        cfg = self._settings
        margin_u = cfg.grow_margin_mm * intrinsics.fx / (z_mid * step)
        margin_v = cfg.grow_margin_mm * intrinsics.fy / (z_mid * step)
        i0, i1 = max(0, int(rows.min() - margin_v)), min(z.shape[0], int(np.ceil(rows.max() + margin_v)) + 1)
        j0, j1 = max(0, int(cols.min() - margin_u)), min(z.shape[1], int(np.ceil(cols.max() + margin_u)) + 1)
        window = z[i0:i1, j0:j1]
        band = (window > 0) & (window >= z_mid - cfg.grow_front_mm) & (window <= z_mid + back_mm)
        band[rows - i0, cols - j0] = True
        # Connected across gaps of up to two samples sideways, and vertically across gaps of up to grow_bridge_mm
        # (a dropout band at the hips or a knee must not cut the body in two; bridging as wide sideways joins
        # people to walls beside them). The dilation's height is odd: gap + 1 samples, or one more.
        sample_mm = step * z_mid / intrinsics.fy
        gap_rows = max(2, int(np.ceil(cfg.grow_bridge_mm / sample_mm)))
        grown_i, grown_j = np.nonzero(_bridged_component(band, (rows - i0, cols - j0), bridge=3,
                                                         bridge_rows=gap_rows + 1 + gap_rows % 2))
        return grown_i + i0, grown_j + j0

    def _refine(self, depth: np.ndarray, intrinsics: Intrinsics, rows: np.ndarray, cols: np.ndarray, step: int,
                z_mid: float, floor: _FloorPlane | None, back_mm: float
                ) -> tuple[tuple[float, float, float, float], int] | None:
        """The person's box at full resolution, from the grown low-resolution region.

        Block averages blur thin limbs into the wall behind them (a 6 px forearm at 4 m is half of
        each block it crosses) and the floor test eats the feet, so the coarse box clips hands and feet.
        Here every pixel within ``grow_margin_mm`` of the coarse region is kept when it lies in the
        region's depth band and more than ``floor_margin_mm`` above the floor; the connected pixels that
        overlap the region (gaps of up to 6 pixels bridged: sensor noise breaks a thin arm into dots)
        make the box. When the lowest of them are within ``3 * floor_margin_mm`` of the floor (standing
        feet), the box reaches down to where they meet it, so it matches the person's whole silhouette.

        Args:
            depth: (H, W) float32 mm, 0 where there is no reading.
            rows, cols: (M,) grid indices of the grown region; ``step`` the grid's pixels per sample.
            z_mid: the region's median depth (mm); ``floor``: the fitted floor plane, if any.

        Returns:
            ((x_min, y_min, x_max, y_max) inclusive pixels, pixel count), or None when no full-resolution
            pixel of the band overlaps the region.
        """
        cfg = self._settings
        height, width = depth.shape
        margin_u = int(np.ceil(cfg.grow_margin_mm * intrinsics.fx / z_mid))
        margin_v = int(np.ceil(cfg.grow_margin_mm * intrinsics.fy / z_mid))
        y0, y1 = max(0, int(rows.min()) * step - margin_v), min(height, (int(rows.max()) + 1) * step + margin_v)
        x0, x1 = max(0, int(cols.min()) * step - margin_u), min(width, (int(cols.max()) + 1) * step + margin_u)
        window = depth[y0:y1, x0:x1]
        low, high = max(cfg.min_depth_mm, z_mid - cfg.grow_front_mm), min(cfg.max_depth_mm, z_mid + back_mm)
        band = (window >= low) & (window <= high)
        xn = (np.arange(x0, x1, dtype=np.float32) - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx)
        yn = (np.arange(y0, y1, dtype=np.float32) - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy)
        if floor is not None:
            band &= floor.distance_map(window, xn, yn) > cfg.floor_margin_mm
        region = np.zeros((y1 - y0 + step, x1 - x0 + step), dtype=bool)  # the coarse blocks, in the window
        block_rows, block_cols = rows * step - y0, cols * step - x0
        inside = (block_rows >= 0) & (block_cols >= 0)
        for di in range(step):
            for dj in range(step):
                region[block_rows[inside] + di, block_cols[inside] + dj] = True
        seeds = band & region[:y1 - y0, :x1 - x0]
        if not seeds.any():
            return None
        ys, xs = np.nonzero(_bridged_component(band, seeds, bridge=7))
        bottom = int(ys.max())
        if floor is not None:
            lowest = xs[ys == bottom]
            z_low = window[bottom, lowest].astype(np.float64)
            points = np.stack([xn[lowest] * z_low, np.full_like(z_low, yn[bottom]) * z_low, z_low], axis=1)
            above = floor.distance(points)
            if float(np.median(above)) <= 3 * cfg.floor_margin_mm:
                # Move the lowest points down onto the floor plane and see where they land in the image.
                towards_floor = -floor.normal * np.sign(floor.normal @ (points.mean(0) - floor.centroid))
                feet = points + np.outer(above, towards_floor)
                v_floor = feet[:, 1] / np.maximum(feet[:, 2], 1.0) * intrinsics.fy + intrinsics.cy
                on_floor = min(int(np.ceil(float(np.max(v_floor)))) - y0, height - 1 - y0)
                bottom = max(bottom, on_floor)
        # The sensor loses a silhouette's outermost pixels (edge dropouts, thin fingers): pad by box_pad_mm.
        pad_u = cfg.box_pad_mm * intrinsics.fx / z_mid
        pad_v = cfg.box_pad_mm * intrinsics.fy / z_mid
        box = (max(0.0, float(xs.min() + x0) - pad_u), max(0.0, float(ys.min() + y0) - pad_v),
               min(width - 1.0, float(xs.max() + x0) + pad_u),
               min(height - 1.0, float(bottom + y0) + (0.0 if bottom > ys.max() else pad_v)))
        return box, int(ys.size)

    def _horizontal(self, grid: _Grid) -> tuple[np.ndarray, _FloorPlane | None]:
        """Samples whose surface normal points along ``up`` (floor / ceiling / table top), and the
        fitted floor plane when there is one."""
        cfg = self._settings
        z = grid.z.astype(np.float64)
        points = np.stack([grid.xn[None, :] * z, grid.yn[:, None] * z, z], axis=-1)
        valid = z > 0
        jump = cfg.depth_jump_mm + cfg.depth_jump_fraction * z

        def difference(axis: int) -> tuple[np.ndarray, np.ndarray]:
            # Central differences inside, one-sided at the border; only where both ends are
            # readings on the same surface.
            n = z.shape[axis]
            hi = np.clip(np.arange(n) + 1, 0, n - 1)
            lo = np.clip(np.arange(n) - 1, 0, n - 1)
            p_hi, p_lo = np.take(points, hi, axis=axis), np.take(points, lo, axis=axis)
            z_hi, z_lo = np.take(z, hi, axis=axis), np.take(z, lo, axis=axis)
            ok = (z_hi > 0) & (z_lo > 0) & (np.abs(z_hi - z_lo) <= 2 * jump)
            return p_hi - p_lo, ok

        du, ok_u = difference(1)
        dv, ok_v = difference(0)
        normal = np.cross(du, dv)
        up = np.asarray(cfg.up, dtype=np.float64)
        up = up / np.linalg.norm(up)
        cosine = np.abs(normal @ up) / np.maximum(np.linalg.norm(normal, axis=-1), 1e-9)
        horizontal = valid & ok_u & ok_v & (cosine >= cfg.floor_cos)
        if horizontal.sum() < 30:
            return horizontal, None
        # The floor: the most populated height among horizontal samples, refined to a plane by
        # least squares; everything within floor_margin_mm of it goes (the feet's contact zone too,
        # where normals are unreliable).
        heights = points[horizontal] @ up
        bins = max(1, int(np.ceil((heights.max() - heights.min()) / (2 * cfg.floor_margin_mm))))
        counts, edges = np.histogram(heights, bins=bins)
        top = int(np.argmax(counts))
        mode = 0.5 * (edges[top] + edges[top + 1])
        on_floor = points[horizontal][np.abs(heights - mode) <= 3 * cfg.floor_margin_mm]
        if on_floor.shape[0] < 30:
            return horizontal, None
        centroid = on_floor.mean(axis=0)
        normal_fit = np.linalg.svd(on_floor - centroid, full_matrices=False)[2][-1]
        if abs(float(normal_fit @ up)) < cfg.floor_cos:
            return horizontal, None
        plane = _FloorPlane(centroid, normal_fit)
        return horizontal | (valid & (plane.distance(points) <= cfg.floor_margin_mm)), plane


__all__ = ["BodyBoxDetector", "BodyDetection", "BodyDetectorSettings", "CentreDetection", "HandCentreDetector",
           "HandDetectorSettings"]
