"""Readers of published joint files (livepose.evaluation.formats)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from livepose.errors import LivePoseError
from livepose.evaluation.formats import XYZ_KEYS, load_joints


def _frames(n: int, joints: int) -> np.ndarray:
    """(n, joints, 3) distinct values, exactly representable in text."""
    return np.arange(n * joints * 3, dtype=np.float64).reshape(n, joints, 3) + 0.5


def _write_text(path: Path, frames: np.ndarray, names: list[str] | None = None, trailing: str = "") -> Path:
    lines = []
    for i, frame in enumerate(frames):
        numbers = " ".join(f"{v:g}" for v in frame.ravel())
        lines.append((f"{names[i]}\t" if names else "") + numbers + trailing)
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_text_plain(tmp_path: Path) -> None:
    frames = _frames(3, 14)
    path = _write_text(tmp_path / "pred.txt", frames, trailing="   ")
    np.testing.assert_array_equal(load_joints(path, (14,)), frames)


def test_text_with_frame_names(tmp_path: Path) -> None:
    frames = _frames(2, 21)
    path = _write_text(tmp_path / "result.txt", frames, names=["image_D00000001.png", "image_D00000002.png"])
    np.testing.assert_array_equal(load_joints(path, (21,)), frames)


def test_text_ragged_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.txt"
    path.write_text("1 2 3 4 5 6\n1 2 3\n", encoding="utf-8")
    with pytest.raises(LivePoseError, match=r"ragged\.txt: line 2"):
        load_joints(path, (2, 1))


def test_text_non_numeric_in_middle(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("1 2 three 4 5 6\n", encoding="utf-8")
    with pytest.raises(LivePoseError, match=r"bad\.txt: line 1 has a non-numeric value"):
        load_joints(path, (2,))


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LivePoseError, match=r"garbage\.txt"):
        load_joints(path, (14,))


def test_empty_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(LivePoseError, match=r"empty\.txt: no joint data"):
        load_joints(path, (14,))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LivePoseError, match=r"nowhere\.txt: no such file"):
        load_joints(tmp_path / "nowhere.txt", (14,))


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(LivePoseError, match="not a file"):
        load_joints(tmp_path, (14,))


@pytest.mark.parametrize("key", ["keypoints3D", "resultUVD", "joint_uvd", "pred"])
def test_mat_known_keys(tmp_path: Path, key: str) -> None:
    frames = _frames(4, 16)
    path = tmp_path / "labels.mat"
    scipy.io.savemat(path, {key: frames})
    np.testing.assert_array_equal(load_joints(path, (16,)), frames)


def test_mat_flat_rows_and_leading_singletons(tmp_path: Path) -> None:
    frames = _frames(3, 15)
    flat = tmp_path / "flat.mat"
    scipy.io.savemat(flat, {"pred": frames.reshape(3, 45)})
    np.testing.assert_array_equal(load_joints(flat, (15,)), frames)
    nested = tmp_path / "nested.mat"
    scipy.io.savemat(nested, {"pred": frames[None, None]})
    np.testing.assert_array_equal(load_joints(nested, (15,)), frames)


def test_mat_nyu_kinects_takes_the_first(tmp_path: Path) -> None:
    per_kinect = _frames(3 * 2, 36).reshape(3, 2, 36, 3)  # (kinects, N, 36, 3) like joint_data.mat
    path = tmp_path / "joint_data.mat"
    scipy.io.savemat(path, {"joint_uvd": per_kinect, "joint_xyz": -per_kinect, "joint_names": ["a"]})
    np.testing.assert_array_equal(load_joints(path, (14, 36)), per_kinect[0])
    np.testing.assert_array_equal(load_joints(path, (14, 36), keys=XYZ_KEYS), -per_kinect[0])


def test_mat_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "odd.mat"
    scipy.io.savemat(path, {"something": _frames(2, 14)})
    with pytest.raises(LivePoseError, match=r"odd\.mat: no known joint array \(keys found: something\)"):
        load_joints(path, (14,))


def test_mat_garbage(tmp_path: Path) -> None:
    path = tmp_path / "broken.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(300))
    with pytest.raises(LivePoseError, match=r"broken\.mat: not a readable \.mat file"):
        load_joints(path, (14,))


def test_npy_and_npz(tmp_path: Path) -> None:
    frames = _frames(5, 21)
    np.save(tmp_path / "pred.npy", frames.reshape(5, 63))
    np.testing.assert_array_equal(load_joints(tmp_path / "pred.npy", (21,)), frames)
    np.savez(tmp_path / "pred.npz", resultUVD=frames)
    np.testing.assert_array_equal(load_joints(tmp_path / "pred.npz", (21,)), frames)


def test_wrong_joint_count_names_expected_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "wrong.npy", _frames(2, 13))
    expected = r"wrong\.npy: joint data of shape \(2, 13, 3\); expected \(N, 14, 3\)"
    with pytest.raises(LivePoseError, match=expected):
        load_joints(tmp_path / "wrong.npy", (14,))


def test_nan_rejected(tmp_path: Path) -> None:
    frames = _frames(3, 14)
    frames[1, 4, 2] = np.nan
    path = _write_text(tmp_path / "nan.txt", frames)
    with pytest.raises(LivePoseError, match=r"nan\.txt: 1 NaN or infinite values \(first in frame 1\)"):
        load_joints(path, (14,))


def test_messages_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.txt"
    path.write_text("1 2 3\n1 2\n", encoding="utf-8")
    with pytest.raises(LivePoseError) as info:
        load_joints(path, (1,))
    assert "\n" not in str(info.value)
