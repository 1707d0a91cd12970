"""The flip test (livepose.runtime.flip_test): a crop and its mirror image, averaged; the crop setting that turns
it on, and every host path that honours it (Predictor on torch and onnxruntime, split evaluation, package-model,
``livepose evaluate --flip-test``)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from livepose.a2j.model import A2J, A2JConfig
from livepose.calibration import CropSettings
from livepose.camera import Intrinsics
from livepose.detect.crop import crop_box, crop_to_image
from livepose.errors import LivePoseError
from livepose.evaluation.model_eval import predict_split
from livepose.runtime.backend import Backend, NetworkOutput
from livepose.runtime.checkpoint import load_checkpoint, save_checkpoint
from livepose.runtime.device_pipeline import DevicePipeline
from livepose.runtime.export import export_checkpoint
from livepose.runtime.flip_test import flip_permutation, infer_crops
from livepose.runtime.predictor import Predictor
from livepose.skeletons import get_layout
from livepose.synth.writer import write_split
from livepose.training.config import BODY_CROP, SYNTH_HAND_CROP
from livepose.training.package import package_model
from tests.official_reference import randomise_

ITOP = get_layout("itop15")
FLIP_BODY_CROP = dataclasses.replace(BODY_CROP, width=32, height=32, flip_test=True)


class BrightestPixel(Backend):
    """A stand-in network whose answer can be checked by hand: every joint sits on the crop's brightest pixel
    (u = its column, v = its row), and joint j's depth is j, so a left/right swap shows in the depths."""

    name = "brightest"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def infer(self, inputs: np.ndarray) -> NetworkOutput:
        self.batches.append(len(inputs))
        count, _, height, width = inputs.shape
        flat = inputs.reshape(count, -1).argmax(axis=1)
        rows, cols = np.divmod(flat, width)
        joints = np.zeros((count, ITOP.num_joints, 3), dtype=np.float32)
        joints[..., 0], joints[..., 1] = cols[:, None], rows[:, None]
        joints[..., 2] = np.arange(ITOP.num_joints)
        weights = np.full((count, 4, ITOP.num_joints), 0.25, dtype=np.float32)
        weights[:, 0] += np.arange(count)[:, None]  # tells the plain crops' weights from the mirrored ones'
        return NetworkOutput(joints, weights)


def test_mirrored_answer_maps_back_onto_the_plain_one_with_left_and_right_swapped():
    crops = np.random.default_rng(3).random((5, 1, 24, 32), dtype=np.float32)
    backend = BrightestPixel()
    perm = flip_permutation(ITOP.flip_pairs, ITOP.num_joints)
    plain = backend.infer(crops)
    both = infer_crops(backend, crops, True, perm)
    assert backend.batches == [5, 10]  # one network call for the crops and their mirrors
    assert np.array_equal(both.joints[..., :2], plain.joints[..., :2])  # u -> width - 1 - u undoes the mirror
    depth = np.arange(ITOP.num_joints, dtype=np.float32)
    for left, right in ITOP.flip_pairs:
        depth[left] = depth[right] = (left + right) / 2
    assert np.array_equal(both.joints[0, :, 2], depth)
    assert depth[0] == 0 and depth[2] == 2.5  # the head has no pair; the shoulders swap
    assert np.array_equal(both.anchor_weights, plain.anchor_weights)  # read from the unmirrored crops
    assert np.array_equal(infer_crops(backend, crops, False, perm).joints, plain.joints)


def test_flip_setting_round_trips_and_defaults_off():
    values = FLIP_BODY_CROP.to_dict()
    assert values["flip_test"] is True and CropSettings.from_dict(values) == FLIP_BODY_CROP
    del values["flip_test"]
    assert CropSettings.from_dict(values).flip_test is False  # checkpoints written before the setting existed
    with pytest.raises(LivePoseError, match=r"^model\.pt: .*flip_test = 'yes': expected true or false"):
        CropSettings.from_dict({**values, "flip_test": "yes"}, source="model.pt")


@pytest.fixture(scope="module")
def flip_body_model(tmp_path_factory):
    torch.manual_seed(0)
    model = A2J(A2JConfig(15, "resnet18", head_channels=16, head_layers=1))
    randomise_(model, seed=7)
    return save_checkpoint(tmp_path_factory.mktemp("flip") / "body.pt", model, layout="itop15", crop=FLIP_BODY_CROP)


def person_frame() -> tuple[np.ndarray, Intrinsics, tuple[float, float, float, float]]:
    """A lopsided 'person' (so that its mirror image differs) 2.5 m away in front of a wall at 4 m."""
    depth = np.full((120, 160), 4000.0, dtype=np.float32)
    depth[20:110, 60:90] = 2500.0
    depth[30:60, 90:115] = 2400.0
    return depth, Intrinsics(160, 120, 140.0, 140.0, 80.0, 60.0), (50.0, 15.0, 125.0, 115.0)


def test_predictor_averages_the_crop_and_its_mirror_on_torch_and_onnxruntime(flip_body_model, tmp_path):
    checkpoint = load_checkpoint(flip_body_model)
    depth, camera, box = person_frame()
    x, crop = crop_box(depth, box, checkpoint.crop)
    model = checkpoint.build_model("cpu")
    with torch.no_grad():
        plain = model(torch.from_numpy(x)[None, None]).joints[0].numpy()
        mirrored = model(torch.from_numpy(np.ascontiguousarray(x[:, ::-1]))[None, None]).joints[0].numpy()
    perm = flip_permutation(ITOP.flip_pairs, ITOP.num_joints)
    mirrored = mirrored[perm]
    mirrored[:, 0] = checkpoint.crop.width - 1 - mirrored[:, 0]
    expected = crop_to_image((plain + mirrored) / 2, crop)
    assert np.abs(crop_to_image(plain, crop) - expected).max() > 0.5  # the mirror changes the answer
    exported = export_checkpoint(checkpoint, "onnx", tmp_path / "body.onnx")  # the setting travels in the file
    for model_file, backend in ((flip_body_model, "torch"), (flip_body_model, "onnxruntime"), (exported, "auto")):
        predictor = Predictor.from_checkpoint(model_file, backend=backend)
        assert predictor.crop_settings.flip_test is True and predictor.label.endswith("FP32, flip test")
        got = predictor.predict_box(depth, camera, box)
        assert np.allclose(got.joints_uvd, expected, atol=0.05), (model_file, backend)


def test_cuda_graph_backend_refuses_a_flip_test_model():
    model = A2J(A2JConfig(21, "resnet18", head_channels=16, head_layers=1))
    crop = dataclasses.replace(SYNTH_HAND_CROP, width=32, height=32, flip_test=True)
    pipeline = DevicePipeline(model, crop, "cpu", "fp32")
    with pytest.raises(LivePoseError, match="flip test"):
        Predictor(pipeline.model, "hand21", crop, backend=pipeline)


@pytest.fixture(scope="module")
def body_split(tmp_path_factory):
    return write_split("body", 3, seed=8, camera="itop_side", out_dir=tmp_path_factory.mktemp("split") / "body",
                       progress=False)


def test_split_evaluation_and_package_follow_the_setting(flip_body_model, body_split, tmp_path):
    shipped = predict_split(flip_body_model, body_split, progress=False)
    off = predict_split(flip_body_model, body_split, progress=False, flip_test=False)
    assert np.abs(shipped.predicted_mm - off.predicted_mm).max() > 1.0
    on = predict_split(flip_body_model, body_split, progress=False, flip_test=True)
    assert np.array_equal(shipped.predicted_mm, on.predicted_mm)

    card = package_model(flip_body_model, tmp_path / "plain.pt", [body_split], "plain", flip_test=False)
    assert card["crop"]["flip_test"] is False and "without_flip_test" not in card["held_out"][0]
    assert load_checkpoint(tmp_path / "plain.pt").crop.flip_test is False
    card = package_model(tmp_path / "plain.pt", tmp_path / "flip.pt", [body_split], "flip", flip_test=True)
    assert load_checkpoint(tmp_path / "flip.pt").crop.flip_test is True
    entry = json.loads((tmp_path / "flip.json").read_text())["held_out"][0]
    errors = np.linalg.norm(off.predicted_mm - off.labels_mm, axis=-1)
    assert entry["without_flip_test"]["mean_error_mm"] == pytest.approx(errors.mean(), abs=2.0)  # fp16 weights
    assert entry["mean_error_mm"] != entry["without_flip_test"]["mean_error_mm"]
    assert set(entry["without_flip_test"]) == {"mean_error_mm", "map_10cm"}


def test_cli_evaluate_flip_test_option(flip_body_model, body_split, tmp_path):
    means = {}
    for choice in ("model", "on", "off"):
        out = tmp_path / f"{choice}.json"
        proc = subprocess.run([sys.executable, "-m", "livepose.cli", "evaluate", "--model", str(flip_body_model),
                               "--split", str(body_split), "--flip-test", choice, "--json", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        means[choice] = json.loads(out.read_text())["mean_error_mm"]
    assert means["model"] == means["on"] != means["off"]
