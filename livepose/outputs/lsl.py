"""Joints as a Lab Streaming Layer (LSL) outlet, for lab recording setups (LabRecorder, MNE, ...).

``livepose live --lsl`` needs the optional extra: ``pip install livepose[lsl]`` (pylsl, which brings
liblsl). The outlet:

- name ``livepose`` (the ``name`` argument), type ``MoCap``, source id
  ``livepose-<layout>-<host>``, irregular rate (frames the pipeline drops are simply absent);
- ``4 J`` float32 channels: ``<joint>_x``, ``<joint>_y``, ``<joint>_z`` (camera frame mm: x right, y down,
  z forward) and ``<joint>_confidence`` (0-1) for each joint of the layout in order, described in the
  stream's ``channels`` metadata (label, unit, type); NaN (confidence 0) when no target was found;
- one sample per processed frame, time-stamped in LSL's clock at the frame's arrival on the host
  (``t_host_ms``), so the network's latency does not shift it.

Pushing never blocks (LSL buffers up to 10 s for each inlet and drops the oldest). Used from one thread.
"""

from __future__ import annotations

import socket
import time

import numpy as np

from livepose.errors import LivePoseError
from livepose.skeletons import get_layout
from livepose.types import PoseResult

INSTALL_HINT = "pip install livepose[lsl]"


def import_pylsl():
    """The pylsl module, or a one-line LivePoseError saying how to install it."""
    try:
        import pylsl
    except ImportError:
        raise LivePoseError(f"--lsl needs pylsl (Lab Streaming Layer), which is not installed: {INSTALL_HINT}") \
            from None
    except (RuntimeError, OSError) as exc:  # pylsl present but its liblsl could not be loaded
        raise LivePoseError(f"--lsl: pylsl could not load liblsl ({exc}); reinstall it: {INSTALL_HINT}") from None
    return pylsl


def channel_labels(layout: str) -> list[str]:
    """The outlet's channel labels for ``layout``."""
    return [f"{joint}_{axis}" for joint in get_layout(layout).joints for axis in ("x", "y", "z", "confidence")]


class LslOutlet:
    """An LSL outlet with one sample per result (see the module docstring)."""

    def __init__(self, layout: str, name: str = "livepose") -> None:
        pylsl = import_pylsl()
        self._pylsl = pylsl
        self.layout = layout
        labels = channel_labels(layout)
        self.num_joints = len(labels) // 4
        source_id = f"livepose-{layout}-{socket.gethostname()}"
        info = pylsl.StreamInfo(name, "MoCap", len(labels), 0.0, "float32", source_id)
        info.desc().append_child_value("manufacturer", "livepose")
        channels = info.desc().append_child("channels")
        for label in labels:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            is_confidence = label.endswith("_confidence")
            channel.append_child_value("unit", "normalized" if is_confidence else "millimeters")
            channel.append_child_value("type", "Confidence" if is_confidence else "Position")
        self.source_id = source_id
        self._outlet = pylsl.StreamOutlet(info, max_buffered=10)
        self.sent = 0

    @property
    def description(self) -> str:
        return f"LSL outlet {self.source_id}"

    def sample(self, result: PoseResult) -> np.ndarray:
        """The (4 J,) float32 sample of one result."""
        values = np.full((self.num_joints, 4), np.nan, np.float32)
        values[:, 3] = 0.0
        if result.found and result.layout == self.layout and len(result.joints_mm) == self.num_joints:
            values[:, :3] = result.joints_mm
            values[:, 3] = result.confidence
        return values.reshape(-1)

    def send(self, result: PoseResult) -> None:
        age_s = max(time.monotonic() - result.t_host_ms / 1e3, 0.0)
        self._outlet.push_sample(self.sample(result).tolist(), self._pylsl.local_clock() - age_s)
        self.sent += 1

    def summary(self) -> str:
        return f"{self.description}: {self.sent} samples"

    def close(self) -> None:
        self._outlet = None
