"""The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) for joints: steady when still, quick when moving.

Each coordinate of each joint is its own first-order low-pass filter whose
cutoff rises with the (low-passed) speed of that coordinate::

    alpha(fc, dt) = 1 / (1 + 1 / (2 pi fc dt))
    dx      = (x - x_hat_prev) / dt                        raw speed against the previous estimate
    dx_hat  = dx_hat_prev + alpha(d_cutoff, dt) * (dx - dx_hat_prev)
    fc      = min_cutoff + beta * |dx_hat|
    x_hat   = x_hat_prev + alpha(fc, dt) * (x - x_hat_prev)

All joints are filtered at once with numpy ((J, 3) arrays).

Defaults, for joints in millimetres at about 30 FPS (see ``benchmarks/bench_smoothing.py``):

- ``min_cutoff = 1.0`` Hz: at rest, close to an exponential average with
  alpha ~0.17 at 30 FPS. On the benchmark's still hand with 3 mm noise per
  coordinate, the RMS frame-to-frame motion falls from 7.3 mm to 1.4 mm (5.3x).
- ``beta = 0.02`` per mm/s: at a 300 mm/s move the cutoff rises to ~7 Hz and
  the estimate trails the hand by ~16 ms (mean error 5.3 mm, raw 4.8 mm);
  with beta 0.005 it would trail by ~40 ms, with 0.05 by ~8 ms but with
  jitter reduced only 4x.
- ``d_cutoff = 1.0`` Hz: the paper's value for the speed estimate.

u and v of ``joints_uvd`` are filtered with the same parameters (at arm's
length a pixel is about a millimetre; the depth is in mm anyway).

Time comes from ``t_device_ms`` (``t_host_ms`` when the device time is NaN).
The filter starts again from the raw joints (no history) when the target is
lost (``found`` false), when a joint is not finite, after a gap longer than
``max_gap_s`` (default 0.5 s), or when time goes backwards (a looping
recording). A repeated timestamp returns the previous estimate.

:class:`PoseSmoother` also averages the hand's side over time
(:class:`livepose.handedness.HandednessFilter`, time constant 1 s, from the
raw joints) and attaches it to each result (``handedness_estimate``).

One :class:`PoseSmoother` per stream, used from one thread.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from livepose.handedness import Handedness, HandednessFilter, result_handedness
from livepose.types import PoseResult


@dataclass(frozen=True)
class OneEuroParams:
    """One Euro filter parameters (see the module docstring for the defaults)."""

    min_cutoff: float = 1.0
    beta: float = 0.02
    d_cutoff: float = 1.0
    max_gap_s: float = 0.5

    def __post_init__(self) -> None:
        if not (self.min_cutoff > 0 and self.d_cutoff > 0 and self.beta >= 0 and self.max_gap_s > 0):
            raise ValueError(f"One Euro parameters out of range: {self}")


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz) * dt_s))


class OneEuroFilter:
    """A One Euro filter over an array of any fixed shape (one independent filter per element)."""

    def __init__(self, params: OneEuroParams | None = None) -> None:
        self.params = params or OneEuroParams()
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """The filtered value of ``x`` sampled at ``t_s`` seconds. Non-finite elements pass through and restart."""
        x = np.asarray(x, dtype=np.float64)
        p = self.params
        if self._x is None or self._x.shape != x.shape or self._t is None:
            return self._restart(x, t_s)
        dt = t_s - self._t
        if dt < 0 or dt > p.max_gap_s or not math.isfinite(dt):
            return self._restart(x, t_s)
        if dt == 0:
            return self._x.copy()
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(p.d_cutoff, dt) * (dx - self._dx)
        cutoff = p.min_cutoff + p.beta * np.abs(dx_hat)
        x_hat = self._x + _alpha(cutoff, dt) * (x - self._x)
        # Elements that were or became non-finite restart from the raw value with zero speed.
        bad = ~np.isfinite(x_hat)
        if bad.any():
            x_hat[bad] = x[bad]
            dx_hat[bad] = 0.0
        self._x, self._dx, self._t = x_hat, dx_hat, t_s
        return x_hat.copy()

    def _restart(self, x: np.ndarray, t_s: float) -> np.ndarray:
        self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t_s
        return x.copy()


@dataclass(frozen=True)
class SmoothedPoseResult(PoseResult):
    """A :class:`~livepose.types.PoseResult` whose ``joints_mm`` / ``joints_uvd`` may be smoothed.

    Attributes:
        raw_joints_mm, raw_joints_uvd: the network's joints before smoothing (the same arrays as
            ``joints_mm`` / ``joints_uvd`` when ``smoothed`` is false).
        smoothed: whether ``joints_mm`` and ``joints_uvd`` went through the One Euro filter.
    """

    raw_joints_mm: np.ndarray | None = None
    raw_joints_uvd: np.ndarray | None = None
    smoothed: bool = False
    handedness_estimate: Handedness | None = None

    @property
    def handedness(self) -> Handedness:
        """Left or right hand (:mod:`livepose.handedness`): averaged over the tracked hand's last second when
        smoothed (``handedness_estimate``), else estimated from this result's joints."""
        return result_handedness(self)


def _fields(result: PoseResult) -> dict:
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(PoseResult)}


def unsmoothed(result: PoseResult) -> SmoothedPoseResult:
    """``result`` as a :class:`SmoothedPoseResult` with ``smoothed`` false (raw joints on both sides)."""
    if isinstance(result, SmoothedPoseResult):
        return result
    return SmoothedPoseResult(**_fields(result), raw_joints_mm=result.joints_mm, raw_joints_uvd=result.joints_uvd,
                              smoothed=False)


def result_time_s(result: PoseResult) -> float:
    """The result's time in seconds: device time, else host time."""
    t_ms = result.t_device_ms if math.isfinite(result.t_device_ms) else result.t_host_ms
    return float(t_ms) / 1e3


class PoseSmoother:
    """Smooths a stream of :class:`~livepose.types.PoseResult` s with One Euro filters (see the module docstring),
    and averages the hand's side over time (:class:`~livepose.handedness.HandednessFilter`, from the raw joints)."""

    def __init__(self, params: OneEuroParams | None = None) -> None:
        self.params = params or OneEuroParams()
        self._mm = OneEuroFilter(self.params)
        self._uvd = OneEuroFilter(self.params)
        self._side = HandednessFilter(max_gap_s=self.params.max_gap_s)
        self.resets = 0

    def reset(self) -> None:
        self._mm.reset()
        self._uvd.reset()
        self._side.reset()

    def __call__(self, result: PoseResult) -> SmoothedPoseResult:
        """The smoothed copy of ``result`` (raw joints kept in ``raw_joints_mm`` / ``raw_joints_uvd``)."""
        raw = _fields(result)
        if not result.found:
            if self._mm._x is not None:
                self.resets += 1
            self.reset()
            return unsmoothed(result)
        t_s = result_time_s(result)
        joints_mm = self._mm(result.joints_mm, t_s).astype(np.asarray(result.joints_mm).dtype, copy=False)
        joints_uvd = self._uvd(result.joints_uvd, t_s).astype(np.asarray(result.joints_uvd).dtype, copy=False)
        raw.update(joints_mm=joints_mm, joints_uvd=joints_uvd)
        side = self._side(result.joints_mm, result.layout, t_s)
        return SmoothedPoseResult(**raw, raw_joints_mm=result.joints_mm, raw_joints_uvd=result.joints_uvd,
                                  smoothed=True, handedness_estimate=side)
