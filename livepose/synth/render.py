"""Batched depth rendering of sphere sets and planes, in torch (CPU or CUDA).

Every body part is a union of spheres (dense chains of spheres with linearly
interpolated radii make tapered capsules). Each sphere is *splatted*: the
pixels in a square window around its projection cast a ray through their
centre, intersect the sphere exactly, and the nearest hit wins through a
``scatter_reduce(amin)`` z-buffer. Planes (a desk, a wall, a floor) are
intersected analytically for every pixel.

Camera model: pinhole, livepose's frame (x right, y down, z forward, mm).
A pixel (u, v) looks along ``((u - cx) / fx, (v - cy) / fy, 1)``, so the ray
parameter *is* the depth z. Intrinsics may differ per sample, which is how a
batch of crops at different distances renders in one call (a crop is a
virtual camera: see :func:`crop_camera`).

Functions are pure; tensors stay on their device. Safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BACKGROUND_PART = -1
_TINY = 1e-20  # stands in for 0 under a square root (see render)
MAX_WINDOW_PX = 160  # half window cap: a sphere bigger than this on screen is clipped to a square (never happens
# for hands and bodies at the distances livepose simulates)


@dataclass(frozen=True)
class RenderOutput:
    """depth: (B, H, W) float32 mm, 0 where nothing was hit; part: (B, H, W) int16 part id, -1 for none."""

    depth: torch.Tensor
    part: torch.Tensor


def crop_camera(fx: torch.Tensor, fy: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, box: torch.Tensor,
                size: int) -> torch.Tensor:
    """A virtual camera whose ``size`` x ``size`` image samples the pixel box ``box`` of the real camera.

    Args:
        fx, fy, cx, cy: (B,) real intrinsics.
        box: (B, 4) x_min, y_min, x_max, y_max in real pixels.
        size: output side in pixels.

    Returns:
        (B, 4) fx, fy, cx, cy of the virtual camera.
    """
    sx = size / (box[:, 2] - box[:, 0])
    sy = size / (box[:, 3] - box[:, 1])
    return torch.stack((fx * sx, fy * sy, (cx - box[:, 0]) * sx, (cy - box[:, 1]) * sy), dim=1)


# Half window sizes: each sphere is splatted in the smallest that holds it.
WINDOW_BINS = (*range(2, 19), 20, 22, 24, 28, 32, 40, 48, 64, 96, MAX_WINDOW_PX)


def render(centres: torch.Tensor, radii: torch.Tensor, parts: torch.Tensor, camera: torch.Tensor, height: int,
           width: int, planes: torch.Tensor | None = None, plane_parts: torch.Tensor | None = None,
           ellipsoids: torch.Tensor | None = None, ellipsoid_parts: torch.Tensor | None = None,
           with_parts: bool = True) -> RenderOutput:
    """Render the union of spheres (and planes, and ellipsoids) seen by per-sample pinhole cameras.

    Args:
        centres: (B, S, 3) sphere centres, camera frame, mm.
        radii: (B, S) sphere radii, mm (spheres with radius <= 0, behind the camera or off the image are skipped).
        parts: (S,) int part id of each sphere.
        camera: (B, 4) fx, fy, cx, cy in pixels.
        height, width: image size.
        planes: optional (B, P, 4) planes n . X = d as (nx, ny, nz, d), camera frame, mm; a plane with a zero
            normal is ignored. Only hits in front of the camera count.
        plane_parts: (P,) part ids of the planes (default 100, 101, ...).
        ellipsoids: optional (B, E, 6) axis-aligned ellipsoids (centre x, y, z, semi-axes a, b, c) in mm, drawn
            analytically for every pixel (cheap for big scenery such as a torso behind a hand); a = 0 skips one.
        ellipsoid_parts: (E,) part ids (default 80, 81, ...).
        with_parts: also work out which part each pixel shows (a second pass; training inputs skip it and
            get an all -1 part map).

    Returns:
        :class:`RenderOutput` with depth in mm (0 = no surface) and the part of the nearest surface.

    Each sphere is splatted in the smallest window of :data:`WINDOW_BINS` that holds its projection, so the
    cost follows each sphere's own size on screen.
    """
    device = centres.device
    batch, count = radii.shape
    fx, fy, cx, cy = (camera[:, i].to(centres.dtype) for i in range(4))
    pixels = height * width
    zbuf = torch.full((batch * pixels,), float("inf"), device=device, dtype=centres.dtype)
    owner = torch.full((batch * pixels,), BACKGROUND_PART, device=device, dtype=torch.int16)

    z = centres[..., 2]
    u = fx[:, None] * centres[..., 0] / z.clamp_min(1e-3) + cx[:, None]
    v = fy[:, None] * centres[..., 1] / z.clamp_min(1e-3) + cy[:, None]
    radius_px = torch.maximum(fx, fy)[:, None] * radii / (z - radii * 0.999).clamp_min(1e-3)
    half = radius_px.ceil() + 1
    visible = ((radii > 0) & (z > radii) & (u + half >= 0) & (u - half < width) & (v + half >= 0)
               & (v - half < height))
    sphere_parts = parts.to(device).to(torch.int16).expand(batch, count)

    hits: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    nan = torch.tensor(float("nan"), device=device, dtype=centres.dtype)
    inf = torch.tensor(float("inf"), device=device, dtype=centres.dtype)
    lower = 0
    for upper in WINDOW_BINS:
        members = (visible & (half > lower) & (half <= upper)) if upper < MAX_WINDOW_PX else (visible & (half > lower))
        lower = upper
        b_index, s_index = members.nonzero(as_tuple=True)
        if b_index.numel() == 0:
            continue
        offsets = torch.arange(-upper, upper + 1, device=device)
        pu = torch.round(u[b_index, s_index]).long()[:, None] + offsets  # (N, w) columns
        pv = torch.round(v[b_index, s_index]).long()[:, None] + offsets  # (N, w) rows
        # Ray slopes; NaN off the image, so those pixels fail the hit test below without a mask of their own.
        rx = torch.where((pu >= 0) & (pu < width), (pu - cx[b_index, None]) / fx[b_index, None], nan)
        ry = torch.where((pv >= 0) & (pv < height), (pv - cy[b_index, None]) / fy[b_index, None], nan)
        c = centres[b_index, s_index]
        r = radii[b_index, s_index]
        minus_cc = r * r - (c * c).sum(-1)
        ray_u, ray_v = rx * rx, ry * ry + 1.0
        near_u, near_v = rx * c[:, 0, None], ry * c[:, 1, None] + c[:, 2, None]
        # Window pixels that miss get t = inf, so writing them anywhere is harmless (amin keeps the old value):
        # off-image ones write to the nearest edge pixel instead of needing a mask.
        rows = (b_index * pixels)[:, None] + pv.clamp(0, height - 1) * width
        cols = pu.clamp(0, width - 1)
        # Ray X = t * (rx, ry, 1) meets |X - c| = r where dd t^2 - 2 dc t + cc = 0. Only these (N, w, w)
        # products touch every window pixel; the rest is per row or per column.
        dd = ray_u[:, None, :] + ray_v[:, :, None]
        dc = near_u[:, None, :] + near_v[:, :, None]
        disc = torch.addcmul(dd * minus_cc[:, None, None], dc, dc)  # < 0 (or NaN off the image): a miss
        # sqrt of a tiny positive number instead of 0 or a negative one: CPU sqrt takes a slow path, 8-15x
        # slower, for every vector that holds a zero or a negative.
        t = torch.where(disc > 0, (dc - torch.sqrt(disc.clamp_min(_TINY))) / dd, inf).flatten()
        index = (rows[:, :, None] + cols[:, None, :]).flatten()
        zbuf.scatter_reduce_(0, index, t, reduce="amin")
        if with_parts:
            hits.append((index, t, sphere_parts[b_index, s_index].repeat_interleave((2 * upper + 1) ** 2)))
    for index, t, part_ids in hits:
        winner = (t == zbuf[index]) & torch.isfinite(t)
        owner[index[winner]] = part_ids[winner]

    depth = zbuf.view(batch, height, width)
    part_map = owner.view(batch, height, width)
    if ellipsoids is not None and ellipsoids.shape[1] > 0:
        depth, part_map = _add_ellipsoids(depth, part_map, ellipsoids.to(depth.dtype), camera, ellipsoid_parts)
    if planes is not None and planes.shape[1] > 0:
        depth, part_map = _add_planes(depth, part_map, planes.to(depth.dtype), camera, plane_parts)
    depth = torch.where(torch.isfinite(depth), depth, torch.zeros_like(depth))
    return RenderOutput(depth.float(), part_map)


def _pixel_rays(camera: torch.Tensor, height: int, width: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 1, W) and (B, H, 1) ray slopes x/z and y/z of every pixel centre."""
    device = camera.device
    fx, fy, cx, cy = (camera[:, i].to(dtype).view(-1, 1, 1) for i in range(4))
    us = torch.arange(width, device=device, dtype=dtype).view(1, 1, -1)
    vs = torch.arange(height, device=device, dtype=dtype).view(1, -1, 1)
    return (us - cx) / fx, (vs - cy) / fy


def _add_ellipsoids(depth: torch.Tensor, part_map: torch.Tensor, ellipsoids: torch.Tensor, camera: torch.Tensor,
                    parts: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    _, height, width = depth.shape
    rx, ry = _pixel_rays(camera, height, width, depth.dtype)
    for e in range(ellipsoids.shape[1]):
        centre = ellipsoids[:, e, :3].view(-1, 3, 1, 1)
        axes = ellipsoids[:, e, 3:].clamp_min(1e-6).view(-1, 3, 1, 1)
        present = (ellipsoids[:, e, 3] > 0).view(-1, 1, 1)
        # Scale space by 1/axes: the ellipsoid becomes the unit sphere around c / axes.
        dx, dy, dz = rx / axes[:, 0], ry / axes[:, 1], 1.0 / axes[:, 2]
        cx_, cy_, cz_ = centre[:, 0] / axes[:, 0], centre[:, 1] / axes[:, 1], centre[:, 2] / axes[:, 2]
        dd = dx * dx + dy * dy + dz * dz
        dc = dx * cx_ + dy * cy_ + dz * cz_
        cc = cx_ * cx_ + cy_ * cy_ + cz_ * cz_ - 1.0
        disc = dc * dc - dd * cc
        t = (dc - torch.sqrt(disc.clamp_min(_TINY))) / dd
        t = torch.where(present & (disc >= 0) & (t > 0), t, torch.full_like(t, float("inf")))
        depth, part_map = _keep_nearer(depth, part_map, t, int(parts[e]) if parts is not None else 80 + e)
    return depth, part_map


def _keep_nearer(depth: torch.Tensor, part_map: torch.Tensor, t: torch.Tensor, part: int,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Z-buffer step for an analytic surface: where ``t`` (B, H, W; inf = no hit) is nearer, it wins."""
    nearer = t < depth
    return torch.where(nearer, t, depth), torch.where(nearer, torch.full_like(part_map, part), part_map)


def _add_planes(depth: torch.Tensor, part_map: torch.Tensor, planes: torch.Tensor, camera: torch.Tensor,
                plane_parts: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    _, height, width = depth.shape
    rx, ry = _pixel_rays(camera, height, width, depth.dtype)
    for p in range(planes.shape[1]):
        n = planes[:, p, :3].view(-1, 3, 1, 1)
        d = planes[:, p, 3].view(-1, 1, 1)
        denom = n[:, 0] * rx + n[:, 1] * ry + n[:, 2]
        t = d / torch.where(denom.abs() > 1e-9, denom, torch.full_like(denom, 1e-9))
        valid = (t > 0) & (denom.abs() > 1e-9) & (n.abs().sum(1) > 0)
        t = torch.where(valid, t, torch.full_like(t, float("inf")))
        depth, part_map = _keep_nearer(depth, part_map, t, int(plane_parts[p]) if plane_parts is not None else 100 + p)
    return depth, part_map
