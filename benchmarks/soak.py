"""Soak: a long synthetic run of the live engine, watching memory, threads and open files.

The engine runs the real source, detector, crop and uncrop, result hand-offs, fault handling, One Euro
smoothing and the JSON-lines output, on a folder of synthetic 160x120 hand frames played in a loop as a
live source through :class:`~livepose.sources.faults.FaultySource`; the network is replaced by a stub that
puts the joints on a fixed pattern in the crop (A2J on 2 CPU cores would take hours for 100,000 frames and
has no state that could grow). Every ``--fault-every`` frames the source fails (the engine reopens it) and
every ``--bad-every`` frames it hands over a damaged frame (cycling through every kind). ``--record`` adds a
session recorder (about 6 kB of disk per frame).

Memory is the resident set size (``/proc/self/statm``), threads the entries of ``/proc/self/task``, open files
those of ``/proc/self/fd``. The baseline is taken after ``--warmup`` of the frames (allocator pools and
caches fill up first); the run passes when memory grows by less than 5 % from there and threads and open
files do not grow at all.

Usage::

    .venv/bin/python benchmarks/soak.py [--frames 100000] [--json soak.json] [--record]

Prints one line per tenth of the run and the figures; exits 1 when the run does not pass.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livepose.calibration import CropSettings  # noqa: E402
from livepose.camera import Intrinsics  # noqa: E402
from livepose.detect.centre import HandCentreDetector  # noqa: E402
from livepose.detect.crop import crop_hand, crop_to_image  # noqa: E402
from livepose.outputs.jsonl import JsonLinesWriter  # noqa: E402
from livepose.outputs.smoothing import PoseSmoother  # noqa: E402
from livepose.pipeline.engine import Engine  # noqa: E402
from livepose.pipeline.health import Backoff  # noqa: E402
from livepose.recording.writer import SessionRecorder  # noqa: E402
from livepose.runtime.default_model import HAND_CROP  # noqa: E402
from livepose.runtime.predictor import Prediction  # noqa: E402
from livepose.sources.faults import BAD_FRAME_KINDS, FaultySource  # noqa: E402
from livepose.sources.images import ImageFolderSource  # noqa: E402

CAMERA = Intrinsics(fx=120.0, fy=120.0, cx=79.5, cy=59.5, width=160, height=120)
MEMORY_GROWTH = 0.05


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class StubPredictor:
    """The Predictor interface with the real crop and uncrop around a stub network (joints on a fixed pattern)."""

    layout = "hand21"

    def __init__(self, crop: CropSettings = HAND_CROP) -> None:
        self.crop_settings = crop
        angles = np.linspace(0, 2 * np.pi, 21, endpoint=False)
        self._pattern = np.stack([88 + 40 * np.cos(angles), 88 + 40 * np.sin(angles), 10 * np.sin(2 * angles)], 1)

    def predict(self, depth_mm: np.ndarray, intrinsics: Intrinsics, centre_uvd: np.ndarray) -> Prediction:
        started = time.perf_counter()
        _, crop = crop_hand(depth_mm, centre_uvd, intrinsics, self.crop_settings)
        joints_uvd = crop_to_image(self._pattern, crop)
        timings = {"crop": (time.perf_counter() - started) * 1e3, "network": 0.0, "uncrop": 0.0}
        return Prediction(joints_uvd, intrinsics.uvd_to_xyz(joints_uvd), np.full(21, 0.5),
                          np.full((16, 21), 1 / 16, np.float32), crop, timings)


def hand_frames(folder: Path, count: int = 24) -> Path:
    """``count`` 160x120 depth PNGs of a palm and fingers moving over a wall, with camera.json."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "camera.json").write_text(json.dumps({"name": "soak", "camera": CAMERA.to_dict()}))
    rows, cols = np.mgrid[0:120, 0:160]
    for i in range(count):
        u, v, hand = 70 + 2 * i % 20, 60 + i % 10, 450.0
        f = CAMERA.fx / hand
        depth = np.full((120, 160), 1400, np.uint16)
        palm = (cols - u) ** 2 + (rows - v) ** 2 <= (45 * f) ** 2
        fingers = np.zeros_like(palm)
        for k in range(4):
            fingers |= (np.abs(cols - (u + (k - 1.5) * 20 * f)) <= 8 * f) & (rows <= v) & (rows >= v - 110 * f)
        depth[(np.abs(cols - u) <= 30 * f) & (rows >= v)] = hand + 40
        depth[palm | fingers] = hand
        cv2.imwrite(str(folder / f"{i}.png"), depth)
    return folder


@dataclass
class Sample:
    frames: int
    rss_mb: float
    threads: int
    fds: int
    seconds: float


def sample(frames: int, started: float) -> Sample:
    with open("/proc/self/statm") as handle:
        rss_pages = int(handle.read().split()[1])
    return Sample(frames, rss_pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20, len(os.listdir("/proc/self/task")),
                  len(os.listdir("/proc/self/fd")), time.monotonic() - started)


def run_soak(frames: int, warmup: float = 0.1, fault_every: int = 500, bad_every: int = 100,
             record: bool = False, progress: bool = True) -> dict:
    """Run the engine for ``frames`` processed frames; the figures as a dict (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = hand_frames(Path(tmp) / "frames")
        source = FaultySource(ImageFolderSource(folder, loop=True), live=True)
        recorder = SessionRecorder(Path(tmp) / "soak.mcap", queue_size=256).start() if record else None
        engine = Engine(source, StubPredictor(), HandCentreDetector(), lockstep=True, max_frames=frames,
                        recorder=recorder, backoff=Backoff(initial_s=0.01, max_s=0.05))
        smoother = PoseSmoother()
        started = time.monotonic()
        samples: list[Sample] = []
        baseline_at = max(int(frames * warmup), 1)
        tenth = max(frames // 10, 1)
        kinds = 0
        found = frame_results = fault_results = 0
        with open(os.devnull, "w") as devnull, source:
            writer = JsonLinesWriter(devnull)
            engine.start()
            for result in engine.results():
                writer.write(result)
                smoother(result)
                if result.frame_number < 0:
                    fault_results += 1
                    continue
                frame_results += 1
                found += int(result.found)
                n = frame_results
                if fault_every and n % fault_every == 0:
                    source.fail_reads(1, RuntimeError, "soak: injected read error")
                if bad_every and n % bad_every == 0:
                    source.corrupt(BAD_FRAME_KINDS[kinds % len(BAD_FRAME_KINDS)])
                    kinds += 1
                if n == baseline_at or n % tenth == 0:
                    samples.append(sample(n, started))
                    if progress:
                        s = samples[-1]
                        say(f"{s.frames:>7} frames  {s.seconds:7.1f} s  RSS {s.rss_mb:7.1f} MB  threads {s.threads}  "
                            f"open files {s.fds}")
            engine.stop()
            if recorder is not None:
                recorder.stop()
        samples.append(sample(engine.stats.processed, started))
    base = next(s for s in samples if s.frames >= baseline_at)
    end = samples[-1]
    growth = (end.rss_mb - base.rss_mb) / base.rss_mb
    figures = {
        "frames": engine.stats.processed, "found": found, "seconds": round(end.seconds, 1),
        "fps": round(engine.stats.processed / max(end.seconds, 1e-9), 1),
        "bad_frames": engine.stats.bad_frames, "source_faults": engine.stats.source_faults,
        "recoveries": engine.stats.recoveries, "fault_results": fault_results,
        "baseline": {"frames": base.frames, "rss_mb": round(base.rss_mb, 1), "threads": base.threads,
                     "fds": base.fds},
        "end": {"frames": end.frames, "rss_mb": round(end.rss_mb, 1), "threads": end.threads, "fds": end.fds},
        "rss_growth": round(growth, 4),
        "max_rss_mb": round(max(s.rss_mb for s in samples), 1),
        "recorder": recorder.summary() if recorder is not None else None,
        "engine_threads_left": sum(t.name.startswith("livepose-") for t in threading.enumerate()),
    }
    # Threads and files are compared once the engine stopped: none of its own may be left, and nothing else
    # may have accumulated (the baseline was taken while the engine's two threads ran).
    figures["passed"] = bool(growth < MEMORY_GROWTH and end.threads <= base.threads and end.fds <= base.fds
                             and figures["engine_threads_left"] == 0 and found > 0)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of the run before the baseline")
    parser.add_argument("--fault-every", type=int, default=500)
    parser.add_argument("--bad-every", type=int, default=100)
    parser.add_argument("--record", action="store_true", help="also record a session (about 6 kB per frame)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    figures = run_soak(args.frames, args.warmup, args.fault_every, args.bad_every, args.record)
    say(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
