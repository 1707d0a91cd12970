"""Compare training runs in one picture: ``livepose plot-runs``.

Reads each run folder's ``metrics.jsonl`` (written by :class:`~livepose.training.logs.TrainingLog`) and draws
two panels: the training loss (a running mean over ``smooth`` logged steps, log scale) and the in-training
validation error in mm, both against the step. A chain of warm restarts lines up on one axis when each run is
given the step it started at (``offset``); horizontal dashed lines mark reference figures such as an averaged
model's validation error. Pure file work on the calling thread; matplotlib runs headless (Agg).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepose.errors import LivePoseError
from livepose.training.logs import METRICS_FILE


@dataclass(frozen=True)
class RunCurve:
    """One run's logged numbers, steps already shifted by the run's offset.

    Attributes:
        label: legend text.
        loss_steps: (N,) int steps of the logged training loss.
        loss: (N,) float training loss (the paper's Eq. 7, unitless).
        val_steps: (M,) int steps at which the validation error was measured.
        val_error_mm: (M,) float validation mean joint error in mm.
    """

    label: str
    loss_steps: np.ndarray
    loss: np.ndarray
    val_steps: np.ndarray
    val_error_mm: np.ndarray


def load_run_curve(folder: str | Path, offset: int = 0, label: str | None = None) -> RunCurve:
    """Read ``folder/metrics.jsonl``; every step is shifted by ``offset``. The label defaults to
    :func:`describe_run`'s."""
    folder = Path(folder)
    path = folder / METRICS_FILE
    if not path.is_file():
        raise LivePoseError(f"{folder}: no {METRICS_FILE} (expected the --out folder of 'livepose train')")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            step = int(row["step"])
            values = {key: float(row[key]) for key in ("loss", "val_error_mm") if key in row}
        except (ValueError, KeyError, TypeError) as error:
            raise LivePoseError(f"{path} line {number}: expected a JSON object with a 'step' and numbers "
                                f"({error})") from None
        rows.append((step, values))
    logged = [(step, values["loss"]) for step, values in rows if "loss" in values]
    validated = [(step, values["val_error_mm"]) for step, values in rows if "val_error_mm" in values]
    if not logged and not validated:
        raise LivePoseError(f"{path}: no 'loss' or 'val_error_mm' logged yet")

    def columns(pairs: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        steps = np.array([step for step, _ in pairs], dtype=np.int64) + offset
        return steps, np.array([value for _, value in pairs], dtype=np.float64)

    loss_steps, loss = columns(logged)
    val_steps, val_error = columns(validated)
    return RunCurve(label or describe_run(folder), loss_steps, loss, val_steps, val_error)


def describe_run(folder: Path) -> str:
    """``"NAME (seed S, lr L, from INIT)"`` from ``folder/model.pt``'s recipe; the folder name alone without one."""
    from livepose.runtime.checkpoint import load_checkpoint
    from livepose.training.loop import MODEL_FILE

    model = folder / MODEL_FILE
    if not model.is_file():
        return folder.name
    try:
        recipe = load_checkpoint(model).training_record().get("recipe") or {}
    except LivePoseError:
        return folder.name
    parts = [f"seed {recipe['seed']}"] if "seed" in recipe else []
    if "lr" in recipe:
        parts.append(f"lr {recipe['lr']:.1e}")
    if recipe.get("init_from"):
        start = Path(recipe["init_from"])
        parts.append(f"from {start.parent.name}/{start.name}" if start.parent.name else f"from {start.name}")
    return f"{folder.name} ({', '.join(parts)})" if parts else folder.name


def parse_reference(text: str) -> tuple[str, float]:
    """``"LABEL=MM"`` -> (label, mm), for a dashed reference line."""
    label, separator, value = text.rpartition("=")
    try:
        if not separator or not label:
            raise ValueError
        return label, float(value)
    except ValueError:
        raise LivePoseError(f"--reference {text!r}: expected LABEL=MM, e.g. 'mean of u, v=15.46'") from None


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """(N,) -> (N - window + 1,) mean of each ``window`` consecutive values (the input itself if too short)."""
    if window <= 1 or len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_run_curves(curves: Sequence[RunCurve], out: str | Path, references: Sequence[tuple[str, float]] = (),
                    smooth: int = 10, boundaries: Sequence[int] = ()) -> Path:
    """Draw the loss and validation panels of ``curves`` to the PNG ``out``.

    Args:
        curves: the runs, in legend order.
        out: the PNG to write (its folder is created).
        references: (label, mm) dashed horizontal lines on the validation panel.
        smooth: running-mean window over logged losses.
        boundaries: steps at which to draw a grey vertical line (where a run started).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(15, 4.4))
    tab20 = plt.get_cmap("tab20").colors
    colours = tab20[0::2] + tab20[1::2]  # the ten strong colours first, then their light shades
    for index, curve in enumerate(curves):
        colour = colours[index % len(colours)]
        if len(curve.loss):
            smoothed = running_mean(curve.loss, smooth)  # each mean drawn at the last step it covers
            ax_loss.plot(curve.loss_steps[len(curve.loss) - len(smoothed):], smoothed, color=colour, label=curve.label)
        if len(curve.val_error_mm):
            ax_val.plot(curve.val_steps, curve.val_error_mm, "o-", color=colour, label=curve.label)
    for index, (label, value) in enumerate(references):
        ax_val.axhline(value, color=plt.get_cmap("Dark2").colors[index % 8], ls="--", label=f"{label}: {value:g} mm")
    ax_loss.set(title=f"training loss (paper Eq. 7, running mean of {smooth} logs)", xlabel="step", yscale="log")
    ax_val.set(title="validation mean joint error", xlabel="step", ylabel="mm")
    for ax in (ax_loss, ax_val):
        ax.grid(alpha=0.3)
        for step in sorted(set(boundaries)):
            ax.axvline(step, color="grey", lw=0.8)
    ax_val.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
