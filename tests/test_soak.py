"""Soak, short version: the engine with faults, bad frames, outputs and a recorder grows neither in memory nor
in threads or open files. ``benchmarks/soak.py --frames 100000`` is the long version (same code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRAMES = int(os.environ.get("LIVEPOSE_SOAK_FRAMES", "1500"))


def test_short_soak_grows_nothing(tmp_path: Path) -> None:
    figures_file = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "soak.py"), "--frames", str(FRAMES),
                           "--fault-every", "300", "--bad-every", "50", "--record", "--json", str(figures_file)],
                          cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert "Traceback" not in done.stderr, done.stderr
    figures = json.loads(figures_file.read_text())
    assert figures["frames"] == FRAMES and figures["found"] > FRAMES // 2
    # the faults were injected and survived
    assert figures["source_faults"] >= FRAMES // 300 - 1 and figures["recoveries"] == figures["source_faults"]
    assert figures["bad_frames"] >= FRAMES // 50 - 1
    assert "stopped early" not in figures["recorder"]
    # nothing grew
    assert figures["rss_growth"] < 0.05, figures
    assert figures["end"]["threads"] <= figures["baseline"]["threads"], figures
    assert figures["end"]["fds"] <= figures["baseline"]["fds"], figures
    assert figures["engine_threads_left"] == 0
    assert figures["passed"] and done.returncode == 0, done.stdout[-2000:]
