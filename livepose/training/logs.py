"""Training logs: ``metrics.jsonl``, TensorBoard event files and a loss plot, in the run folder.

Only rank 0 writes (``enabled=False`` elsewhere). Called from the training loop's thread.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
PLOT_FILE = "loss.png"
TENSORBOARD_DIR = "tensorboard"


class TrainingLog:
    """Appends one JSON line per logged step, mirrors the numbers to TensorBoard, draws ``loss.png``."""

    def __init__(self, out: Path, enabled: bool = True) -> None:
        self.out = Path(out)
        self.enabled = enabled
        self._writer: Any = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            logger.warning("tensorboard is not installed: no TensorBoard logs (metrics.jsonl is still written)")
        else:
            self._writer = SummaryWriter(log_dir=str(self.out / TENSORBOARD_DIR))

    def write(self, record: dict[str, float]) -> None:
        """Log one step's numbers (``record["step"]`` is the x axis)."""
        if not self.enabled:
            return
        with open(self.out / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._writer is not None:
            for key, value in record.items():
                if key != "step":
                    self._writer.add_scalar(f"train/{key}", value, record["step"])
            self._writer.flush()

    def plot(self, history: list[dict[str, float]]) -> Path | None:
        """Draw the loss terms and the validation error against the step to ``loss.png``."""
        if not self.enabled or not history:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = [h["step"] for h in history]
        fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
        for key in ("loss", "joint", "surround"):
            ax_loss.plot(steps, [h[key] for h in history], label=key)
        ax_loss.set_yscale("log")
        ax_loss.set_xlabel("step")
        ax_loss.set_title("training loss (paper Eq. 7 terms)")
        ax_loss.legend()
        val = [(h["step"], h["val_error_mm"]) for h in history if "val_error_mm" in h]
        if val:
            ax_val.plot(*zip(*val, strict=True), marker="o")
        ax_val.set_xlabel("step")
        ax_val.set_ylabel("mm")
        ax_val.set_title("validation mean joint error")
        ax_val.grid(True, alpha=0.3)
        fig.tight_layout()
        path = self.out / PLOT_FILE
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
