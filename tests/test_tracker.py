"""livepose.Tracker: the README example as written, smoothing on and off, sources and errors."""

from __future__ import annotations

import contextlib
import io
import re
import threading
from pathlib import Path

import numpy as np
import pytest

import livepose
from livepose.outputs.smoothing import PoseSmoother, SmoothedPoseResult
from livepose.sources.images import ImageFolderSource
from tests.test_engine import write_hand_folder

REPO = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- tracker-example -->\n```python\n(.*?)```\n<!-- /tracker-example -->", text, re.S)
    assert match, "README.md has no <!-- tracker-example --> python block"
    return match.group(1)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return write_hand_folder(tmp_path, count=8, step=6, empty=4)


def no_livepose_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("livepose-") and t.is_alive()]


def test_readme_example_runs_as_written() -> None:
    code = readme_example()
    assert len(code.strip().splitlines()) <= 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (tracker-example)", "exec"), {"__name__": "__readme__"})
    lines = out.getvalue().splitlines()
    joints = [line for line in lines if re.match(r"frame \d+: index tip at \(-?\d+, -?\d+, \d+\) mm, confidence "
                                                  r"\d\.\d\d, \d+ ms$", line)]
    assert joints, lines
    assert "frames 30 processed" in lines[-1]
    assert no_livepose_threads()


def test_lockstep_folder_smoothing_on_and_off(folder: Path, small_model: Path) -> None:
    with livepose.Tracker(source=str(folder), model=small_model, smoothing=False) as tracker:
        raw = list(tracker)
    with livepose.Tracker(source=folder, model=str(small_model)) as tracker:
        assert tracker.layout == "hand21" and tracker.joint_names[8] == "index_tip"
        smooth = list(tracker)
        assert "frames 8 processed of 8 captured" in tracker.summary()
    assert [r.frame_number for r in raw] == [r.frame_number for r in smooth] == list(range(8))
    assert all(isinstance(r, SmoothedPoseResult) for r in raw + smooth)
    assert not any(r.smoothed for r in raw)
    assert [r.smoothed for r in smooth] == [r.found for r in smooth] == [i != 4 for i in range(8)]
    for a, b in zip(raw, smooth, strict=True):
        assert a.raw_joints_mm is a.joints_mm
        np.testing.assert_allclose(a.joints_mm, b.raw_joints_mm, atol=1e-3)  # same network, same frames
        assert {"detect", "total", "latency"} <= set(b.timings_ms) and b.confidence.shape == (21,)
    # smoothed = the One Euro filter over the raw results (restarting after the lost frame 4)
    reference = PoseSmoother()
    for a, b in zip(raw, smooth, strict=True):
        expected = reference(a.__class__(**{**a.__dict__, "t_device_ms": b.t_device_ms, "t_host_ms": b.t_host_ms}))
        np.testing.assert_allclose(b.joints_mm, expected.joints_mm, atol=1e-2)
    np.testing.assert_allclose(smooth[0].joints_mm, smooth[0].raw_joints_mm)
    np.testing.assert_allclose(smooth[5].joints_mm, smooth[5].raw_joints_mm)  # first frame after the loss
    assert not np.allclose(smooth[3].joints_mm, smooth[3].raw_joints_mm)
    assert no_livepose_threads()


def test_source_object_iteration_without_with_and_max_frames(folder: Path, small_model: Path) -> None:
    source = ImageFolderSource(folder, loop=True)
    tracker = livepose.Tracker(source=source, model=small_model, max_frames=3)
    assert len(list(tracker)) == 3  # iterating starts and stops the tracker
    assert source.closed and no_livepose_threads()
    with livepose.Tracker(source="synthetic:hand", model=small_model, max_frames=50) as tracker:
        first = tracker.latest(timeout=60)
        assert first is not None and first.layout == "hand21"
        tracker.stop()
    assert no_livepose_threads()


def test_bad_arguments_are_one_line_errors(small_model: Path, tmp_path: Path) -> None:
    with pytest.raises(livepose.LivePoseError, match="synthetic:hand"):
        livepose.Tracker(source="synthetic:dog", model=small_model)
    with pytest.raises(livepose.LivePoseError, match="no such file or folder"):
        livepose.Tracker(source=tmp_path / "missing", model=small_model)
    with pytest.raises(livepose.LivePoseError, match="max_frames"):
        livepose.Tracker(source="synthetic:hand", model=small_model, max_frames=0)
    with pytest.raises(AttributeError):
        livepose.NoSuchThing  # noqa: B018
