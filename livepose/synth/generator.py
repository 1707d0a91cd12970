"""Synthetic depth frames and training crops of hands and bodies, with exact joints.

- :func:`hand_frames` / :func:`body_frames`: whole frames at a camera's
  resolution and depth unit (for files, recordings, the synthetic source).
- :func:`hand_crops`: network inputs rendered directly at the crop's
  resolution (a virtual camera looking through the crop box), normalised
  exactly as :func:`livepose.detect.crop.crop_hand` normalises real frames,
  with targets in crop coordinates: the fast path for training on the fly.

Everything is batched torch on any device and deterministic for a given
``torch.Generator`` (same seed, same pixels). Camera names are calibration
profiles that have a sensor model (:data:`livepose.synth.sensors.SENSORS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from livepose.calibration import CropSettings, load_profile
from livepose.detect.crop import BOX_REFERENCE_PERCENTILE
from livepose.errors import LivePoseError
from livepose.synth.body import sample_bodies
from livepose.synth.geometry import SphereSet
from livepose.synth.hand import sample_hands
from livepose.synth.render import crop_camera, render
from livepose.synth.scene import HAND_DISTANCE_MM, hand_background, place_bodies, place_hands, room_planes
from livepose.synth.sensors import SENSORS, apply_sensor

HAND_CENTRE_JOINTS = (0, 5, 9, 13, 17)  # palm centre = mean of the wrist and the four finger MCPs (HAND21)
# Whole frames keep the palm centre this far inside the sensor's range: a hand nearer than its minimum range
# plus ~50 mm is mostly unread (measured on the held-out nyu and d435_848 splits: 35-45 % of the joints have a
# reading with the palm centre 0-50 mm beyond it, 87-92 % from 50 mm on, as far away).
HAND_RANGE_MARGIN_MM = 50.0
PLANE_PARTS = torch.tensor([60, 61])  # part ids of the wall / floor and the desk / back wall
BODY_PARTS = torch.tensor([50, 51])  # part ids of the torso and head behind a hand


@dataclass(frozen=True)
class SynthFrames:
    """A batch of synthetic frames.

    Attributes:
        depth: (B, H, W) uint16 raw depth in the camera's unit (0 = no reading).
        depth_mm: (B, H, W) float32 mm, the same values in millimetres.
        part: (B, H, W) int16 part id of the perfect render (-1 none; hand 0-6 or body 0-5; scenery >= 50).
        joints_mm: (B, J, 3) camera frame, mm.
        joints_uvd: (B, J, 3) image u, v (px) and depth (mm).
        centre_uvd: (B, 3) the hand's palm centre (or the body's torso) in u, v, d.
        is_left: (B,) bool, left hands (all False for bodies).
        camera: the profile name; width, height, depth_unit_mm, intrinsics (fx, fy, cx, cy) as (4,).
    """

    depth: torch.Tensor
    depth_mm: torch.Tensor
    part: torch.Tensor
    joints_mm: torch.Tensor
    joints_uvd: torch.Tensor
    centre_uvd: torch.Tensor
    is_left: torch.Tensor
    camera: str
    intrinsics: torch.Tensor
    depth_unit_mm: float


@dataclass(frozen=True)
class CropBatch:
    """Training crops: inputs (B, 1, H, W) normalised; targets (B, J, 3) crop u, v (px) and depth minus centre."""

    inputs: torch.Tensor
    targets: torch.Tensor
    joints_mm: torch.Tensor
    centre_uvd: torch.Tensor
    box: torch.Tensor
    intrinsics: torch.Tensor
    reference_depth_mm: torch.Tensor | None = None  # (B,) mm subtracted from a relative box crop, else None


# Synthetic body boxes: each edge of the silhouette box moves by up to this fraction of the box size.
BODY_BOX_JITTER = 0.04


def camera_tensor(name: str, batch: int, device: torch.device | str) -> tuple[torch.Tensor, int, int, float]:
    """(B, 4) intrinsics of a named camera, its width, height and the depth unit (mm) frames are written in.

    The unit is the sensor model's (ITOP's published frames are in metres; synthetic ITOP-camera frames are
    written as uint16 millimetres).
    """
    if name not in SENSORS:
        raise LivePoseError(f"camera {name!r}: expected one of {', '.join(sorted(SENSORS))}")
    intr = load_profile(name).intrinsics
    cam = torch.tensor([intr.fx, intr.fy, intr.cx, intr.cy], dtype=torch.float32, device=device).repeat(batch, 1)
    return cam, intr.width, intr.height, SENSORS[name].unit_mm


def project(points: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) camera-frame mm to (B, N, 3) u, v (px), d (mm) with (B, 4) intrinsics."""
    fx, fy, cx, cy = (camera[:, i, None] for i in range(4))
    z = points[..., 2]
    return torch.stack((points[..., 0] * fx / z + cx, points[..., 1] * fy / z + cy, z), dim=-1)


def _to_raw(depth_mm: torch.Tensor, unit_mm: float) -> torch.Tensor:
    return torch.round(depth_mm / unit_mm).clamp(0, 65535).to(torch.int32).to(torch.uint16)


def hand_distance_mm(camera: str) -> tuple[float, float]:
    """Palm-centre depths (min, max) in mm of the hands in :func:`hand_frames` from ``camera``.

    livepose's hand range (:data:`livepose.synth.scene.HAND_DISTANCE_MM`) narrowed to lie
    :data:`HAND_RANGE_MARGIN_MM` inside the sensor's range, so that every frame shows the hand: a Kinect v1
    (``nyu``) reads nothing nearer than 400 mm, and a held-out frame with no hand in it measures nothing.
    Training crops (:func:`hand_crops`) keep the whole range."""
    near, far = SENSORS[camera].range_mm
    return max(HAND_DISTANCE_MM[0], near + HAND_RANGE_MARGIN_MM), min(HAND_DISTANCE_MM[1], far - HAND_RANGE_MARGIN_MM)


def _hand_scene(batch: int, camera: torch.Tensor, width: int, height: int, generator: torch.Generator | None,
                device: torch.device | str, distance_mm: tuple[float, float] = HAND_DISTANCE_MM):
    hands = sample_hands(batch, generator=generator, device=device)
    anchor = hands.joints[:, HAND_CENTRE_JOINTS].mean(1)
    placement = place_hands(anchor, camera, width, height, generator, distance_mm=distance_mm)
    joints = placement.apply(hands.joints)
    spheres = hands.spheres.transformed(placement.rotation, placement.translation)
    centre = placement.apply(anchor[:, None])[:, 0]
    planes, scenery = hand_background(placement, centre, generator)
    return hands, joints, spheres, centre, planes, scenery


def hand_frames(batch: int, camera: str = "d435_640", generator: torch.Generator | None = None,
                device: torch.device | str = "cpu", noise: bool = True) -> SynthFrames:
    """Whole frames of a hand in front of ``camera``, its palm centre :func:`hand_distance_mm` away (see the
    module docstring)."""
    cam, width, height, unit = camera_tensor(camera, batch, device)
    hands, joints, spheres, centre, planes, scenery = _hand_scene(batch, cam, width, height, generator, device,
                                                                  hand_distance_mm(camera))
    out = render(spheres.centres, spheres.radii, spheres.parts, cam, height, width, planes=planes,
                 plane_parts=PLANE_PARTS, ellipsoids=scenery, ellipsoid_parts=BODY_PARTS)
    depth = apply_sensor(out.depth, SENSORS[camera], cam[:, 0], torch.ones(batch, device=device), generator) \
        if noise else torch.round(out.depth / unit) * unit
    raw = _to_raw(depth, unit)
    return SynthFrames(depth=raw, depth_mm=raw.float() * unit, part=out.part, joints_mm=joints,
                       joints_uvd=project(joints, cam), centre_uvd=project(centre[:, None], cam)[:, 0],
                       is_left=hands.side, camera=camera, intrinsics=cam[0], depth_unit_mm=unit)


def body_frames(batch: int, camera: str = "itop_side", generator: torch.Generator | None = None,
                device: torch.device | str = "cpu", noise: bool = True, whole_body: bool = False) -> SynthFrames:
    """Whole frames of a person in a room seen by ``camera`` (``itop_top``: from the ceiling).

    With ``whole_body`` (front view only) every frame shows the whole person, as ITOP's frames do (people
    are drawn until enough fit in the picture and within the sensor's range, as in :func:`body_crops`)."""
    cam, width, height, unit = camera_tensor(camera, batch, device)
    if whole_body and camera != "itop_top":
        drawn = batch * 6
        sizes = torch.tensor([[width, height]], dtype=torch.float32, device=device).expand(drawn, 2)
        far = torch.full((drawn,), SENSORS[camera].range_mm[1], device=device)
        placed = _place_bodies_in_view(drawn, cam[:1].expand(drawn, 4), sizes, far, generator, device, 0.0, True)
        good = placed.usable.nonzero().flatten()
        if good.numel() == 0:
            raise LivePoseError(f"body_frames: nobody fits in the {camera} picture")
        keep = good[torch.arange(batch, device=device) % good.numel()]
        joints, planes = placed.joints[keep], placed.planes[keep]
        spheres = SphereSet(placed.spheres.centres[keep], placed.spheres.radii[keep], placed.spheres.parts)
    else:
        bodies = sample_bodies(batch, generator=generator, device=device)
        placement, floor_offset = place_bodies(batch, top_view=camera == "itop_top", generator=generator,
                                               device=device)
        joints = placement.apply(bodies.joints)
        spheres = bodies.spheres.transformed(placement.rotation, placement.translation)
        planes = room_planes(placement, floor_offset, generator)
    out = render(spheres.centres, spheres.radii, spheres.parts, cam, height, width, planes=planes,
                 plane_parts=PLANE_PARTS)
    depth = apply_sensor(out.depth, SENSORS[camera], cam[:, 0], torch.ones(batch, device=device), generator) \
        if noise else torch.round(out.depth / unit) * unit
    raw = _to_raw(depth, unit)
    torso = joints[:, 8]
    return SynthFrames(depth=raw, depth_mm=raw.float() * unit, part=out.part, joints_mm=joints,
                       joints_uvd=project(joints, cam), centre_uvd=project(torso[:, None], cam)[:, 0],
                       is_left=torch.zeros(batch, dtype=torch.bool, device=device), camera=camera,
                       intrinsics=cam[0], depth_unit_mm=unit)


def _crop_sensors(depth: torch.Tensor, cameras: Sequence[str], choice: torch.Tensor, cams: torch.Tensor,
                  box: torch.Tensor, width: int, generator: torch.Generator | None) -> torch.Tensor:
    """Each crop's perfect depth (B, H, W) mm through the sensor model of its camera (``cameras[choice]``),
    at the crop's pixel scale (box width / crop width real pixels per crop pixel)."""
    out = torch.zeros_like(depth)
    for index, name in enumerate(cameras):
        members = choice == index
        if members.any():
            scale = (box[members, 2] - box[members, 0]) / width
            out[members] = apply_sensor(depth[members], SENSORS[name], cams[members, 0], scale, generator)
    return out


def hand_crops(batch: int, crop: CropSettings, cameras: Sequence[str] = ("d435_640", "sr305", "hands2017"),
               generator: torch.Generator | None = None, device: torch.device | str = "cpu",
               centre_jitter_mm: float = 10.0) -> CropBatch:
    """Network inputs for hand training, rendered straight into the crop (see the module docstring).

    The crop centre is the true palm centre moved by up to ``centre_jitter_mm`` in each axis, like a
    detector's estimate; each sample uses one of ``cameras`` at random (its focal length, its sensor).
    """
    if crop.method != "centre":
        raise LivePoseError("hand_crops needs a centre crop")
    choice = torch.randint(0, len(cameras), (batch,), generator=generator, device=device)
    cams = torch.stack([camera_tensor(name, 1, device)[0][0] for name in cameras])[choice]
    sizes = torch.tensor([[load_profile(n).intrinsics.width, load_profile(n).intrinsics.height] for n in cameras],
                         dtype=torch.float32, device=device)[choice]
    # Place with the largest image; the margin keeps hands inside every camera's view.
    hands, joints, spheres, centre, planes, scenery = _hand_scene(batch, cams, int(sizes[:, 0].min()),
                                                                  int(sizes[:, 1].min()), generator, device)
    jitter = (torch.rand(batch, 3, generator=generator, device=device) * 2 - 1) * centre_jitter_mm
    centre_cam = centre + jitter
    centre_uvd = project(centre_cam[:, None], cams)[:, 0]
    d = centre_uvd[:, 2]
    half_u = crop.xy_thres_mm * cams[:, 0] / d
    half_v = crop.xy_thres_mm * cams[:, 1] / d
    box = torch.stack((centre_uvd[:, 0] - half_u, centre_uvd[:, 1] - half_v, centre_uvd[:, 0] + half_u,
                       centre_uvd[:, 1] + half_v), dim=1)
    virtual = crop_camera(cams[:, 0], cams[:, 1], cams[:, 2], cams[:, 3], box, crop.width)
    out = render(spheres.centres, spheres.radii, spheres.parts, virtual, crop.height, crop.width, planes=planes,
                 plane_parts=PLANE_PARTS, ellipsoids=scenery, ellipsoid_parts=BODY_PARTS, with_parts=False)
    depth = _crop_sensors(out.depth, cameras, choice, cams, box, crop.width, generator)
    centre_d = d.view(-1, 1, 1)
    depth = torch.where(depth >= centre_d + crop.depth_thres, centre_d, depth)
    depth = torch.where(depth <= centre_d - crop.depth_thres, centre_d, depth)
    if crop.subtract_centre:
        depth = depth - centre_d
    inputs = ((depth - crop.mean) / crop.std)[:, None].float()
    uvd = project(joints, cams)
    targets = torch.stack(((uvd[..., 0] - box[:, None, 0]) * crop.width / (box[:, None, 2] - box[:, None, 0]),
                           (uvd[..., 1] - box[:, None, 1]) * crop.height / (box[:, None, 3] - box[:, None, 1]),
                           (uvd[..., 2] - d[:, None]) * crop.depth_scale), dim=-1)
    return CropBatch(inputs=inputs, targets=targets, joints_mm=joints, centre_uvd=centre_uvd, box=box,
                     intrinsics=cams)


@dataclass(frozen=True)
class _PlacedBodies:
    """People drawn and placed before rendering: joints (N, 15, 3) mm, spheres, planes (N, 2, 4), the
    silhouette box (N, 4) clipped to the image, its joints' u, v, d (N, 15, 3) and which draws are usable."""

    joints: torch.Tensor
    spheres: SphereSet
    planes: torch.Tensor
    box: torch.Tensor
    uvd: torch.Tensor
    usable: torch.Tensor


def _place_bodies_in_view(drawn: int, cams: torch.Tensor, sizes: torch.Tensor, far_mm: torch.Tensor,
                          generator: torch.Generator | None, device: torch.device | str, box_jitter: float,
                          whole_body: bool) -> _PlacedBodies:
    """Draw and place ``drawn`` people and find their silhouette boxes (see :func:`body_crops`).

    ``far_mm`` (drawn,): each draw's sensor range; a person with a joint beyond it is not usable (the camera
    would show nobody: the Azure Kinect's NFOV mode ends at 3.86 m, people are placed up to 4.5 m away)."""
    bodies = sample_bodies(drawn, generator=generator, device=device)
    placement, floor_offset = place_bodies(drawn, top_view=False, generator=generator, device=device)
    joints = placement.apply(bodies.joints)
    spheres = bodies.spheres.transformed(placement.rotation, placement.translation)
    planes = room_planes(placement, floor_offset, generator)
    # Silhouette box: every sphere's projected extent (centre +- radius * f / z).
    centres_uvd = project(spheres.centres, cams)
    present = spheres.radii > 0
    reach_u = spheres.radii * cams[:, None, 0] / centres_uvd[..., 2]
    reach_v = spheres.radii * cams[:, None, 1] / centres_uvd[..., 2]
    big = torch.finfo(torch.float32).max
    x_min = torch.where(present, centres_uvd[..., 0] - reach_u, big).amin(1)
    y_min = torch.where(present, centres_uvd[..., 1] - reach_v, big).amin(1)
    x_max = torch.where(present, centres_uvd[..., 0] + reach_u, -big).amax(1)
    y_max = torch.where(present, centres_uvd[..., 1] + reach_v, -big).amax(1)
    box = torch.stack((x_min, y_min, x_max, y_max), dim=1)
    span = torch.stack((x_max - x_min, y_max - y_min, x_max - x_min, y_max - y_min), dim=1)
    box = box + (torch.rand(drawn, 4, generator=generator, device=device) * 2 - 1) * box_jitter * span
    in_view = (box[:, 0] >= -0.02 * span[:, 0]) & (box[:, 1] >= -0.02 * span[:, 1]) \
        & (box[:, 2] <= sizes[:, 0] - 1 + 0.02 * span[:, 0]) & (box[:, 3] <= sizes[:, 1] - 1 + 0.02 * span[:, 1])
    limits = torch.stack((torch.zeros_like(sizes[:, 0]), torch.zeros_like(sizes[:, 0]), sizes[:, 0] - 1,
                          sizes[:, 1] - 1), dim=1)
    box = torch.maximum(torch.minimum(box, limits[:, 2:].repeat(1, 2)), limits[:, :2].repeat(1, 2))
    uvd = project(joints, cams)
    torso_inside = ((uvd[:, 8, 0] >= 0) & (uvd[:, 8, 0] <= sizes[:, 0] - 1) & (uvd[:, 8, 1] >= 0)
                    & (uvd[:, 8, 1] <= sizes[:, 1] - 1) & (uvd[:, 8, 2] > 0))
    usable = torso_inside & (box[:, 2] - box[:, 0] >= 16) & (box[:, 3] - box[:, 1] >= 16) \
        & (joints[..., 2].amax(1) <= far_mm)
    if whole_body:
        usable &= in_view
    return _PlacedBodies(joints, spheres, planes, box, uvd, usable)


def body_crops(batch: int, crop: CropSettings, cameras: Sequence[str] = ("itop_side",),
               generator: torch.Generator | None = None, device: torch.device | str = "cpu",
               box_jitter: float = BODY_BOX_JITTER, whole_body: bool = True, oversample: int = 6) -> CropBatch:
    """Network inputs for body training, rendered straight into a box crop (method ``"box"``).

    The box is the person's silhouette bounding box in the chosen camera (what
    :class:`livepose.detect.centre.BodyBoxDetector` finds), each edge moved by up to ``box_jitter`` of the
    box size and clipped to the image like :func:`livepose.detect.crop.clip_box`. ``oversample`` x ``batch``
    people are drawn and placed (cheap) and the first ``batch`` usable ones rendered: the torso in view,
    every joint within the camera's sensor range, a box of at least 16 px and, with ``whole_body`` (the
    default, like ITOP's frames), the whole person in the picture.
    Depth is in mm; ``crop.depth_scale`` turns target depths into the network's unit.
    Targets: (B, 15, 3) crop u, v (px) and depth x depth_scale (depth minus the crop's reference depth with
    ``crop.subtract_centre``, as :func:`livepose.detect.crop.crop_box` makes it); ``centre_uvd`` is the torso
    joint in image u, v, d (mm).
    """
    if crop.method != "box":
        raise LivePoseError("body_crops needs a box crop")
    drawn = batch * max(1, int(oversample))
    choice = torch.randint(0, len(cameras), (drawn,), generator=generator, device=device)
    cams = torch.stack([camera_tensor(name, 1, device)[0][0] for name in cameras])[choice]
    sizes = torch.tensor([[load_profile(n).intrinsics.width, load_profile(n).intrinsics.height] for n in cameras],
                         dtype=torch.float32, device=device)[choice]
    far = torch.tensor([SENSORS[name].range_mm[1] for name in cameras], dtype=torch.float32, device=device)[choice]
    placed = _place_bodies_in_view(drawn, cams, sizes, far, generator, device, box_jitter, whole_body)
    usable, spheres = placed.usable, placed.spheres
    good = usable.nonzero().flatten()
    if good.numel() == 0:
        raise LivePoseError(f"body_crops: no usable person among {drawn} draws; check the camera names")
    # The first `batch` usable draws; in the rare case of too few, usable ones repeat.
    keep = good[torch.arange(batch, device=device) % good.numel()]
    cams, choice = cams[keep], choice[keep]
    box, joints, uvd = placed.box[keep], placed.joints[keep], placed.uvd[keep]
    centres, radii, planes = spheres.centres[keep], spheres.radii[keep], placed.planes[keep]
    virtual = crop_camera(cams[:, 0], cams[:, 1], cams[:, 2], cams[:, 3], box, crop.width)
    virtual[:, 1] = cams[:, 1] * crop.height / (box[:, 3] - box[:, 1])
    virtual[:, 3] = (cams[:, 3] - box[:, 1]) * crop.height / (box[:, 3] - box[:, 1])
    out = render(centres, radii, spheres.parts, virtual, crop.height, crop.width, planes=planes,
                 plane_parts=PLANE_PARTS, with_parts=False)
    depth = _crop_sensors(out.depth, cameras, choice, cams, box, crop.width, generator)
    reference = None
    target_depth = uvd[..., 2]
    if crop.subtract_centre:
        reference = box_reference_depths(depth)
        relative = depth - reference.view(-1, 1, 1)
        band = float(crop.depth_thres)
        depth = torch.where((depth <= 0) | (relative.abs() >= band), torch.full_like(depth, band), relative)
        target_depth = target_depth - reference[:, None]
    inputs = ((depth - crop.mean) / crop.std)[:, None].float()
    targets = torch.stack(((uvd[..., 0] - box[:, None, 0]) * crop.width / (box[:, None, 2] - box[:, None, 0]),
                           (uvd[..., 1] - box[:, None, 1]) * crop.height / (box[:, None, 3] - box[:, None, 1]),
                           target_depth * crop.depth_scale), dim=-1)
    return CropBatch(inputs=inputs, targets=targets, joints_mm=joints, centre_uvd=uvd[:, 8], box=box,
                     intrinsics=cams, reference_depth_mm=reference)


def box_reference_depths(depth: torch.Tensor) -> torch.Tensor:
    """(B,) reference depths of (B, H, W) crops in mm: the 10th percentile of the readings (> 0) in each crop's
    middle third, or of the whole crop where the middle holds none, or 0 where nothing reads.

    The batched twin of :func:`livepose.detect.crop.box_reference_depth`, value for value."""
    height, width = depth.shape[-2:]
    middle = depth[:, height // 3:height - height // 3, width // 3:width - width // 3]
    reference = torch.zeros(depth.shape[0], dtype=depth.dtype, device=depth.device)
    for values in (depth, middle):  # the middle's value wins where it has one
        flat = values.flatten(1)
        valid = flat > 0
        count = valid.sum(dim=1)
        ordered = torch.where(valid, flat, torch.full_like(flat, float("inf"))).sort(dim=1).values
        index = ((count - 1).clamp(min=0) * BOX_REFERENCE_PERCENTILE) // 100
        reference = torch.where(count > 0, ordered.gather(1, index[:, None])[:, 0], reference)
    return reference
