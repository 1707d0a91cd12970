"""A one-figure summary of an evaluation: success curve and per-joint errors.

matplotlib is imported only when a plot is drawn, and the Agg canvas is
attached to the figure directly, so no global backend is changed.
"""

from __future__ import annotations

from pathlib import Path

from livepose.errors import LivePoseError
from livepose.evaluation.result import EvaluationResult


def plot_result(result: EvaluationResult, path: str | Path) -> None:
    """Save a PNG with the success curve (left) and per-joint mean errors (right).

    Args:
        result: an evaluation result.
        path: output image; the format follows the extension (``.png`` recommended).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise LivePoseError("--plot needs matplotlib; install it with 'pip install matplotlib'") from None
    path = Path(path)
    figure = Figure(figsize=(12, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    curve, bars = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})

    thresholds = sorted(result.success_rate)
    percent = [100.0 * result.success_rate[t] for t in thresholds]
    curve.plot(thresholds, percent, color="tab:blue", linewidth=2, clip_on=False, zorder=3)
    curve.set_xlim(0, max(thresholds))
    curve.set_ylim(0, 100)
    curve.set_xlabel("maximum allowed joint error (mm)")
    curve.set_ylabel("frames with every joint within it (%)")
    curve.set_title("success rate")
    curve.grid(True, alpha=0.3)

    names = list(result.joint_names)
    values = [result.per_joint_error_mm[name] for name in names]
    positions = list(range(len(names) + 1))
    bars.bar(positions, values + [result.mean_error_mm], color=["tab:orange"] * len(names) + ["tab:gray"])
    bars.set_xticks(positions, names + ["mean"], rotation=45, ha="right")
    bars.set_ylabel("mean error (mm)")
    bars.set_title("per-joint mean error")
    bars.grid(True, axis="y", alpha=0.3)
    bars.axhline(result.mean_error_mm, color="tab:gray", linestyle="--", linewidth=1)

    title = f"{result.dataset}: {result.num_frames} frames, mean error {result.mean_error_mm:.3f} mm"
    if result.map_10cm is not None:
        title += f", mAP@10cm {result.map_10cm:.2f} %"
    figure.suptitle(title)
    try:
        figure.savefig(path)
    except (OSError, ValueError) as exc:
        raise LivePoseError(f"{path}: cannot write the plot ({exc})") from None
