"""Real-dataset loaders (NYU, ICVL, HANDS2017, ITOP) on tiny fixtures in the published layouts, and their crops."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import torch
from scipy.io import savemat

from livepose.calibration import load_profile
from livepose.datasets import BODY_BOX_MARGIN_MM, LabelledFrame, LabelledFrames, RealCrops, frame_to_crop, open_dataset
from livepose.detect.crop import crop_hand, crop_to_image
from livepose.errors import LivePoseError
from livepose.evaluation.protocols import get_protocol
from livepose.skeletons import NYU36_TO_NYU14, get_layout
from tests import dataset_fixtures as fx

NYU14_IDS = [0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32]  # the standard subset, typed out


def _one_line_error(excinfo: pytest.ExceptionInfo, *fragments: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def nyu(tmp_path_factory) -> fx.Written:
    root = tmp_path_factory.mktemp("nyu") / "nyu_hand_dataset_v2"
    written = fx.write_nyu(root, "train", frames=3)
    written.extra["test"] = fx.write_nyu(root, "test", frames=2, kinects=3)
    return written


@pytest.fixture(scope="module")
def icvl(tmp_path_factory) -> fx.Written:
    return fx.write_icvl(tmp_path_factory.mktemp("icvl"))


@pytest.fixture(scope="module")
def hands2017(tmp_path_factory) -> fx.Written:
    return fx.write_hands2017(tmp_path_factory.mktemp("hands2017"))


@pytest.fixture(scope="module")
def itop(tmp_path_factory) -> fx.Written:
    root = tmp_path_factory.mktemp("itop")
    written = fx.write_itop(root, "side", "train", is_valid=(1, 0, 1, 1))
    written.extra["top_test"] = fx.write_itop(root, "top", "test", is_valid=(0, 1))
    return written


def _copy(written: fx.Written, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(written.root, target)
    return target


# ----------------------------------------------------------------------------------------------------- NYU


def test_nyu_subset_matches_skeletons():
    assert list(NYU36_TO_NYU14) == NYU14_IDS
    assert get_layout("nyu14").num_joints == 14


def test_nyu_reads_kinect1_14_joints_and_decodes_g256_plus_b(nyu):
    frames = open_dataset("nyu", nyu.root, "train")
    assert isinstance(frames, LabelledFrames)
    assert len(frames) == 3 and frames.layout == "nyu14"
    assert frames.crop == load_profile("nyu").crop and frames.crop.xy_thres_mm == 110.0
    for i, frame in enumerate(frames):
        assert isinstance(frame, LabelledFrame)
        assert frame.name == f"depth_1_{i + 1:07d}.png"
        assert frame.depth.shape == (480, 640) and frame.depth.dtype == np.float32
        assert frame.joints_uvd.shape == (14, 3) and frame.joints_uvd.dtype == np.float64
        np.testing.assert_allclose(frame.joints_uvd, nyu.joints[0, i][NYU14_IDS])
        np.testing.assert_array_equal(frame.depth, nyu.depth[i])
        assert frame.intrinsics.fx == pytest.approx(588.03) and frame.intrinsics.fy == pytest.approx(587.07)
        assert frame.box is None
    # Known values: every frame has 4660 mm = 0x1234 at (row 10, column 20); frame 3's disc is 780 = 3 * 256 + 12.
    assert all(frame.depth[10, 20] == 4660.0 for frame in frames)
    u, v = int(nyu.centres[2][0]), int(nyu.centres[2][1])
    assert frames[2].depth[v, u] == 780.0
    assert frames[0].depth[v, u] == 700.0 and frames[0].depth[v, u + 100] == fx.HAND_BACKGROUND_MM
    assert frames[0].depth[0, 0] == 0.0 and frames[0].depth[479, 639] == fx.HAND_BACKGROUND_MM
    assert frames[-1].name == "depth_1_0000003.png"
    with pytest.raises(IndexError):
        frames[3]


def test_nyu_other_kinect_and_test_split(nyu):
    from livepose.datasets.nyu import NyuFrames

    second = NyuFrames(nyu.root, "train", kinect=2)
    np.testing.assert_allclose(second[0].joints_uvd, nyu.joints[1, 0][NYU14_IDS])
    assert second[0].name == "depth_2_0000001.png"
    test = open_dataset("nyu", nyu.root, "test")
    assert len(test) == 2
    np.testing.assert_allclose(test[1].joints_uvd, nyu.extra["test"].joints[0, 1][NYU14_IDS])
    with pytest.raises(LivePoseError) as excinfo:
        NyuFrames(nyu.root, "train", kinect=4)
    _one_line_error(excinfo, "joint_data.mat", "kinects 1 to 3")


def test_nyu_accepts_the_archive_dataset_folder(nyu, tmp_path):
    shutil.copytree(nyu.root / "test", tmp_path / "dataset" / "test")
    assert len(open_dataset("nyu", tmp_path, "test")) == 2


def test_nyu_bad_mat_files(nyu, tmp_path):
    root = _copy(nyu, tmp_path)
    mat = root / "train" / "joint_data.mat"
    savemat(str(mat), {"joint_xyz": nyu.joints})
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("nyu", root)
    _one_line_error(excinfo, str(mat), "'joint_uvd'", "joint_xyz")
    savemat(str(mat), {"joint_uvd": nyu.joints[:, :, :14]})
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("nyu", root)
    _one_line_error(excinfo, str(mat), "(3, 3, 14, 3)", "36")
    mat.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("nyu", root)
    _one_line_error(excinfo, str(mat))
    mat.unlink()
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("nyu", root)
    _one_line_error(excinfo, str(mat), "no such file")


def test_nyu_missing_and_wrong_depth_files(nyu, tmp_path):
    root = _copy(nyu, tmp_path)
    (root / "train" / "depth_1_0000002.png").unlink()
    cv2.imwrite(str(root / "train" / "depth_1_0000003.png"), nyu.depth[2].astype(np.uint16))  # 16-bit, not NYU's
    frames = open_dataset("nyu", root)  # labels only: opening does not touch the images
    assert frames[0].depth.shape == (480, 640)
    with pytest.raises(LivePoseError) as excinfo:
        frames[1]
    _one_line_error(excinfo, "depth_1_0000002.png", "no such file")
    with pytest.raises(LivePoseError) as excinfo:
        frames[2]
    _one_line_error(excinfo, "depth_1_0000003.png", "16-bit")


def test_nyu_real_frame_decodes_to_label_depths(shared_data, tmp_path):
    """The shared real NYU test frame 1 in a one-frame NYU layout: depths under the joints match the labels."""
    labels = np.loadtxt(shared_data / "published" / "nyu_test_labels_uvd.txt", max_rows=1).reshape(14, 3)
    uvd = np.zeros((3, 1, 36, 3))
    uvd[:, 0, NYU14_IDS] = labels
    (tmp_path / "test").mkdir()
    savemat(str(tmp_path / "test" / "joint_data.mat"), {"joint_uvd": uvd, "joint_xyz": uvd})
    shutil.copy(shared_data / "frames" / "nyu" / "depth_1_0000001.png", tmp_path / "test")
    frame = open_dataset("nyu", tmp_path, "test")[0]
    np.testing.assert_allclose(frame.joints_uvd, labels)
    centre = int(round(labels[13, 1])), int(round(labels[13, 0]))  # palm centre C (row, column)
    assert abs(frame.depth[centre] - labels[13, 2]) < 30.0
    surface = [frame.depth[int(round(v)), int(round(u))] for u, v, _ in labels]
    assert np.median(np.abs(np.array(surface) - labels[:, 2])) < 30.0


# ---------------------------------------------------------------------------------------------------- ICVL


def test_icvl_train_and_test(icvl):
    frames = open_dataset("icvl", icvl.root, "train")
    assert len(frames) == 3 and frames.layout == "icvl16" and frames.crop.xy_thres_mm == 95.0
    for i, frame in enumerate(frames):
        assert frame.name == icvl.names[i]
        assert frame.depth.shape == (240, 320) and frame.depth.dtype == np.float32
        np.testing.assert_allclose(frame.joints_uvd, icvl.joints[i], atol=1e-4)  # written with 4 decimals
        np.testing.assert_array_equal(frame.depth, icvl.depth[i])
        assert frame.intrinsics.fx == pytest.approx(240.99)
    u, v, d = icvl.centres[2]
    assert frames[2].depth[int(v), int(u)] == int(d)
    test = open_dataset("icvl", icvl.root, "test")
    expected = icvl.extra["test"]
    assert len(test) == 3
    assert [f.name for f in test] == ["test_seq_1/image_0000.png", "test_seq_1/image_0001.png",
                                      "test_seq_2/image_0000.png"]
    np.testing.assert_allclose(test[2].joints_uvd, expected.joints[2], atol=1e-4)
    np.testing.assert_array_equal(test[2].depth, expected.depth[2])


@pytest.mark.parametrize(("mutate", "fragments"), [
    (lambda line: line.rsplit(" ", 1)[0], ("line 2", "47 numbers", "expected 48")),
    (lambda line: line.replace(" ", " x1.5 ", 1).rsplit(" ", 1)[0], ("line 2", "non-numeric", "'x1.5'")),
    (lambda line: line.rsplit(" ", 1)[0] + " nan", ("line 2", "NaN")),
    (lambda line: line + " 1.0", ("line 2", "49 numbers")),
])
def test_icvl_malformed_label_lines(icvl, tmp_path, mutate, fragments):
    root = _copy(icvl, tmp_path)
    labels = root / "Training" / "labels.txt"
    lines = labels.read_text().splitlines()
    lines[1] = mutate(lines[1])
    labels.write_text("\n".join(lines) + "\n")
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("icvl", root)
    _one_line_error(excinfo, str(labels), *fragments)


def test_icvl_missing_files(icvl, tmp_path):
    root = _copy(icvl, tmp_path)
    (root / "Testing" / "test_seq_2.txt").unlink()
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("icvl", root, "test")
    _one_line_error(excinfo, "test_seq_2.txt", "no such file")
    small = cv2.resize(icvl.depth[0].astype(np.uint16), (160, 120), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(root / "Training" / "Depth" / icvl.names[0]), small)
    (root / "Training" / "Depth" / icvl.names[1]).unlink()
    frames = open_dataset("icvl", root)
    with pytest.raises(LivePoseError) as excinfo:
        frames[0]
    _one_line_error(excinfo, "image_0000.png", "160x120", "320x240")
    with pytest.raises(LivePoseError) as excinfo:
        frames[1]
    _one_line_error(excinfo, "image_0001.png", "no such file")
    shutil.rmtree(root / "Training")
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("icvl", root)
    _one_line_error(excinfo, "Training", "no such folder")


# ----------------------------------------------------------------------------------------------- HANDS2017


def test_hands2017_projects_xyz_with_profile_intrinsics(hands2017):
    frames = open_dataset("hands2017", hands2017.root)
    assert len(frames) == 3 and frames.layout == "hands21"
    k = fx.HANDS2017_CAMERA
    for i, frame in enumerate(frames):
        xyz = hands2017.joints[i]
        expected = np.column_stack([xyz[:, 0] / xyz[:, 2] * k["fx"] + k["cx"],
                                    xyz[:, 1] / xyz[:, 2] * k["fy"] + k["cy"], xyz[:, 2]])
        np.testing.assert_allclose(frame.joints_uvd, expected, atol=2e-3)  # labels written with 4 decimals
        assert frame.name == f"image_D{i + 1:08d}.png"
        np.testing.assert_array_equal(frame.depth, hands2017.depth[i])
    u, v, d = hands2017.centres[1]
    assert frames[1].depth[int(round(v)), int(round(u))] == int(d)
    assert frames[1].depth[0, 0] == 0.0


def test_hands2017_errors(hands2017, tmp_path):
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("hands2017", hands2017.root, "test")
    _one_line_error(excinfo, "hands2017", "'test'", "'train'")
    root = _copy(hands2017, tmp_path)
    annotation = root / "training" / "Training_Annotation.txt"
    lines = annotation.read_text().splitlines()
    fields = lines[2].split("\t")
    fields[3] = "-5.0"  # joint 1's z
    annotation.write_text("\n".join(lines[:2] + ["\t".join(fields)]) + "\n")
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("hands2017", root)
    _one_line_error(excinfo, str(annotation), "image_D00000003.png", "z <= 0")
    annotation.unlink()
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("hands2017", root)
    _one_line_error(excinfo, "Training_Annotation.txt", "no such file")


# ---------------------------------------------------------------------------------------------------- ITOP


def test_itop_keeps_valid_frames_in_metres(itop):
    frames = open_dataset("itop_side", itop.root, "train")
    assert len(frames) == 3 and frames.layout == "itop15"
    assert frames.crop == load_profile("itop_side").crop and frames.crop.method == "box"
    valid = [0, 2, 3]
    protocol = get_protocol("itop_side")
    for frame, row in zip(frames, valid, strict=True):
        assert frame.name == itop.names[row]
        assert frame.depth.shape == (240, 320) and frame.depth.dtype == np.float32
        np.testing.assert_allclose(frame.depth, itop.depth[row])
        assert frame.depth[0, 0] == 0.0 and frame.depth[239, 0] == pytest.approx(4.5)
        # Metres: the person stands at 3 m (+ 0.1 m per frame), float16 as stored.
        box = itop.extra["boxes"][row]
        assert frame.depth[int(box[1]) + 5, int(box[0]) + 5] == pytest.approx(3.0 + 0.1 * row, abs=2e-3)
        world = itop.joints[row]
        np.testing.assert_allclose(frame.joints_uvd[:, 2], world[:, 2])
        np.testing.assert_allclose(fx.itop_uvz_to_world(frame.joints_uvd), world, atol=1e-9)
        np.testing.assert_allclose(protocol.itop_uvz_to_world(frame.joints_uvd), world, atol=1e-9)
        assert np.abs(frame.joints_uvd[:, :2] - itop.extra["image_coordinates"][row]).max() < 1.0
        assert frame.box == box
    top = open_dataset("itop_top", itop.root, "test")
    assert len(top) == 1 and top[0].name == itop.extra["top_test"].names[1]
    assert top.crop == load_profile("itop_top").crop


def test_itop_works_in_dataloader_workers_and_pickles(itop):
    frames = open_dataset("itop_side", itop.root)
    crops = RealCrops(frames)
    direct = [crops[i] for i in range(len(crops))]  # opens handles in this process first
    restored = pickle.loads(pickle.dumps(frames))
    np.testing.assert_array_equal(restored[1].depth, frames[1].depth)
    loader = torch.utils.data.DataLoader(crops, batch_size=2, num_workers=2)
    batches = list(loader)
    images = torch.cat([b[0] for b in batches])
    targets = torch.cat([b[1] for b in batches])
    assert images.shape == (3, 1, 288, 288) and targets.shape == (3, 15, 3)
    torch.testing.assert_close(images, torch.stack([d[0] for d in direct]))
    torch.testing.assert_close(targets, torch.stack([d[1] for d in direct]))
    frames.close()


def test_itop_errors(itop, tmp_path, monkeypatch):
    root = _copy(itop, tmp_path)
    labels = root / "ITOP_side_train_labels.h5"
    with h5py.File(labels, "a") as handle:
        del handle["is_valid"]
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("itop_side", root)
    _one_line_error(excinfo, str(labels), "'is_valid'")
    with h5py.File(labels, "a") as handle:
        handle.create_dataset("is_valid", data=np.ones(3, dtype=np.uint8))
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("itop_side", root)
    _one_line_error(excinfo, str(labels), "is_valid of shape (3,)", "(4,)")
    with h5py.File(labels, "a") as handle:
        del handle["is_valid"]
        handle.create_dataset("is_valid", data=np.ones(4, dtype=np.uint8))
        handle["id"][1] = b"99_99999"
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("itop_side", root)
    _one_line_error(excinfo, "ITOP_side_train_depth_map.h5", "99_99999")
    (root / "ITOP_side_train_depth_map.h5").write_bytes(b"garbage")
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("itop_side", root)
    _one_line_error(excinfo, "ITOP_side_train_depth_map.h5", "HDF5")
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("itop_side", root, "test")
    _one_line_error(excinfo, "ITOP_side_test_depth_map.h5", "no such file")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset("itop_side", itop.root)
    _one_line_error(excinfo, "pip install h5py")


# ------------------------------------------------------------------------------------------ names and splits


@pytest.mark.parametrize(("name", "split", "fragments"), [
    ("msra", "train", ("'msra'", "nyu, icvl, hands2017, itop_side, itop_top")),
    ("nyu", "val", ("'val'", "'train', 'test'")),
    ("itop_side", "validation", ("'validation'",)),
])
def test_unknown_names_and_splits(tmp_path, name, split, fragments):
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset(name, tmp_path, split)
    _one_line_error(excinfo, *fragments)


@pytest.mark.parametrize("name", ["nyu", "icvl", "hands2017", "itop_side"])
def test_missing_root_folder(tmp_path, name):
    missing = tmp_path / "nowhere"
    with pytest.raises(LivePoseError) as excinfo:
        open_dataset(name, missing)
    _one_line_error(excinfo, str(missing), "no such folder")


# --------------------------------------------------------------------------------------------------- crops


@pytest.mark.parametrize("dataset", ["nyu", "icvl", "hands2017"])
def test_hand_crops_round_trip(dataset, nyu, icvl, hands2017):
    written = {"nyu": nyu, "icvl": icvl, "hands2017": hands2017}[dataset]
    frames = open_dataset(dataset, written.root)
    crops = RealCrops(frames)
    assert len(crops) == len(frames) and crops.crop == frames.crop
    settings = frames.crop
    for i in range(len(frames)):
        image, target = crops[i]
        assert image.shape == (1, 176, 176) and image.dtype == torch.float32
        assert target.shape == (get_layout(frames.layout).num_joints, 3)
        assert target.dtype == torch.float32
        frame = frames[i]
        array, targets, crop = frame_to_crop(frame, settings)
        centre = frame.joints_uvd.mean(axis=0)
        assert crop.centre_depth == pytest.approx(centre[2], abs=1e-3)
        np.testing.assert_allclose(crop_to_image(targets, crop), frame.joints_uvd, atol=1e-6)
        np.testing.assert_allclose(targets[:, 2], frame.joints_uvd[:, 2] - np.float32(centre[2]), atol=1e-3)
        np.testing.assert_allclose(target.numpy(), targets, atol=1e-3)
        expected, _ = crop_hand(frame.depth, centre, frame.intrinsics, settings)
        np.testing.assert_array_equal(image[0].numpy(), expected)
        # The crop's middle shows the disc at its known depth, normalised ((d - centre) - mean) / std.
        disc = float(written.centres[i][2])
        want = ((disc - np.float32(centre[2])) - settings.mean) / settings.std
        assert image[0, 88, 88].item() == pytest.approx(want, abs=1e-3)


def test_hand_crop_with_given_centres(nyu):
    frames = open_dataset("nyu", nyu.root)
    centres = np.array([c for c in nyu.centres])
    crops = RealCrops(frames, centres=centres)
    _, target = crops[1]
    _, targets, crop = frame_to_crop(frames[1], frames.crop, centres[1])
    assert crop.centre_depth == pytest.approx(centres[1][2])
    np.testing.assert_allclose(target.numpy(), targets, atol=1e-3)
    np.testing.assert_allclose(crop_to_image(targets, crop), frames[1].joints_uvd, atol=1e-6)
    default = frame_to_crop(frames[1], frames.crop)[2]
    assert default.x_min != crop.x_min
    with pytest.raises(LivePoseError) as excinfo:
        RealCrops(frames, centres=centres[:2])
    _one_line_error(excinfo, "2 crop centres for 3 frames")


def test_body_crops_use_segmentation_box_and_metres_x50(itop):
    frames = open_dataset("itop_side", itop.root)
    crops = RealCrops(frames)
    for i, frame in enumerate(frames):
        image, target = crops[i]
        assert image.shape == (1, 288, 288) and target.shape == (15, 3)
        _, targets, crop = frame_to_crop(frame, frames.crop)
        assert crop.output_box == frame.box
        np.testing.assert_allclose(targets[:, 2], frame.joints_uvd[:, 2] * 50.0)
        np.testing.assert_allclose(crop_to_image(targets, crop), frame.joints_uvd, atol=1e-6)
        # Inside the box the body is at ~3 m: ((3 + 0.1 * row) - mean) / std.
        row = [0, 2, 3][i]
        want = (np.float32(3.0 + 0.1 * row) - frames.crop.mean) / frames.crop.std
        assert image[0, 144, 144].item() == pytest.approx(want, abs=5e-3)
    with pytest.raises(LivePoseError) as excinfo:
        frame_to_crop(frames[0], frames.crop, np.array([160.0, 120.0, 3.0]))
    _one_line_error(excinfo, "'box' crop")


def test_body_crop_without_box_grows_the_joint_box(itop):
    frame = dataclasses.replace(open_dataset("itop_side", itop.root)[0], box=None)
    settings = load_profile("itop_side").crop
    _, targets, crop = frame_to_crop(frame, settings)
    joints = frame.joints_uvd
    grow = BODY_BOX_MARGIN_MM / (joints[:, 2].mean() * 1000.0) / fx.ITOP_PIXEL_PITCH  # margin in pixels
    assert 10 < grow < 20
    assert crop.output_box == pytest.approx((joints[:, 0].min() - grow, joints[:, 1].min() - grow,
                                             joints[:, 0].max() + grow, joints[:, 1].max() + grow))
    assert (targets[:, :2] > 0).all() and (targets[:, :2] < 288).all()
    np.testing.assert_allclose(crop_to_image(targets, crop), joints, atol=1e-6)


def test_hand_crop_refuses_metre_frames(itop):
    frame = open_dataset("itop_side", itop.root)[0]
    with pytest.raises(LivePoseError) as excinfo:
        frame_to_crop(frame, load_profile("nyu").crop)
    _one_line_error(excinfo, frame.name, "millimetres")
