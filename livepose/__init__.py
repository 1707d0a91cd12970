"""livepose: real-time 3D hand and body pose from a depth camera with A2J.

The package is organised by job (see README.md, "Layout"):

- :mod:`livepose.a2j` -- the A2J network, its anchors, decoding and losses;
- :mod:`livepose.camera` -- intrinsics, projection and calibration files;
- :mod:`livepose.detect` -- cropping a hand or body around a centre and back;
- :mod:`livepose.evaluation` -- reading published results and scoring them;
- :mod:`livepose.runtime` -- checkpoints and export;
- :mod:`livepose.cli` -- the ``livepose`` command.
"""

from livepose.errors import LivePoseError

__version__ = "0.1.0"

__all__ = ["LivePoseError", "__version__"]
