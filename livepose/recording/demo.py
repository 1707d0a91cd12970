"""The bundled demo recording: a few seconds of a smoothly moving synthetic hand, as a livepose session.

``livepose make-demo --out models/demo_hand.mcap`` regenerates it (same seed, same frames). ``make run``
plays it when no RealSense is connected.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from livepose.recording.writer import SessionRecorder
from livepose.sources.synthetic import SyntheticSource

DEMO_SESSION = Path(__file__).resolve().parents[2] / "models" / "demo_hand.mcap"


def write_demo_session(path: str | Path, seconds: float = 4.0, fps: float = 15.0, seed: int = 0,
                       camera: str = "d435_640", progress: bool = True) -> Path:
    """Render ``seconds`` x ``fps`` frames of a moving synthetic hand and record them to ``path``."""
    count = max(1, round(seconds * fps))
    recorder = SessionRecorder(path, queue_size=count + 1, max_age_s=None)  # offline: every frame, however late
    source = SyntheticSource("hand", camera=camera, fps=fps, seed=seed, paced=False)
    recorder.start()
    try:
        with source:
            for _ in tqdm(range(count), desc="demo frames", disable=not progress):
                recorder.submit_frame(source.read())
    finally:
        recorder.stop()
    return Path(path)
