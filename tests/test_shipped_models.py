"""The shipped models (models/*.pt) against the figures in their model cards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from livepose.evaluation.model_eval import evaluate_model_on_split
from livepose.runtime.checkpoint import load_checkpoint
from livepose.synth.writer import write_split

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = {"hand21": ("hand", "hand21"), "body15": ("body", "itop15")}
FRAMES = {"hand": 64, "body": 48}


def _card(name: str) -> dict:
    path = MODELS / f"{name}.json"
    if not (MODELS / f"{name}.pt").is_file() or not path.is_file():
        pytest.skip(f"{MODELS / name}.pt / .json not shipped")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_loads_small_and_matches_its_card(name):
    card = _card(name)
    checkpoint = load_checkpoint(MODELS / f"{name}.pt")
    assert checkpoint.layout == SHIPPED[name][1] == card["layout"]
    assert (MODELS / f"{name}.pt").stat().st_size < 60 * 2 ** 20
    assert checkpoint.config.to_dict().items() <= card["architecture"].items()
    for key in ("data", "seed", "steps", "seconds", "hardware"):
        assert key in card["training"], key
    assert card["reproduce"].startswith("livepose train")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_held_out_error_stays_below_its_card(name, tmp_path):
    """The first frames of the card's first held-out split (same camera and seed) score within the card's
    figure plus a margin (a smaller sample varies: +30 % and 3 mm)."""
    card = _card(name)
    held_out = card["held_out"][0]
    kind = SHIPPED[name][0]
    split = write_split(kind, FRAMES[kind], seed=held_out["split"]["seed"], camera=held_out["split"]["camera"],
                        out_dir=tmp_path / "split", progress=False, whole_body=held_out["split"]["whole_body"])
    result, _ = evaluate_model_on_split(MODELS / f"{name}.pt", split, progress=False)
    assert np.isfinite(result.mean_error_mm)
    assert result.mean_error_mm <= held_out["mean_error_mm"] * 1.3 + 3.0
    if kind == "body":
        assert result.map_10cm >= held_out["map_10cm"] - 10.0


def test_hand_model_on_the_real_nyu_frame(shared_data):
    card = _card("hand21")
    from livepose.evaluation.real_frames import nyu_frame_error

    figures = nyu_frame_error(MODELS / "hand21.pt", shared_data)
    expected = card["real_frames"]["nyu_frame_1"]["detector_mean_error_mm"]
    assert figures["detector_mean_error_mm"] == pytest.approx(expected, abs=0.5)


def test_live_layout_nyu14_on_the_real_nyu_frame(shared_data, tmp_path):
    """``livepose live --layout nyu14`` on the NYU frame as a PNG folder: NYU's 14 joints, in NYU's order,
    as accurate as the card says."""
    import shutil
    import subprocess
    import sys

    from livepose.calibration import load_profile
    from livepose.evaluation.formats import load_joints

    card = _card("hand21")
    folder = tmp_path / "nyu"
    folder.mkdir()
    shutil.copy(shared_data / "frames/nyu/depth_1_0000001.png", folder)
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", "live", "--source", str(folder), "--camera", "nyu",
                           "--model", str(MODELS / "hand21.pt"), "--layout", "nyu14", "--headless", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = json.loads(out.read_text().splitlines()[0])
    assert line["layout"] == "nyu14" and len(line["joints_mm"]) == 14
    intrinsics = load_profile("nyu").intrinsics
    labels = intrinsics.uvd_to_xyz(load_joints(shared_data / "published/nyu_test_labels_uvd.txt", (14,), ())[0])
    error = float(np.linalg.norm(np.asarray(line["joints_mm"]) - labels, axis=-1).mean())
    assert error == pytest.approx(card["real_frames"]["nyu_frame_1"]["detector_mean_error_mm"], abs=1.0)
    bad = subprocess.run([sys.executable, "-m", "livepose.cli", "live", "--source", str(folder), "--camera", "nyu",
                          "--model", str(MODELS / "hand21.pt"), "--layout", "coco17", "--headless"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "coco17" in bad.stderr
