"""Training and the benchmark run where only the core stack is installed, as on the lent GPU machines (torch,
torchvision, numpy, scipy, OpenCV, matplotlib, tqdm; no camera SDKs, recording formats, Qt, ONNX, TensorBoard
or network output libraries). Each command runs in a fresh interpreter in which importing any of those fails,
so an import that is not lazy fails the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOT_ON_THE_GPU_MACHINE = ("pyrealsense2", "pyk4a", "mcap", "PyQt5", "pyqtgraph", "OpenGL", "onnxruntime", "onnx",
                          "tensorboard", "torch.utils.tensorboard", "websockets", "pythonosc", "pylsl", "h5py",
                          "hypothesis", "pytest")
RUNNER = ("import sys\n"
          "for name in sys.argv[1].split(','):\n"
          "    sys.modules[name] = None  # 'import name' now raises ImportError\n"
          "from livepose.cli import main\n"
          "sys.exit(main(sys.argv[2:]))\n")


def run_core_only(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUNNER, ",".join(NOT_ON_THE_GPU_MACHINE), *args],
                          capture_output=True, text=True, timeout=600, cwd=REPO)


def test_the_blocker_blocks() -> None:
    done = subprocess.run([sys.executable, "-c", RUNNER.split("from livepose")[0] + "import onnxruntime\n",
                           "onnxruntime"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "import of onnxruntime halted" in done.stderr, done.stderr


def test_training_runs_with_the_core_stack_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_core_only("train", "--data", "synth-body", "--out", str(out), "--input-size", "32", "--steps", "2",
                         "--batch-size", "2", "--threads", "1", "--validate-every", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "model.pt").is_file() and (out / "state.pt").is_file() and (out / "loss.png").is_file()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 2 and records[-1]["val_error_mm"] > 0
    assert "tensorboard is not installed" in done.stderr  # said once, and the run goes on


def test_the_benchmark_runs_with_the_core_stack_only(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = run_core_only("bench", "--quick", "--json", str(out), "--synthetic", "1", "--real", "1", "--batch", "2",
                         "--iterations", "1", "--no-engine", "--threads", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert {r["backend"] for r in report["results"]} == {"torch"}  # no ONNX Runtime there
    assert report["reference"] and report["speedup_vs_reference"]
    assert all(p["ok"] for p in report["parity"])
