"""Placing synthetic hands and bodies in front of a camera, with a background.

Hands: 200-900 mm from the camera, anywhere in the central part of the image,
at any orientation a user shows a camera (palm or back toward it, fingers up
or sideways, tilted; four in ten flat to the camera), the forearm always leading away from the camera, in
front of nothing, a wall, the user's body, or above a desk.

Bodies: 1.5-4.5 m away in a room (floor and back wall), facing any
direction, seen from the front (camera at chest height) or from the top
(ceiling camera looking down), as in ITOP.

All sampling is batched torch and deterministic for a given generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from livepose.synth.geometry import rotation_x, rotation_y, rotation_z


def _uniform(low: float, high: float, batch: int, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    return low + (high - low) * torch.rand(batch, generator=generator, device=device)


@dataclass(frozen=True)
class Placement:
    """Where a model sits in the camera frame: ``x_cam = rotation @ x_model + translation`` (mm)."""

    rotation: torch.Tensor  # (B, 3, 3)
    translation: torch.Tensor  # (B, 3)

    def apply(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) model-frame points to the camera frame."""
        return points @ self.rotation.transpose(1, 2) + self.translation[:, None, :]


HAND_DISTANCE_MM = (200.0, 900.0)  # palm-centre depths of the hands livepose trains on and tracks


def place_hands(anchor: torch.Tensor, camera: torch.Tensor, width: int, height: int,
                generator: torch.Generator | None, distance_mm: tuple[float, float] = HAND_DISTANCE_MM,
                margin: float = 0.15) -> Placement:
    """Random hand placements.

    Args:
        anchor: (B, 3) hand-frame point put at the chosen pixel and distance (the palm centre).
        camera: (B, 4) fx, fy, cx, cy of the real camera.
        width, height: its image size.
        generator: random source.
        distance_mm: range of the anchor's depth.
        margin: keep the anchor this fraction of the image away from the borders.

    The hand frame has the fingers along +y and the forearm along -y (see
    :mod:`livepose.synth.hand`); the rotation keeps the forearm pointing away from the camera.
    """
    batch, device = anchor.shape[0], anchor.device
    # In-plane angle: mostly fingers up (people raise their hand), sometimes anything.
    upright = torch.randn(batch, generator=generator, device=device) * math.radians(35.0)
    anywhere = _uniform(-math.pi, math.pi, batch, generator, device)
    roll = torch.where(torch.rand(batch, generator=generator, device=device) < 0.7, upright, anywhere)
    # Fingers point up in the image: the hand frame's +y must map to the camera's -y (y is down).
    turn = rotation_z(torch.full((batch,), math.pi, device=device))
    swing = _uniform(-math.pi, math.pi, batch, generator, device)  # palm toward / away / sideways
    tilt = _uniform(-1.0, 1.0, batch, generator, device)  # about +-57 degrees toward / away
    # Four in ten hands are shown flat to the camera, palm or back first, as users mostly do.
    frontal = torch.rand(batch, generator=generator, device=device) < 0.4
    facing = torch.where(torch.rand(batch, generator=generator, device=device) < 0.7, 0.0, math.pi)
    swing = torch.where(frontal, facing + torch.randn(batch, generator=generator, device=device) * 0.25, swing)
    tilt = torch.where(frontal, torch.randn(batch, generator=generator, device=device) * 0.2, tilt)
    rotation = rotation_z(roll) @ rotation_x(tilt) @ turn @ rotation_y(swing)
    # The forearm (-y in the hand frame) must lead away from the camera: flip the hand around if not.
    forearm_z = -rotation[:, 2, 1]
    flip = forearm_z < -0.2
    half_turn = rotation_y(torch.full((batch,), math.pi, device=device))
    rotation = torch.where(flip.view(-1, 1, 1), half_turn @ rotation, rotation)

    distance = _uniform(*distance_mm, batch, generator, device)
    u = _uniform(margin * width, (1 - margin) * width, batch, generator, device)
    v = _uniform(margin * height, (1 - margin) * height, batch, generator, device)
    fx, fy, cx, cy = camera.unbind(1)
    target = torch.stack(((u - cx) / fx * distance, (v - cy) / fy * distance, distance), dim=1)
    translation = target - (rotation @ anchor[:, :, None])[..., 0]
    return Placement(rotation, translation)


def hand_background(placement: Placement, anchor_cam: torch.Tensor, generator: torch.Generator | None,
                    clearance_mm: float = 150.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Scenery behind a hand: (B, 2, 4) planes and (B, 2, 6) ellipsoids (the user's torso and head).

    Per sample one of: nothing but a far wall (1.5-4 m), a wall 150-600 mm behind the hand, the user's
    body (torso front 250-500 mm behind the hand: an arm held out; head above it) with a far wall, or a desk plane
    50-300 mm below the hand with a far wall. ``clearance_mm``: the nearest a wall or the body comes behind
    the palm centre (above 150 mm, also the least gap down to the desk).
    """
    batch, device = anchor_cam.shape[0], anchor_cam.device
    kind = torch.randint(0, 4, (batch,), generator=generator, device=device)
    depth = anchor_cam[:, 2]
    far = torch.maximum(depth + 400.0, _uniform(1500.0, 4000.0, batch, generator, device))
    near_wall = depth + _uniform(clearance_mm, max(600.0, clearance_mm + 100.0), batch, generator, device)
    wall_z = torch.where(kind == 1, near_wall, far)
    # Slightly tilted walls.
    tilt_x = _uniform(-0.3, 0.3, batch, generator, device)
    tilt_y = _uniform(-0.3, 0.3, batch, generator, device)
    normal = torch.stack((tilt_x, tilt_y, torch.ones_like(tilt_x)), dim=1)
    normal = normal / normal.norm(dim=1, keepdim=True)
    wall_point = torch.stack((anchor_cam[:, 0], anchor_cam[:, 1], wall_z), dim=1)
    wall = torch.cat((normal, (normal * wall_point).sum(1, keepdim=True)), dim=1)
    # Desk: a plane below the hand (y down: larger y), tilted toward the camera.
    desk_gap = min(50.0, clearance_mm) if clearance_mm <= 150.0 else clearance_mm
    below = anchor_cam[:, 1] + _uniform(desk_gap, max(300.0, desk_gap + 100.0), batch, generator, device)
    pitch = _uniform(0.3, 1.2, batch, generator, device)
    desk_normal = torch.stack((torch.zeros_like(pitch), -torch.cos(pitch), -torch.sin(pitch)), dim=1)
    desk_point = torch.stack((anchor_cam[:, 0], below, depth), dim=1)
    desk = torch.cat((desk_normal, (desk_normal * desk_point).sum(1, keepdim=True)), dim=1)
    desk = torch.where((kind == 3).view(-1, 1), desk, torch.zeros_like(desk))
    planes = torch.stack((wall, desk), dim=1)

    # The user's body: a torso ellipsoid behind and below the hand, and a head above it.
    semi = torch.stack((_uniform(150.0, 220.0, batch, generator, device),
                        _uniform(250.0, 330.0, batch, generator, device),
                        _uniform(90.0, 140.0, batch, generator, device)), dim=1)
    front = depth + _uniform(max(250.0, clearance_mm), max(500.0, clearance_mm + 100.0), batch, generator, device)
    torso_centre = torch.stack((anchor_cam[:, 0] + _uniform(-150.0, 150.0, batch, generator, device),
                                anchor_cam[:, 1] + _uniform(100.0, 350.0, batch, generator, device),
                                front + semi[:, 2]), dim=1)
    head_r = _uniform(85.0, 105.0, batch, generator, device)
    head_centre = torso_centre - torch.stack((torch.zeros_like(head_r), semi[:, 1] + 1.2 * head_r,
                                              semi[:, 2] - head_r), dim=1)
    present = (kind == 2).float().view(-1, 1)
    torso = torch.cat((torso_centre, semi * present), dim=1)
    head = torch.cat((head_centre, head_r.view(-1, 1).expand(-1, 3) * present), dim=1)
    return planes, torch.stack((torso, head), dim=1)


def place_bodies(batch: int, top_view: bool, generator: torch.Generator | None,
                 device: torch.device | str = "cpu") -> tuple[Placement, torch.Tensor]:
    """Random placements of a body (body frame: mm, origin on the floor between the feet, y up,
    facing -z) in front of an ITOP-like camera.

    Front view: camera 0.8-1.6 m above the floor, pitched down up to 15 degrees, person 1.5-4.5 m away,
    facing the camera within +-60 degrees (sometimes turned further). Top view: camera 2.6-3.6 m above the
    floor looking straight down, person within +-0.6 m of the optical axis, any heading.

    Returns the placement and the (B,) distance from the camera to the floor plane (mm).
    """
    device = torch.device(device)
    yaw = torch.where(torch.rand(batch, generator=generator, device=device) < 0.8,
                      _uniform(-1.05, 1.05, batch, generator, device), _uniform(-math.pi, math.pi, batch, generator,
                                                                                 device))
    if top_view:
        base = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], device=device).expand(batch, 3, 3)
        yaw = _uniform(-math.pi, math.pi, batch, generator, device)
        rotation = base @ rotation_y(yaw)
        height = _uniform(2600.0, 3600.0, batch, generator, device)
        translation = torch.stack((_uniform(-600.0, 600.0, batch, generator, device),
                                   _uniform(-600.0, 600.0, batch, generator, device), height), dim=1)
        return Placement(rotation, translation), height
    pitch = _uniform(0.0, 0.26, batch, generator, device)
    base = rotation_z(torch.full((batch,), math.pi, device=device))  # y up -> y down, keeps facing -z
    rotation = rotation_x(-pitch) @ base @ rotation_y(yaw)
    height = _uniform(800.0, 1600.0, batch, generator, device)
    distance = _uniform(1500.0, 4500.0, batch, generator, device)
    lateral = _uniform(-0.15, 0.15, batch, generator, device) * distance
    feet = torch.stack((lateral, height, distance), dim=1)
    translation = (rotation_x(-pitch) @ feet[:, :, None])[..., 0]
    return Placement(rotation, translation), height


def room_planes(placement: Placement, floor_distance: torch.Tensor, generator: torch.Generator | None,
                ) -> torch.Tensor:
    """(B, 2, 4) planes n . X = d: the floor under the body and a wall 0.5-2.5 m behind it.

    The wall is parallel to the body's frontal plane, on the side away from the camera: a person who
    turns their back to the camera has the wall behind their face, never between them and the camera.
    """
    batch, device = floor_distance.shape[0], floor_distance.device
    up = placement.rotation[:, :, 1]  # the body's up axis in the camera frame
    floor = torch.cat((up, (up * placement.translation).sum(1, keepdim=True)), dim=1)
    behind = placement.rotation[:, :, 2]  # the body faces -z, so +z is behind it
    away = torch.where((behind * placement.translation).sum(1, keepdim=True) < 0, -1.0, 1.0)
    behind = behind * away
    wall_point = placement.translation + behind * _uniform(500.0, 2500.0, batch, generator, device)[:, None]
    wall = torch.cat((behind, (behind * wall_point).sum(1, keepdim=True)), dim=1)
    return torch.stack((floor, wall), dim=1)
