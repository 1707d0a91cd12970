"""``synthetic:hand`` and ``synthetic:body``: a live source of smoothly moving synthetic people.

One hand (or body) of a fixed shape moves between random key poses and
placements, 1.5-2.5 s apart, with smooth easing: joint angles are
interpolated, the orientation turns about one axis, the position glides.
Frames are rendered at the camera's resolution and unit and passed through
its sensor model, paced at ``fps`` like a camera (a slow renderer simply
gives fewer frames). The true joints of the last frame are kept in
``last_joints_mm`` (camera frame), for checks and demos.

``read()`` from the capture thread; ``close()`` from any thread.
"""

from __future__ import annotations

import dataclasses
import math
import time

import torch

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.base import DepthSource
from livepose.types import DepthFrame

KEY_INTERVAL_S = (1.5, 2.5)
DEFAULT_CAMERA = {"hand": "d435_640", "body": "itop_side"}


def _axis_angle(rotation: torch.Tensor) -> torch.Tensor:
    """(3, 3) rotation to its rotation vector (axis * angle), for angles below pi."""
    cos = ((rotation.trace() - 1) / 2).clamp(-1, 1)
    angle = torch.acos(cos)
    if float(angle) < 1e-6:
        return torch.zeros(3)
    axis = torch.stack((rotation[2, 1] - rotation[1, 2], rotation[0, 2] - rotation[2, 0],
                        rotation[1, 0] - rotation[0, 1])) / (2 * torch.sin(angle))
    return axis * angle


def _exp(vector: torch.Tensor) -> torch.Tensor:
    """Rotation vector (3,) to a (3, 3) rotation (Rodrigues)."""
    angle = vector.norm()
    if float(angle) < 1e-9:
        return torch.eye(3)
    k = vector / angle
    kx = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return torch.eye(3) + torch.sin(angle) * kx + (1 - torch.cos(angle)) * (kx @ kx)


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


class SyntheticSource(DepthSource):
    """A live source rendering a moving synthetic hand or body (see the module docstring)."""

    is_live = True

    def __init__(self, kind: str = "hand", camera: str | None = None, fps: float | None = None, seed: int = 0,
                 noise: bool = True, paced: bool = True) -> None:
        super().__init__()
        if kind not in DEFAULT_CAMERA:
            raise LivePoseError(f"synthetic source {kind!r}: expected synthetic:hand or synthetic:body")
        from livepose.synth.sensors import SENSORS

        self.kind = kind
        self.camera = camera or DEFAULT_CAMERA[kind]
        if self.camera not in SENSORS:
            raise LivePoseError(f"synthetic camera {self.camera!r}: expected one of {', '.join(sorted(SENSORS))}")
        self.fps = 30.0 if fps is None else float(fps)
        if not 0 < self.fps <= 1000:
            raise LivePoseError(f"--fps {fps}: expected a frame rate between 0 and 1000")
        self.noise = noise
        self.paced = paced
        self.is_live = paced  # unpaced: every frame n at time n / fps, as fast as it renders (for recordings)
        self._generator = torch.Generator().manual_seed(int(seed))
        profile = load_profile(self.camera)
        self._unit = SENSORS[self.camera].unit_mm
        self._intrinsics = dataclasses.replace(profile.intrinsics, depth_unit_mm=self._unit)
        self._frame = 0
        self._start = 0.0
        self._keys: list[dict] = []
        self._key_times: list[float] = []
        self.last_joints_mm: torch.Tensor | None = None

    @property
    def description(self) -> str:
        return f"synthetic {self.kind} ({self.camera}, {self.fps:g} FPS)"

    @property
    def intrinsics(self) -> Intrinsics:
        return self._intrinsics

    def _open(self) -> None:
        from livepose.synth import scene

        g = self._generator
        cam = torch.tensor([[self._intrinsics.fx, self._intrinsics.fy, self._intrinsics.cx, self._intrinsics.cy]])
        if self.kind == "hand":
            from livepose.synth import hand

            self._shape = hand.sample_shape(1, g)
            self._side = torch.rand(1, generator=g) < 0.5
            pose = hand.sample_pose(1, g)
            joints = hand.forward_kinematics(self._shape, pose, self._side)
            self._anchor = joints[:, [0, 5, 9, 13, 17]].mean(1)
            place = scene.place_hands(self._anchor, cam, self._intrinsics.width, self._intrinsics.height, g,
                                      distance_mm=(300.0, 700.0), margin=0.3)
            centre = place.apply(self._anchor[:, None])[:, 0]
            # A live demo keeps the scenery at least 300 mm behind the hand, as a user holding a hand out does
            # (the hand detector does not separate a hand within ~150 mm of the body or a wall).
            self._planes, self._scenery = scene.hand_background(place, centre, g, clearance_mm=300.0)
            self._keys = [{"pose": pose.angles[0], "rotation": place.rotation[0], "centre": centre[0]}]
        else:
            from livepose.synth import body

            self._shape = body.sample_shape(1, g)
            pose = body.sample_pose(1, g)
            place, floor = self._place_body_in_view(pose, cam)
            self._planes = scene.room_planes(place, floor, g)
            self._scenery = None
            self._keys = [{"pose": pose, "rotation": place.rotation[0], "centre": place.translation[0]}]
        self._key_times = [self._frame / self.fps]  # 0.0 when first opened
        # Reopened (reconnect()): frame numbers go on from where they were, paced from now.
        self._start = time.monotonic() - self._frame / self.fps

    def _place_body_in_view(self, pose, cam: torch.Tensor, attempts: int = 50):
        """A random placement with every joint, and a margin around it, inside the image (the whole person in
        view, as in ITOP and as the body model was trained); the last draw if none of ``attempts`` is."""
        from livepose.synth import body, scene

        joints = body.forward_kinematics(self._shape, pose)[0]  # (15, 3) body frame mm
        intr = self._intrinsics
        for _ in range(attempts):
            place, floor = scene.place_bodies(1, top_view=self.camera == "itop_top", generator=self._generator)
            xyz = place.apply(joints[None])[0]
            u = cam[0, 0] * xyz[:, 0] / xyz[:, 2] + cam[0, 2]
            v = cam[0, 1] * xyz[:, 1] / xyz[:, 2] + cam[0, 3]
            if bool((u > 0.12 * intr.width).all() and (u < 0.88 * intr.width).all()
                    and (v > 0.08 * intr.height).all() and (v < 0.92 * intr.height).all()):
                break
        return place, floor

    def _close(self) -> None:
        self._keys = []

    # -- motion ------------------------------------------------------------------------------------------------
    def _next_key(self, previous: dict) -> dict:
        g = self._generator
        turn = (torch.rand(3, generator=g) * 2 - 1) * (0.5 if self.kind == "hand" else 0.0)
        if self.kind == "body":
            turn = torch.tensor([0.0, 0.0, 0.0])
            yaw = float((torch.rand(1, generator=g) * 2 - 1) * 0.8)
            up = previous["rotation"][:, 1]
            turn = up * yaw
        rotation = _exp(turn) @ previous["rotation"]
        if self.kind == "hand" and float(-rotation[2, 1]) < -0.2:  # the forearm would point at the camera
            rotation = previous["rotation"]
        step = (torch.rand(3, generator=g) * 2 - 1) * torch.tensor([60.0, 50.0, 80.0])
        if self.kind == "body":
            step = torch.zeros(3)
        centre = previous["centre"] + step
        if self.kind == "hand":
            intr = self._intrinsics
            z = float(centre[2].clamp(300.0, 750.0))
            x_lim = 0.3 * intr.width / intr.fx * z
            y_lim = 0.3 * intr.height / intr.fy * z
            centre = torch.tensor([float(centre[0].clamp(-x_lim, x_lim)), float(centre[1].clamp(-y_lim, y_lim)), z])
            from livepose.synth import hand

            pose = hand.sample_pose(1, g).angles[0]
        else:
            from livepose.synth import body

            pose = body.sample_pose(1, g)
        return {"pose": pose, "rotation": rotation, "centre": centre}

    def _state_at(self, t: float) -> tuple[object, torch.Tensor, torch.Tensor]:
        g = self._generator
        while self._key_times[-1] <= t:
            low, high = KEY_INTERVAL_S
            interval = low + (high - low) * float(torch.rand(1, generator=g))
            self._keys.append(self._next_key(self._keys[-1]))
            self._key_times.append(self._key_times[-1] + interval)
            if len(self._keys) > 3:
                self._keys.pop(0)
                self._key_times.pop(0)
        i = max(k for k in range(len(self._key_times) - 1) if self._key_times[k] <= t)
        a, b = self._keys[i], self._keys[i + 1]
        s = _ease((t - self._key_times[i]) / (self._key_times[i + 1] - self._key_times[i]))
        rotation = _exp(_axis_angle(b["rotation"] @ a["rotation"].T) * s) @ a["rotation"]
        centre = a["centre"] + (b["centre"] - a["centre"]) * s
        if self.kind == "hand":
            pose = a["pose"] + (b["pose"] - a["pose"]) * s
        else:
            pose = type(a["pose"])(**{f.name: (getattr(a["pose"], f.name) if f.name == "family" else
                                               getattr(a["pose"], f.name) * (1 - s) + getattr(b["pose"], f.name) * s)
                                      for f in dataclasses.fields(a["pose"])})
        return pose, rotation, centre

    def _render(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        from livepose.synth import generator as gen
        from livepose.synth.render import render
        from livepose.synth.sensors import SENSORS, apply_sensor

        pose, rotation, centre = self._state_at(t)
        intr = self._intrinsics
        cam = torch.tensor([[intr.fx, intr.fy, intr.cx, intr.cy]])
        if self.kind == "hand":
            from livepose.synth import hand

            hand_pose = hand.HandPose(angles=pose[None], family=torch.tensor([-1]))
            joints = hand.forward_kinematics(self._shape, hand_pose, self._side)
            spheres = hand.hand_spheres(joints, self._shape, self._side, hand_pose)
            anchor = joints[:, [0, 5, 9, 13, 17]].mean(1)
            translation = centre[None] - (rotation @ anchor[0])[None]
        else:
            from livepose.synth import body

            joints = body.forward_kinematics(self._shape, pose)
            spheres = body.body_spheres(joints, self._shape)
            translation = centre[None]
        rotation_b = rotation[None]
        joints_cam = joints @ rotation_b.transpose(1, 2) + translation[:, None]
        spheres = spheres.transformed(rotation_b, translation)
        out = render(spheres.centres, spheres.radii, spheres.parts, cam, intr.height, intr.width,
                     planes=self._planes, plane_parts=gen.PLANE_PARTS, ellipsoids=self._scenery,
                     ellipsoid_parts=gen.BODY_PARTS)
        depth = out.depth
        if self.noise:
            depth = apply_sensor(depth, SENSORS[self.camera], cam[:, 0], torch.ones(1), self._generator)
        raw = torch.round(depth[0] / self._unit).clamp(0, 65535).to(torch.int32).numpy().astype("uint16")
        return raw, joints_cam[0]

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        self._require_open()
        if self.closed:
            return None
        due = self._start + self._frame / self.fps
        while self.paced and not self.closed and (remaining := due - time.monotonic()) > 0:
            if timeout_s is not None and remaining > timeout_s:
                time.sleep(timeout_s)
                return None
            time.sleep(min(remaining, 0.05))
        if self.closed:
            return None
        # Live: if rendering fell behind, skip to the present like a camera would.
        if self.paced:
            self._frame = max(self._frame, math.floor((time.monotonic() - self._start) * self.fps))
        t = self._frame / self.fps
        depth, joints = self._render(t)
        self.last_joints_mm = joints
        frame = DepthFrame(depth=depth, depth_unit_mm=self._unit, intrinsics=self._intrinsics,
                           frame_number=self._frame, t_device_ms=t * 1000.0, t_host_ms=time.monotonic() * 1e3,
                           source=self.description)
        self._frame += 1
        return frame
