"""What the viewer draws, as plain arrays: point cloud, skeleton, informative anchors, depth image.

Pure numpy (no Qt), safe from any thread, so it is tested without a display.

Frames:

- camera frame (livepose's): x right, y down, z forward, millimetres;
- view frame (the 3D widget's, z up): ``X = x``, ``Y = z``, ``Z = -y``
  (:func:`to_view`), so the scene stands upright and the default camera looks
  along +Y like the depth camera did.

Anchors: the network's anchors sit on a grid in crop pixels (row, column,
:func:`livepose.a2j.anchors.anchor_grid`); :func:`anchor_image_uv` maps them
to image pixels through the result's crop box exactly as predictions are
mapped back (``u = column * (x_max - x_min) / width + x_min``). Their 3D
position (:func:`anchor_points`) takes the depth the frame measured at that
image pixel when it lies within ``band_mm`` of the joint's predicted depth
(the anchor sits on the surface the network saw), and the joint's predicted
depth otherwise (no reading, or background the crop flattened away). Anchors
are "informative" when their softmax weight exceeds 0.02 (as in the session
recordings); with "all joints" an anchor's weight is its largest over the
joints and it belongs to that joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livepose.camera import Intrinsics
from livepose.skeletons import Layout

INFORMATIVE_WEIGHT = 0.02
DEFAULT_BAND_MM = 150.0
CLOUD_CROP_POINTS = 40_000  # at most this many points inside the crop box (denser steps otherwise)
CLOUD_STRIDE = 4  # outside the crop box: one pixel in 4 x 4


def to_view(xyz: np.ndarray) -> np.ndarray:
    """Camera-frame (..., 3) mm to the viewer's z-up frame (X = x, Y = z, Z = -y), float32."""
    xyz = np.asarray(xyz, dtype=np.float32)
    return np.stack((xyz[..., 0], xyz[..., 2], -xyz[..., 1]), axis=-1)


def back_project(us: np.ndarray, vs: np.ndarray, depth_mm: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """(N,) pixel columns, rows and depths (mm) to (N, 3) camera-frame millimetres (float32)."""
    z = depth_mm.astype(np.float32)
    x = (us.astype(np.float32) - np.float32(intrinsics.cx)) * z / np.float32(intrinsics.fx)
    y = (vs.astype(np.float32) - np.float32(intrinsics.cy)) * z / np.float32(intrinsics.fy)
    return np.stack((x, y, z), axis=-1)


@dataclass(frozen=True)
class Cloud:
    """A depth frame as points: ``xyz`` (N, 3) camera mm, ``in_crop`` (N,) bool (dense part)."""

    xyz: np.ndarray
    in_crop: np.ndarray


def point_cloud(depth_mm: np.ndarray, intrinsics: Intrinsics, crop_box: tuple[float, float, float, float] | None,
                stride: int = CLOUD_STRIDE, crop_points: int = CLOUD_CROP_POINTS) -> Cloud:
    """The frame's valid pixels as 3D points: every pixel of the crop box (or every k-th when it holds
    more than ``crop_points``), one in ``stride`` x ``stride`` elsewhere."""
    height, width = depth_mm.shape
    rows, cols = np.mgrid[0:height:stride, 0:width:stride]
    keep = np.ones(rows.shape, bool)
    parts_u, parts_v, flags = [], [], []
    if crop_box is not None:
        x0, y0, x1, y1 = (int(round(b)) for b in crop_box)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1 + 1, width), min(y1 + 1, height)
        if x1 > x0 and y1 > y0:
            keep = ~((cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1))
            step = max(1, int(np.ceil(np.sqrt((x1 - x0) * (y1 - y0) / crop_points))))
            crop_rows, crop_cols = np.mgrid[y0:y1:step, x0:x1:step]
            parts_u.append(crop_cols.ravel())
            parts_v.append(crop_rows.ravel())
            flags.append(np.ones(crop_rows.size, bool))
    parts_u.append(cols[keep])
    parts_v.append(rows[keep])
    flags.append(np.zeros(int(keep.sum()), bool))
    us, vs, in_crop = np.concatenate(parts_u), np.concatenate(parts_v), np.concatenate(flags)
    depth = depth_mm[vs, us]
    valid = depth > 0
    us, vs, depth, in_crop = us[valid], vs[valid], depth[valid], in_crop[valid]
    return Cloud(back_project(us, vs, depth, intrinsics), in_crop)


def cloud_colours(cloud: Cloud) -> np.ndarray:
    """(N, 4) float32 RGBA: grey by depth (near is light), the crop region bright and slightly blue."""
    z = cloud.xyz[:, 2]
    if z.size == 0:
        return np.zeros((0, 4), np.float32)
    near, far = np.percentile(z, 2), np.percentile(z, 98)
    shade = 1.0 - np.clip((z - near) / max(far - near, 1.0), 0.0, 1.0)
    colours = np.empty((z.size, 4), np.float32)
    level = np.where(cloud.in_crop, 0.45 + 0.5 * shade, 0.2 + 0.35 * shade)
    colours[:, 0] = level * np.where(cloud.in_crop, 0.85, 1.0)
    colours[:, 1] = level * np.where(cloud.in_crop, 0.9, 1.0)
    colours[:, 2] = level
    colours[:, 3] = np.where(cloud.in_crop, 1.0, 0.7)
    return colours


def joint_colours(layout: Layout) -> np.ndarray:
    """(J, 3) uint8 RGB: each joint takes the colour of the bone that ends at it (roots: the first bone's)."""
    colours = np.full((layout.num_joints, 3), 220, np.uint8)
    assigned = np.zeros(layout.num_joints, bool)
    for (_, b), colour in zip(layout.bones, layout.bone_colours, strict=True):
        if not assigned[b]:
            colours[b], assigned[b] = colour, True
    for (a, _), colour in zip(layout.bones, layout.bone_colours, strict=True):
        if not assigned[a]:
            colours[a], assigned[a] = colour, True
    return colours


def bone_segments(joints: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(2B, D) end points of every bone with finite ends and (2B, 3) uint8 colours (one per end point)."""
    points, colours = [], []
    for (a, b), colour in zip(layout.bones, layout.bone_colours, strict=True):
        if np.isfinite(joints[a]).all() and np.isfinite(joints[b]).all():
            points += [joints[a], joints[b]]
            colours += [colour, colour]
    dim = joints.shape[-1]
    if not points:
        return np.zeros((0, dim), np.float32), np.zeros((0, 3), np.uint8)
    return np.asarray(points, np.float32), np.asarray(colours, np.uint8)


def anchor_crop_positions(num_anchors: int, crop_width: int, crop_height: int) -> np.ndarray:
    """(A, 2) anchor positions (row, column) in crop pixels, official order, for a crop of that size."""
    from livepose.a2j.anchors import ANCHOR_STRIDE, ANCHORS_PER_CELL, anchor_grid

    rows, cols = -(-crop_height // ANCHOR_STRIDE), -(-crop_width // ANCHOR_STRIDE)
    if rows * cols * ANCHORS_PER_CELL != num_anchors:
        raise ValueError(f"{num_anchors} anchor weights do not fit a {crop_width}x{crop_height} crop "
                         f"({rows * cols * ANCHORS_PER_CELL} anchors)")
    return anchor_grid(rows, cols).numpy().astype(np.float64)


def anchor_image_uv(crop_box: tuple[float, float, float, float], num_anchors: int, crop_width: int,
                    crop_height: int) -> np.ndarray:
    """(A, 2) anchor positions as image (u, v) pixels, mapped through the crop box like predictions."""
    row_col = anchor_crop_positions(num_anchors, crop_width, crop_height)
    x_min, y_min, x_max, y_max = crop_box
    u = row_col[:, 1] * (x_max - x_min) / crop_width + x_min
    v = row_col[:, 0] * (y_max - y_min) / crop_height + y_min
    return np.stack((u, v), axis=-1)


@dataclass(frozen=True)
class Anchors:
    """Informative anchors of one result: indices into the (A,) anchors, their weights and owning joints."""

    index: np.ndarray
    weight: np.ndarray
    joint: np.ndarray


def informative_anchors(weights: np.ndarray, joint: int | None = None,
                        threshold: float = INFORMATIVE_WEIGHT) -> Anchors:
    """Anchors whose softmax weight exceeds ``threshold`` for ``joint`` (None: for any joint, taking each
    anchor's largest weight and that joint), strongest last (so they draw on top)."""
    weights = np.asarray(weights, dtype=np.float32)
    if joint is None:
        owner = weights.argmax(axis=1)
        weight = weights[np.arange(weights.shape[0]), owner]
    else:
        weight = weights[:, joint]
        owner = np.full(weights.shape[0], joint)
    index = np.flatnonzero(weight > threshold)
    index = index[np.argsort(weight[index], kind="stable")]
    return Anchors(index, weight[index], owner[index])


def anchor_points(anchors: Anchors, anchor_uv: np.ndarray, depth_mm: np.ndarray, intrinsics: Intrinsics,
                  joints_uvd: np.ndarray, band_mm: float = DEFAULT_BAND_MM) -> np.ndarray:
    """(N, 3) camera-frame mm of the given anchors (the depth rule is in the module docstring)."""
    uv = anchor_uv[anchors.index]
    height, width = depth_mm.shape
    cols = np.clip(np.rint(uv[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.rint(uv[:, 1]).astype(int), 0, height - 1)
    surface = depth_mm[rows, cols].astype(np.float64)
    joint_depth = np.asarray(joints_uvd, dtype=np.float64)[anchors.joint, 2]
    depth = np.where((surface > 0) & (np.abs(surface - joint_depth) <= band_mm), surface, joint_depth)
    return back_project(uv[:, 0], uv[:, 1], depth, intrinsics)


def anchor_colours(weight: np.ndarray) -> np.ndarray:
    """(N, 3) uint8: cyan for a weight at the 0.02 threshold to magenta at 0.2 and above ("cool" ramp)."""
    t = np.clip((np.asarray(weight, np.float64) - INFORMATIVE_WEIGHT) / (0.2 - INFORMATIVE_WEIGHT), 0.0, 1.0)
    return np.stack((255 * t, 255 * (1 - t), np.full_like(t, 255)), axis=-1).astype(np.uint8)


def anchor_sizes(weight: np.ndarray, smallest: float = 4.0, largest: float = 16.0) -> np.ndarray:
    """(N,) point sizes in pixels, growing with the square root of the weight (area ~ weight)."""
    t = np.sqrt(np.clip(np.asarray(weight, np.float64) / 0.2, 0.0, 1.0))
    return smallest + (largest - smallest) * t


def depth_to_grey(depth_mm: np.ndarray, crop_box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """(H, W) uint8 grey image of a depth frame: near is light, far dark, no reading black. The range is
    taken from the crop box's depths when there is one (so the hand has the contrast), else the frame's."""
    depth = np.asarray(depth_mm, dtype=np.float32)
    sample = depth[::4, ::4]
    if crop_box is not None:
        x0, y0, x1, y1 = (int(b) for b in crop_box)
        inside = depth[max(y0, 0):y1 + 1:2, max(x0, 0):x1 + 1:2]
        if (inside > 0).any():
            sample = inside
    valid = sample[sample > 0]
    if valid.size == 0:
        return np.zeros(depth.shape, np.uint8)
    near, far = float(np.percentile(valid, 1)), float(np.percentile(valid, 99))
    far = max(far, near + 1.0)
    grey = 235.0 - 195.0 * np.clip((depth - near) / (far - near), 0.0, 1.0)
    grey[depth <= 0] = 0.0
    return grey.astype(np.uint8)
