"""``livepose average-weights``: the weighted mean of runs' weights, its card entry and its refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from livepose.a2j import A2J, A2JConfig
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import load_checkpoint, save_checkpoint
from livepose.runtime.default_model import HAND_CROP
from livepose.training.average import average_checkpoints

TINY = A2JConfig(num_joints=21, backbone="resnet18", head_channels=16, head_layers=1)


def _run(tmp_path: Path, name: str, seed: int, steps: int, layout: str = "hand21",
         config: A2JConfig = TINY) -> Path:
    """A tiny checkpoint with its own random weights, batch-norm statistics and a run's training entry."""
    torch.manual_seed(seed)
    model = A2J(config)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.num_batches_tracked.fill_(steps)
    training = {"data": "synth-hand", "seed": seed, "steps": steps, "seconds": 10.0 * steps,
                "hardware": "CPU (test)", "validation_error_mm": 20.0 + seed, "recipe": {"seed": seed}}
    return save_checkpoint(tmp_path / f"{name}.pt", model, layout=layout, crop=HAND_CROP, training=training)


def test_weighted_mean_of_weights_and_the_training_entry(tmp_path):
    first, second = _run(tmp_path, "a", seed=1, steps=300), _run(tmp_path, "b", seed=2, steps=500)
    out = average_checkpoints([first, second], tmp_path / "soup.pt", weights=[1, 3])
    a, b, soup = load_checkpoint(first), load_checkpoint(second), load_checkpoint(out)
    floats = [key for key, value in a.state_dict.items() if value.is_floating_point()]
    assert any("running_var" in key for key in floats) and any("conv" in key for key in floats)
    for key in floats:
        expected = 0.25 * a.state_dict[key].double() + 0.75 * b.state_dict[key].double()
        torch.testing.assert_close(soup.state_dict[key].double(), expected, rtol=1e-6, atol=1e-6)
        assert soup.state_dict[key].dtype == torch.float32
    counts = [key for key in a.state_dict if key.endswith("num_batches_tracked")]
    assert counts and all(int(soup.state_dict[key]) == 500 for key in counts)
    assert soup.layout == "hand21" and soup.crop == a.crop and soup.config == TINY
    training = soup.training
    assert training["steps"] == 800 and training["seconds"] == 8000.0 and training["seed"] == [1, 2]
    assert training["data"] == "synth-hand" and training["hardware"] == "CPU (test)"
    assert "validation_error_mm" not in training and "recipe" not in training
    assert [(entry["path"], entry["weight"], entry["validation_error_mm"]) for entry in training["averaged_from"]] \
        == [(str(first), 1.0, 21.0), (str(second), 3.0, 22.0)]


def test_a_packaged_model_counts_through_its_card(tmp_path):
    """A shipped file (training entry = its card) averaged with runs: its card's seeds, steps and shared
    fields count, as if the average it was packaged from were given."""
    first, second = _run(tmp_path, "a", seed=1, steps=300), _run(tmp_path, "b", seed=2, steps=500)
    earlier = load_checkpoint(average_checkpoints([first, second], tmp_path / "ab.pt"))
    card = {"name": "hand21", "training": earlier.training, "recipe": {}, "held_out": [], "notes": "shipped"}
    packaged = save_checkpoint(tmp_path / "shipped.pt", earlier.build_model(), layout=earlier.layout,
                               crop=earlier.crop, training={"card": card}, half=True)
    third = _run(tmp_path, "c", seed=3, steps=200)
    training = load_checkpoint(average_checkpoints([third, packaged], tmp_path / "soup.pt", weights=[1, 2])).training
    assert training["seed"] == [3, 1, 2]
    assert training["steps"] == 1000 and training["seconds"] == 10000.0
    assert training["data"] == "synth-hand" and training["hardware"] == "CPU (test)"
    assert "card" not in training["averaged_from"][1]
    assert [entry["seed"] for entry in training["averaged_from"][1]["averaged_from"]] == [1, 2]


def test_averaging_a_model_with_itself_changes_no_prediction(tmp_path):
    path = _run(tmp_path, "a", seed=3, steps=100)
    out = average_checkpoints([path, path], tmp_path / "same.pt")
    crops = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        expected = load_checkpoint(path).build_model()(crops)
        found = load_checkpoint(out).build_model()(crops)
    assert found.joints.shape == (2, 21, 3)
    torch.testing.assert_close(found.joints, expected.joints, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(found.anchor_weights, expected.anchor_weights, rtol=1e-5, atol=1e-6)


def test_incompatible_inputs_are_refused_naming_the_file(tmp_path):
    hand = _run(tmp_path, "hand", seed=1, steps=10)
    nyu = _run(tmp_path, "nyu", seed=2, steps=10, layout="nyu14", config=A2JConfig(14, "resnet18", 16, 1))
    wider = _run(tmp_path, "wider", seed=3, steps=10, config=A2JConfig(21, "resnet18", 32, 1))
    with pytest.raises(LivePoseError, match=r"nyu\.pt: its architecture differs"):
        average_checkpoints([hand, nyu], tmp_path / "x.pt")
    with pytest.raises(LivePoseError, match=r"wider\.pt: its architecture differs"):
        average_checkpoints([hand, wider], tmp_path / "x.pt")
    with pytest.raises(LivePoseError, match="at least two"):
        average_checkpoints([hand], tmp_path / "x.pt")
    with pytest.raises(LivePoseError, match="2 values for 3 checkpoints"):
        average_checkpoints([hand, hand, hand], tmp_path / "x.pt", weights=[1, 2])
    with pytest.raises(LivePoseError, match="positive"):
        average_checkpoints([hand, hand], tmp_path / "x.pt", weights=[1, -1])
    with pytest.raises(LivePoseError, match="finite"):
        average_checkpoints([hand, hand], tmp_path / "x.pt", weights=[1, float("inf")])
    assert not (tmp_path / "x.pt").exists()


def test_cli_writes_the_average_and_refuses_in_one_line(tmp_path):
    first, second = _run(tmp_path, "a", seed=1, steps=10), _run(tmp_path, "b", seed=2, steps=10)
    command = [sys.executable, "-m", "livepose.cli", "average-weights"]
    done = subprocess.run([*command, str(first), str(second), "--out", str(tmp_path / "soup.pt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mean of 2 checkpoints" in done.stdout and load_checkpoint(tmp_path / "soup.pt").training["seed"] == [1, 2]
    refused = subprocess.run([*command, str(first), str(tmp_path / "missing.pt"), "--out", str(tmp_path / "y.pt")],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "missing.pt" in refused.stderr
