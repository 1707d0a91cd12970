"""The viewer draws One Euro smoothed joints by default, and the network's raw joints with --no-smoothing.

The window runs under a private Xvfb display (the ``xvfb`` fixture of :mod:`tests.test_viewer`; skipped when
Xvfb or the Qt packages are missing): in-process on a stand-in engine that hands it a still hand with 3 mm of
noise per coordinate at 30 FPS, and through ``run_live.py --screenshot`` to check the command line's wiring.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from livepose.recording.demo import DEMO_SESSION
from livepose.viewer.window import ViewerOptions
from tests.test_viewer import xvfb  # noqa: F401 - the display fixture

REPO = Path(__file__).resolve().parents[1]

STILL_HAND_SCRIPT = r'''
import json, os, sys, time
import numpy as np
from PyQt5 import QtWidgets
from livepose.camera import Intrinsics
from types import SimpleNamespace
from livepose.types import DepthFrame, PoseResult
from livepose.viewer import scene
from livepose.viewer.window import ViewerOptions, ViewerWindow

smoothing = sys.argv[1] == "on"
FRAMES = 60
rng = np.random.default_rng(0)
camera = Intrinsics(fx=475.0, fy=475.0, cx=320.0, cy=240.0, width=640, height=480)
hand = rng.normal(0.0, 40.0, (21, 3)) + [0.0, 0.0, 500.0]


class StillHandEngine:
    """Stands in for the engine: one result per poll, a still hand with 3 mm of noise, 30 FPS timestamps."""

    def __init__(self):
        self.stats = SimpleNamespace(captured=0, processed=0, latencies_ms=[], error="", started_s=time.monotonic(),
                                     finished_s=0.0)
        self.pairs = []
        for i in range(FRAMES):
            joints = hand + rng.normal(0.0, 3.0, hand.shape)
            uvd = np.concatenate((camera.xyz_to_uvd(joints)[:, :2], joints[:, 2:]), axis=1)
            result = PoseResult(frame_number=i, t_device_ms=i * 1000.0 / 30, t_host_ms=i * 1000.0 / 30,
                                layout="hand21", found=True, joints_mm=joints, joints_uvd=uvd,
                                confidence=np.full(21, 0.9), crop_box=(200.0, 120.0, 440.0, 360.0))
            frame = DepthFrame(np.zeros((480, 640), np.uint16), 1.0, camera, i, result.t_device_ms, 0.0)
            self.pairs.append((result, frame))
        self.raw = [r.joints_mm for r, _ in self.pairs]
        self.running = True
        self.dropped, self.viewer_dropped = {}, 0
        self.source_state = SimpleNamespace(line=lambda: "ok")

    def latest_with_frame(self, timeout=0.0):
        if not self.pairs:
            self.running = False
            return None
        self.stats.captured += 1
        self.stats.processed += 1
        return self.pairs.pop(0)

    def set_recorder(self, recorder):
        pass

    def stop(self):
        self.running = False


app = QtWidgets.QApplication(["livepose-test"])
engine = StillHandEngine()
window = ViewerWindow(engine, ViewerOptions(smoothing=smoothing), "still hand")
window.show()
drawn, in_gl = [], []
deadline = time.monotonic() + 60
while len(drawn) < FRAMES and time.monotonic() < deadline:
    app.processEvents()
    if window._shown is not None and (not drawn or window._shown[0].frame_number != drawn[-1][0]):
        result = window._shown[0]
        drawn.append((result.frame_number, np.asarray(result.joints_mm, float)))
        in_gl.append(np.abs(np.asarray(window.joint_item.pos, float) - scene.to_view(result.joints_mm)).max())
    time.sleep(0.005)
window.close()
app.processEvents()
raw = np.array([engine.raw[i] for i, _ in drawn])
shown = np.array([j for _, j in drawn])
jitter = lambda x: float(np.sqrt((np.diff(x, axis=0) ** 2).sum(-1).mean()))
print(json.dumps({"frames": [i for i, _ in drawn], "raw_jitter": jitter(raw), "drawn_jitter": jitter(shown),
                  "max_from_raw": float(np.abs(shown - raw).max()),
                  "first_from_raw": float(np.abs(shown[0] - raw[0]).max()),
                  "gl_vs_result": float(max(in_gl)), "hud": window.hud_label.text()}), flush=True)
os._exit(0)  # skip Qt's teardown at exit
'''


def run_still_hand(env: dict, smoothing: bool) -> dict:
    done = subprocess.run([sys.executable, "-c", STILL_HAND_SCRIPT, "on" if smoothing else "off"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_viewer_smooths_by_default() -> None:
    assert ViewerOptions().smoothing is True


def test_window_draws_smoothed_joints_and_raw_ones_when_asked(xvfb) -> None:  # noqa: F811
    smoothed, raw = run_still_hand(xvfb, True), run_still_hand(xvfb, False)
    for run in (smoothed, raw):
        assert run["frames"] == list(range(60)), run["frames"]  # every result drawn, in order
        assert run["gl_vs_result"] < 1e-3  # the 3D view holds the joints of the result it shows
    # Off: exactly the network's joints. On: the first as is, then far steadier than the raw ones.
    assert raw["max_from_raw"] == 0.0 and raw["drawn_jitter"] == pytest.approx(raw["raw_jitter"])
    assert smoothed["first_from_raw"] == 0.0 and smoothed["max_from_raw"] > 0.5
    assert smoothed["drawn_jitter"] < 0.4 * smoothed["raw_jitter"], smoothed
    assert "joints One Euro smoothed" in smoothed["hud"] and "raw joints" in raw["hud"]


@pytest.mark.parametrize("flags", [(), ("--no-smoothing",)], ids=["default", "no-smoothing"])
def test_live_command_line_sets_the_viewer_smoothing(xvfb, small_model: Path, tmp_path: Path,  # noqa: F811
                                                     flags: tuple[str, ...]) -> None:
    if not DEMO_SESSION.is_file():
        pytest.skip(f"no bundled demo recording ({DEMO_SESSION})")
    shot = tmp_path / "window.png"
    done = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", str(DEMO_SESSION), "--model",
                           str(small_model), "--max-frames", "4", "--screenshot", str(shot), *flags], env=xvfb,
                          capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads(shot.with_suffix(".json").read_text())
    assert meta["smoothing"] is (not flags) and meta["processed"] == 4, meta
    if meta["smoothed"]:  # the result shown went through the filter: only with smoothing on
        assert not flags
    assert len(meta["joints_mm_drawn"]) == 21
