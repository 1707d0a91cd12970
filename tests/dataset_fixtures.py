"""Tiny datasets in the exact published layouts of NYU, ICVL, HANDS2017 and ITOP, written at test time.

Each ``write_*`` function writes 2-4 frames under a folder and returns what it
wrote (the labels and the depth values) so tests can check the loaders
against known numbers. Every depth frame holds a flat "hand" (or "body")
disc at a known depth in front of a far background, with the joints spread
around the disc's centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

# Cameras of the shipped profiles, typed out here so the tests do not read them through the code under test.
NYU_CAMERA = {"fx": 588.03, "fy": 587.07, "cx": 320.0, "cy": 240.0, "width": 640, "height": 480}
ICVL_CAMERA = {"fx": 240.99, "fy": 240.96, "cx": 160.0, "cy": 120.0, "width": 320, "height": 240}
HANDS2017_CAMERA = {"fx": 475.065948, "fy": 475.065857, "cx": 315.944855, "cy": 245.287079, "width": 640,
                    "height": 480}
ITOP_PIXEL_PITCH = 0.0035  # ITOP: x = (u - 160) * z * 0.0035, y = (120 - v) * z * 0.0035 (metres, y up)

HAND_BACKGROUND_MM = 2000
NYU_KNOWN_MM = 0x1234  # 4660 mm at pixel (row 10, column 20) of every NYU frame: G = 0x12, B = 0x34


@dataclass
class Written:
    """What a fixture writer put on disk.

    Attributes:
        root: the dataset folder to open.
        joints: per frame, the labels as written (uvd, xyz or world, as the format holds them).
        depth: per frame (in loader order), the depth image in the dataset's unit as the loader should return it.
        names: per frame, the file name or id.
        centres: per frame, the (u, v, d) of the disc.
        extra: anything else a test needs.
    """

    root: Path
    joints: np.ndarray
    depth: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    centres: list[tuple[float, float, float]] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def disc_depth(width: int, height: int, centre_uv: tuple[float, float], radius_px: float, disc: float,
               background: float, dtype: type = np.uint16) -> np.ndarray:
    """(height, width) image: ``disc`` inside a circle of ``radius_px`` around ``centre_uv``, ``background`` out."""
    v, u = np.mgrid[0:height, 0:width]
    inside = (u - centre_uv[0]) ** 2 + (v - centre_uv[1]) ** 2 <= radius_px ** 2
    image = np.full((height, width), background, dtype=dtype)
    image[inside] = disc
    return image


def spread_joints(count: int, centre_uvd: tuple[float, float, float], seed: int, spread_px: float = 20.0,
                  spread_depth: float = 25.0) -> np.ndarray:
    """(count, 3) joints u, v (px), d scattered around a centre, reproducibly."""
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-1.0, 1.0, size=(count, 3)) * np.array([spread_px, spread_px, spread_depth])
    return np.asarray(centre_uvd, dtype=np.float64) + offsets


# --------------------------------------------------------------------------------------------------- NYU


def encode_nyu(depth_mm: np.ndarray, seed: int = 0) -> np.ndarray:
    """(H, W) uint16 mm to NYU's (H, W, 3) uint8 image in OpenCV's BGR order: B = low byte, G = high, R = noise."""
    rng = np.random.default_rng(seed)
    image = np.empty(depth_mm.shape + (3,), dtype=np.uint8)
    image[..., 0] = depth_mm & 0xFF
    image[..., 1] = depth_mm >> 8
    image[..., 2] = rng.integers(0, 256, size=depth_mm.shape, dtype=np.uint8)  # R carries nothing
    return image


def write_nyu(root: Path, split: str = "train", frames: int = 3, kinects: int = 3) -> Written:
    """NYU layout: ``root/<split>/joint_data.mat`` (3, frames, 36, 3) and ``depth_<k>_<7 digits>.png``.

    Kinect k's labels are those of kinect 1 shifted by 100 * (k - 1) px in u, so a wrong slice is visible.
    ``Written.depth`` holds kinect 1's frames in mm.
    """
    from scipy.io import savemat

    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    uvd = np.empty((kinects, frames, 36, 3))
    written = Written(root=root, joints=uvd)
    for i in range(frames):
        centre = (300.0 + 15 * i, 220.0 + 10 * i, 700.0 + 40 * i)
        joints = spread_joints(36, centre, seed=i)
        for k in range(kinects):
            uvd[k, i] = joints + np.array([100.0 * k, 0.0, 0.0])
        disc_mm = int(centre[2])  # 700 = 2 * 256 + 188, 740 = 2 * 256 + 228, 780 = 3 * 256 + 12: both bytes vary
        depth = disc_depth(640, 480, centre[:2], 70, disc_mm, HAND_BACKGROUND_MM)
        depth[0, 0] = 0  # one pixel with no reading
        depth[10, 20] = NYU_KNOWN_MM
        for k in range(1, kinects + 1):
            cv2.imwrite(str(folder / f"depth_{k}_{i + 1:07d}.png"), encode_nyu(depth, seed=10 * i + k))
        written.depth.append(depth.astype(np.float32))
        written.names.append(f"depth_1_{i + 1:07d}.png")
        written.centres.append((centre[0], centre[1], float(disc_mm)))
    xyz = uvd.copy()
    xyz[..., 0] = (uvd[..., 0] - 320.0) * uvd[..., 2] / 588.03
    xyz[..., 1] = (uvd[..., 1] - 240.0) * uvd[..., 2] / -587.07  # NYU's xyz has y up
    savemat(str(folder / "joint_data.mat"), {"joint_uvd": uvd, "joint_xyz": xyz,
                                              "joint_names": np.array([f"J{j}" for j in range(36)], dtype=object)})
    return written


# -------------------------------------------------------------------------------------------------- ICVL


def _label_line(name: str, values: np.ndarray, separator: str = " ") -> str:
    return separator.join([name] + [f"{v:.4f}" for v in np.asarray(values).reshape(-1)]) + "\n"


def write_icvl(root: Path) -> Written:
    """ICVL layout: Training/labels.txt (3 frames) and Testing/test_seq_1.txt (2), test_seq_2.txt (1).

    ``Written.joints`` / ``depth`` / ``names`` hold the training frames; ``extra["test"]`` the test ones (a
    Written of their own, in loader order: sequence 1 then 2).
    """
    train = _write_icvl_part(root, "Training", {"labels.txt": ["201403121135/image_0000.png",
                                                                "201403121135/image_0001.png",
                                                                "201403121140/image_0000.png"]}, seed=0)
    test = _write_icvl_part(root, "Testing", {"test_seq_1.txt": ["test_seq_1/image_0000.png",
                                                                  "test_seq_1/image_0001.png"],
                                               "test_seq_2.txt": ["test_seq_2/image_0000.png"]}, seed=100)
    train.extra["test"] = test
    return train


def _write_icvl_part(root: Path, folder_name: str, files: dict[str, list[str]], seed: int) -> Written:
    folder = root / folder_name
    joints_all = []
    written = Written(root=root, joints=np.empty(0))
    frame = 0
    for label_name, names in files.items():
        lines = []
        for name in names:
            centre = (150.0 + 5 * frame, 110.0 + 4 * frame, 350.0 + 20 * frame)
            joints = spread_joints(16, centre, seed=seed + frame, spread_px=12.0)
            depth = disc_depth(320, 240, centre[:2], 30, int(centre[2]), HAND_BACKGROUND_MM)
            path = folder / "Depth" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), depth)
            lines.append(_label_line(name, joints))
            joints_all.append(joints)
            written.depth.append(depth.astype(np.float32))
            written.names.append(name)
            written.centres.append(centre)
            frame += 1
        (folder / label_name).write_text("".join(lines), encoding="utf-8")
    written.joints = np.stack(joints_all)
    return written


# --------------------------------------------------------------------------------------------- HANDS2017


def write_hands2017(root: Path, frames: int = 3) -> Written:
    """HANDS2017 layout: training/Training_Annotation.txt (camera mm, tab separated) and training/images/."""
    folder = root / "training"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    k = HANDS2017_CAMERA
    xyz_all = np.empty((frames, 21, 3))
    written = Written(root=root, joints=xyz_all)
    lines = []
    for i in range(frames):
        rng = np.random.default_rng(200 + i)
        centre_xyz = np.array([-30.0 + 20 * i, 15.0 - 10 * i, 420.0 + 30 * i])
        xyz = centre_xyz + rng.uniform(-60.0, 60.0, size=(21, 3)) * np.array([1.0, 1.0, 0.4])
        xyz_all[i] = xyz
        u = centre_xyz[0] * k["fx"] / centre_xyz[2] + k["cx"]
        v = centre_xyz[1] * k["fy"] / centre_xyz[2] + k["cy"]
        depth = disc_depth(640, 480, (u, v), 60, int(centre_xyz[2]), 0)  # background removed, as published
        name = f"image_D{i + 1:08d}.png"
        cv2.imwrite(str(folder / "images" / name), depth)
        lines.append(_label_line(name, xyz, separator="\t"))
        written.depth.append(depth.astype(np.float32))
        written.names.append(name)
        written.centres.append((u, v, float(centre_xyz[2])))
    (folder / "Training_Annotation.txt").write_text("".join(lines), encoding="utf-8")
    return written


# -------------------------------------------------------------------------------------------------- ITOP


def itop_uvz_to_world(uvz: np.ndarray) -> np.ndarray:
    """ITOP's own projection, typed out independently: (..., 3) u, v (px), z (m) to world metres (y up)."""
    world = np.empty_like(np.asarray(uvz, dtype=np.float64))
    world[..., 0] = (uvz[..., 0] - 160.0) * uvz[..., 2] * ITOP_PIXEL_PITCH
    world[..., 1] = (120.0 - uvz[..., 1]) * uvz[..., 2] * ITOP_PIXEL_PITCH
    world[..., 2] = uvz[..., 2]
    return world


def write_itop(root: Path, view: str = "side", split: str = "train",
               is_valid: tuple[int, ...] = (1, 0, 1, 1)) -> Written:
    """ITOP layout: ITOP_<view>_<split>_depth_map.h5 and ITOP_<view>_<split>_labels.h5, one frame per is_valid.

    A person is a 40 x 120 px rectangle at 3 m (float16 metres) before a 4.5 m wall; its segmentation is 0-14,
    background -1. ``Written.joints`` holds the world coordinates as stored (float16 rounding included), for
    every frame; ``extra["is_valid"]``, ``extra["boxes"]`` (x_min, y_min, x_max + 1, y_max + 1) per frame.
    """
    import h5py

    root.mkdir(parents=True, exist_ok=True)
    count = len(is_valid)
    depth = np.full((count, 240, 320), 4.5, dtype=np.float16)
    segmentation = np.full((count, 240, 320), -1, dtype=np.int8)
    world = np.zeros((count, 15, 3), dtype=np.float16)
    image_coordinates = np.zeros((count, 15, 2), dtype=np.int16)
    ids = np.array([f"{i // 2:02d}_{i:05d}".encode() for i in range(count)], dtype="S8")
    boxes = []
    for i in range(count):
        x0, y0 = 130 + 5 * i, 60 + 3 * i
        x1, y1 = x0 + 40, y0 + 120  # one past the last pixel
        depth[i, y0:y1, x0:x1] = 3.0 + 0.1 * i
        depth[i, 0, :4] = 0.0  # no reading
        segmentation[i, y0:y1, x0:x1] = (np.arange(y1 - y0) // 8)[:, None] % 15
        rng = np.random.default_rng(300 + i)
        uvz = np.column_stack([rng.uniform(x0 + 5, x1 - 5, 15), rng.uniform(y0 + 5, y1 - 5, 15),
                               rng.uniform(2.9, 3.2, 15) + 0.1 * i])
        world[i] = itop_uvz_to_world(uvz).astype(np.float16)
        image_coordinates[i] = np.rint(uvz[:, :2]).astype(np.int16)
        boxes.append((float(x0), float(y0), float(x1), float(y1)))
    prefix = f"ITOP_{view}_{split}"
    with h5py.File(root / f"{prefix}_depth_map.h5", "w") as handle:
        handle.create_dataset("id", data=ids)
        handle.create_dataset("data", data=depth)
    with h5py.File(root / f"{prefix}_labels.h5", "w") as handle:
        handle.create_dataset("id", data=ids)
        handle.create_dataset("is_valid", data=np.asarray(is_valid, dtype=np.uint8))
        handle.create_dataset("visible_joints", data=np.ones((count, 15), dtype=np.int16))
        handle.create_dataset("image_coordinates", data=image_coordinates)
        handle.create_dataset("real_world_coordinates", data=world)
        handle.create_dataset("segmentation", data=segmentation)
    return Written(root=root, joints=world.astype(np.float64), depth=[d.astype(np.float32) for d in depth],
                   names=[i.decode() for i in ids], extra={"is_valid": tuple(is_valid), "boxes": boxes,
                                                           "image_coordinates": image_coordinates})
