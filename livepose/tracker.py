"""``livepose.Tracker``: the live pipeline as a Python object you iterate over.

::

    import livepose

    with livepose.Tracker(source="synthetic:hand", max_frames=30) as tracker:
        for result in tracker:
            if result.found:
                print(result.frame_number, result.joints_mm[8], result.confidence[8])

The tracker opens the source (any ``--source`` spec of ``livepose live``, or
a :class:`~livepose.sources.base.DepthSource`), loads the model (default: the
shipped hand model), and runs the same engine as ``livepose live`` on two
background threads. Iterating yields one
:class:`~livepose.outputs.smoothing.SmoothedPoseResult` per processed frame:
``joints_mm`` (J, 3 camera-frame mm), ``joints_uvd``, ``confidence`` (J,),
``found``, ``timings_ms``, ``handedness`` (left / right / unknown with a
confidence, from the joints' chirality)... With ``smoothing`` on (the default) the joints
went through the One Euro filter and the network's own joints are in
``raw_joints_mm`` / ``raw_joints_uvd``; turn it off for evaluation.

Files play every frame in order (lock-step) unless ``realtime`` or ``loop``;
cameras and ``synthetic:`` sources are live: if your loop body is slower than
the camera, you get the newest result and the engine counts the rest as
dropped (``tracker.dropped``).

Use from one thread (the one that entered the ``with``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from livepose.errors import LivePoseError
from livepose.outputs.smoothing import OneEuroParams, PoseSmoother, SmoothedPoseResult, unsmoothed
from livepose.sources.base import DepthSource


class Tracker:
    """Track a hand (or, with a body model such as ``models/body15.pt``, a body) from a depth source; iterate
    for results (see the module docstring).

    Args:
        source: a source spec (``"realsense"``, ``"synthetic:hand"``, ``"session.mcap"``, a folder...) or a
            :class:`~livepose.sources.base.DepthSource` (not opened yet; the tracker opens and closes it).
        model: a checkpoint path, a loaded :class:`~livepose.runtime.checkpoint.Checkpoint`, a
            :class:`~livepose.runtime.predictor.Predictor`, or None for the default hand model.
        smoothing: One Euro smoothing of the joints: True (default parameters), False, or
            :class:`~livepose.outputs.smoothing.OneEuroParams`.
        device: torch device for the network (``"cpu"``, ``"cuda"``).
        max_frames: stop after this many processed frames (None: until the source ends or you stop).
        realtime, loop, fps, camera: as the ``livepose live`` options of the same names.
    """

    def __init__(self, source: str | Path | DepthSource, model=None, smoothing: bool | OneEuroParams = True,
                 device: str = "cpu", max_frames: int | None = None, *, realtime: bool = False, loop: bool = False,
                 fps: float | None = None, camera: str | Path | None = None) -> None:
        from livepose.runtime.predictor import Predictor
        from livepose.sources import make_source

        if max_frames is not None and max_frames < 1:
            raise LivePoseError(f"max_frames {max_frames}: expected a positive number of frames")
        if isinstance(model, Predictor):
            self.predictor = model
        else:
            if model is None:
                from livepose.runtime.default_model import default_hand_model

                model = default_hand_model()
            self.predictor = Predictor.from_checkpoint(model if not isinstance(model, Path) else str(model),
                                                       device=device)
        if isinstance(source, DepthSource):
            self.source = source
        else:
            self.source = make_source(str(source), realtime=realtime or loop, loop=loop, fps=fps, camera=camera)
        self.lockstep = not (realtime or loop or self.source.is_live)
        self.max_frames = max_frames
        params = smoothing if isinstance(smoothing, OneEuroParams) else None
        self.smoother = PoseSmoother(params) if smoothing else None
        self.engine = None

    # -- lifetime ---------------------------------------------------------------------------------------------
    def start(self) -> Tracker:
        """Open the source and start the engine (``with`` does this)."""
        if self.engine is not None:
            raise RuntimeError("Tracker.start(): already started; make a new Tracker to run again")
        from livepose.pipeline.engine import Engine

        self.source.open()
        self.engine = Engine(self.source, self.predictor, lockstep=self.lockstep,
                             max_frames=self.max_frames)
        self.engine.start()
        return self

    def stop(self) -> None:
        """Stop the engine and close the source. Safe to call twice."""
        if self.engine is not None:
            self.engine.stop()
        self.source.close()

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.engine is not None and self.engine.stats.error and exc[0] is None:
            raise LivePoseError(self.engine.stats.error)

    # -- results ----------------------------------------------------------------------------------------------
    def _wrap(self, result) -> SmoothedPoseResult:
        return self.smoother(result) if self.smoother is not None else unsmoothed(result)

    def __iter__(self) -> Iterator[SmoothedPoseResult]:
        """Results until the source ends, ``max_frames`` is reached or :meth:`stop` is called."""
        started_here = self.engine is None
        if started_here:
            self.start()
        try:
            for result in self.engine.results():
                yield self._wrap(result)
        finally:
            if started_here:
                self.stop()

    def latest(self, timeout: float = 0.0) -> SmoothedPoseResult | None:
        """The newest result, or None if none is new (for a GUI timer or a game loop)."""
        if self.engine is None:
            raise RuntimeError("Tracker.latest(): start the tracker first (use it in a with block)")
        result = self.engine.latest(timeout)
        return None if result is None else self._wrap(result)

    # -- information ------------------------------------------------------------------------------------------
    @property
    def layout(self) -> str:
        """The model's joint layout name (``hand21``...)."""
        return self.predictor.layout

    @property
    def joint_names(self) -> tuple[str, ...]:
        from livepose.skeletons import get_layout

        return get_layout(self.layout).joints

    @property
    def stats(self):
        """The engine's counters (frames captured, processed, latencies...); None before start."""
        return None if self.engine is None else self.engine.stats

    @property
    def dropped(self) -> dict[str, int]:
        return {} if self.engine is None else self.engine.dropped

    def summary(self) -> str:
        """Frames, FPS, latency and drops, as ``livepose live`` prints at the end."""
        if self.engine is None:
            return "not started"
        return f"{self.source.description}: {self.engine.stats.summary(self.engine.dropped)}"
