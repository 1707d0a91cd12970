"""The result of one evaluation and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class EvaluationResult:
    """Errors and scores of one prediction file against one label file.

    Attributes:
        dataset: dataset name (``nyu``, ``itop_side``...).
        joint_names: (J,) names of the evaluated joints, from the dataset layout.
        errors_mm: (N, J) Euclidean error of every joint of every frame, mm.
        mean_error_mm: mean of ``errors_mm`` over all frames and joints.
        per_joint_error_mm: joint name -> mean error over frames, mm.
        success_rate: threshold (integer mm, 0..80) -> fraction of frames whose worst joint error is <= it.
        map_10cm: ITOP only: percent of all joints with error < 10 cm; None for hands.
        per_group_map_10cm: ITOP only: joint group (head, neck, shoulders...) -> percent; empty for hands.
        per_joint_map_10cm: ITOP only: joint name -> percent; empty for hands.
    """

    dataset: str
    joint_names: tuple[str, ...]
    errors_mm: np.ndarray = field(repr=False, compare=False)
    mean_error_mm: float
    per_joint_error_mm: dict[str, float]
    success_rate: dict[int, float]
    map_10cm: float | None = None
    per_group_map_10cm: dict[str, float] = field(default_factory=dict)
    per_joint_map_10cm: dict[str, float] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.errors_mm.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.errors_mm.shape[1])

    def to_json_dict(self) -> dict:
        """Plain-Python numbers at full precision.

        Success-rate keys are threshold strings ``"0"``..``"80"``; ``per_joint_map_10cm`` is keyed by ITOP
        joint group, ``per_joint_map_10cm_by_joint`` by joint name.
        """
        data: dict = {
            "dataset": self.dataset,
            "num_frames": self.num_frames,
            "num_joints": self.num_joints,
            "mean_error_mm": float(self.mean_error_mm),
            "per_joint_error_mm": {name: float(v) for name, v in self.per_joint_error_mm.items()},
            "success_rate": {str(int(t)): float(v) for t, v in self.success_rate.items()},
        }
        if self.map_10cm is not None:
            data["map_10cm"] = float(self.map_10cm)
            data["per_joint_map_10cm"] = {name: float(v) for name, v in self.per_group_map_10cm.items()}
            by_joint = self.per_joint_map_10cm
            data["per_joint_map_10cm_by_joint"] = {name: float(v) for name, v in by_joint.items()}
        return data
