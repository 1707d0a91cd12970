"""The live engine end to end on real files: a folder of depth PNGs, the real detector and an A2J network."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from livepose.detect.centre import HandCentreDetector
from livepose.pipeline.engine import Engine
from livepose.runtime.predictor import Predictor
from livepose.sources.images import ImageFolderSource

REPO = Path(__file__).resolve().parents[1]
CAMERA = {"fx": 475.0, "fy": 475.0, "cx": 320.0, "cy": 240.0, "width": 640, "height": 480, "depth_unit_mm": 1.0}
REQUIRED_FIELDS = {"frame", "t_device_ms", "t_host_ms", "layout", "joints_mm", "joints_uvd", "confidence", "found",
                   "timings_ms", "dropped"}


def hand_scene(u: float, v: float, hand_mm: float = 450.0) -> np.ndarray:
    """(480, 640) uint16 mm: a palm-sized disc with four finger bars, a forearm to the bottom edge, a wall."""
    depth = np.full((480, 640), 1400, np.uint16)
    f = CAMERA["fx"] / hand_mm  # pixels per millimetre at the hand
    rows, cols = np.mgrid[0:480, 0:640]
    palm = (cols - u) ** 2 + (rows - v) ** 2 <= (45 * f) ** 2
    fingers = np.zeros_like(palm)
    for k in range(4):
        cu = u + (k - 1.5) * 20 * f
        fingers |= (np.abs(cols - cu) <= 8 * f) & (rows <= v) & (rows >= v - 110 * f)
    arm = (np.abs(cols - u) <= 30 * f) & (rows >= v)
    depth[arm] = hand_mm + 40
    depth[palm | fingers] = hand_mm
    return depth


def write_hand_folder(folder: Path, count: int, step: int, empty: int) -> Path:
    """``count`` PNGs of a hand moving ``step`` px right (and half that up) per frame, frame ``empty`` blank."""
    (folder / "camera.json").write_text(json.dumps({"name": "test", "camera": CAMERA}))
    for i in range(count):
        depth = hand_scene(300 + step * i, 260 - step * i / 2) if i != empty else np.zeros((480, 640), np.uint16)
        cv2.imwrite(str(folder / f"{i}.png"), depth)
    return folder


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return write_hand_folder(tmp_path, count=12, step=4, empty=5)


def livepose_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("livepose-")]


def test_lockstep_processes_every_frame_in_order(folder: Path, small_model: Path) -> None:
    predictor = Predictor.from_checkpoint(str(small_model))
    with ImageFolderSource(folder) as source:
        engine = Engine(source, predictor, HandCentreDetector())
        assert engine.lockstep
        with engine:
            results = list(engine.results())
    assert [r.frame_number for r in results] == list(range(12))
    assert engine.stats.captured == engine.stats.processed == 12
    assert engine.dropped == {"inference": 0, "output": 0}
    empty = results[5]
    assert not empty.found and empty.reason and np.isnan(empty.joints_mm).all()
    tracked = [r for r in results if r.found]
    assert len(tracked) == 11
    for result in tracked:
        assert result.joints_mm.shape == (21, 3) and np.isfinite(result.joints_mm).all()
        assert result.anchor_weights.shape == (11 * 11 * 16, 21)
        # joints come back in camera millimetres near the hand (an untrained net votes inside its crop)
        assert np.all(np.abs(result.joints_mm[:, 2] - 450) < 200)
        assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
        assert {"detect", "crop", "network", "uncrop", "total", "latency"} <= set(result.timings_ms)
    assert not livepose_threads()


def test_max_frames_and_stop_leave_nothing_behind(folder: Path, small_model: Path) -> None:
    predictor = Predictor.from_checkpoint(str(small_model))
    source = ImageFolderSource(folder, loop=True)
    with source:
        engine = Engine(source, predictor, HandCentreDetector(), lockstep=True, max_frames=4)
        with engine:
            results = list(engine.results())
    assert len(results) == 4
    assert source.closed and not livepose_threads()

    source = ImageFolderSource(folder, loop=True)
    with source:
        engine = Engine(source, predictor, HandCentreDetector(), lockstep=False).start()
        first = next(engine.results())
        engine.stop()
    assert first.frame_number >= 0
    assert not engine.running and source.closed and not livepose_threads()


def test_headless_cli_writes_one_json_line_per_frame(folder: Path, small_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.jsonl"
    done = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", str(folder), "--model",
                           str(small_model), "--headless", "--out", str(out)], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 12
    records = [json.loads(line) for line in lines]
    for i, record in enumerate(records):
        assert REQUIRED_FIELDS <= set(record)
        assert record["frame"] == i and record["layout"] == "hand21"
        assert record["found"] == (i != 5)
        assert len(record["joints_mm"]) == 21 and len(record["confidence"]) == 21
    assert records[5]["joints_mm"][0] == [None, None, None] and records[5]["reason"]
    assert "frames 12 processed of 12 captured" in done.stderr and "p99" in done.stderr

    done = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", str(folder), "--model",
                           str(small_model), "--headless", "--out", str(out), "--max-frames", "3"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 3


def test_headless_cli_errors_are_one_line(tmp_path: Path, small_model: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "livepose.cli", "live", "--source", str(empty), "--model",
                           str(small_model), "--headless"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(empty) in done.stderr.strip().splitlines()[-1]


def test_ctrl_c_stops_cleanly_with_a_summary(small_model: Path, tmp_path: Path) -> None:
    import signal
    import time

    out = tmp_path / "live.jsonl"
    # A shell starts background jobs with SIGINT ignored, and Python then installs no Ctrl-C handler: give
    # the child the default disposition, as a terminal's foreground process has, wherever pytest runs.
    process = subprocess.Popen([sys.executable, str(REPO / "run_live.py"), "--source", "synthetic:hand", "--model",
                                str(small_model), "--headless", "--out", str(out)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)  # a clean stop takes 2-5 s on an idle 2-core machine
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "processed of" in stderr and "Traceback" not in stderr
    lines = out.read_text().splitlines()
    assert lines and all(json.loads(line)["layout"] == "hand21" for line in lines)
