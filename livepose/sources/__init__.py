"""Depth sources: cameras, recordings and folders behind one interface.

:func:`make_source` turns a ``--source`` spec into a :class:`~livepose.sources.base.DepthSource`:

===========================  ====================================================================
``realsense``                the first connected RealSense camera
``realsense:SERIAL``         the RealSense with that serial number
``kinect`` / ``kinect:N``    an Azure Kinect (needs ``pip install livepose[kinect]``)
``FILE.db3`` / ``FILE.bag``  a RealSense recording, played by pyrealsense2
``FILE.mcap``                a livepose session recording (``livepose live --record``)
``FOLDER``                   a folder of depth PNGs with a ``camera.json``
``synthetic:hand|body``      a moving synthetic hand or body (``camera``: a camera name such as sr305)
===========================  ====================================================================

Importing this package needs neither pyrealsense2 nor pyk4a: each source
imports its SDK when it is made or opened.
"""

from __future__ import annotations

from pathlib import Path

from livepose.errors import LivePoseError
from livepose.sources.base import DepthSource

ACCEPTED = ("realsense, realsense:SERIAL, kinect, kinect:N, a RealSense recording (.bag, .db3), a livepose "
            "session (.mcap), a folder of depth PNGs with a camera.json, synthetic:hand, synthetic:body")
SYNTHETIC_KINDS = ("hand", "body")


def make_source(spec: str, *, realtime: bool = False, loop: bool = False, fps: float | None = None,
                camera: str | Path | None = None) -> DepthSource:
    """The depth source that ``spec`` names (see the module docstring); not opened yet.

    Args:
        spec: the source spec.
        realtime: files play at their recorded speed (frames the reader misses are dropped) instead of
            lock-step. A folder without ``fps`` then plays at 30 FPS.
        loop: files start again at the end.
        fps: frame rate for folders (and synthetic sources); for a RealSense camera, its depth frame rate.
        camera: camera file (calibration JSON) or profile name for a folder (default: its camera.json).

    Raises LivePoseError for a spec it does not understand, a missing file or SDK, or options that do not
    apply to the source.
    """
    text = str(spec).strip()
    if not text:
        raise LivePoseError(f"empty source spec; expected one of: {ACCEPTED}")
    kind, _, argument = text.partition(":")
    kind_lower = kind.lower()
    # Windows drive letters ("C:\\...") are paths, not "kind:argument" specs.
    is_path_like = len(kind) == 1 and argument.startswith(("\\", "/"))

    if not is_path_like and kind_lower == "realsense":
        _no_camera_file(camera, text)
        from livepose.sources.realsense import RealSenseSource

        options = {} if fps is None else {"fps": _integer_fps(fps, text)}
        return RealSenseSource(serial=argument.strip() or None, **options)
    if not is_path_like and kind_lower == "kinect":
        _no_camera_file(camera, text)
        from livepose.sources.kinect import KinectSource

        device_id = 0
        if argument.strip():
            if not argument.strip().isdigit():
                raise LivePoseError(f"source {text!r}: expected kinect or kinect:N with N a device number")
            device_id = int(argument.strip())
        options = {} if fps is None else {"fps": _integer_fps(fps, text)}
        return KinectSource(device_id=device_id, **options)
    if not is_path_like and kind_lower == "synthetic":
        which = argument.strip().lower()
        if which not in SYNTHETIC_KINDS:
            raise LivePoseError(f"source {text!r}: expected synthetic:hand or synthetic:body")
        from livepose.sources.synthetic import SyntheticSource

        return SyntheticSource(which, camera=None if camera is None else str(camera), fps=fps)

    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".bag", ".db3"):
        _no_camera_file(camera, text)
        from livepose.sources.realsense import RealSenseRecordingSource

        return RealSenseRecordingSource(path, realtime=realtime, loop=loop)
    if suffix == ".mcap":
        if not path.is_file():
            raise LivePoseError(f"{path}: no such session file")
        _no_camera_file(camera, text)
        from livepose.recording.reader import SessionSource

        return SessionSource(path, realtime=realtime, loop=loop)
    if path.is_dir():
        from livepose.sources.images import ImageFolderSource

        if fps is None and realtime:
            fps = 30.0
        return ImageFolderSource(path, camera_file=camera, encoding="auto", fps=fps, loop=loop)
    if path.is_file():
        raise LivePoseError(f"source {text!r}: unsupported file type {suffix or '(no suffix)'}; expected one of: "
                            f"{ACCEPTED}")
    if ":" in text and not is_path_like:
        raise LivePoseError(f"source {text!r}: unknown source kind {kind!r}; expected one of: {ACCEPTED}")
    raise LivePoseError(f"source {text!r}: no such file or folder, and not a camera; expected one of: {ACCEPTED}")


def _no_camera_file(camera: str | Path | None, spec: str) -> None:
    if camera is not None:
        raise LivePoseError(f"source {spec!r}: a camera file ({camera}) applies to folders of images only; "
                            "cameras and recordings carry their own intrinsics")


def _integer_fps(fps: float, spec: str) -> int:
    if float(fps) != int(fps) or int(fps) <= 0:
        raise LivePoseError(f"source {spec!r}: fps {fps!r}, expected a whole number of frames per second")
    return int(fps)


__all__ = ["ACCEPTED", "DepthSource", "make_source"]
