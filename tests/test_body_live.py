"""Bodies in the live pipeline: the shipped body model on box crops, switching models while running.

The engine picks the detector a model's crop method needs (hand centre or person box); these tests run
the shipped ``models/body15.pt`` on the synthetic body source (rendered on this machine, exact joints
known), compare it with a baseline that knows nothing of the pose, switch a running engine between a
hand and a body model, and run the CLI headless.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from livepose.a2j import A2J, A2JConfig
from livepose.detect.centre import BodyBoxDetector, HandCentreDetector
from livepose.detect.select import detector_for
from livepose.errors import LivePoseError
from livepose.pipeline.engine import Engine
from livepose.runtime.checkpoint import save_checkpoint
from livepose.runtime.default_model import HAND_CROP
from livepose.runtime.predictor import Predictor
from livepose.sources.synthetic import SyntheticSource

REPO = Path(__file__).resolve().parents[1]
BODY_MODEL = REPO / "models" / "body15.pt"
FRAMES = 12


@pytest.fixture(scope="module")
def body_predictor() -> Predictor:
    if not BODY_MODEL.is_file():
        pytest.skip(f"{BODY_MODEL} is not shipped")
    return Predictor.from_checkpoint(BODY_MODEL)


@pytest.fixture(scope="module")
def hand_predictor(tmp_path_factory) -> Predictor:
    """A small random hand network (the switch test needs a hand model, not a good one)."""
    torch.manual_seed(0)
    model = A2J(A2JConfig(num_joints=21, backbone="resnet18", head_channels=32, head_layers=1))
    path = save_checkpoint(tmp_path_factory.mktemp("hand") / "small_hand.pt", model, layout="hand21", crop=HAND_CROP)
    return Predictor.from_checkpoint(path, backend="torch")


def test_each_crop_method_gets_its_detector(body_predictor: Predictor, hand_predictor: Predictor) -> None:
    assert isinstance(detector_for(body_predictor.crop_settings), BodyBoxDetector)
    assert isinstance(detector_for(hand_predictor.crop_settings), HandCentreDetector)
    frame = np.full((240, 320), 2000.0, np.float32)
    with pytest.raises(LivePoseError, match="takes a box"):
        body_predictor.predict(frame, SyntheticSource("body").intrinsics, np.array([160.0, 120.0, 2000.0]))
    with pytest.raises(LivePoseError, match="takes a centre"):
        hand_predictor.predict_box(frame, SyntheticSource("body").intrinsics, (10.0, 10.0, 100.0, 200.0))


def test_the_body_model_tracks_the_synthetic_body(body_predictor: Predictor) -> None:
    """Frame by frame through the engine (as its worker calls it): the person is found in a tall box and the
    joints beat a pose-blind baseline (every joint at the box centre, at the person's median depth) by far,
    and stay within the card's held-out figure plus a margin."""
    card = json.loads(BODY_MODEL.with_suffix(".json").read_text())
    card_error = next(entry["mean_error_mm"] for entry in card["held_out"]
                      if entry["split"]["camera"] == SyntheticSource("body").camera)
    source = SyntheticSource("body", paced=False, seed=0)
    source.open()
    engine = Engine(source, body_predictor)
    assert isinstance(engine.detector, BodyBoxDetector)
    errors, baseline = [], []
    try:
        for _ in range(FRAMES):
            frame = source.read()
            truth = np.asarray(source.last_joints_mm, np.float64)
            result = engine.process(frame)
            if not result.found:
                continue
            assert result.layout == "itop15" and result.joints_mm.shape == (15, 3)
            x0, y0, x1, y1 = result.crop_box
            assert y1 - y0 > x1 - x0, f"a standing person's box is tall: {result.crop_box}"
            assert {"detect", "crop", "network", "uncrop", "total"} <= set(result.timings_ms)
            assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
            errors.append(np.linalg.norm(result.joints_mm - truth, axis=1).mean())
            centre = frame.intrinsics.uvd_to_xyz(np.array([(x0 + x1) / 2, (y0 + y1) / 2,
                                                           np.median(result.joints_mm[:, 2])]))
            baseline.append(np.linalg.norm(truth - centre, axis=1).mean())
    finally:
        source.close()
    assert len(errors) >= FRAMES * 3 // 4, f"the person was found in only {len(errors)} of {FRAMES} frames"
    figures = {"model_mm": float(np.mean(errors)), "baseline_mm": float(np.mean(baseline)), "card_mm": card_error}
    assert figures["model_mm"] < 0.8 * figures["baseline_mm"], figures
    assert figures["model_mm"] < 1.3 * card_error, figures


def test_a_running_engine_switches_between_hand_and_body_models(body_predictor: Predictor,
                                                                hand_predictor: Predictor) -> None:
    source = SyntheticSource("body", fps=30, seed=4)
    source.open()
    engine = Engine(source, hand_predictor).start()
    layouts: list[str] = []
    try:
        deadline = time.monotonic() + 60
        switched = False
        for result in engine.results():
            if result.frame_number < 0:
                continue
            layouts.append(result.layout)
            if len(layouts) == 2 and not switched:
                engine.use_model(body_predictor)
                switched = True
            if layouts.count("itop15") >= 3 or time.monotonic() > deadline:
                break
    finally:
        engine.stop()
    assert layouts[:2] == ["hand21", "hand21"]
    first_body = layouts.index("itop15")
    assert set(layouts[first_body:]) == {"itop15"}, layouts  # no result goes back to the old model
    assert engine.predictor is body_predictor and isinstance(engine.detector, BodyBoxDetector)


def test_live_cli_tracks_a_body_headless(body_predictor: Predictor, tmp_path: Path) -> None:
    out = tmp_path / "body.jsonl"
    done = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", "synthetic:body", "--model",
                           str(BODY_MODEL), "--alt-model", str(BODY_MODEL), "--headless", "--max-frames", "4",
                           "--out", str(out)], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    frames = [line for line in lines if line["frame"] >= 0]
    assert len(frames) == 4 and all(line["layout"] == "itop15" for line in frames)
    assert sum(line["found"] for line in frames) >= 3
    found = next(line for line in frames if line["found"])
    assert len(found["joints_mm"]) == 15 and len(found["confidence"]) == 15
