"""End to end through the real pyrealsense2 SDK: a software-device recording of a synthetic hand, played by
``livepose live --headless`` in lock-step, every frame accounted for, joints in camera millimetres."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from livepose.calibration import load_profile
from livepose.sources.rs_synthetic import write_software_device_recording
from livepose.synth.generator import hand_frames

REPO = Path(__file__).resolve().parents[1]
FRAMES = 100


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> tuple[Path, np.ndarray]:
    batch = hand_frames(FRAMES, camera="d435_640", generator=torch.Generator().manual_seed(2), noise=True)
    path = tmp_path_factory.mktemp("rs") / "hand.db3"
    write_software_device_recording(path, (d.numpy() for d in batch.depth), load_profile("d435_640").intrinsics,
                                    depth_unit_mm=1.0, fps=30)
    return path, batch.joints_mm.numpy()


def test_recording_plays_every_frame_through_live_headless(recording, small_model: Path,
                                                           tmp_path: Path) -> None:
    path, truth = recording
    out = tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", str(path), "--model",
                           str(small_model), "--headless", "--out", str(out)], capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == FRAMES
    assert [r["frame"] for r in records] == list(range(FRAMES))
    assert f"frames {FRAMES} processed of {FRAMES} captured" in done.stderr
    assert "dropped: inference 0, output 0" in done.stderr
    found = [r for r in records if r["found"]]
    assert len(found) >= 0.5 * FRAMES  # random poses and scenery: the detector finds most hands
    on_hand = 0
    for record in found:
        joints = np.array(record["joints_mm"], dtype=float)
        assert joints.shape == (21, 3) and np.isfinite(joints).all()
        # An untrained network votes inside its crop: joints land within the crop around the detected centre,
        # which is on the true hand unless the detector took the scenery for it.
        truth_centre = truth[record["frame"]].mean(0)
        on_hand += np.linalg.norm(joints.mean(0) - truth_centre) < 150.0
    assert on_hand >= 0.8 * len(found), (on_hand, len(found))
