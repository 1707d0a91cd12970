"""Relative box crops (``livepose train --body-depth relative``): body depth measured from the crop's own
reference depth, the same way in the numpy crop (live, evaluation) and the batched torch crops (training)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from livepose.calibration import load_profile
from livepose.detect.crop import box_reference_depth, crop_box, crop_to_image, image_to_crop
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import load_checkpoint
from livepose.runtime.predictor import Predictor
from livepose.synth.generator import body_crops, body_frames, box_reference_depths
from livepose.training.augment import AugmentSettings, augment
from livepose.training.config import BODY_CROP, BODY_RELATIVE_BAND_MM, TrainConfig
from livepose.training.data import SyntheticData, crop_uvd_to_mm
from livepose.training.loop import train

RELATIVE = TrainConfig(data="synth-body", out=".", input_size=32, body_depth="relative").crop()


def _joints_box(uvd: np.ndarray, margin_px: float) -> tuple[float, float, float, float]:
    """(x_min, y_min, x_max, y_max): the joints' (J, 3) u, v box grown by ``margin_px`` on every side."""
    return (float(uvd[:, 0].min()) - margin_px, float(uvd[:, 1].min()) - margin_px,
            float(uvd[:, 0].max()) + margin_px, float(uvd[:, 1].max()) + margin_px)


def test_relative_crop_settings_and_the_flag_are_checked(tmp_path) -> None:
    assert RELATIVE.subtract_centre and RELATIVE.depth_thres == BODY_RELATIVE_BAND_MM and RELATIVE.mean == 0.0
    assert not TrainConfig(data="synth-body", out=".").crop().subtract_centre  # ITOP's absolute protocol
    with pytest.raises(LivePoseError, match="applies only to --data synth-body"):
        TrainConfig(data="synth-hand", out=".", body_depth="relative")
    with pytest.raises(LivePoseError, match="box crop with subtract_centre"):
        dataclasses.replace(BODY_CROP, subtract_centre=True)  # no band
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", "train", "--data", "synth-body", "--out",
                           str(tmp_path), "--body-depth", "sideways"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--body-depth" in proc.stderr


def test_relative_box_crops_are_refused_by_the_device_crop() -> None:
    from livepose.runtime.device_crop import crop_frames

    with pytest.raises(LivePoseError, match="relative box crops"):
        crop_frames(torch.zeros(1, 48, 64), torch.tensor([[0.0, 0.0, 40.0, 40.0]]), None, RELATIVE)


def test_reference_depth_twins_agree_value_for_value() -> None:
    generator = torch.Generator().manual_seed(4)
    crops = torch.rand(40, 33, 47, generator=generator) * 5000
    crops[crops < 2000] = 0  # 40 % holes
    crops[5] = 0  # nothing reads: 0
    crops[6, 11:22, 15:32] = 0  # an empty middle third: the whole crop's percentile
    crops[7] = 0
    crops[7, 0, 0] = 1234.5  # one reading
    batched = box_reference_depths(crops).numpy()
    single = np.array([box_reference_depth(crop.numpy()) for crop in crops])
    assert np.array_equal(batched, single)
    assert batched[5] == 0 and batched[7] == np.float32(1234.5) and batched[6] > 0


def test_reference_depth_is_the_person_not_the_wall_behind() -> None:
    """A thin person fills 30 % of the middle third, the wall behind fills the rest: a median would be the wall."""
    crop = np.full((30, 30), 3500.0, np.float32)
    crop[:, 13:16] = 2000.0 + np.arange(30, dtype=np.float32)[:, None]  # the person, 2.0-2.03 m
    assert 2000.0 <= box_reference_depth(crop) <= 2030.0
    assert float(np.median(crop[10:20, 10:20])) == 3500.0


def test_relative_box_crop_reads_background_as_the_band_and_maps_joints_back() -> None:
    frames = body_frames(1, camera="itop_side", generator=torch.Generator().manual_seed(6), noise=False,
                         whole_body=True)
    depth = frames.depth_mm[0].numpy()
    uvd = frames.joints_uvd[0].numpy().astype(np.float64)
    box = _joints_box(uvd, 20)
    settings = dataclasses.replace(RELATIVE, width=64, height=64)
    inputs, crop = crop_box(depth, box, settings)
    absolute, plain = crop_box(depth, box, dataclasses.replace(BODY_CROP, width=64, height=64))
    assert plain.centre_depth is None
    raw = absolute * BODY_CROP.std + BODY_CROP.mean  # the resized crop in mm
    reference = crop.centre_depth
    assert reference == box_reference_depth(raw.astype(np.float32).round())
    # The reference lies on the person (among their joints' depths, give or take the body's thickness); background,
    # holes and anything over 1.5 m away read +band.
    joint_depths = frames.joints_mm[0, :, 2].numpy()
    assert joint_depths.min() - 200 <= reference <= joint_depths.max(), (reference, joint_depths)
    relative = raw - reference
    outside = (raw.round() <= 0) | (np.abs(relative) >= settings.depth_thres - 1)
    assert outside.any() and (~outside).mean() > 0.2
    assert np.allclose(inputs[outside], settings.depth_thres / settings.std, atol=1e-5)
    assert np.allclose(inputs[~outside] * settings.std, relative[~outside], atol=0.05)
    # Targets are relative to the reference and map back exactly.
    targets = image_to_crop(uvd, crop)
    assert np.abs(targets[:, 2] - (uvd[:, 2] - reference) * settings.depth_scale).max() < 1e-9
    assert np.abs(crop_to_image(targets, crop) - uvd).max() < 1e-6


def test_training_crops_are_the_absolute_crops_made_relative() -> None:
    """Same seed, same people: the relative training crop is the absolute one minus its reference depth, with the
    numpy crop's band, and its targets decode to the true joints."""
    absolute_crop = dataclasses.replace(BODY_CROP, width=32, height=32)
    absolute = body_crops(6, absolute_crop, generator=torch.Generator().manual_seed(9))
    relative = body_crops(6, RELATIVE, generator=torch.Generator().manual_seed(9))
    raw = absolute.inputs[:, 0] * absolute_crop.std + absolute_crop.mean
    reference = relative.reference_depth_mm
    assert reference is not None and torch.equal(reference, box_reference_depths(raw.round()))
    band = RELATIVE.depth_thres
    shifted = raw - reference.view(-1, 1, 1)
    expected = torch.where((raw.round() <= 0) | (shifted.abs() >= band), torch.full_like(raw, band), shifted)
    assert torch.allclose(relative.inputs[:, 0] * RELATIVE.std, expected, atol=0.05)
    assert torch.equal(relative.targets[..., :2], absolute.targets[..., :2])
    decoded = crop_uvd_to_mm(relative.targets, relative.box, relative.intrinsics, reference, RELATIVE)
    assert float((decoded - relative.joints_mm).norm(dim=-1).max()) < 0.01
    validation = SyntheticData("synth-body", RELATIVE, 4, 0, ("itop_side",)).validation(4, 3)
    decoded = crop_uvd_to_mm(validation.targets, validation.box, validation.intrinsics, validation.centre_depth_mm,
                             RELATIVE)
    assert float((decoded - validation.joints_mm).norm(dim=-1).max()) < 0.01


def test_augment_fills_relative_crops_with_background_not_the_reference() -> None:
    inputs = torch.zeros(2, 1, 32, 32)  # every pixel at the reference depth
    targets = torch.full((2, 15, 3), 16.0)
    settings = AugmentSettings(rotation_deg=0.0, scale_range=(0.8, 0.8), depth_scale_range=(1.1, 1.1),
                               noise_probability=0.0, erase_probability=1.0)
    out, _ = augment(inputs, targets, RELATIVE, settings, torch.Generator().manual_seed(0))
    background = RELATIVE.depth_thres / RELATIVE.std
    # Shrunk by 0.8: the border comes from outside the crop; erasing cuts one rectangle. Both read +band.
    assert torch.allclose(out[:, 0, 0, :], torch.full((2, 32), background))
    inside = out[:, 0, 6:26, 6:26]
    erased = torch.isclose(inside, torch.tensor(background))
    assert (inside == 0).float().mean() > 0.5 and bool(erased.any()) and bool(((inside == 0) | erased).all())
    far = torch.full((1, 1, 32, 32), background)  # background, depth-scaled by 1.1, stays the band
    out, _ = augment(far, targets[:1], RELATIVE, settings, torch.Generator().manual_seed(0))
    assert torch.allclose(out, torch.full_like(out, background))


def test_a_relative_body_model_trains_and_predicts_through_crop_box(tmp_path) -> None:
    config = TrainConfig(data="synth-body", out=str(tmp_path / "run"), body_depth="relative", steps=2,
                         backbone="resnet18", head_channels=16, head_layers=1, input_size=32, batch_size=2, threads=1,
                         log_every=1, validate_every=2, checkpoint_every=1)
    result = train(config)
    checkpoint = load_checkpoint(result.model_path)
    assert checkpoint.crop.subtract_centre and checkpoint.crop.method == "box"
    frames = body_frames(1, camera="itop_side", generator=torch.Generator().manual_seed(6), whole_body=True)
    uvd = frames.joints_uvd[0].numpy()
    box = _joints_box(uvd, 10)
    predictor = Predictor.from_checkpoint(str(result.model_path), device="cpu")
    prediction = predictor.predict_box(frames.depth_mm[0].numpy(), load_profile("itop_side").intrinsics, box)
    assert prediction.joints_mm.shape == (15, 3) and np.isfinite(prediction.joints_mm).all()
    # Depths come back around the crop's reference, not around 0: the reference was added back.
    _, crop = crop_box(frames.depth_mm[0].numpy(), box, checkpoint.crop)
    assert abs(float(np.median(prediction.joints_mm[:, 2])) - crop.centre_depth) < 1500
