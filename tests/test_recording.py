"""Sessions: record through the real CLI, read back bit-exactly, survive kill -9, replay and export."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from livepose.errors import LivePoseError
from livepose.recording.reader import SessionReader, SessionSource
from livepose.sources.images import ImageFolderSource
from tests.test_engine import folder  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]


def live(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livepose.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.fixture()
def recorded(folder: Path, small_model: Path, tmp_path: Path) -> tuple[Path, Path]:  # noqa: F811
    session = tmp_path / "session.mcap"
    out = tmp_path / "live.jsonl"
    done = live("live", "--source", str(folder), "--model", str(small_model), "--headless", "--record",
                str(session), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "recorded 12 frames and 12 results" in done.stderr
    return session, out


def test_complete_session_round_trips_bit_exactly(recorded, folder: Path) -> None:  # noqa: F811
    session, out = recorded
    reader = SessionReader(session)
    frames = list(reader.frames())
    assert [f.frame_number for f in frames] == list(range(12))
    with ImageFolderSource(folder) as source:
        for frame in frames:
            original = source.read()
            assert frame.depth.dtype == np.uint16 and np.array_equal(frame.depth, original.depth)
            assert frame.intrinsics == original.intrinsics and frame.depth_unit_mm == original.depth_unit_mm
    poses = list(reader.poses())
    live_lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["frame"] for p in poses] == [r["frame"] for r in live_lines] == list(range(12))
    for pose, line in zip(poses, live_lines, strict=True):
        assert pose["found"] == line["found"] and pose["joints_mm"] == line["joints_mm"]
        if pose["found"]:
            assert pose["anchors"] and all(w > 0.02 for joint in pose["anchors"].values() for _, w in joint)
    assert reader.stopped_at == ""


def test_replay_plays_every_recorded_frame(recorded, small_model: Path, tmp_path: Path) -> None:  # noqa: F811
    session, out = recorded
    replay_out = tmp_path / "replay.jsonl"
    done = live("replay", str(session), "--model", str(small_model), "--headless", "--out", str(replay_out))
    assert done.returncode == 0, done.stderr
    original = [json.loads(line) for line in out.read_text().splitlines()]
    replayed = [json.loads(line) for line in replay_out.read_text().splitlines()]
    assert [r["frame"] for r in replayed] == [r["frame"] for r in original]
    # Same frames, same detector and network: the same joints.
    for a, b in zip(original, replayed, strict=True):
        assert a["found"] == b["found"] and a["joints_mm"] == b["joints_mm"]


def test_export_session_writes_pngs_camera_and_joints(recorded, folder: Path, tmp_path: Path) -> None:  # noqa: F811
    session, _ = recorded
    target = tmp_path / "exported"
    done = live("export-session", str(session), "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert "exported 12 frames and 12 poses" in done.stdout
    pngs = sorted(target.glob("*.png"))
    assert len(pngs) == 12
    for png, original in zip(pngs, sorted(folder.glob("*.png"), key=lambda p: int(p.stem)), strict=True):
        assert np.array_equal(cv2.imread(str(png), cv2.IMREAD_UNCHANGED), cv2.imread(str(original), -1))
    rows = (target / "joints.csv").read_text().splitlines()
    assert rows[0].startswith("frame,found,joint,x_mm") and len(rows) == 1 + 12 * 21
    with ImageFolderSource(target) as source:  # the export is a source again
        assert source.read().intrinsics.fx == 475.0


def test_killed_recording_is_readable_up_to_the_last_second(folder: Path, small_model: Path,  # noqa: F811
                                                             tmp_path: Path) -> None:
    session = tmp_path / "killed.mcap"
    process = subprocess.Popen([sys.executable, "-m", "livepose.cli", "live", "--source", str(folder), "--loop",
                                "--fps", "30", "--model", str(small_model), "--headless", "--record", str(session)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (not session.exists() or session.stat().st_size < 200_000) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        killed_at_ns = time.time_ns()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    messages = list(SessionReader(session).messages())
    frames = [m for m in messages if m.frame is not None]
    assert len(frames) >= 30
    # The writer syncs every 0.5 s: everything logged more than a second before the kill is on disk.
    assert frames[-1].log_time_ns >= killed_at_ns - 1_000_000_000
    originals = {i: cv2.imread(str(folder / f"{i}.png"), cv2.IMREAD_UNCHANGED) for i in range(12)}
    for message in frames:
        assert np.array_equal(message.frame.depth, originals[message.frame.frame_number])
    # The cut-short session still replays as a source.
    with SessionSource(session) as source:
        count = 0
        while source.read() is not None:
            count += 1
    assert count == len(frames)


def test_bad_session_files_get_one_line(tmp_path: Path, small_model: Path) -> None:  # noqa: F811
    text = tmp_path / "notes.mcap"
    text.write_text("not a session")
    with pytest.raises(LivePoseError, match="not a livepose session"):
        SessionReader(text)
    done = live("replay", str(text), "--model", str(small_model), "--headless")
    assert done.returncode == 2 and "not a livepose session" in done.stderr and "Traceback" not in done.stderr
    done = live("replay", str(tmp_path / "absent.mcap"), "--headless")
    assert done.returncode == 2 and "no such session file" in done.stderr
