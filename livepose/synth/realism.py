"""Realism, measured: the same statistics on real depth frames and on synthetic ones.

For one depth frame and the hand in it this module measures

- **palm width** and **finger width** (mm): the apparent width of the hand's silhouette across the palm at
  the knuckles (index side to little side, thumb excluded) and across a long finger's proximal phalanx.
  Both come from two image points, the outermost valid hand pixels on either side, converted to mm at the
  median depth along the segment (:func:`segment_width_mm`). On real frames the points are annotated by eye
  (``tests/data/realism_annotations.json``); on synthetic frames they are found the same way a person would
  place them, on the image: walking from the middle of the line through the index and little MCP joints
  (palm) or across the middle of the proximal phalanx (finger) to the end of the rendered part, then back to
  the last pixel the sensor model kept (:func:`synthetic_palm_points`, :func:`synthetic_finger_points`).
- **silhouette invalid fraction**: the share of pixels with no reading in a band of ``band_px`` pixels just
  outside the hand region (:func:`invalid_fraction`); real sensors lose depth around a hand (the
  projector's shadow, dropped and ragged edges).
- **depth gradients**: the surface slope ``|grad z|`` in mm of depth per mm across the surface (the tangent of
  the angle between the surface normal and the view direction) at hand pixels away from the silhouette
  (:func:`gradient_slopes`), summarised by percentiles 50 and 90.

The hand region (:func:`hand_region`) is the same rule for real and synthetic frames: valid pixels within
``radius_mm`` (150) of the palm centre in 3D, connected in the image to the pixel nearest the centre without
crossing a depth jump of more than ``jump_mm`` (40).

Arrays: depth maps are (H, W) float mm with 0 (or, for a frame format with ``no_reading_mm``, that value)
meaning no reading; masks are (H, W) bool; image points are (u, v) = (column, row) in pixels; intrinsics are
(fx, fy, cx, cy) in pixels (fy > 0, y down). Joints are (21, 3) HAND21 camera-frame mm or u, v (px), d (mm).

Published frames were post-processed, and synthetic frames of that camera get the same treatment before
they are measured (:data:`FORMATS`): the HANDS2017 frames have their background removed (modelled as
zeroing everything more than 500 mm behind the palm centre; the real frame keeps depths up to ~470 mm
behind it), and NYU frames store "no reading" and everything beyond 2 m as 2001 mm.

Run ``python -m livepose.synth.realism --out docs/realism.json`` to measure the real frames in
``../shared/data`` and synthetic hands for the same cameras, print a side-by-side table, and write the
numbers and a plot (``docs/realism.png``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_ANNOTATIONS = REPO / "tests" / "data" / "realism_annotations.json"

HAND_RADIUS_MM = 150.0  # hand region: valid pixels this close to the palm centre in 3D ...
JUMP_MM = 40.0  # ... reached without crossing a depth jump larger than this
SEED_RADIUS_PX = 15  # the region grows from the candidate pixel nearest the centre, at most this far away
BAND_PX = 3  # silhouette band width (pixels)
FACING_COS = 0.5  # synthetic palms are measured when the palm normal is within 60 degrees of the view ray
FINGER_VISIBLE = 0.7  # ... and fingers when at least 70% of the proximal phalanx's length shows in the image
PALM_BEYOND_MM = 25.0  # a palm's silhouette must end this close beyond the index and little MCP joints
FINGER_REACH = 1.6  # a finger's silhouette must end this many radii from the phalanx's axis
FINGER_STRAIGHT_DEG = 45.0  # ... and its PIP be bent less than this (curled fingers hide their sides)
WIDTH_DISTANCE_MM = (400.0, 900.0)  # widths are measured on synthetic hands at these distances (real: ~500-760)

# HAND21 joints and part ids (livepose.synth.hand): wrist, index MCP, little MCP; long fingers' MCP, PIP, part.
WRIST, INDEX_MCP, LITTLE_MCP = 0, 5, 17
LONG_FINGERS = {"index": (5, 6, 3), "middle": (9, 10, 4), "ring": (13, 14, 5), "little": (17, 18, 6)}
PALM_PARTS = (1, 3, 4, 5, 6)  # palm and the four long fingers: the thumb and forearm end a palm line
HAND_PARTS = tuple(range(7))  # forearm .. little: anything else (scenery >= 50, -1 nothing) is free space


@dataclass(frozen=True)
class FrameFormat:
    """How a camera's published frames store depth (what synthetic frames are turned into before measuring).

    Attributes:
        no_reading_mm: the value that means "no reading" besides 0 (NYU: 2001), or None.
        far_limit_mm: depths beyond this are stored as ``no_reading_mm`` (NYU: 2000), or None.
        background_cut_mm: depths more than this behind the palm centre are removed (set to 0), or None.
    """

    no_reading_mm: float | None = None
    far_limit_mm: float | None = None
    background_cut_mm: float | None = None

    def valid(self, depth_mm: np.ndarray) -> np.ndarray:
        """(H, W) bool: pixels with a depth reading."""
        ok = depth_mm > 0
        if self.no_reading_mm is not None:
            ok &= depth_mm != self.no_reading_mm
        return ok

    def publish(self, depth_mm: np.ndarray, centre_depth_mm: float) -> np.ndarray:
        """A synthetic (H, W) mm frame as the published real frames of this camera would store it."""
        out = np.array(depth_mm, dtype=np.float32, copy=True)
        if self.background_cut_mm is not None:
            out[out > centre_depth_mm + self.background_cut_mm] = 0
        if self.no_reading_mm is not None:
            far = self.far_limit_mm if self.far_limit_mm is not None else np.inf
            out[(out <= 0) | (out > far)] = self.no_reading_mm
        return out


FORMATS: dict[str, FrameFormat] = {
    "sr305": FrameFormat(),
    "hands2017": FrameFormat(background_cut_mm=500.0),
    "nyu": FrameFormat(no_reading_mm=2001.0, far_limit_mm=2000.0),
}
CAMERAS = tuple(FORMATS)


# --------------------------------------------------------------------------------------------------
# Measurements on one frame
# --------------------------------------------------------------------------------------------------


def _intrinsics(intrinsics: Sequence[float]) -> tuple[float, float, float, float]:
    fx, fy, cx, cy = (float(x) for x in intrinsics)
    return abs(fx), abs(fy), cx, cy


def hand_region(depth_mm: np.ndarray, centre_uvd: Sequence[float], intrinsics: Sequence[float],
                valid: np.ndarray | None = None, radius_mm: float = HAND_RADIUS_MM, jump_mm: float = JUMP_MM,
                seed_radius_px: int = SEED_RADIUS_PX) -> np.ndarray:
    """The hand's pixels: (H, W) bool.

    Valid pixels within ``radius_mm`` of the centre (u, v px, d mm) in 3D, 4-connected to the candidate
    pixel nearest the centre (at most ``seed_radius_px`` away), where pixels just behind a depth jump (a
    4-neighbour nearer by more than ``jump_mm``) are left out so the region does not leak onto a body or
    desk behind the hand. Empty if no candidate lies near the centre.
    """
    depth = np.asarray(depth_mm, dtype=np.float64)
    ok = depth > 0 if valid is None else np.asarray(valid, dtype=bool)
    fx, fy, cx, cy = _intrinsics(intrinsics)
    height, width = depth.shape
    vv, uu = np.mgrid[0:height, 0:width]
    cu, cv, cd = (float(x) for x in centre_uvd)
    dx = (uu - cx) * depth / fx - (cu - cx) * cd / fx
    dy = (vv - cy) * depth / fy - (cv - cy) * cd / fy
    dz = depth - cd
    candidate = ok & (dx * dx + dy * dy + dz * dz < radius_mm * radius_mm)
    # Pixels behind a depth edge: some valid 4-neighbour is nearer by more than jump_mm.
    z = np.where(ok, depth, np.inf)
    padded = np.pad(z, 1, constant_values=np.inf)
    behind = np.zeros_like(candidate)
    for shifted in (padded[1:-1, :-2], padded[1:-1, 2:], padded[:-2, 1:-1], padded[2:, 1:-1]):
        behind |= np.isfinite(shifted) & (depth - shifted > jump_mm)
    candidate &= ~behind
    labels, _ = ndimage.label(candidate)
    u0, v0 = int(round(cu)), int(round(cv))
    r = int(seed_radius_px)
    v_lo, v_hi, u_lo, u_hi = max(v0 - r, 0), min(v0 + r + 1, height), max(u0 - r, 0), min(u0 + r + 1, width)
    window = labels[v_lo:v_hi, u_lo:u_hi]
    if not (window > 0).any():
        return np.zeros_like(candidate)
    wv, wu = np.nonzero(window > 0)
    nearest = np.argmin((wv + v_lo - cv) ** 2 + (wu + u_lo - cu) ** 2)
    return labels == window[wv[nearest], wu[nearest]]


def silhouette_band(region: np.ndarray, band_px: int = BAND_PX) -> np.ndarray:
    """(H, W) bool: pixels within ``band_px`` (chessboard distance) outside the region's boundary."""
    region = np.asarray(region, dtype=bool)
    if not region.any() or band_px <= 0:
        return np.zeros_like(region)
    grown = ndimage.binary_dilation(region, structure=np.ones((3, 3), dtype=bool), iterations=band_px)
    return grown & ~region


def invalid_fraction(valid: np.ndarray, region: np.ndarray, band_px: int = BAND_PX) -> float:
    """Share (0..1) of the silhouette band's pixels with no reading; nan for an empty region.

    ``valid``: (H, W) bool, pixels with a reading; ``region``: the hand (:func:`hand_region`). The band lies
    outside the region, so it holds what surrounds the hand: background, a body or desk behind it, or nothing
    (the sensor's shadow and dropped edge pixels, holes in the hand touching its outline).
    """
    band = silhouette_band(region, band_px)
    if not band.any():
        return float("nan")
    return float(1.0 - np.asarray(valid, dtype=bool)[band].mean())


def gradient_slopes(depth_mm: np.ndarray, region: np.ndarray, intrinsics: Sequence[float],
                    band_px: int = BAND_PX) -> np.ndarray:
    """(N,) surface slopes |grad z| (mm of depth per mm across the surface) at the hand's inner pixels.

    Central differences over two pixels, divided by the pixel's footprint ``z / f`` (mm per pixel), at region
    pixels at least ``band_px`` pixels inside the silhouette whose four neighbours are in the region.
    """
    region = np.asarray(region, dtype=bool)
    depth = np.asarray(depth_mm, dtype=np.float64)
    if not region.any():
        return np.zeros(0)
    fx, fy, _, _ = _intrinsics(intrinsics)
    inner = region.copy()
    if band_px > 0:  # (scipy repeats until nothing changes for iterations=0)
        inner = ndimage.binary_erosion(region, structure=np.ones((3, 3), dtype=bool), iterations=band_px,
                                       border_value=0)
    inner[:, [0, -1]] = False
    inner[[0, -1], :] = False
    gx = np.zeros_like(depth)
    gy = np.zeros_like(depth)
    gx[:, 1:-1] = (depth[:, 2:] - depth[:, :-2]) / 2.0
    gy[1:-1, :] = (depth[2:, :] - depth[:-2, :]) / 2.0
    both = np.zeros_like(region)
    both[1:-1, 1:-1] = region[1:-1, 2:] & region[1:-1, :-2] & region[2:, 1:-1] & region[:-2, 1:-1]
    use = inner & both
    z = depth[use]
    return np.hypot(gx[use] * fx, gy[use] * fy) / z


def gradient_stats(slopes: np.ndarray) -> dict[str, float]:
    """Percentiles 50 and 90 of surface slopes (nan for none)."""
    if len(slopes) == 0:
        return {"p50": float("nan"), "p90": float("nan")}
    p50, p90 = np.percentile(slopes, [50, 90])
    return {"p50": float(p50), "p90": float(p90)}


def segment_width_mm(depth_mm: np.ndarray, p0: Sequence[float], p1: Sequence[float], intrinsics: Sequence[float],
                     valid: np.ndarray | None = None) -> float:
    """Width in mm of a silhouette from ``p0`` to ``p1`` (the outermost pixels on either side, (u, v) px).

    The pixel distance plus one pixel (the two end pixels' outer halves) converted at the median valid depth
    along the segment: ``du * d / fx`` and ``dv * d / fy``. nan if no pixel on the segment has a reading.
    """
    depth = np.asarray(depth_mm, dtype=np.float64)
    ok = depth > 0 if valid is None else np.asarray(valid, dtype=bool)
    fx, fy, _, _ = _intrinsics(intrinsics)
    a = np.asarray(p0, dtype=np.float64)
    b = np.asarray(p1, dtype=np.float64)
    length = float(np.hypot(*(b - a)))
    samples = int(math.ceil(length)) * 2 + 1
    t = np.linspace(0.0, 1.0, samples)
    pts = np.rint(a[None] + t[:, None] * (b - a)[None]).astype(int)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < depth.shape[1]) & (pts[:, 1] >= 0) & (pts[:, 1] < depth.shape[0])
    pts = pts[inside]
    keep = ok[pts[:, 1], pts[:, 0]]
    if not keep.any():
        return float("nan")
    d = float(np.median(depth[pts[keep, 1], pts[keep, 0]]))
    if length == 0:
        return d / math.sqrt(fx * fy)
    du, dv = (b - a) * (length + 1.0) / length
    return float(math.hypot(du * d / fx, dv * d / fy))


def _walk(part: np.ndarray, valid: np.ndarray, start: np.ndarray, direction: np.ndarray, allowed: Sequence[int],
          reach_px: float, step: float = 0.5, depth: np.ndarray | None = None,
          jump_mm: float = JUMP_MM) -> tuple[np.ndarray, np.ndarray] | None:
    """Ends of the run of ``allowed`` parts through ``start`` along +-``direction``, trimmed to valid pixels.

    With the sensor's ``depth`` (H, W) mm, a side then goes on over readings that continue the hand's surface
    (within ``jump_mm`` of the last kept one) beyond the rendered part: a sensor that fattens silhouettes
    (Kinect v1) reports the hand's depth on pixels the clean part mask calls background, and a person
    placing the end points on the image sees those pixels as hand.

    Returns the two end pixels (u, v) as int arrays, or None when the start is not on an allowed part, or
    a side does not end in free space within ``reach_px`` of the start (it runs on into another hand part
    such as the thumb, or past ``reach_px``, as where a curled finger continues the silhouette, or off the
    image), or no pixel of a side has a reading.
    """
    height, width = part.shape
    allowed_set = set(int(x) for x in allowed)
    d = direction / max(float(np.hypot(*direction)), 1e-9)

    def pixel(t: float) -> tuple[int, int] | None:
        u, v = int(round(start[0] + t * d[0])), int(round(start[1] + t * d[1]))
        return (u, v) if 0 <= u < width and 0 <= v < height else None

    first = pixel(0.0)
    if first is None or int(part[first[1], first[0]]) not in allowed_set:
        return None
    ends = []
    for sign in (-1.0, 1.0):
        run: list[tuple[int, int]] = []
        t = 0.0
        while True:
            if t > reach_px:
                return None
            p = pixel(sign * t)
            if p is None:
                return None
            label = int(part[p[1], p[0]])
            if label not in allowed_set:
                if label in HAND_PARTS:
                    return None
                break
            if not run or run[-1] != p:
                run.append(p)
            t += step
        kept = [p for p in run if valid[p[1], p[0]]]
        if not kept:
            return None
        if depth is not None:
            while t <= reach_px:
                p = pixel(sign * t)
                if p is None or not valid[p[1], p[0]] or int(part[p[1], p[0]]) in HAND_PARTS \
                        or abs(float(depth[p[1], p[0]]) - float(depth[kept[-1][1], kept[-1][0]])) > jump_mm:
                    break
                if kept[-1] != p:
                    kept.append(p)
                t += step
        ends.append(np.array(kept[-1]))
    return ends[0], ends[1]


def _px_per_mm(joints_uvd: np.ndarray, index: int | Sequence[int], focal_px: float) -> float:
    depth = float(np.mean(joints_uvd[index, 2]))
    return focal_px / max(depth, 1.0)


def synthetic_palm_points(part: np.ndarray, valid: np.ndarray, joints_uvd: np.ndarray, joints_mm: np.ndarray,
                          focal_px: float, facing_cos: float = FACING_COS, beyond_mm: float = PALM_BEYOND_MM,
                          depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The two palm-width pixels of a synthetic hand, or None where it cannot be measured.

    Args:
        part: (H, W) part ids of the noise-free render; valid: (H, W) bool, pixels the sensor model kept.
        joints_uvd: (21, 3) HAND21 u, v (px), d; joints_mm: (21, 3) camera-frame mm.
        focal_px: the camera's focal length (px).
        facing_cos: least |cos| between the palm normal and the view ray (else None).
        beyond_mm: the silhouette must end within this distance beyond the index and little MCP joints.
        depth: (H, W) the sensor's depth in mm, to follow the hand's readings past the clean part mask (``_walk``).

    The line runs through the index and little MCP joints' pixels; it is walked from their midpoint over
    palm and long-finger pixels to free space on both sides (see ``_walk``).
    """
    wrist, index, little = joints_mm[WRIST], joints_mm[INDEX_MCP], joints_mm[LITTLE_MCP]
    normal = np.cross(index - wrist, little - wrist)
    centre = joints_mm[[0, 5, 9, 13, 17]].mean(0)
    cos = abs(float(normal @ centre)) / max(float(np.linalg.norm(normal) * np.linalg.norm(centre)), 1e-9)
    if cos < facing_cos:
        return None
    a, b = joints_uvd[INDEX_MCP, :2], joints_uvd[LITTLE_MCP, :2]
    reach = float(np.hypot(*(b - a))) / 2.0 + beyond_mm * _px_per_mm(joints_uvd, [INDEX_MCP, LITTLE_MCP], focal_px)
    return _walk(part, valid, (a + b) / 2.0, b - a, PALM_PARTS, reach, depth=depth)


def synthetic_finger_points(part: np.ndarray, valid: np.ndarray, joints_uvd: np.ndarray, joints_mm: np.ndarray,
                            finger: str, focal_px: float, radius_mm: float = 10.0,
                            visible: float = FINGER_VISIBLE, depth: np.ndarray | None = None,
                            ) -> tuple[np.ndarray, np.ndarray] | None:
    """The two finger-width pixels across a long finger's proximal phalanx (``finger``: index..little).

    Measured across the middle of the phalanx, perpendicular to its image, when at least ``visible`` of its
    length is seen (it does not point at the camera), the PIP is bent less than ``FINGER_STRAIGHT_DEG`` (as
    on the real frames, where straight fingers were measured), its middle pixel shows that finger and both sides end
    in free space within ``FINGER_REACH`` x ``radius_mm`` (the phalanx's radius there) of the middle; a
    longer run means the finger's own curled phalanges or a neighbour continue the silhouette. None otherwise.
    """
    j0, j1, part_id = LONG_FINGERS[finger]
    bone = joints_mm[j1] - joints_mm[j0]
    nxt = joints_mm[j1 + 1] - joints_mm[j1]
    bend = float(bone @ nxt) / max(float(np.linalg.norm(bone) * np.linalg.norm(nxt)), 1e-9)
    if bend < math.cos(math.radians(FINGER_STRAIGHT_DEG)):
        return None
    middle = (joints_mm[j0] + joints_mm[j1]) / 2.0
    ray = middle / max(float(np.linalg.norm(middle)), 1e-9)
    seen = float(np.linalg.norm(np.cross(bone, ray))) / max(float(np.linalg.norm(bone)), 1e-9)
    if seen < visible:
        return None
    a, b = joints_uvd[j0, :2], joints_uvd[j1, :2]
    along = b - a
    reach = FINGER_REACH * radius_mm * _px_per_mm(joints_uvd, [j0, j1], focal_px)
    return _walk(part, valid, (a + b) / 2.0, np.array([-along[1], along[0]]), (part_id,), reach, depth=depth)


# --------------------------------------------------------------------------------------------------
# Real and synthetic frames
# --------------------------------------------------------------------------------------------------


def _profile_intrinsics(name: str) -> tuple[np.ndarray, float]:
    from livepose.calibration import load_profile

    profile = load_profile(name)
    intr = profile.intrinsics
    return np.array([intr.fx, intr.fy, intr.cx, intr.cy]), float(intr.depth_unit_mm)


def load_annotations(path: str | Path = DEFAULT_ANNOTATIONS) -> list[dict]:
    """The annotated real frames (see the file's "about" entry)."""
    return json.loads(Path(path).read_text())["entries"]


def measure_real(entry: dict, data_root: str | Path = DEFAULT_DATA, band_px: int = BAND_PX,
                 keep_slopes: bool = False) -> dict:
    """Statistics of one annotated real frame (an entry of ``realism_annotations.json``).

    Returns a dict: file, camera, distance_mm (annotated centre depth), palm_width_mm (or None),
    finger_widths_mm (list), invalid_fraction, gradient_p50, gradient_p90, hand_pixels; with
    ``keep_slopes`` also slopes (the array).
    """
    from livepose.depth_io import read_depth_png

    camera = entry["profile"]
    intr, unit = _profile_intrinsics(camera)
    raw = read_depth_png(Path(data_root) / "frames" / entry["file"], entry.get("encoding", "uint16"))
    depth = raw.astype(np.float64) * unit
    fmt = FORMATS[camera]
    valid = fmt.valid(depth)
    region = hand_region(depth, entry["centre_uvd"], intr, valid=valid)
    slopes = gradient_slopes(depth, region, intr, band_px)
    grads = gradient_stats(slopes)
    palm = entry.get("palm")
    out = {
        "file": entry["file"],
        "camera": camera,
        "distance_mm": float(entry["centre_uvd"][2]),
        "palm_width_mm": None if palm is None else segment_width_mm(depth, palm[0], palm[1], intr, valid),
        "finger_widths_mm": [segment_width_mm(depth, f["points"][0], f["points"][1], intr, valid)
                             for f in entry.get("fingers", [])],
        "invalid_fraction": invalid_fraction(valid, region, band_px),
        "gradient_p50": grads["p50"],
        "gradient_p90": grads["p90"],
        "hand_pixels": int(region.sum()),
    }
    if keep_slopes:
        out["slopes"] = slopes
    return out


def measure_synthetic(camera: str, count: int = 64, seed: int = 0, band_px: int = BAND_PX, chunk: int = 16,
                      keep_slopes: bool = False,
                      width_distance: tuple[float, float] = WIDTH_DISTANCE_MM) -> dict:
    """Statistics of ``count`` synthetic hands seen by ``camera`` (seeded; frames made in chunks of ``chunk``).

    Returns a dict of lists over the frames (one entry per frame unless said otherwise): distance_mm,
    invalid_fraction, gradient_p50, gradient_p90; palm_width_mm (frames whose palm was measurable, among
    hands with the palm centre within ``width_distance`` mm, the distances of real use),
    finger_width_mm (every measurable proximal phalanx of those hands), finger_geometry_mm (the same
    fingers' true diameter, 2 x the mean of the MCP and PIP radii); with ``keep_slopes`` also slopes (one
    array per frame).
    """
    import torch

    from livepose.synth.generator import hand_frames
    from livepose.synth.hand import sample_hands

    fmt = FORMATS[camera]
    generator = torch.Generator().manual_seed(seed)
    stats: dict[str, list] = {key: [] for key in ("distance_mm", "invalid_fraction", "gradient_p50", "gradient_p90",
                                                  "palm_width_mm", "finger_width_mm", "finger_geometry_mm")}
    if keep_slopes:
        stats["slopes"] = []
    done = 0
    while done < count:
        batch = min(chunk, count - done)
        # hand_frames draws the hands first, so the same generator state gives the same shapes (checked below).
        shape_gen = torch.Generator()
        shape_gen.set_state(generator.get_state())
        hands = sample_hands(batch, generator=shape_gen)
        frames = hand_frames(batch, camera, generator)
        intr = frames.intrinsics.numpy().astype(np.float64)
        focal = math.sqrt(abs(intr[0] * intr[1]))
        joints_mm = frames.joints_mm.numpy().astype(np.float64)
        joints_uvd = frames.joints_uvd.numpy().astype(np.float64)
        centres = frames.centre_uvd.numpy().astype(np.float64)
        parts = frames.part.numpy()
        radii = hands.shape.joint_radii.numpy()
        same = np.allclose(np.linalg.norm(joints_mm[:, 6] - joints_mm[:, 5], axis=1),
                           hands.shape.bone_lengths[:, 1, 0].numpy(), rtol=1e-3)
        for i in range(batch):
            depth = fmt.publish(frames.depth_mm[i].numpy(), float(centres[i, 2]))
            valid = fmt.valid(depth)
            region = hand_region(depth, centres[i], intr, valid=valid)
            slopes = gradient_slopes(depth, region, intr, band_px)
            grads = gradient_stats(slopes)
            stats["distance_mm"].append(float(centres[i, 2]))
            stats["invalid_fraction"].append(invalid_fraction(valid, region, band_px))
            stats["gradient_p50"].append(grads["p50"])
            stats["gradient_p90"].append(grads["p90"])
            if keep_slopes:
                stats["slopes"].append(slopes)
            if not width_distance[0] <= centres[i, 2] <= width_distance[1]:
                continue
            palm = synthetic_palm_points(parts[i], valid, joints_uvd[i], joints_mm[i], focal, depth=depth)
            if palm is not None:
                stats["palm_width_mm"].append(segment_width_mm(depth, palm[0], palm[1], intr, valid))
            for f, name in enumerate(("index", "middle", "ring", "little")):
                # The phalanx's true radius where it is measured (its middle); a typical one if unknown.
                radius = float(radii[i, f + 1, 0] + radii[i, f + 1, 1]) / 2.0 if same else 10.0
                ends = synthetic_finger_points(parts[i], valid, joints_uvd[i], joints_mm[i], name, focal, radius,
                                               depth=depth)
                if ends is None:
                    continue
                stats["finger_width_mm"].append(segment_width_mm(depth, ends[0], ends[1], intr, valid))
                if same:
                    stats["finger_geometry_mm"].append(2.0 * radius)
        done += batch
    for key in ("palm_width_mm", "finger_width_mm"):
        stats[key] = [x for x in stats[key] if math.isfinite(x)]
    return stats


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """n, min, p5, p50, p95, max of the finite values (nan where there are none)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if len(x) == 0:
        return {"n": 0, "min": float("nan"), "p5": float("nan"), "p50": float("nan"), "p95": float("nan"),
                "max": float("nan")}
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    return {"n": int(len(x)), "min": float(x.min()), "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "max": float(x.max())}


# Which synthetic range each real statistic is checked against: (statistic, synthetic key, low, high, pooled).
# Widths are the hand model's geometry, so they are compared with the widths of all cameras' synthetic hands
# together ("all"); the sensor statistics with the same camera's.
CHECKS = (
    ("palm_width_mm", "palm_width_mm", "min", "max", True),
    ("finger_width_mm", "finger_width_mm", "min", "max", True),
    ("invalid_fraction", "invalid_fraction", "min", "max", False),
    ("gradient_p50", "gradient_p50", "p5", "p95", False),
)
POOLED = "all"
POOLED_KEYS = ("palm_width_mm", "finger_width_mm", "finger_geometry_mm")


def _real_values(row: dict, statistic: str) -> list[float]:
    if statistic not in row and statistic != "finger_width_mm":
        return []
    if statistic == "finger_width_mm":
        return list(row["finger_widths_mm"])
    value = row[statistic]
    return [] if value is None else [value]


def compare(real: Sequence[dict], synthetic: dict[str, dict]) -> list[dict]:
    """Each real value against its synthetic range (:data:`CHECKS`; ``synthetic`` as returned by :func:`run`):
    camera, statistic, file, real, low, high, range (which percentiles, and of which synthetic set), inside,
    and ``outside_by`` (how far beyond the range, 0 inside)."""
    rows = []
    for entry in real:
        if entry["camera"] not in synthetic:
            continue
        for statistic, key, low_key, high_key, pooled in CHECKS:
            source = POOLED if pooled and POOLED in synthetic else entry["camera"]
            low, high = synthetic[source][key][low_key], synthetic[source][key][high_key]
            for value in _real_values(entry, statistic):
                outside = max(low - value, value - high, 0.0)
                rows.append({"camera": entry["camera"], "statistic": statistic, "file": entry["file"],
                             "real": value, "low": low, "high": high, "range": f"{source} {low_key}..{high_key}",
                             "inside": bool(low <= value <= high), "outside_by": float(outside)})
    return rows


# --------------------------------------------------------------------------------------------------
# Report: table, JSON, plot
# --------------------------------------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def table(real: Sequence[dict], synthetic: dict[str, dict]) -> str:
    """Side-by-side text table: real values per camera against the synthetic n / min / p5 / p50 / p95 / max."""
    lines = []
    names = (("palm_width_mm", "palm width (mm)", 1), ("finger_width_mm", "finger width (mm)", 1),
             ("finger_geometry_mm", "  (true finger diameter)", 1),
             ("invalid_fraction", "silhouette invalid fraction", 3), ("gradient_p50", "gradient median (mm/mm)", 3),
             ("gradient_p90", "gradient p90 (mm/mm)", 3), ("distance_mm", "distance (mm)", 0))
    for camera in synthetic:
        rows = real if camera == POOLED else [r for r in real if r["camera"] == camera]
        title = "widths of all cameras' synthetic hands" if camera == POOLED else camera
        lines.append(f"== {title}: {len(rows)} real frame(s), {synthetic[camera]['frames']} synthetic ==")
        lines.append(f"{'statistic':30s} {'real':>28s} | {'syn n':>5s} {'min':>7s} {'p5':>7s} {'p50':>7s} "
                     f"{'p95':>7s} {'max':>7s}")
        for key, label, digits in names:
            if key not in synthetic[camera]:
                continue
            values = [] if key == "finger_geometry_mm" else [v for r in rows for v in _real_values(r, key)]
            s = synthetic[camera][key]
            shown = " ".join(_fmt(v, digits) for v in values)
            if len(shown) > 28:
                shown = f"{_fmt(min(values), digits)}..{_fmt(max(values), digits)} (n={len(values)})"
            lines.append(f"{label:30s} {shown:>28s} | {s['n']:5d} {_fmt(s['min'], digits):>7s} "
                         f"{_fmt(s['p5'], digits):>7s} {_fmt(s['p50'], digits):>7s} {_fmt(s['p95'], digits):>7s} "
                         f"{_fmt(s['max'], digits):>7s}")
        lines.append("")
    return "\n".join(lines)


def plot(real: Sequence[dict], synthetic_slopes: dict[str, list], synthetic: dict[str, dict],
         path: str | Path) -> Path:
    """A small PNG: slope histograms per camera (real vs synthetic), then widths and invalid fractions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cameras = [c for c in synthetic if c != POOLED]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.2))
    bins = np.linspace(0.0, 3.0, 61)
    for ax, camera in zip(axes[0], cameras, strict=False):
        syn = np.concatenate(synthetic_slopes[camera]) if synthetic_slopes[camera] else np.zeros(0)
        ax.hist(np.clip(syn, bins[0], bins[-1]), bins=bins, density=True, histtype="stepfilled", alpha=0.4,
                color="tab:blue", label=f"synthetic ({synthetic[camera]['frames']})")
        ax.axvline(synthetic[camera]["gradient_p50"]["p50"], color="tab:blue", lw=1, ls="--",
                   label="median of frame medians")
        rows = [r for r in real if r["camera"] == camera and "slopes" in r]
        if rows:
            ours = np.concatenate([r["slopes"] for r in rows])
            ax.hist(np.clip(ours, bins[0], bins[-1]), bins=bins, density=True, histtype="step", lw=1.8,
                    color="tab:red", label=f"real ({len(rows)})")
            ax.axvline(float(np.median([r["gradient_p50"] for r in rows])), color="tab:red", lw=1, ls="--")
        ax.set_title(f"{camera}: surface slope |grad z| on the hand", fontsize=9)
        ax.set_xlabel("mm of depth per mm across the surface (3 = 72 degrees or more)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    panels = (("palm_width_mm", "palm width (mm)"), ("finger_width_mm", "finger width (mm)"),
              ("invalid_fraction", "silhouette invalid fraction"))
    for ax, (key, label) in zip(axes[1], panels, strict=True):
        columns = cameras + ([POOLED] if key in POOLED_KEYS and POOLED in synthetic else [])
        for k, camera in enumerate(columns):
            s = synthetic[camera][key]
            if s["n"]:
                ax.bar(k, s["p95"] - s["p5"], bottom=s["p5"], width=0.5, color="tab:blue", alpha=0.35,
                       label="synthetic: 5-95%, median, min..max" if k == 0 else None)
                ax.plot([k, k], [s["min"], s["max"]], color="tab:blue", lw=1)
                ax.plot([k - 0.25, k + 0.25], [s["p50"], s["p50"]], color="tab:blue", lw=1.5)
            values = [v for r in real if camera in (r["camera"], POOLED) for v in _real_values(r, key)]
            if values:
                jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
                ax.scatter(k + jitter, values, s=14, color="tab:red", zorder=3,
                           label="real" if k == 0 else None)
        ax.set_xticks(range(len(columns)))
        ax.set_xticklabels(columns, fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def run(data_root: str | Path = DEFAULT_DATA, annotations: str | Path = DEFAULT_ANNOTATIONS, count: int = 64,
        seed: int = 0, cameras: Sequence[str] = CAMERAS, band_px: int = BAND_PX,
        keep_slopes: bool = False) -> tuple[list[dict], dict[str, dict], dict[str, list]]:
    """Measure the annotated real frames and ``count`` synthetic hands per camera.

    Returns (real rows, synthetic summaries per camera plus ``"all"``: the widths of every camera's hands
    pooled, synthetic slopes per camera (empty lists unless ``keep_slopes``)). Synthetic camera i uses seed
    ``seed + i``.
    """
    entries = [e for e in load_annotations(annotations) if e["profile"] in cameras]
    real = [measure_real(e, data_root, band_px, keep_slopes) for e in entries]
    synthetic: dict[str, dict] = {}
    slopes: dict[str, list] = {}
    pooled: dict[str, list] = {key: [] for key in POOLED_KEYS}
    for index, camera in enumerate(cameras):
        stats = measure_synthetic(camera, count, seed + index, band_px, keep_slopes=keep_slopes)
        slopes[camera] = stats.pop("slopes", [])
        synthetic[camera] = {key: summary(values) for key, values in stats.items()}
        synthetic[camera]["frames"] = count
        for key in POOLED_KEYS:
            pooled[key].extend(stats[key])
    synthetic[POOLED] = {key: summary(values) for key, values in pooled.items()}
    synthetic[POOLED]["frames"] = count * len(cameras)
    return real, synthetic, slopes


def _rounded(value):
    """JSON-ready copy: floats to 4 decimals, nan as null."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m livepose.synth.realism",
                                     description="Compare synthetic hand frames with annotated real frames.")
    parser.add_argument("--out", type=Path, default=Path("docs/realism.json"), help="JSON with the numbers")
    parser.add_argument("--plot", type=Path, default=None, help="PNG plot (default: --out with .png)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--annotations", type=Path, default=DEFAULT_ANNOTATIONS)
    parser.add_argument("--count", type=int, default=64, help="synthetic hands per camera")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    if not (args.data / "frames").is_dir():
        sys.stderr.write(f"no real frames under {args.data}/frames\n")
        return 2
    real, synthetic, slopes = run(args.data, args.annotations, args.count, args.seed, keep_slopes=True)
    sys.stdout.write(table(real, synthetic) + "\n")
    checks = compare(real, synthetic)
    outside = [c for c in checks if not c["inside"]]
    for c in outside:
        sys.stdout.write(f"outside: {c['camera']} {c['statistic']} {c['file']}: real {c['real']:.3f}, synthetic "
                         f"{c['range']} {c['low']:.3f}..{c['high']:.3f} (by {c['outside_by']:.3f})\n")
    sys.stdout.write(f"{len(checks) - len(outside)} of {len(checks)} real values inside the synthetic range\n")
    plot_path = args.plot if args.plot is not None else args.out.with_suffix(".png")
    plot(real, slopes, synthetic, plot_path)
    document = {
        "about": "livepose.synth.realism: statistics of annotated real depth frames (tests/data/"
                 "realism_annotations.json) beside synthetic hands from livepose.synth.generator.hand_frames "
                 "for the same camera. Widths in mm (apparent silhouette widths), invalid_fraction: share of "
                 "no-reading pixels in a band just outside the hand, gradient_*: percentiles of the surface "
                 "slope |grad z| (mm per mm) on the hand. Synthetic entries summarise the frames (n, min, p5, "
                 "p50, p95, max). 'checks': each real value against its synthetic range.",
        "settings": {"count": args.count, "seed": args.seed, "band_px": BAND_PX, "hand_radius_mm": HAND_RADIUS_MM,
                     "jump_mm": JUMP_MM, "facing_cos": FACING_COS, "finger_visible": FINGER_VISIBLE,
                     "finger_straight_deg": FINGER_STRAIGHT_DEG, "finger_reach": FINGER_REACH,
                     "palm_beyond_mm": PALM_BEYOND_MM, "width_distance_mm": list(WIDTH_DISTANCE_MM)},
        "real": [{k: v for k, v in r.items() if k != "slopes"} for r in real],
        "synthetic": synthetic,
        "checks": checks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_rounded(document), indent=1) + "\n")
    sys.stdout.write(f"wrote {args.out} and {plot_path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
