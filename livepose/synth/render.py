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

import math
from dataclasses import dataclass

import torch

BACKGROUND_PART = -1
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


def _window(radius_px: torch.Tensor) -> int:
    if radius_px.numel() == 0:
        return 0
    return int(min(math.ceil(float(radius_px.max())) + 1, MAX_WINDOW_PX))


def render(centres: torch.Tensor, radii: torch.Tensor, parts: torch.Tensor, camera: torch.Tensor, height: int,
           width: int, planes: torch.Tensor | None = None, plane_parts: torch.Tensor | None = None) -> RenderOutput:
    """Render the union of spheres (and planes) seen by per-sample pinhole cameras.

    Args:
        centres: (B, S, 3) sphere centres, camera frame, mm.
        radii: (B, S) sphere radii, mm (spheres with radius <= 0 or behind the camera are skipped).
        parts: (S,) int part id of each sphere.
        camera: (B, 4) fx, fy, cx, cy in pixels.
        height, width: image size.
        planes: optional (B, P, 4) planes n . X = d as (nx, ny, nz, d), camera frame, mm; a plane with a zero
            normal is ignored. Only hits in front of the camera count.
        plane_parts: (P,) part ids of the planes (default 100, 101, ...).

    Returns:
        :class:`RenderOutput` with depth in mm (0 = no surface) and the part of the nearest surface.
    """
    device = centres.device
    batch, count = radii.shape
    fx, fy, cx, cy = (camera[:, i].to(centres.dtype) for i in range(4))
    pixels = height * width
    zbuf = torch.full((batch * pixels + 1,), float("inf"), device=device, dtype=centres.dtype)
    owner = torch.full((batch * pixels + 1,), BACKGROUND_PART, device=device, dtype=torch.int16)

    z = centres[..., 2]
    visible = (radii > 0) & (z > radii)
    u = fx[:, None] * centres[..., 0] / z.clamp_min(1e-3) + cx[:, None]
    v = fy[:, None] * centres[..., 1] / z.clamp_min(1e-3) + cy[:, None]
    radius_px = torch.where(visible, torch.maximum(fx, fy)[:, None] * radii / (z - radii * 0.999).clamp_min(1e-3),
                            torch.zeros_like(radii))

    hits: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    # Window sizes by part: small windows for fingers, larger ones for the palm and the forearm.
    for part in torch.unique(parts).tolist():
        members = (parts == part).nonzero().flatten()
        half = _window(radius_px[:, members])
        if half == 0:
            continue
        offsets = torch.arange(-half, half + 1, device=device)
        du = offsets.view(1, 1, 1, -1)
        dv = offsets.view(1, 1, -1, 1)
        pu = torch.round(u[:, members]).long()[..., None, None] + du  # (B, m, w, w)
        pv = torch.round(v[:, members]).long()[..., None, None] + dv
        rx = (pu - cx.view(-1, 1, 1, 1)) / fx.view(-1, 1, 1, 1)
        ry = (pv - cy.view(-1, 1, 1, 1)) / fy.view(-1, 1, 1, 1)
        c = centres[:, members][..., None, None, :]
        r = radii[:, members][..., None, None]
        # Ray X = t * (rx, ry, 1): |t d - c|^2 = r^2.
        dd = rx * rx + ry * ry + 1.0
        dc = rx * c[..., 0] + ry * c[..., 1] + c[..., 2]
        cc = (c * c).sum(-1) - r * r
        disc = dc * dc - dd * cc
        t = (dc - torch.sqrt(disc.clamp_min(0))) / dd
        ok = (disc >= 0) & (t > 0) & (pu >= 0) & (pu < width) & (pv >= 0) & (pv < height)
        ok &= visible[:, members][..., None, None]
        b = torch.arange(batch, device=device).view(-1, 1, 1, 1)
        index = torch.where(ok, b * pixels + pv.clamp(0, height - 1) * width + pu.clamp(0, width - 1),
                            torch.full_like(pu, batch * pixels))
        index, t = index.flatten(), torch.where(ok, t, torch.full_like(t, float("inf"))).flatten()
        zbuf.scatter_reduce_(0, index, t, reduce="amin")
        hits.append((index, t, torch.full_like(index, part, dtype=torch.int16)))
    for index, t, part_ids in hits:
        winner = t == zbuf[index]
        owner[index[winner]] = part_ids[winner]

    depth = zbuf[:-1].view(batch, height, width)
    part_map = owner[:-1].view(batch, height, width)
    if planes is not None and planes.shape[1] > 0:
        depth, part_map = _add_planes(depth, part_map, planes.to(depth.dtype), camera, plane_parts)
    depth = torch.where(torch.isfinite(depth), depth, torch.zeros_like(depth))
    return RenderOutput(depth.float(), part_map)


def _add_planes(depth: torch.Tensor, part_map: torch.Tensor, planes: torch.Tensor, camera: torch.Tensor,
                plane_parts: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    batch, height, width = depth.shape
    device = depth.device
    fx, fy, cx, cy = (camera[:, i].to(depth.dtype).view(-1, 1, 1) for i in range(4))
    us = torch.arange(width, device=device, dtype=depth.dtype).view(1, 1, -1)
    vs = torch.arange(height, device=device, dtype=depth.dtype).view(1, -1, 1)
    rx, ry = (us - cx) / fx, (vs - cy) / fy
    for p in range(planes.shape[1]):
        n = planes[:, p, :3].view(-1, 3, 1, 1)
        d = planes[:, p, 3].view(-1, 1, 1)
        denom = n[:, 0] * rx + n[:, 1] * ry + n[:, 2]
        t = d / torch.where(denom.abs() > 1e-9, denom, torch.full_like(denom, 1e-9))
        valid = (t > 0) & (denom.abs() > 1e-9) & (n.abs().sum(1) > 0)
        t = torch.where(valid, t, torch.full_like(t, float("inf")))
        nearer = t < depth
        depth = torch.where(nearer, t, depth)
        pid = int(plane_parts[p]) if plane_parts is not None else 100 + p
        part_map = torch.where(nearer, torch.full_like(part_map, pid), part_map)
    return depth, part_map
