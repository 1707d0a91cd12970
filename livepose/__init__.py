"""livepose: real-time 3D hand and body pose from a depth camera with A2J.

The package is organised by job (see README.md, "Layout"):

- :mod:`livepose.a2j` -- the A2J network, its anchors, decoding and losses;
- :mod:`livepose.camera` -- intrinsics, projection and calibration files;
- :mod:`livepose.detect` -- cropping a hand or body around a centre and back;
- :mod:`livepose.evaluation` -- reading published results and scoring them;
- :mod:`livepose.runtime` -- checkpoints and export;
- :mod:`livepose.cli` -- the ``livepose`` command;
- :class:`livepose.Tracker` -- the live pipeline as an iterator (imported on first use, so ``import livepose``
  stays light).
"""

from livepose.errors import LivePoseError

__version__ = "0.1.0"

__all__ = ["LivePoseError", "Tracker", "__version__"]


def __getattr__(name: str):
    if name == "Tracker":  # lazily: the tracker pulls in torch and the pipeline
        from livepose.tracker import Tracker

        return Tracker
    raise AttributeError(f"module 'livepose' has no attribute {name!r}")
