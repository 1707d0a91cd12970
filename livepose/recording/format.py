"""The livepose session format: an MCAP file with JSON messages that Foxglove can open.

Channels (message encoding ``json``, schemas in ``jsonschema``):

======================  ==========================  =========================================================
topic                   schema                      one message per
======================  ==========================  =========================================================
``/camera/depth``       ``foxglove.CompressedImage``  captured frame: ``data`` = base64 16-bit PNG (lossless),
                                                    ``format`` = ``"png"``, ``frame_id`` = ``"camera"``, plus a
                                                    ``livepose`` object: ``frame_number``, ``t_device_ms``,
                                                    ``t_host_ms``, ``depth_unit_mm``, ``intrinsics``
``/camera/calibration`` ``foxglove.CameraCalibration``  change of camera (first frame, then when it changes)
``/livepose/pose``      ``livepose.PoseResult``       processed frame: joints (camera mm and image uvd),
                                                    confidence, found / reason, informative anchors
                                                    (weight > 0.02) and timings
======================  ==========================  =========================================================

Every message's log time is the host's wall clock in nanoseconds. The file
header's profile is ``livepose``; its metadata record ``livepose`` holds the
format version. The writer finishes a chunk and fsyncs at least once a second,
so a killed process leaves every message older than a second readable.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import cv2
import numpy as np

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.png import MAX_PIXELS, png_size
from livepose.types import DepthFrame, PoseResult

FORMAT_VERSION = 1
PROFILE = "livepose"
DEPTH_TOPIC = "/camera/depth"
CALIBRATION_TOPIC = "/camera/calibration"
POSE_TOPIC = "/livepose/pose"
INFORMATIVE_WEIGHT = 0.02

_TIME = {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}}

COMPRESSED_IMAGE_SCHEMA = {
    "title": "foxglove.CompressedImage",
    "type": "object",
    "properties": {
        "timestamp": _TIME,
        "frame_id": {"type": "string"},
        "data": {"type": "string", "contentEncoding": "base64"},
        "format": {"type": "string"},
        "livepose": {"type": "object"},
    },
}

CAMERA_CALIBRATION_SCHEMA = {
    "title": "foxglove.CameraCalibration",
    "type": "object",
    "properties": {
        "timestamp": _TIME,
        "frame_id": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "distortion_model": {"type": "string"},
        "D": {"type": "array", "items": {"type": "number"}},
        "K": {"type": "array", "items": {"type": "number"}},
        "R": {"type": "array", "items": {"type": "number"}},
        "P": {"type": "array", "items": {"type": "number"}},
        "depth_unit_mm": {"type": "number"},
    },
}

POSE_SCHEMA = {
    "title": "livepose.PoseResult",
    "type": "object",
    "properties": {
        "frame": {"type": "integer"},
        "t_device_ms": {"type": ["number", "null"]},
        "t_host_ms": {"type": "number"},
        "layout": {"type": "string"},
        "found": {"type": "boolean"},
        "reason": {"type": "string"},
        "joints_mm": {"type": "array"},
        "joints_uvd": {"type": "array"},
        "confidence": {"type": "array"},
        "crop_box": {"type": ["array", "null"]},
        "anchors": {"type": "object", "description": "per joint: [anchor index, weight] with weight > 0.02"},
        "timings_ms": {"type": "object"},
    },
}

SCHEMAS = {
    DEPTH_TOPIC: COMPRESSED_IMAGE_SCHEMA,
    CALIBRATION_TOPIC: CAMERA_CALIBRATION_SCHEMA,
    POSE_TOPIC: POSE_SCHEMA,
}


def stamp(t_ns: int) -> dict[str, int]:
    return {"sec": t_ns // 1_000_000_000, "nsec": t_ns % 1_000_000_000}


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def encode_depth(frame: DepthFrame, log_time_ns: int) -> bytes:
    """The ``/camera/depth`` message for a frame (uint16 depth as a lossless PNG)."""
    depth = np.ascontiguousarray(frame.depth)
    if depth.dtype != np.uint16 or depth.ndim != 2:
        raise LivePoseError(f"recording: depth of dtype {depth.dtype} and shape {depth.shape}; sessions store "
                            "(H, W) uint16 depth")
    ok, png = cv2.imencode(".png", depth, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise LivePoseError("recording: PNG encoding of a depth frame failed")
    message = {
        "timestamp": stamp(log_time_ns),
        "frame_id": "camera",
        "format": "png",
        "data": base64.b64encode(png.tobytes()).decode("ascii"),
        "livepose": {"frame_number": int(frame.frame_number), "t_device_ms": _number(frame.t_device_ms),
                     "t_host_ms": float(frame.t_host_ms), "depth_unit_mm": float(frame.depth_unit_mm),
                     "intrinsics": frame.intrinsics.to_dict(), "source": frame.source},
    }
    return json.dumps(message, separators=(",", ":")).encode()


def decode_depth(data: bytes, where: str) -> DepthFrame:
    """A ``/camera/depth`` message back to the frame it came from (bit-exact).

    Raises LivePoseError, naming ``where``, for anything else: not JSON, missing or mistyped fields, a camera
    that is not one, a payload that is not a 16-bit PNG of the camera's size (checked in the PNG header
    before decoding, so a damaged header never makes the reader allocate more than MAX_PIXELS pixels).
    """
    try:
        message = json.loads(data)
        meta = message["livepose"]
        intrinsics = Intrinsics.from_dict(meta["intrinsics"], source=f"{where}: camera")
        png = base64.b64decode(message["data"], validate=True)
        frame_number = int(meta["frame_number"])
        depth_unit_mm = float(meta["depth_unit_mm"])
        t_host_ms = float(meta["t_host_ms"])
        t_device = meta.get("t_device_ms")
        t_device_ms = float("nan") if t_device is None else float(t_device)
        source = str(meta.get("source", ""))
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        raise LivePoseError(f"{where}: damaged depth message ({type(exc).__name__})") from None
    if not (math.isfinite(depth_unit_mm) and depth_unit_mm > 0):
        raise LivePoseError(f"{where}: depth unit {depth_unit_mm!r} mm, expected a positive number")
    size = png_size(png)
    if size is None:
        raise LivePoseError(f"{where}: depth message does not hold a PNG")
    width, height = int(intrinsics.width), int(intrinsics.height)
    if size != (width, height) or width * height > MAX_PIXELS:
        raise LivePoseError(f"{where}: depth image of {size[0]}x{size[1]} pixels for a {width}x{height} camera "
                            f"(expected the camera's size, at most {MAX_PIXELS} pixels)")
    try:
        depth = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        depth = None
    if depth is None or depth.dtype != np.uint16 or depth.ndim != 2 or depth.shape != (height, width):
        raise LivePoseError(f"{where}: depth message does not hold a readable 16-bit PNG")
    return DepthFrame(depth=depth, depth_unit_mm=depth_unit_mm, intrinsics=intrinsics, frame_number=frame_number,
                      t_device_ms=t_device_ms, t_host_ms=t_host_ms, source=source)


def encode_calibration(intrinsics: Intrinsics, depth_unit_mm: float, log_time_ns: int) -> bytes:
    """A ``foxglove.CameraCalibration`` message (pinhole, no distortion)."""
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    message = {
        "timestamp": stamp(log_time_ns), "frame_id": "camera", "width": int(intrinsics.width),
        "height": int(intrinsics.height), "distortion_model": "plumb_bob", "D": [0.0] * 5,
        "K": [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0], "R": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        "P": [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0], "depth_unit_mm": float(depth_unit_mm),
    }
    return json.dumps(message, separators=(",", ":")).encode()


def encode_pose(result: PoseResult) -> bytes:
    """A ``/livepose/pose`` message: the result without the full anchor-weight matrix."""
    from livepose.outputs.jsonl import result_to_dict

    record: dict[str, Any] = result_to_dict(result)
    record.pop("dropped", None)
    record["crop_box"] = None if result.crop_box is None else [float(b) for b in result.crop_box]
    anchors: dict[str, list] = {}
    if result.anchor_weights is not None:
        weights = np.asarray(result.anchor_weights)
        for joint in range(weights.shape[1]):
            index = np.flatnonzero(weights[:, joint] > INFORMATIVE_WEIGHT)
            anchors[str(joint)] = [[int(i), round(float(weights[i, joint]), 5)] for i in index]
    record["anchors"] = anchors
    return json.dumps(record, separators=(",", ":")).encode()


def decode_pose(data: bytes, where: str) -> dict[str, Any]:
    """A ``/livepose/pose`` message as a dict (the headless output fields plus ``anchors``).

    Raises LivePoseError, naming ``where``, when the fields that readers use are missing or mistyped:
    ``frame`` (integer), ``found`` (boolean), ``joints_mm`` and ``joints_uvd`` (J x 3 numbers or null),
    ``confidence`` (J numbers or null).
    """
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):
        raise LivePoseError(f"{where}: damaged pose message") from None
    if not isinstance(record, dict) or not _is_int(record.get("frame")):
        raise LivePoseError(f"{where}: pose message without a frame number")
    if not isinstance(record.get("found"), bool):
        raise LivePoseError(f"{where}: pose message without a found flag")
    joints = record.get("joints_mm"), record.get("joints_uvd")
    confidence = record.get("confidence")
    if not all(isinstance(j, list) and all(_is_point(p) for p in j) for j in joints) \
            or not isinstance(confidence, list) or not all(_is_number(c) for c in confidence) \
            or not len(joints[0]) == len(joints[1]) == len(confidence):
        raise LivePoseError(f"{where}: pose message with damaged joints (expected J x 3 joints_mm and joints_uvd "
                            "and J confidences)")
    return record


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _is_point(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(_is_number(v) for v in value)
