"""Synthetic frames and crops: exact joints on the rendered surface, cameras, determinism, the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from livepose.calibration import load_profile
from livepose.detect.crop import crop_hand
from livepose.runtime.default_model import HAND_CROP
from livepose.synth.dataset import SplitFolder, SyntheticHandCrops
from livepose.synth.generator import body_crops, body_frames, hand_crops, hand_distance_mm, hand_frames
from livepose.synth.sensors import SENSORS
from livepose.training.config import BODY_CROP

REPO = Path(__file__).resolve().parents[1]
# The finger part of each HAND21 finger joint past the MCP (2 thumb, 3 index, 4 middle, 5 ring, 6 little); wrist,
# thumb CMC and finger MCPs sit where palm, forearm and finger meet and are checked in 3D in test_synth_hand.
FINGER_JOINT_PART = {2: 2, 3: 2, 4: 2, **{base + k: finger for finger, base in zip(range(3, 7), (5, 9, 13, 17),
                                                                                  strict=True) for k in (1, 2, 3)}}


def test_visible_joints_lie_on_the_rendered_surface() -> None:
    frames = hand_frames(16, camera="d435_640", generator=torch.Generator().manual_seed(0), noise=False)
    behind, close = [], []
    for b in range(16):
        for j in range(21):
            u, v, d = frames.joints_uvd[b, j].tolist()
            iu, iv = round(u), round(v)
            if not (0 <= iu < 640 and 0 <= iv < 480) or float(frames.depth_mm[b, iv, iu]) == 0:
                continue
            surface = float(frames.depth_mm[b, iv, iu])
            # No joint floats in front of the rendered surface: joints are inside the hand or behind it.
            behind.append(surface <= d + 1.0)
            if FINGER_JOINT_PART.get(j) == int(frames.part[b, iv, iu]):
                # Where a finger joint's own finger is what the pixel shows, the surface is within the finger's
                # radius (about 14 mm at most) -- except when the finger is seen end-on, hence the 85 %.
                close.append(-1.0 <= d - surface < 15.0)
    assert len(behind) > 150 and all(behind)
    assert len(close) > 60 and np.mean(close) > 0.85, np.mean(close)


@pytest.mark.parametrize("camera", ["nyu", "d435_640"])
def test_whole_frames_place_the_hand_where_the_sensor_reads_it(camera: str) -> None:
    """Held-out splits are whole frames: a hand nearer than the sensor's minimum range would show nothing (the NYU
    Kinect reads nothing under 400 mm, and 29 % of a 200-900 mm split was such frames), so no frame may be one."""
    near, far = hand_distance_mm(camera)
    assert near >= SENSORS[camera].range_mm[0] + 50.0 and far <= SENSORS[camera].range_mm[1]
    frames = hand_frames(24, camera=camera, generator=torch.Generator().manual_seed(3))
    intr = load_profile(camera).intrinsics
    assert bool(((frames.centre_uvd[:, 2] >= near - 1e-3) & (frames.centre_uvd[:, 2] <= far + 1e-3)).all())
    seen = []
    for b in range(24):
        uvd = frames.joints_uvd[b]
        u, v = uvd[:, 0].round().long(), uvd[:, 1].round().long()
        inside = (u >= 0) & (u < intr.width) & (v >= 0) & (v < intr.height)
        surface = frames.depth_mm[b, v[inside], u[inside]]
        seen.append(float(((surface - uvd[inside, 2]).abs() < 60.0).float().sum()) / 21.0)
    # Some joints hide behind the palm or other fingers; every hand must still show most of itself.
    assert min(seen) > 0.4 and float(np.mean(seen)) > 0.75, seen


@pytest.mark.parametrize("camera", sorted(SENSORS))
def test_every_camera_renders_at_its_own_resolution_and_unit(camera: str) -> None:
    kind = body_frames if camera.startswith("itop") else hand_frames
    frames = kind(2, camera=camera, generator=torch.Generator().manual_seed(1))
    intr = load_profile(camera).intrinsics
    assert frames.depth.shape == (2, intr.height, intr.width) and frames.depth.dtype == torch.uint16
    assert frames.depth_unit_mm == SENSORS[camera].unit_mm
    assert torch.equal(frames.depth_mm, frames.depth.float() * frames.depth_unit_mm)
    assert (frames.depth_mm > 0).float().mean() > 0.05
    # Joints project with the camera's own intrinsics.
    xyz = frames.joints_mm[0, 0]
    assert abs(float(xyz[0] * intr.fx / xyz[2] + intr.cx - frames.joints_uvd[0, 0, 0])) < 1e-3


def test_same_seed_same_frames_different_seed_different() -> None:
    a = hand_frames(3, camera="sr305", generator=torch.Generator().manual_seed(7))
    b = hand_frames(3, camera="sr305", generator=torch.Generator().manual_seed(7))
    c = hand_frames(3, camera="sr305", generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.depth, b.depth) and torch.equal(a.joints_mm, b.joints_mm)
    assert not torch.equal(a.depth, c.depth)


def test_crops_match_the_real_crop_protocol() -> None:
    """A directly rendered crop equals cropping the full render the official way (noise off), up to resampling."""
    generator = torch.Generator().manual_seed(3)
    batch = hand_crops(4, HAND_CROP, cameras=("d435_640",), generator=generator)
    assert batch.inputs.shape == (4, 1, 176, 176) and batch.targets.shape == (4, 21, 3)
    # Targets: crop pixels of the joints, depth relative to the crop centre.
    box, uvd = batch.box, batch.targets
    assert ((uvd[..., :2] > -60) & (uvd[..., :2] < 236)).all()
    assert (uvd[..., 2].abs() < 200).all()
    # Inputs follow the official normalisation: background at the centre depth -> (0 - mean) / std.
    flat = (0.0 - HAND_CROP.mean) / HAND_CROP.std
    assert ((batch.inputs - flat).abs() < 1e-5).float().mean() > 0.2
    assert batch.inputs.abs().max() <= HAND_CROP.depth_thres / HAND_CROP.std + 1e-4
    assert torch.all(box[:, 2] > box[:, 0])


def test_crop_targets_agree_with_crop_hand_on_a_rendered_frame() -> None:
    """The training target convention equals livepose.detect.crop's on a whole synthetic frame."""
    from livepose.detect.crop import image_to_crop

    frames = hand_frames(1, camera="d435_640", generator=torch.Generator().manual_seed(5), noise=False)
    intr = load_profile("d435_640").intrinsics
    centre = frames.centre_uvd[0].numpy()
    _, crop = crop_hand(frames.depth_mm[0].numpy(), centre, intr, HAND_CROP)
    target = image_to_crop(frames.joints_uvd[0].numpy(), crop)
    half = HAND_CROP.xy_thres_mm * intr.fx / centre[2]
    expected_u = (frames.joints_uvd[0, :, 0].numpy() - (centre[0] - half)) * 176 / (2 * half)
    # Same up to the border clipping and the float32 box of the official protocol.
    if crop.x_min > 0 and crop.x_max < intr.width - 1:
        assert np.abs(target[:, 0] - expected_u).max() < 0.05


def test_dataset_batches_are_reproducible() -> None:
    data = SyntheticHandCrops(HAND_CROP, batches=3, batch_size=4, seed=11)
    assert len(data) == 3
    first, again = data[1], data[1]
    assert torch.equal(first.inputs, again.inputs) and torch.equal(first.targets, again.targets)
    assert not torch.equal(data[0].inputs, first.inputs)
    with pytest.raises(IndexError):
        data[3]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_writes_identical_files_for_the_same_seed_and_a_preview(tmp_path: Path) -> None:
    def synth(out: Path, seed: int, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "livepose.cli", "synth", "hand", "--count", "5", "--seed",
                               str(seed), "--camera", "sr305", "--out", str(out), *extra], capture_output=True,
                              text=True, timeout=300, cwd=REPO)

    done = synth(tmp_path / "a", 4, "--preview", str(tmp_path / "grid.png"))
    assert done.returncode == 0, done.stderr
    assert synth(tmp_path / "b", 4).returncode == 0
    assert synth(tmp_path / "c", 5).returncode == 0
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")
    assert (tmp_path / "grid.png").stat().st_size > 10_000
    labels = json.loads((tmp_path / "a" / "labels.json").read_text())
    assert labels["layout"] == "hand21" and len(labels["frames"]) == 5
    split = SplitFolder(tmp_path / "a")
    sample = split[0]
    assert sample["depth"].dtype == np.uint16 and sample["joints_mm"].shape == (21, 3)
    assert split.depth_unit_mm == 0.125
    bad = subprocess.run([sys.executable, "-m", "livepose.cli", "synth", "hand", "--camera", "nowhere", "--out",
                          str(tmp_path / "d")], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert bad.returncode == 2 and "nowhere" in bad.stderr and "Traceback" not in bad.stderr


def test_the_wall_never_hides_the_person_even_facing_away() -> None:
    """The back wall sits behind the person as the camera sees it. It used to follow the body's own back,
    so a person turned away from the camera (a fifth of the draws may face any way) stood behind it."""
    frames = body_frames(48, camera="itop_side", generator=torch.Generator().manual_seed(7), whole_body=True)
    body_pixels = ((frames.part >= 0) & (frames.part < 50)).flatten(1).sum(1)
    assert int(body_pixels.min()) > 300, body_pixels.tolist()
    # Every joint that projects onto a wall pixel is behind nothing but the person: the wall is farther.
    u = frames.joints_uvd[..., 0].round().long().clamp(0, 319)
    v = frames.joints_uvd[..., 1].round().long().clamp(0, 239)
    shown = frames.part[torch.arange(48)[:, None], v, u]
    wall_depth = frames.depth_mm[torch.arange(48)[:, None], v, u]
    on_wall = shown == 61
    assert bool((wall_depth[on_wall] == 0).logical_or(wall_depth[on_wall] > frames.joints_uvd[..., 2][on_wall]).all())


def test_whole_body_frames_keep_people_within_the_sensor_range() -> None:
    """People are placed up to 4.5 m away, but the Azure Kinect's NFOV mode reads only to 3.86 m: whole-body
    frames and training crops draw only people whose every joint is in range, so the camera always sees them
    (before, about a quarter of the azure_kinect_nfov held-out frames showed nobody)."""
    far = SENSORS["azure_kinect_nfov"].range_mm[1]
    frames = body_frames(32, camera="azure_kinect_nfov", generator=torch.Generator().manual_seed(100),
                         whole_body=True)
    assert float(frames.joints_mm[..., 2].max()) <= far
    person = (frames.part >= 0) & (frames.part < 50)
    read = ((frames.depth_mm > 0) & person).flatten(1).sum(1) / person.flatten(1).sum(1)
    assert float(read.min()) > 0.5, read.tolist()
    crops = body_crops(16, dataclasses.replace(BODY_CROP, width=32, height=32), cameras=("azure_kinect_nfov",),
                       generator=torch.Generator().manual_seed(1))
    assert float(crops.joints_mm[..., 2].max()) <= far
