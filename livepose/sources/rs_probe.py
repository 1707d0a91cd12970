"""Opening a RealSense recording in a child process first, so that a file the SDK hangs on or crashes on is
refused with a message instead of taking livepose down.

pyrealsense2 2.59's ROS 1 (``.bag``) reader loops forever inside ``config.resolve()`` on some damaged files
(found by ``tests/test_fuzz_readers.py``): C++ code that no Python timeout can interrupt. :func:`probe_recording`
therefore resolves the file, starts playback and reads its first :data:`PROBE_FRAMES` frames in a child
(``python -m livepose.sources.rs_probe FILE``), killed after :data:`PROBE_TIMEOUT_S`. Only the file's path
reaches the child, as one argument (no shell). The ``.db3`` (SQLite) reader has shown no such hang and is not
probed.

Exit status of the child: 0 the file played (or ended) normally, 3 the SDK refused it with an error (the caller
opens it again in-process and reports that error in its own words), 2 usage.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from livepose.errors import LivePoseError

PROBE_TIMEOUT_S = 20.0
PROBE_FRAMES = 30
PROBE_PLAY_S = 5.0


def probe_recording(path: str | Path, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raise LivePoseError when pyrealsense2 hangs or crashes opening ``path`` in a child process."""
    path = Path(path)
    try:
        done = subprocess.run([sys.executable, "-m", "livepose.sources.rs_probe", str(path)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    except subprocess.TimeoutExpired:
        raise LivePoseError(f"{path}: pyrealsense2 did not finish opening this recording within {timeout_s:.0f} s "
                            "(a damaged recording?)") from None
    except OSError as exc:
        raise LivePoseError(f"{path}: cannot check the recording ({exc.strerror or exc})") from None
    if done.returncode < 0:
        raise LivePoseError(f"{path}: pyrealsense2 crashed reading this recording (signal {-done.returncode}; "
                            "a damaged recording?)")
    if done.returncode not in (0, 3):
        last = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise LivePoseError(f"{path}: pyrealsense2 failed reading this recording (exit {done.returncode}: {last})")


def _play(path: str) -> int:
    """Resolve, start lock-step playback and read up to PROBE_FRAMES frames; the exit status (see the module)."""
    import pyrealsense2 as rs

    pipeline = rs.pipeline()
    config = rs.config()
    try:
        config.enable_device_from_file(path, repeat_playback=False)
        config.enable_stream(rs.stream.depth)
        profile = config.resolve(pipeline)
        playback = profile.get_device().as_playback()
        playback.set_real_time(False)
        pipeline.start(config)
    except RuntimeError:
        return 3
    try:
        deadline = time.monotonic() + PROBE_PLAY_S
        frames = 0
        while frames < PROBE_FRAMES and time.monotonic() < deadline:
            ok, _ = pipeline.try_wait_for_frames(100)
            frames += int(ok)
            if not ok and playback.current_status() == rs.playback_status.stopped:
                break  # the end of a short file
    except RuntimeError:
        return 3
    finally:
        try:
            pipeline.stop()
        except RuntimeError:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m livepose.sources.rs_probe RECORDING\n")
        return 2
    return _play(args[0])


if __name__ == "__main__":
    sys.exit(main())
