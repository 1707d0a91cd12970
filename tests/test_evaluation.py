"""Evaluation: metrics, dataset protocols, published numbers, the ``evaluate`` command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from livepose import cli_evaluate
from livepose.errors import LivePoseError
from livepose.evaluation import evaluate_files, metrics
from livepose.skeletons import ICVL16, ITOP15, NYU14, NYU36_TO_NYU14

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PUBLISHED = SHARED_DATA / "published"

ICVL_FX, ICVL_FY, ICVL_CX, ICVL_CY = 240.99, 240.96, 160.0, 120.0  # calibration/icvl.json
ITOP_PX_M = 0.0035  # ITOP: metres per pixel per metre of depth


def _published(name: str) -> Path:
    path = PUBLISHED / name
    if not path.is_file():
        pytest.skip(f"shared reference data not found ({path}); "
                    "it lives in ../shared/data beside the repository")
    return path


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="livepose")
    cli_evaluate.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def _write_text(path: Path, frames: np.ndarray, names: list[str] | None = None) -> Path:
    rows = [" ".join(repr(float(v)) for v in frame.ravel()) for frame in frames]
    if names:
        rows = [f"{name} {row}" for name, row in zip(names, rows, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- metrics -------------------------------------------------------------------------------------------


def test_success_rate_counts_a_frame_exactly_at_the_threshold() -> None:
    errors = np.array([[5.0, 20.0], [1.0, 2.0], [30.0, 0.0]])  # worst joints 20, 2, 30
    rates = metrics.success_rate(errors, [0, 2, 19, 20, 29, 30, 80])
    np.testing.assert_allclose(rates, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])


def test_accuracy_below_is_strict() -> None:
    errors = np.array([[0.1, 0.0999], [0.2, 0.0]])
    assert metrics.accuracy_below(errors, 0.1) == 50.0
    np.testing.assert_array_equal(metrics.per_joint_accuracy_below(errors, 0.1), [0.0, 100.0])
    assert metrics.group_accuracy_below(errors, 0.1, {"a": (0,), "both": (0, 1)}) == {"a": 0.0, "both": 50.0}


def test_joint_errors_shape_mismatch() -> None:
    with pytest.raises(LivePoseError, match="same shape"):
        metrics.joint_errors(np.zeros((2, 14, 3)), np.zeros((2, 16, 3)))


# --- hands ---------------------------------------------------------------------------------------------


def _icvl_labels_uvd(n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    labels = np.empty((n, ICVL16.num_joints, 3))
    labels[..., 0] = rng.uniform(100, 220, size=labels.shape[:2])
    labels[..., 1] = rng.uniform(60, 180, size=labels.shape[:2])
    labels[..., 2] = 2 * ICVL_FX  # one pixel in u is exactly 2 mm in x at this depth
    return labels


def test_icvl_mat_labels_and_named_text_predictions(tmp_path: Path) -> None:
    labels = _icvl_labels_uvd()
    predictions = labels.copy()
    predictions[0, 0, 0] += 6.0  # Palm of frame 0: 6 px -> 12 mm
    predictions[1, 3, 2] += 7.0  # Thumb tip of frame 1: depth 7 mm deeper
    predictions[2, 9, 0] -= 16.0  # Mid tip of frame 2: 32 mm
    labels_path = tmp_path / "icvl_test.mat"
    scipy.io.savemat(labels_path, {"keypoints3D": labels})
    names = [f"image_{i:04d}.png" for i in range(3)]
    predictions_path = _write_text(tmp_path / "pred.txt", predictions, names)

    result = evaluate_files("icvl", predictions_path, labels_path)

    # Hand-computed: depth change at (u, v) moves x and y too: |(u-cx, v-cy)| / f scaled by the change.
    u, v, _ = labels[1, 3]
    thumb = 7.0 * np.sqrt(((u - ICVL_CX) / ICVL_FX) ** 2 + ((v - ICVL_CY) / ICVL_FY) ** 2 + 1.0)
    assert result.num_frames == 3 and result.num_joints == 16
    assert 7.0 < thumb < 10.0
    assert result.mean_error_mm == pytest.approx((12.0 + thumb + 32.0) / 48)
    assert result.per_joint_error_mm["Palm"] == pytest.approx(12.0 / 3)
    assert result.per_joint_error_mm["Thumb.T"] == pytest.approx(thumb / 3)
    assert result.per_joint_error_mm["Mid.T"] == pytest.approx(32.0 / 3)
    assert result.per_joint_error_mm["Index.R"] == 0.0
    rates = [result.success_rate[t] for t in (7, 10, 13, 31, 33, 80)]
    assert rates == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    assert result.map_10cm is None


def test_xyz_coordinates_and_exact_threshold(tmp_path: Path) -> None:
    labels = np.zeros((4, 16, 3))
    labels[..., 2] = 400.0
    predictions = labels.copy()
    predictions[:, 5, 0] += np.array([20.0, 21.0, 0.0, 80.0])  # exact mm errors in camera mm
    result = evaluate_files("icvl", _write_text(tmp_path / "p.txt", predictions),
                            _write_text(tmp_path / "l.txt", labels), coords="xyz")
    assert result.success_rate[0] == 0.25
    assert result.success_rate[20] == 0.5  # the frame exactly at 20 mm counts
    assert result.success_rate[21] == 0.75
    assert result.success_rate[79] == 0.75
    assert result.success_rate[80] == 1.0
    assert result.mean_error_mm == pytest.approx(121.0 / 64)


def test_nyu_36_joint_labels_are_reduced_to_14(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels36 = np.stack([rng.uniform(200, 400, (2, 36)), rng.uniform(150, 300, (2, 36)),
                         rng.uniform(600, 900, (2, 36))], axis=-1)
    predictions = labels36[:, list(NYU36_TO_NYU14)].copy()
    predictions[:, :, 2] += 10.0
    labels_path = tmp_path / "joint_data.mat"
    scipy.io.savemat(labels_path, {"joint_uvd": labels36[None], "joint_xyz": labels36[None]})
    result = evaluate_files("nyu", _write_text(tmp_path / "p.txt", predictions), labels_path)
    assert result.num_joints == 14 and list(result.per_joint_error_mm) == list(NYU14.joints)
    assert result.mean_error_mm > 10.0  # a depth shift of 10 mm also moves x and y away from the centre


# --- ITOP ----------------------------------------------------------------------------------------------


def _itop_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two frames; errors: frame 0 Head 70 mm, RHand 140 mm; frame 1 RFoot and LFoot 140 mm."""
    rng = np.random.default_rng(2)
    world = np.empty((2, 15, 3))
    world[..., 0] = rng.uniform(-0.5, 0.5, (2, 15))
    world[..., 1] = rng.uniform(-0.8, 0.8, (2, 15))
    world[..., 2] = 2.0  # at 2 m one pixel is 7 mm
    uvz = np.empty_like(world)
    uvz[..., 0] = world[..., 0] / (world[..., 2] * ITOP_PX_M) + 160.0
    uvz[..., 1] = 120.0 - world[..., 1] / (world[..., 2] * ITOP_PX_M)
    uvz[..., 2] = world[..., 2]
    uvz[0, 0, 0] += 10.0  # Head: 70 mm
    uvz[0, 6, 1] -= 20.0  # RHand: 140 mm
    uvz[1, 13, 0] += 20.0  # RFoot: 140 mm
    uvz[1, 14, 1] += 20.0  # LFoot: 140 mm
    labels_path = tmp_path / "ITOP_side_test_labels.mat"
    scipy.io.savemat(labels_path, {"keypoints3D": world})
    predictions_path = tmp_path / "itop_pred.mat"
    scipy.io.savemat(predictions_path, {"keypoints3D": uvz})
    return predictions_path, labels_path


@pytest.mark.parametrize("dataset", ["itop_side", "itop_top"])
def test_itop_hand_computed(tmp_path: Path, dataset: str) -> None:
    predictions_path, labels_path = _itop_files(tmp_path)
    result = evaluate_files(dataset, predictions_path, labels_path)
    assert result.num_frames == 2 and result.num_joints == 15
    assert result.mean_error_mm == pytest.approx((70 + 140 * 3) / 30)
    assert result.per_joint_error_mm["Head"] == pytest.approx(35.0)
    assert result.per_joint_error_mm["RHand"] == pytest.approx(70.0)
    assert result.per_joint_error_mm["Neck"] == pytest.approx(0.0, abs=1e-9)
    assert result.map_10cm == pytest.approx(100 * 27 / 30)
    expected_groups = {group: 100.0 for group in ITOP15.groups}
    expected_groups.update(hands=75.0, feet=50.0)
    assert result.per_group_map_10cm == pytest.approx(expected_groups)
    assert list(result.per_group_map_10cm) == list(ITOP15.groups)
    assert result.per_joint_map_10cm["Head"] == 100.0
    assert result.per_joint_map_10cm["RHand"] == 50.0
    assert result.per_joint_map_10cm["LFoot"] == 50.0
    assert result.success_rate[80] == 0.0 and result.success_rate[50] == 0.0


def test_itop_json_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    predictions_path, labels_path = _itop_files(tmp_path)
    out = tmp_path / "itop.json"
    args = _parse(["evaluate", "--dataset", "itop_side", "--predictions", str(predictions_path),
                   "--labels", str(labels_path), "--json", str(out)])
    assert cli_evaluate.run(args) == 0
    text = capsys.readouterr().out
    assert "mean error: 16.333 mm" in text
    assert "mAP at 10 cm: 90.00 %" in text
    data = json.loads(out.read_text())
    assert data["map_10cm"] == pytest.approx(90.0)
    assert data["per_joint_map_10cm"]["feet"] == pytest.approx(50.0)
    assert data["per_joint_map_10cm_by_joint"]["RHand"] == pytest.approx(50.0)


# --- errors --------------------------------------------------------------------------------------------


def test_mismatched_frame_counts_name_the_files(tmp_path: Path) -> None:
    labels = _icvl_labels_uvd(3)
    predictions = _write_text(tmp_path / "short_pred.txt", labels[:2])
    labels_path = _write_text(tmp_path / "labels.txt", labels)
    with pytest.raises(LivePoseError, match=r"short_pred\.txt: 2 frames but labels .*labels\.txt have 3"):
        evaluate_files("icvl", predictions, labels_path)


def test_wrong_joint_count_for_the_dataset(tmp_path: Path) -> None:
    labels = _icvl_labels_uvd(2)
    predictions = _write_text(tmp_path / "p.txt", labels[:, :14])
    with pytest.raises(LivePoseError, match=r"p\.txt: joint data of shape \(2, 42\); expected \(N, 16, 3\)"):
        evaluate_files("icvl", predictions, _write_text(tmp_path / "l.txt", labels))


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    labels_path = _write_text(tmp_path / "l.txt", _icvl_labels_uvd(2))
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"\x00\xff" * 200)
    with pytest.raises(LivePoseError, match=r"garbage\.mat"):
        evaluate_files("icvl", garbage, labels_path)
    with pytest.raises(LivePoseError, match=r"missing\.txt: no such file"):
        evaluate_files("icvl", tmp_path / "missing.txt", labels_path)


def test_unknown_dataset_and_coords(tmp_path: Path) -> None:
    labels_path = _write_text(tmp_path / "l.txt", _icvl_labels_uvd(1))
    with pytest.raises(LivePoseError, match="unknown dataset 'k2hpd'"):
        evaluate_files("k2hpd", labels_path, labels_path)
    with pytest.raises(LivePoseError, match="coordinates 'px'"):
        evaluate_files("icvl", labels_path, labels_path, coords="px")


def test_cli_rejects_unknown_dataset() -> None:
    with pytest.raises(SystemExit) as info:
        _parse(["evaluate", "--dataset", "coco", "--predictions", "a", "--labels", "b"])
    assert info.value.code == 2


# --- published numbers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def a2j_nyu():
    labels = _published("nyu_test_labels_uvd.txt")
    return evaluate_files("nyu", _published("a2j_nyu_predictions_uvd.txt"), labels)


def test_a2j_nyu_published_numbers(a2j_nyu) -> None:
    assert a2j_nyu.num_frames == 8252 and a2j_nyu.num_joints == 14
    assert f"{a2j_nyu.mean_error_mm:.3f}" == "8.610"
    assert [round(a2j_nyu.success_rate[t], 4) for t in (20, 30, 40)] == [0.7056, 0.8516, 0.9094]


def test_v2v_nyu_published_mean() -> None:
    labels = _published("nyu_test_labels_uvd.txt")
    result = evaluate_files("nyu", _published("v2v_nyu_predictions_uvd.txt"), labels)
    assert f"{result.mean_error_mm:.3f}" == "8.419"


def test_cli_report_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_png = tmp_path / "nyu.json", tmp_path / "nyu.png"
    predictions, labels = _published("a2j_nyu_predictions_uvd.txt"), _published("nyu_test_labels_uvd.txt")
    args = _parse(["evaluate", "--dataset", "nyu", "--predictions", str(predictions), "--labels", str(labels),
                   "--json", str(out_json), "--plot", str(out_png)])
    assert cli_evaluate.run(args) == 0
    text = capsys.readouterr().out
    assert "dataset: nyu" in text and "frames: 8252" in text
    assert "mean error: 8.610 mm" in text
    assert "<= 20 mm: 0.7056" in text and "<= 40 mm: 0.9094" in text
    assert "mAP" not in text
    data = json.loads(out_json.read_text())
    assert set(data) == {"dataset", "num_frames", "num_joints", "mean_error_mm", "per_joint_error_mm",
                         "success_rate"}
    assert data["dataset"] == "nyu" and data["num_frames"] == 8252 and data["num_joints"] == 14
    assert round(data["mean_error_mm"], 3) == 8.61 and data["mean_error_mm"] != 8.61  # full precision
    assert list(data["success_rate"]) == [str(t) for t in range(81)]
    assert list(data["per_joint_error_mm"]) == list(NYU14.joints)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_checks_output_folders_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels_path = _write_text(tmp_path / "l.txt", _icvl_labels_uvd(2))
    args = _parse(["evaluate", "--dataset", "icvl", "--predictions", str(labels_path), "--labels",
                   str(labels_path), "--plot", str(tmp_path / "no" / "such" / "out.png")])
    with pytest.raises(LivePoseError, match=r"out\.png: the folder for --plot does not exist"):
        cli_evaluate.run(args)
    assert capsys.readouterr().out == ""
