"""Depth sensor models: what a stereo, structured-light or time-of-flight camera does to a perfect depth map.

Stereo and structured light (RealSense D4xx, SR300/SR305, Kinect v1 / NYU):
disparity ``f * B / z`` gets sub-pixel noise (so depth error grows with z^2)
and is quantised to a sub-pixel step; pixels the second view cannot see
(the one-sided *shadow* beside every foreground edge) have no depth; silhouette
edges lose pixels or turn into *flying pixels* between foreground and
background; grazing surfaces and random blobs become holes.

Time of flight (Azure Kinect, the ICVL camera): noise grows linearly with z;
*multipath* blurs depth near edges; dark (low-reflectivity) regions are
invalid; flying pixels are frequent at edges.

Every effect's strength is drawn per sample from a range, so training sees a
family of sensors. All operations are batched torch on (B, H, W) depth in mm;
0 means no reading. Pure functions, any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from livepose.errors import LivePoseError


@dataclass(frozen=True)
class SensorModel:
    """A depth sensor's behaviour, each effect as a (low, high) range sampled per image.

    Attributes:
        kind: ``stereo``, ``structured_light`` or ``tof``.
        baseline_mm: stereo / projector baseline (disparity = f * B / z); unused for ToF.
        disparity_noise_px: std of disparity noise in pixels (stereo, structured light).
        disparity_step_px: disparity quantisation step (1/32 .. 1/8 px).
        tof_noise: (a_mm, b) std = a + b * z for time of flight.
        range_mm: (min, max) depths the sensor reports.
        edge_dropout: probability that a silhouette-edge pixel has no depth.
        flying: probability that an edge pixel is a blend of foreground and background.
        hole_fraction: fraction of the image covered by random invalid blobs.
        grazing_deg: surfaces steeper than this (to the view ray) tend to have no depth.
        multipath_mm: ToF depth smearing near edges (blur weight scale).
        dilation_px: silhouettes grow by this many pixels into the background (Kinect v1's block matching
            fattens foreground edges by a few pixels), drawn per image as a whole number.
        smoothing: weight of an edge-preserving 5x5 average mixed into the depth (the SR300/SR305 and Kinect
            v1 filter their depth: real hands show far less relief noise than raw disparity gives).
        unit_mm: depth quantisation unit (1 mm, 0.125 mm for an SR305).
    """

    kind: str
    baseline_mm: float = 50.0
    disparity_noise_px: tuple[float, float] = (0.03, 0.12)
    disparity_step_px: tuple[float, float] = (1 / 32, 1 / 8)
    tof_noise: tuple[float, float] = (1.0, 0.002)
    range_mm: tuple[float, float] = (150.0, 6000.0)
    edge_dropout: tuple[float, float] = (0.2, 0.7)
    flying: tuple[float, float] = (0.05, 0.3)
    hole_fraction: tuple[float, float] = (0.0, 0.03)
    grazing_deg: tuple[float, float] = (70.0, 85.0)
    multipath_mm: tuple[float, float] = (0.0, 0.0)
    dilation_px: tuple[int, int] = (0, 0)
    smoothing: tuple[float, float] = (0.0, 0.0)
    unit_mm: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("stereo", "structured_light", "tof"):
            raise LivePoseError(f"sensor kind {self.kind!r}: expected stereo, structured_light or tof")


SENSORS: dict[str, SensorModel] = {
    # camera profile name -> sensor model
    "d435_640": SensorModel("stereo", baseline_mm=50.0, range_mm=(200.0, 8000.0)),
    "d435_848": SensorModel("stereo", baseline_mm=50.0, range_mm=(200.0, 8000.0)),
    "sr305": SensorModel("structured_light", baseline_mm=25.0, disparity_noise_px=(0.001, 0.006),
                         disparity_step_px=(1 / 256, 1 / 128), flying=(0.0, 0.05), range_mm=(150.0, 1500.0),
                         smoothing=(0.5, 1.0), unit_mm=0.125),
    "hands2017": SensorModel("structured_light", baseline_mm=25.0, disparity_noise_px=(0.005, 0.02),
                             disparity_step_px=(1 / 128, 1 / 32), range_mm=(150.0, 1500.0), smoothing=(0.2, 0.9)),
    "nyu": SensorModel("structured_light", baseline_mm=75.0, disparity_noise_px=(0.01, 0.04),
                       disparity_step_px=(1 / 8, 1 / 8), range_mm=(400.0, 4000.0), dilation_px=(1, 5),
                       smoothing=(0.3, 1.0)),
    "icvl": SensorModel("tof", tof_noise=(2.0, 0.004), range_mm=(150.0, 1000.0), multipath_mm=(2.0, 8.0),
                        edge_dropout=(0.1, 0.4), flying=(0.2, 0.5)),
    "azure_kinect_nfov": SensorModel("tof", tof_noise=(1.0, 0.0015), range_mm=(500.0, 3860.0),
                                     multipath_mm=(2.0, 10.0), edge_dropout=(0.1, 0.4), flying=(0.2, 0.5)),
    "itop_side": SensorModel("tof", tof_noise=(5.0, 0.003), range_mm=(500.0, 6000.0), multipath_mm=(5.0, 20.0)),
    "itop_top": SensorModel("tof", tof_noise=(5.0, 0.003), range_mm=(500.0, 6000.0), multipath_mm=(5.0, 20.0)),
}


def _uniform(low_high: tuple[float, float], batch: int, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    low, high = low_high
    return low + (high - low) * torch.rand(batch, generator=generator, device=device)


def _blobs(batch: int, height: int, width: int, fraction: torch.Tensor, scale: int,
           generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """(B, H, W) bool: smooth random blobs covering about ``fraction`` (B,) of the image."""
    small = torch.rand(batch, 1, max(height // scale, 2), max(width // scale, 2), generator=generator, device=device)
    small = F.avg_pool2d(small, 3, stride=1, padding=1, count_include_pad=False)  # smoother blobs
    ordered = small.flatten(1).sort(dim=1).values
    rank = ((1 - fraction.clamp(0, 1)) * (ordered.shape[1] - 1)).round().long()
    threshold = ordered.gather(1, rank.view(-1, 1)).view(-1, 1, 1)
    field = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)[:, 0]
    return (field > threshold) & (fraction.view(-1, 1, 1) > 0)


def _occluder_margin(disparity: torch.Tensor, pixel_scale: torch.Tensor, reach: int) -> torch.Tensor:
    """max over k = 1..``reach`` of ``disparity`` k pixels to the left minus k * ``pixel_scale``.

    A pixel is in a nearer surface's shadow when this exceeds its own disparity: some pixel k to its left
    is more than k real pixels nearer in disparity. Built by doubling (windows of 1, 2, 4, ... pixels
    combined along the binary digits of ``reach``): O(log reach) whole-image steps instead of ``reach``.

    Args:
        disparity: (B, H, W) disparity in real pixels, 0 = no reading.
        pixel_scale: (B, 1, 1) real pixels per rendered pixel.
        reach: the largest k (>= 1).
    """
    def shifted(x: torch.Tensor, du: int) -> torch.Tensor:
        out = torch.full_like(x, float("-inf"))
        if du < x.shape[-1]:
            out[..., du:] = x[..., :-du]
        return out

    window, size = shifted(disparity, 1) - pixel_scale, 1  # k in 1..size
    result, covered = None, 0
    for bit in range(reach.bit_length()):
        if reach >> bit & 1:  # append this power-of-two window after the ``covered`` ones
            part = window if covered == 0 else shifted(window, covered) - covered * pixel_scale
            result = part if result is None else torch.maximum(result, part)
            covered += size
        if size * 2 <= reach:
            window = torch.maximum(window, shifted(window, size) - size * pixel_scale)
            size *= 2
    return result


def _edges(depth: torch.Tensor, jump_mm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge mask (a neighbour differs by more than ``jump_mm``) and the farthest neighbour depth."""
    padded = F.pad(depth[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]

    def four(x: torch.Tensor, pick: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        # The left, right, upper and lower neighbours, reduced pairwise (no stacked copy).
        return pick(pick(x[:, 1:-1, :-2], x[:, 1:-1, 2:]), pick(x[:, :-2, 1:-1], x[:, 2:, 1:-1]))

    farthest = four(padded, torch.maximum)
    nearest = four(torch.where(padded > 0, padded, float("inf")), torch.minimum)
    missing_neighbour = four(padded, torch.minimum) <= 0
    jump = ((farthest - depth) > jump_mm) | ((depth - nearest) > jump_mm) | ((depth > 0) & missing_neighbour)
    return jump & (depth > 0), farthest


def _dilate_silhouettes(depth: torch.Tensor, pixels: tuple[int, int], generator: torch.Generator | None,
                        ) -> torch.Tensor:
    """Grow every nearer surface by 0..``pixels`` (per image) pixels over what lies behind it."""
    low, high = pixels
    if high <= 0:
        return depth
    counts = torch.randint(low, high + 1, (depth.shape[0],), generator=generator, device=depth.device)
    for step in range(high):
        solid = torch.where(depth > 0, depth, torch.full_like(depth, float("inf")))
        nearest = -F.max_pool2d(-solid[:, None], 3, stride=1, padding=1)[:, 0]
        grow = (nearest < depth - 30.0) | ((depth == 0) & torch.isfinite(nearest))
        grow &= (step < counts).view(-1, 1, 1)
        depth = torch.where(grow, nearest, depth)
    return depth


def _smooth(depth: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mix an edge-preserving 5x5 average into the depth with per-image ``weight`` (B,)."""
    valid = (depth > 0).float()[:, None]
    total = F.avg_pool2d(depth[:, None] * valid, 5, stride=1, padding=2)
    count = F.avg_pool2d(valid, 5, stride=1, padding=2)
    mean = (total / count.clamp_min(1e-6))[:, 0]
    same_surface = (depth > 0) & ((mean - depth).abs() < 8.0)
    w = weight.view(-1, 1, 1)
    return torch.where(same_surface, depth * (1 - w) + mean * w, depth)


def apply_sensor(depth: torch.Tensor, sensor: SensorModel, focal_px: torch.Tensor, pixel_scale: torch.Tensor,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Turn perfect depth into what ``sensor`` would report.

    Args:
        depth: (B, H, W) float mm, 0 = nothing.
        sensor: the sensor model.
        focal_px: (B,) the real camera's focal length in pixels (sets disparity).
        pixel_scale: (B,) real camera pixels per rendered pixel (1 for full frames; a crop rendered at
            176 px from a 250 px box has 250/176): shadows and edge bands are sized in real pixels.
        generator: random source (same generator state -> same output).

    Returns:
        (B, H, W) float32 depth in mm quantised to the sensor's unit; 0 where the sensor has no reading.
    """
    device = depth.device
    batch, height, width = depth.shape
    depth = _dilate_silhouettes(depth.float(), sensor.dilation_px, generator)
    valid = depth > 0
    edge, farthest = _edges(depth, jump_mm=15.0)

    if sensor.kind in ("stereo", "structured_light"):
        fb = (focal_px * sensor.baseline_mm).view(-1, 1, 1)
        # One-sided shadow: background pixels just right of a nearer surface, within the disparity difference.
        disparity = torch.where(valid, fb / depth.clamp_min(1.0), torch.zeros_like(depth))
        max_shift = int(min(24, max(1, float((fb.max() / 300.0) / pixel_scale.min()))))
        shadow = valid & (_occluder_margin(disparity, pixel_scale.view(-1, 1, 1), max_shift) > disparity)
        sigma = _uniform(sensor.disparity_noise_px, batch, generator, device).view(-1, 1, 1)
        smooth = F.interpolate(torch.randn(batch, 1, max(height // 8, 2), max(width // 8, 2), generator=generator,
                                           device=device), size=(height, width), mode="bilinear",
                               align_corners=False)[:, 0]
        noise = sigma * (0.6 * torch.randn(depth.shape, generator=generator, device=device) + 0.8 * smooth)
        step = _uniform(sensor.disparity_step_px, batch, generator, device).view(-1, 1, 1)
        noisy = torch.round((disparity + noise) / step) * step
        depth = torch.where(valid & (noisy > 0), fb / noisy.clamp_min(1e-6), torch.zeros_like(depth))
        depth = torch.where(shadow, torch.zeros_like(depth), depth)
    else:
        a, b = sensor.tof_noise
        strength = _uniform(sensor.multipath_mm, batch, generator, device).view(-1, 1, 1)
        blurred = F.avg_pool2d(depth[:, None], 5, stride=1, padding=2, count_include_pad=False)[:, 0]
        near_edge = F.max_pool2d(edge[:, None].float(), 5, stride=1, padding=2)[:, 0] > 0
        mix = (strength / 10.0).clamp(0, 1)
        depth = torch.where(near_edge & valid, depth * (1 - mix) + blurred * mix, depth)
        depth = depth + (a + b * depth) * torch.randn(depth.shape, generator=generator, device=device)
        dark = _blobs(batch, height, width, _uniform((0.0, 0.04), batch, generator, device), 12, generator, device)
        depth = torch.where(dark, torch.zeros_like(depth), depth)

    if sensor.smoothing[1] > 0:
        depth = _smooth(depth, _uniform(sensor.smoothing, batch, generator, device))

    # Silhouette edges: dropped pixels and flying pixels between foreground and background.
    p_drop = _uniform(sensor.edge_dropout, batch, generator, device).view(-1, 1, 1)
    p_fly = _uniform(sensor.flying, batch, generator, device).view(-1, 1, 1)
    roll = torch.rand(depth.shape, generator=generator, device=device)
    blend = torch.rand(depth.shape, generator=generator, device=device)
    flying = edge & (roll < p_fly) & (farthest > depth)
    depth = torch.where(flying, depth + blend * (farthest - depth), depth)
    depth = torch.where(edge & (roll >= p_fly) & (roll < p_fly + p_drop), torch.zeros_like(depth), depth)

    # Grazing surfaces and random holes.
    gy, gx = torch.gradient(depth, dim=(1, 2))
    mm_per_px = (depth / focal_px.view(-1, 1, 1)) * pixel_scale.view(-1, 1, 1)
    slope = torch.sqrt((gx * gx + gy * gy).clamp_min(1e-20)) / mm_per_px.clamp_min(1e-3)  # no 0: see render
    limit = torch.tan(torch.deg2rad(_uniform(sensor.grazing_deg, batch, generator, device))).view(-1, 1, 1)
    grazing = (slope > limit) & ~edge & (torch.rand(depth.shape, generator=generator, device=device) < 0.7)
    holes = _blobs(batch, height, width, _uniform(sensor.hole_fraction, batch, generator, device), 16, generator,
                   device)
    depth = torch.where(grazing | holes, torch.zeros_like(depth), depth)

    low, high = sensor.range_mm
    depth = torch.where((depth >= low) & (depth <= high), depth, torch.zeros_like(depth))
    return torch.round(depth / sensor.unit_mm) * sensor.unit_mm
