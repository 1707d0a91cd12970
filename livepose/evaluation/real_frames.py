"""A hand model on the real frames in ``../shared/data/frames``: the NYU error and overlay pictures.

- :func:`nyu_frame_error`: NYU test frame 1 through the live path (hand-centre detector, crop, network),
  converted to NYU's 14 evaluation joints (:mod:`livepose.layout_convert`) and compared with its
  published label (3D error in camera mm). Also reported with NYU's published refined centre instead of
  the detector, which separates detection from pose error.
- :func:`draw_real_overlays`: the skeleton the model finds on the NYU, HANDS2017 and SR305 frames,
  drawn over the depth images (one panel per frame) into a PNG.

The frames and labels are described in ``../shared/data/README.md``. Called from one thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.depth_io import read_depth_png
from livepose.detect.centre import HandCentreDetector
from livepose.errors import LivePoseError
from livepose.evaluation.formats import load_joints
from livepose.layout_convert import convert_result
from livepose.runtime.predictor import Prediction, Predictor
from livepose.skeletons import get_layout
from livepose.types import PoseResult

NYU_FRAME = Path("frames/nyu/depth_1_0000001.png")
NYU_LABELS = Path("published/nyu_test_labels_uvd.txt")
NYU_CENTRES = Path("published/nyu_center_test.mat")


@dataclass(frozen=True)
class RealFrame:
    """One real frame: depth (H, W) float32 mm, its camera and a title for pictures."""

    title: str
    depth_mm: np.ndarray
    intrinsics: Intrinsics


def real_frames(data_root: str | Path) -> list[RealFrame]:
    """The NYU frame, the HANDS2017 frame and the first frame of each SR305 sequence."""
    root = Path(data_root)
    if not (root / NYU_FRAME).is_file():
        raise LivePoseError(f"{root}: no reference frames (expected {NYU_FRAME} there)")
    frames = [RealFrame("NYU test frame 1", read_depth_png(root / NYU_FRAME, encoding="nyu_rgb").astype(np.float32),
                        load_profile("nyu").intrinsics)]
    hands2017 = root / "frames/hands2017/image_D00000030.png"
    if hands2017.is_file():
        frames.append(RealFrame("HANDS2017 frame 30", read_depth_png(hands2017).astype(np.float32),
                                load_profile("hands2017").intrinsics))
    sr305 = load_profile("sr305").intrinsics
    for sequence in sorted(p for p in (root / "frames/sr305").glob("*") if p.is_dir()):
        first = sorted(sequence.glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)[:1]
        for path in first:
            depth = read_depth_png(path).astype(np.float32) * np.float32(sr305.depth_unit_mm)
            frames.append(RealFrame(f"SR305 {sequence.name}", depth, sr305))
    return frames


def predict_frame(predictor: Predictor, frame: RealFrame, centre_uvd: np.ndarray | None = None
                  ) -> tuple[Prediction | None, np.ndarray | None]:
    """The prediction around the detector's centre (or the given one); (None, None) if no hand is found."""
    if centre_uvd is None:
        found = HandCentreDetector().detect(frame.depth_mm, frame.intrinsics)
        if not found.found:
            return None, None
        centre_uvd = found.uvd
    return predictor.predict(frame.depth_mm, frame.intrinsics, np.asarray(centre_uvd, dtype=np.float64)), centre_uvd


def _as_result(prediction: Prediction, layout: str) -> PoseResult:
    return PoseResult(frame_number=0, t_device_ms=0.0, t_host_ms=0.0, layout=layout, found=True,
                      joints_mm=prediction.joints_mm, joints_uvd=prediction.joints_uvd,
                      confidence=prediction.confidence)


def nyu_frame_error(model: str | Path, data_root: str | Path) -> dict[str, float]:
    """Mean 3D error (mm) on NYU test frame 1 in NYU's 14 joints: with the detector and with NYU's centre."""
    root = Path(data_root)
    predictor = Predictor.from_checkpoint(str(model))
    frame = real_frames(root)[0]
    intrinsics = frame.intrinsics
    labels_uvd = load_joints(root / NYU_LABELS, (14,), ())[0]
    labels_mm = intrinsics.uvd_to_xyz(labels_uvd)
    from scipy.io import loadmat

    published_centre = np.asarray(loadmat(root / NYU_CENTRES)["centre_pixel"], dtype=np.float64)[0, 0]
    out: dict[str, float] = {}
    for name, centre in (("detector", None), ("published_centre", published_centre)):
        prediction, used = predict_frame(predictor, frame, centre)
        if prediction is None:
            out[f"{name}_mean_error_mm"] = float("nan")
            continue
        nyu = convert_result(_as_result(prediction, predictor.layout), "nyu14", intrinsics)
        out[f"{name}_mean_error_mm"] = float(np.linalg.norm(nyu.joints_mm - labels_mm, axis=-1).mean())
        out[f"{name}_centre_uvd"] = [round(float(x), 2) for x in used]
    return out


def draw_real_overlays(model: str | Path, data_root: str | Path, out_png: str | Path) -> Path:
    """Draw the model's skeleton on every real frame (see the module docstring); returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predictor = Predictor.from_checkpoint(str(model))
    layout = get_layout(predictor.layout)
    frames = real_frames(data_root)
    fig, axes = plt.subplots(1, len(frames), figsize=(4.2 * len(frames), 4.4))
    for ax, frame in zip(np.atleast_1d(axes), frames, strict=True):
        prediction, centre = predict_frame(predictor, frame)
        depth = frame.depth_mm
        valid = depth[depth > 0]
        low, high = (np.percentile(valid, [1, 60]) if valid.size else (0, 1))
        ax.imshow(np.where(depth > 0, depth, np.nan), cmap="gray_r", vmin=low, vmax=high)
        if prediction is None:
            ax.set_title(f"{frame.title}\nno hand found", fontsize=9)
        else:
            uv = prediction.joints_uvd
            for (a, b), colour in zip(layout.bones, layout.bone_colours, strict=True):
                ax.plot(uv[[a, b], 0], uv[[a, b], 1], color=np.asarray(colour) / 255.0, lw=2)
            ax.scatter(uv[:, 0], uv[:, 1], s=9, c="white", edgecolors="black", linewidths=0.5, zorder=3)
            box = prediction.crop
            ax.add_patch(plt.Rectangle((box.x_min, box.y_min), box.x_max - box.x_min, box.y_max - box.y_min,
                                       fill=False, ec="tab:orange", lw=1))
            pad = 0.6 * (box.x_max - box.x_min)
            ax.set_xlim(box.x_min - pad, box.x_max + pad)
            ax.set_ylim(box.y_max + pad, box.y_min - pad)
            ax.set_title(f"{frame.title}\nmean confidence {prediction.confidence.mean():.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{Path(model).name} on real depth frames (centre from the livepose hand detector)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # leave the top strip to the figure title
    out = Path(out_png)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
