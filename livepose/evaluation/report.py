"""The human-readable evaluation report and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from livepose.errors import LivePoseError
from livepose.evaluation.result import EvaluationResult

# Success thresholds shown in the text report (all of 0..80 mm go to JSON).
REPORTED_THRESHOLDS_MM: tuple[int, ...] = (10, 20, 30, 40, 50, 80)


def format_report(result: EvaluationResult) -> str:
    """The text report: dataset, frame count, mean error, per-joint table, success rates, ITOP mAP.

    Returns:
        A multi-line string ending with a newline.
    """
    lines = [
        f"dataset: {result.dataset}",
        f"frames: {result.num_frames}",
        f"joints: {result.num_joints}",
        f"mean error: {result.mean_error_mm:.3f} mm",
        "",
    ]
    width = max(len("joint"), *(len(name) for name in result.joint_names))
    itop = result.map_10cm is not None
    header = f"{'joint':<{width}}  {'error mm':>9}"
    lines.append(header + (f"  {'mAP@10cm %':>10}" if itop else ""))
    for name in result.joint_names:
        row = f"{name:<{width}}  {result.per_joint_error_mm[name]:>9.3f}"
        if itop:
            row += f"  {result.per_joint_map_10cm[name]:>10.2f}"
        lines.append(row)
    lines.append("")
    lines.append("success rate (frames whose worst joint error <= threshold):")
    for threshold in REPORTED_THRESHOLDS_MM:
        lines.append(f"  <= {threshold:>2d} mm: {result.success_rate[threshold]:.4f}")
    if itop:
        lines.append("")
        lines.append(f"mAP at 10 cm: {result.map_10cm:.2f} %")
        group_width = max(len(name) for name in result.per_group_map_10cm)
        for group, value in result.per_group_map_10cm.items():
            lines.append(f"  {group:<{group_width}}  {value:6.2f} %")
    return "\n".join(lines) + "\n"


def write_json(result: EvaluationResult, path: str | Path) -> None:
    """Write :meth:`EvaluationResult.to_json_dict` to ``path`` (numbers at full precision)."""
    path = Path(path)
    try:
        path.write_text(json.dumps(result.to_json_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise LivePoseError(f"{path}: cannot write the JSON report ({exc.strerror or exc})") from None
