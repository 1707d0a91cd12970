"""Scoring a checkpoint on a synthetic split, and packaging it with its model card."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from livepose.a2j.model import A2J, A2JConfig
from livepose.errors import LivePoseError
from livepose.evaluation.model_eval import evaluate_model_on_split, predict_split
from livepose.runtime.checkpoint import load_checkpoint, save_checkpoint
from livepose.synth.writer import write_split
from livepose.training.config import BODY_CROP, SYNTH_HAND_CROP
from livepose.training.package import package_model


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    hand = save_checkpoint(folder / "hand.pt", A2J(A2JConfig(21, "resnet18", head_channels=16, head_layers=1)),
                           layout="hand21", crop=dataclasses.replace(SYNTH_HAND_CROP, width=32, height=32),
                           training={"data": "synth-hand", "seed": 0, "steps": 0})
    body = save_checkpoint(folder / "body.pt", A2J(A2JConfig(15, "resnet18", head_channels=16, head_layers=1)),
                           layout="itop15", crop=dataclasses.replace(BODY_CROP, width=32, height=32))
    return hand, body


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splits")
    return (write_split("hand", 6, seed=5, camera="nyu", out_dir=folder / "hand", progress=False),
            write_split("body", 4, seed=5, camera="itop_side", out_dir=folder / "body", progress=False))


def test_hand_split_errors_match_an_independent_computation(tiny_models, splits):
    run = predict_split(tiny_models[0], splits[0], progress=False)
    assert run.predicted_mm.shape == run.labels_mm.shape == (6, 21, 3)
    result, _ = evaluate_model_on_split(tiny_models[0], splits[0], progress=False)
    expected = np.linalg.norm(run.predicted_mm - run.labels_mm, axis=-1).mean()
    assert result.mean_error_mm == pytest.approx(expected)
    labels = json.loads((splits[0] / "labels.json").read_text())["frames"]
    assert np.allclose(run.labels_mm[0], labels[0]["joints_mm"])
    assert result.map_10cm is None


def test_body_split_reports_map(tiny_models, splits):
    result, run = evaluate_model_on_split(tiny_models[1], splits[1], progress=False)
    assert result.map_10cm is not None and 0.0 <= result.map_10cm <= 100.0
    errors = np.linalg.norm(run.predicted_mm - run.labels_mm, axis=-1)
    assert result.map_10cm == pytest.approx(100.0 * (errors < 100.0).mean())


def test_layout_mismatch_is_refused(tiny_models, splits):
    with pytest.raises(LivePoseError, match="itop15 split"):
        predict_split(tiny_models[0], splits[1], progress=False)


def test_package_writes_half_checkpoint_and_card(tiny_models, splits, tmp_path):
    card = package_model(tiny_models[0], tmp_path / "hand21.pt", [splits[0]], "hand21", command="livepose train ...")
    stored = load_checkpoint(tmp_path / "hand21.pt")
    assert all(v.dtype == torch.float16 for v in stored.state_dict.values() if v.is_floating_point())
    on_disk = json.loads((tmp_path / "hand21.json").read_text())
    assert on_disk["held_out"][0]["split"]["camera"] == "nyu" and on_disk["held_out"][0]["split"]["frames"] == 6
    assert on_disk["held_out"][0]["mean_error_mm"] == card["held_out"][0]["mean_error_mm"] > 0
    assert on_disk["architecture"]["backbone"] == "resnet18" and on_disk["file_mb"] > 0
    assert stored.training["card"]["name"] == "hand21"
    assert card["training"] == {"data": "synth-hand", "seed": 0, "steps": 0}


def test_repackaging_a_shipped_model_keeps_its_training_not_its_card(tiny_models, splits, tmp_path):
    package_model(tiny_models[0], tmp_path / "first.pt", [splits[0]], "hand21")
    card = package_model(tmp_path / "first.pt", tmp_path / "again.pt", [splits[0]], "hand21")
    assert card["training"] == {"data": "synth-hand", "seed": 0, "steps": 0}
    assert card["recipe"] == {}


def test_cli_evaluate_model_split(tiny_models, splits, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", "evaluate", "--model", str(tiny_models[0]),
                           "--split", str(splits[0]), "--json", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mean error" in proc.stdout and json.loads(out.read_text())["mean_error_mm"] > 0
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", "evaluate", "--model", str(tiny_models[0])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--split" in proc.stderr
