"""livepose checkpoints (round trip and refusals), ONNX export parity, and the CLI around them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from livepose.a2j import A2J, A2JConfig
from livepose.calibration import load_profile
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import load_checkpoint, save_checkpoint
from livepose.runtime.export import export_checkpoint, read_onnx_metadata
from tests.official_reference import randomise_

# A light network keeps these tests fast; the code paths are the same for every backbone.
SMALL = A2JConfig(num_joints=14, backbone="resnet18", head_channels=32, head_layers=1)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = A2J(SMALL)
    randomise_(model, seed=2)
    path = tmp_path_factory.mktemp("ckpt") / "small.pt"
    save_checkpoint(path, model, layout="nyu14", crop=load_profile("nyu").crop,
                    training={"seed": 0, "steps": 0, "data": "none (test)"})
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livepose.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[1])


def test_round_trip_rebuilds_the_same_predictor(small_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(small_checkpoint)
    assert checkpoint.config == SMALL
    assert checkpoint.layout == "nyu14"
    assert checkpoint.crop == load_profile("nyu").crop
    assert checkpoint.training["seed"] == 0
    model = checkpoint.build_model()
    reference = A2J(SMALL)
    reference.load_state_dict(torch.load(small_checkpoint, weights_only=True)["state_dict"])
    x = torch.randn(2, 1, 176, 176)
    with torch.no_grad():
        assert torch.equal(model(x).joints, reference.eval()(x).joints)


def test_half_precision_checkpoint_is_smaller_and_close(tmp_path: Path, small_checkpoint: Path) -> None:
    full = load_checkpoint(small_checkpoint).build_model()
    half_path = save_checkpoint(tmp_path / "half.pt", full, layout="nyu14", crop=load_profile("nyu").crop, half=True)
    assert half_path.stat().st_size < 0.6 * small_checkpoint.stat().st_size
    half = load_checkpoint(half_path).build_model()
    assert all(v.dtype != torch.float16 for v in half.state_dict().values())
    x = torch.randn(1, 1, 176, 176)
    with torch.no_grad():
        a, b = full(x).joints, half(x).joints
    assert float((a - b).abs().max()) < 0.05 * float(a.abs().max())


def test_refuses_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights\n")
    with pytest.raises(LivePoseError, match="notes.pt: not a PyTorch checkpoint"):
        load_checkpoint(path)


def test_refuses_a_truncated_file(tmp_path: Path, small_checkpoint: Path) -> None:
    data = small_checkpoint.read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LivePoseError, match="cut.pt: truncated or corrupt"):
        load_checkpoint(path)


class _RunsCode:
    """A pickle payload that would create a file when unpickled without weights_only."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_refuses_a_pickle_that_would_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "livepose-a2j", "payload": _RunsCode(str(marker))}, path)
    with pytest.raises(LivePoseError, match="evil.pt: refused: .*could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_refuses_an_official_state_dict_with_a_pointer(tmp_path: Path) -> None:
    path = tmp_path / "NYU.pth"
    torch.save(A2J(SMALL).state_dict(), path)
    with pytest.raises(LivePoseError, match="plain state dict.*load_official"):
        load_checkpoint(path)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.pop("state_dict"), "no 'state_dict' entry"),
    (lambda p: p.update(version=99), "version 99"),
    (lambda p: p.update(layout="icvl16"), "layout icvl16 has 16 joints but the model predicts 14"),
    (lambda p: p["model"].update(backbone="vgg"), "backbone 'vgg'"),
    (lambda p: p["state_dict"].pop("regressionModel.output.bias"), "missing keys regressionModel.output.bias"),
])
def test_refuses_damaged_contents(tmp_path: Path, small_checkpoint: Path, damage, message: str) -> None:
    payload = torch.load(small_checkpoint, weights_only=True)
    damage(payload)
    path = tmp_path / "damaged.pt"
    torch.save(payload, path)
    with pytest.raises(LivePoseError, match=message):
        load_checkpoint(path).build_model()


def test_refuses_missing_empty_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LivePoseError, match="no such file"):
        load_checkpoint(tmp_path / "absent.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(LivePoseError, match="empty file"):
        load_checkpoint(tmp_path / "empty.pt")
    with pytest.raises(LivePoseError, match="is a directory"):
        load_checkpoint(tmp_path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "m.pt", A2J(SMALL), layout="nyu14", crop=load_profile("nyu").crop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    assert zipfile.is_zipfile(tmp_path / "m.pt")


def test_onnx_export_matches_torch(tmp_path: Path, small_checkpoint: Path) -> None:
    import onnxruntime

    checkpoint = load_checkpoint(small_checkpoint)
    out = export_checkpoint(checkpoint, "onnx", tmp_path / "small.onnx")
    meta = read_onnx_metadata(out)
    assert meta["layout"] == "nyu14" and meta["model"] == SMALL.to_dict()
    assert meta["crop"]["mean"] == load_profile("nyu").crop.mean
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(3, 1, 176, 176)).astype(np.float32)
    joints, weights = session.run(["joints", "anchor_weights"], {"depth_crop": x})
    with torch.no_grad():
        expected = checkpoint.build_model()(torch.from_numpy(x))
    assert joints.shape == (3, 14, 3) and weights.shape == (3, 11 * 11 * 16, 14)
    scale = float(np.abs(expected.joints.numpy()).max())
    assert float(np.abs(joints - expected.joints.numpy()).max()) / scale < 1e-4
    assert float(np.abs(weights - expected.anchor_weights.numpy()).max()) < 1e-4


def test_cli_export_writes_onnx_and_errors_are_one_line(tmp_path: Path, small_checkpoint: Path) -> None:
    out = tmp_path / "cli.onnx"
    done = run_cli("export", "--model", str(small_checkpoint), "--format", "onnx", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.is_file() and read_onnx_metadata(out)["layout"] == "nyu14"
    bad = tmp_path / "bad.pt"
    bad.write_text("nope")
    done = run_cli("export", "--model", str(bad))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "bad.pt: not a PyTorch checkpoint" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_import_official_makes_a_checkpoint(tmp_path: Path) -> None:
    from tests.official_reference import ReferenceA2J

    reference = ReferenceA2J(num_joints=14)
    randomise_(reference, seed=3)
    weights = tmp_path / "NYU.pth"
    torch.save(reference.state_dict(), weights)
    out = tmp_path / "nyu_official.pt"
    done = run_cli("import-official", str(weights), "--dataset", "nyu", "--out", str(out))
    assert done.returncode == 0, done.stderr
    checkpoint = load_checkpoint(out)
    assert checkpoint.layout == "nyu14" and checkpoint.config.backbone == "resnet50"
    assert checkpoint.crop.xy_thres_mm == 110.0
    done = run_cli("import-official", str(weights), "--dataset", "icvl", "--out", str(tmp_path / "x.pt"))
    assert done.returncode == 2 and "output.weight has shape" in done.stderr and "Traceback" not in done.stderr
