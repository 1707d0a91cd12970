"""The network-input crop (livepose.detect.crop) against the official A2J protocol.

The reference functions below are written the way the official test scripts
(zhangboshen/A2J ``src/nyu.py``, ``src/icvl.py``, ``src/itop_side.py``) do it,
independently of livepose: float32 (N, 1, 3) centre arrays, the dataset's
published focal lengths (NYU's fy is negative), corners at
``lefttop = (x - t, y + t)`` and ``rightbottom = (x + t, y - t)``, Python
``max`` / ``min`` clipping, ``img[int(ymin):int(ymax), int(xmin):int(xmax)]``,
nearest-neighbour resizing and ``(x - mean) / std`` with the shipped ``.npy``
constants.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.detect.crop import Crop, centre_box, crop_box, crop_hand, crop_to_image, image_to_crop
from livepose.errors import LivePoseError

# The published cameras, as the official scripts spell them.
NYU_FX, NYU_FY, NYU_U0, NYU_V0 = 588.03, -587.07, 320, 240  # fy < 0: NYU's y points up
ICVL_FX, ICVL_FY, ICVL_U0, ICVL_V0 = 240.99, 240.96, 160, 120
H2017_FX, H2017_FY, H2017_U0, H2017_V0 = 475.065948, 475.065857, 315.944855, 245.287079
CROP = 176

NYU = load_profile("nyu")
ICVL = load_profile("icvl")
HANDS2017 = load_profile("hands2017")
ITOP_SIDE = load_profile("itop_side")


# ----------------------------------------------------------------------------------------------------------------
# Official-style reference (written independently of livepose).
# ----------------------------------------------------------------------------------------------------------------

def _pixel2world(x: np.ndarray, fx: float, fy: float, ux: float, uy: float) -> np.ndarray:
    x[:, :, 0] = (x[:, :, 0] - ux) * x[:, :, 2] / fx
    x[:, :, 1] = (x[:, :, 1] - uy) * x[:, :, 2] / fy
    return x


def _world2pixel(x: np.ndarray, fx: float, fy: float, ux: float, uy: float) -> np.ndarray:
    x[:, :, 0] = x[:, :, 0] * fx / x[:, :, 2] + ux
    x[:, :, 1] = x[:, :, 1] * fy / x[:, :, 2] + uy
    return x


def official_corners(centre: np.ndarray, camera: tuple, xy_thres: float) -> tuple[np.ndarray, np.ndarray]:
    """(lefttop_pixel, rightbottom_pixel), each (1, 1, 3) float32, for a (1, 1, 3) float32 centre."""
    fx, fy, u0, v0 = camera
    world = _pixel2world(centre.copy(), fx, fy, u0, v0)
    lefttop = world.copy()
    lefttop[:, 0, 0] = lefttop[:, 0, 0] - xy_thres
    lefttop[:, 0, 1] = lefttop[:, 0, 1] + xy_thres
    rightbottom = world.copy()
    rightbottom[:, 0, 0] = rightbottom[:, 0, 0] + xy_thres
    rightbottom[:, 0, 1] = rightbottom[:, 0, 1] - xy_thres
    return _world2pixel(lefttop, fx, fy, u0, v0), _world2pixel(rightbottom, fx, fy, u0, v0)


def official_bounds(centre: np.ndarray, camera: tuple, xy_thres: float, shape: tuple[int, int],
                    icvl_style: bool) -> tuple:
    """Clipped (Xmin, Ymin, Xmax, Ymax) as the official scripts compute them.

    NYU (negative fy) takes Ymin from lefttop and Ymax from rightbottom; ICVL and
    HANDS2017 (positive fy) swap the two.
    """
    lefttop, rightbottom = official_corners(centre, camera, xy_thres)
    new_xmin = max(lefttop[0, 0, 0], 0)
    new_xmax = min(rightbottom[0, 0, 0], shape[1] - 1)
    if icvl_style:
        new_ymin = max(rightbottom[0, 0, 1], 0)
        new_ymax = min(lefttop[0, 0, 1], shape[0] - 1)
    else:
        new_ymin = max(lefttop[0, 0, 1], 0)
        new_ymax = min(rightbottom[0, 0, 1], shape[0] - 1)
    return new_xmin, new_ymin, new_xmax, new_ymax


def official_hand_crop(img: np.ndarray, centre: np.ndarray, camera: tuple, xy_thres: float, depth_thres: float,
                       mean, std, icvl_style: bool = False) -> tuple[np.ndarray, tuple]:
    """The official test-time ``dataPreprocess`` image part, for one (1, 1, 3) float32 centre."""
    new_xmin, new_ymin, new_xmax, new_ymax = official_bounds(centre, camera, xy_thres, img.shape, icvl_style)
    im_crop = img[int(new_ymin):int(new_ymax), int(new_xmin):int(new_xmax)].copy()
    img_resize = cv2.resize(im_crop, (CROP, CROP), interpolation=cv2.INTER_NEAREST)
    img_resize = np.asarray(img_resize, dtype="float32")
    c = centre[0][0][2]
    img_resize[np.where(img_resize >= c + depth_thres)] = c
    img_resize[np.where(img_resize <= c - depth_thres)] = c
    img_resize = img_resize - c
    img_resize = (img_resize - mean) / std
    out = np.ones((CROP, CROP, 1), dtype="float32")
    out[:, :, 0] = img_resize
    return out[:, :, 0], (new_xmin, new_ymin, new_xmax, new_ymax)


def official_labels(keypoints_uvd: np.ndarray, centre: np.ndarray, bounds: tuple) -> np.ndarray:
    """The official label transform, float32, output in the official (row, column, depth) order."""
    new_xmin, new_ymin, new_xmax, new_ymax = bounds
    kp = keypoints_uvd.astype(np.float32)
    label_xy = np.ones((len(kp), 2), dtype="float32")
    label_xy[:, 0] = (kp[:, 0].copy() - new_xmin) * CROP / (new_xmax - new_xmin)
    label_xy[:, 1] = (kp[:, 1].copy() - new_ymin) * CROP / (new_ymax - new_ymin)
    out = np.ones((len(kp), 3), dtype="float32")
    out[:, 1] = label_xy[:, 0]
    out[:, 0] = label_xy[:, 1]
    out[:, 2] = kp[:, 2] - centre[0][0][2]
    return out


def _centre32(u: float, v: float, d: float) -> np.ndarray:
    return np.array([[[u, v, d]]], dtype=np.float64).astype(np.float32)


def _as_float(bounds: tuple) -> tuple[float, ...]:
    return tuple(float(b) for b in bounds)


def _norm(shared: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(shared / "norm" / f"{name}_mean.npy"), np.load(shared / "norm" / f"{name}_std.npy")


def _nyu_frame(shared: Path) -> np.ndarray:
    bgr = cv2.imread(str(shared / "frames" / "nyu" / "depth_1_0000001.png"), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr.shape == (480, 640, 3)
    return (bgr[:, :, 1].astype(np.uint16) << 8) | bgr[:, :, 0].astype(np.uint16)  # depth_mm = (G << 8) | B


def _nyu_centre0(shared: Path) -> np.ndarray:
    centres = scipy.io.loadmat(str(shared / "published" / "nyu_center_test.mat"))["centre_pixel"]
    assert centres.shape == (8252, 1, 3)
    return centres.astype(np.float32)[0:1]  # (1, 1, 3), as the official code indexes it


def _nyu_labels0(shared: Path) -> np.ndarray:
    return np.loadtxt(shared / "published" / "nyu_test_labels_uvd.txt", max_rows=1).reshape(14, 3)


# ----------------------------------------------------------------------------------------------------------------
# Calibration constants
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nyu", "icvl", "hands2017", "k2hpd"])
def test_scalar_norm_constants_equal_shipped_npy(shared_data, name) -> None:
    mean, std = _norm(shared_data, name)
    crop = load_profile(name).crop
    assert mean.shape == () and std.shape == ()
    assert crop.mean == float(mean)
    assert crop.std == float(std)


@pytest.mark.parametrize("name", ["itop_side", "itop_top"])
def test_itop_norm_constants_are_entry_3_of_shipped_npy(shared_data, name) -> None:
    mean, std = _norm(shared_data, name)
    crop = load_profile(name).crop
    assert mean.shape == (4,) and std.shape == (4,)
    assert crop.mean == float(mean[3])
    assert crop.std == float(std[3])


def test_nyu_profile_stores_published_fy_with_y_down() -> None:
    assert NYU.intrinsics.fx == NYU_FX
    assert NYU.intrinsics.fy == -NYU_FY > 0
    assert (NYU.crop.width, NYU.crop.height, NYU.crop.xy_thres_mm, NYU.crop.depth_thres) == (176, 176, 110, 150)
    assert (ICVL.crop.xy_thres_mm, ICVL.crop.depth_thres) == (95, 150)
    assert ICVL.intrinsics.fy == ICVL_FY


# ----------------------------------------------------------------------------------------------------------------
# NYU: the real test frame 1 with its published centre
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_nyu_real_frame_matches_official_crop(shared_data, dtype) -> None:
    depth = _nyu_frame(shared_data).astype(dtype)
    centre = _nyu_centre0(shared_data)
    mean, std = _norm(shared_data, "nyu")
    expected, bounds = official_hand_crop(depth, centre, (NYU_FX, NYU_FY, NYU_U0, NYU_V0), 110, 150, mean, std)

    got, crop = crop_hand(depth, centre[0, 0], NYU.intrinsics, NYU.crop)

    assert got.dtype == np.float32 and got.shape == (CROP, CROP)
    assert crop.pixel_bounds == tuple(int(b) for b in bounds)
    # The corners are float32 like the official ones, so even the unrounded bounds agree exactly.
    assert (crop.x_min, crop.y_min, crop.x_max, crop.y_max) == _as_float(bounds)
    assert crop.centre_depth == float(centre[0, 0, 2])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # Sanity: the hand is in the crop (not all pixels were reset to the centre depth).
    assert np.count_nonzero(got != np.float32((0 - float(mean)) / float(std))) > 1000


def test_nyu_real_frame_box_is_inside_the_image(shared_data) -> None:
    centre = _nyu_centre0(shared_data)
    lefttop, rightbottom = official_corners(centre, (NYU_FX, NYU_FY, NYU_U0, NYU_V0), 110)
    # With NYU's negative fy, lefttop really is the top-left corner.
    assert lefttop[0, 0, 0] < rightbottom[0, 0, 0] and lefttop[0, 0, 1] < rightbottom[0, 0, 1]
    box = centre_box(centre[0, 0], NYU.intrinsics, 110)
    assert box == _as_float((lefttop[0, 0, 0], lefttop[0, 0, 1], rightbottom[0, 0, 0], rightbottom[0, 0, 1]))


# ----------------------------------------------------------------------------------------------------------------
# Synthetic frames: random centres, including clipped boxes at every border and corner
# ----------------------------------------------------------------------------------------------------------------

def _synthetic_frame(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    depth = rng.integers(200, 2200, size=(height, width)).astype(np.uint16)
    depth[rng.random((height, width)) < 0.05] = 0  # holes
    return depth


def _centres(rng: np.random.Generator, width: int, height: int, n_random: int = 12) -> list[tuple[float, float]]:
    w, h = width - 1, height - 1
    edges = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h),  # corners
             (0.3, h / 2), (w - 0.7, h / 2), (w / 2, 0.6), (w / 2, h - 0.2),  # borders
             (-3.5, h / 3), (w + 2.25, 2 * h / 3), (w / 3, -1.75), (2 * w / 3, h + 4.5)]  # just outside
    interior = [(float(u), float(v)) for u, v in zip(rng.uniform(0, w, n_random), rng.uniform(0, h, n_random),
                                                     strict=True)]
    return edges + interior


CASES = [
    # name, profile, official camera, image (height, width), icvl-style y corners
    ("nyu", NYU, (NYU_FX, NYU_FY, NYU_U0, NYU_V0), (480, 640), False),
    ("icvl", ICVL, (ICVL_FX, ICVL_FY, ICVL_U0, ICVL_V0), (240, 320), True),
    ("hands2017", HANDS2017, (H2017_FX, H2017_FY, H2017_U0, H2017_V0), (480, 640), True),
]


@pytest.mark.parametrize("name, profile, camera, shape, icvl_style", CASES, ids=[c[0] for c in CASES])
def test_synthetic_frames_match_official_crop(name, profile, camera, shape, icvl_style) -> None:
    rng = np.random.default_rng(1234 + len(name))
    height, width = shape
    depth = _synthetic_frame(rng, height, width)
    settings = profile.crop
    mean, std = np.array(settings.mean), np.array(settings.std)  # 0-d float64, like np.load of the .npy
    clipped = 0
    for i, (u, v) in enumerate(_centres(rng, width, height)):
        # Whole-millimetre centres half the time, so some pixels sit exactly at centre +- depth_thres.
        d = float(rng.integers(300, 1500)) if i % 2 else float(rng.uniform(300, 1500))
        centre = _centre32(u, v, d)
        expected, bounds = official_hand_crop(depth, centre, camera, settings.xy_thres_mm, settings.depth_thres,
                                              mean, std, icvl_style=icvl_style)
        got, crop = crop_hand(depth, centre[0, 0], profile.intrinsics, settings)
        assert crop.pixel_bounds == tuple(int(b) for b in bounds), (u, v, d)
        assert (crop.x_min, crop.y_min, crop.x_max, crop.y_max) == _as_float(bounds), (u, v, d)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=f"centre {(u, v, d)}")
        clipped += crop.x_min == 0 or crop.y_min == 0 or crop.x_max == width - 1 or crop.y_max == height - 1
    assert clipped >= 12  # every border / corner case really was clipped


@pytest.mark.parametrize("name, profile, camera, shape, icvl_style", CASES, ids=[c[0] for c in CASES])
def test_centre_box_equals_official_min_max(name, profile, camera, shape, icvl_style) -> None:
    height, width = shape
    for u, v, d in [(width / 2, height / 2, 500.0), (40.5, 30.25, 350.0), (width - 20.0, height - 10.0, 900.0),
                    (100.125, 200.75 * height / 480, 1234.5)]:
        centre = _centre32(u, v, d)
        expected = official_bounds(centre, camera, profile.crop.xy_thres_mm, shape, icvl_style)
        assert centre_box(centre[0, 0], profile.intrinsics, profile.crop.xy_thres_mm) == _as_float(expected)


def test_icvl_official_swaps_the_y_corners() -> None:
    """With ICVL's positive fy, 'lefttop' (y + t) is the *bottom* corner: the official ICVL script takes Ymin
    from rightbottom. Taking NYU's assignment would give an inverted box; livepose's min / max is right."""
    centre = _centre32(160.0, 120.0, 400.0)
    camera = (ICVL_FX, ICVL_FY, ICVL_U0, ICVL_V0)
    lefttop, rightbottom = official_corners(centre, camera, 95)
    assert lefttop[0, 0, 1] > rightbottom[0, 0, 1]
    nyu_style = official_bounds(centre, camera, 95, (240, 320), icvl_style=False)
    assert nyu_style[1] > nyu_style[3]  # Ymin > Ymax: would be an empty crop
    icvl_style = official_bounds(centre, camera, 95, (240, 320), icvl_style=True)
    box = centre_box(centre[0, 0], ICVL.intrinsics, 95)
    assert box == _as_float(icvl_style)
    assert box[1] < box[3]


# ----------------------------------------------------------------------------------------------------------------
# Labels: image <-> crop
# ----------------------------------------------------------------------------------------------------------------

def test_nyu_labels_round_trip_and_match_official_label_transform(shared_data) -> None:
    centre = _nyu_centre0(shared_data)
    labels = _nyu_labels0(shared_data)
    crop = Crop(*centre_box(centre[0, 0], NYU.intrinsics, 110, (640, 480)), centre_depth=float(centre[0, 0, 2]),
                settings=NYU.crop)
    target = image_to_crop(labels, crop)
    np.testing.assert_allclose(crop_to_image(target, crop), labels, rtol=0, atol=1e-6)

    bounds = official_bounds(centre, (NYU_FX, NYU_FY, NYU_U0, NYU_V0), 110, (480, 640), icvl_style=False)
    official = official_labels(labels, centre, bounds)  # float32, (row, column, depth)
    np.testing.assert_allclose(target[:, [1, 0, 2]], official, rtol=0, atol=1e-4)
    # The same formula in float64 with the unrounded bounds is image_to_crop exactly.
    x0, y0, x1, y1 = _as_float(bounds)
    np.testing.assert_allclose(target[:, 0], (labels[:, 0] - x0) * 176 / (x1 - x0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(target[:, 1], (labels[:, 1] - y0) * 176 / (y1 - y0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(target[:, 2], labels[:, 2] - float(centre[0, 0, 2]), rtol=0, atol=1e-9)
    assert np.all((target[:, :2] > 0) & (target[:, :2] < 176))  # the hand lies inside the crop


def test_crop_to_image_uses_unrounded_bounds(shared_data) -> None:
    """The crop reads pixels from truncated bounds but maps back with the unrounded ones (like writeTxt)."""
    centre = _nyu_centre0(shared_data)
    _, crop = crop_hand(_nyu_frame(shared_data), centre[0, 0], NYU.intrinsics, NYU.crop)
    x0, y0, x1, y1 = crop.pixel_bounds
    assert int(crop.x_min) != crop.x_min and int(crop.y_min) != crop.y_min
    out = np.array([[0.0, 0.0, 0.0], [88.0, 88.0, 5.0], [175.5, 12.25, -40.0]])
    image = crop_to_image(out, crop)
    # official writeTxt: u = u_crop * (Xmax - Xmin) / 176 + Xmin with the unrounded clipped bounds, d + centre.
    np.testing.assert_allclose(image[:, 0], out[:, 0] * (crop.x_max - crop.x_min) / 176 + crop.x_min, atol=1e-9)
    np.testing.assert_allclose(image[:, 1], out[:, 1] * (crop.y_max - crop.y_min) / 176 + crop.y_min, atol=1e-9)
    np.testing.assert_allclose(image[:, 2], out[:, 2] + float(centre[0, 0, 2]), atol=1e-9)
    with_int_bounds = np.stack([out[:, 0] * (x1 - x0) / 176 + x0, out[:, 1] * (y1 - y0) / 176 + y0], axis=-1)
    assert np.all(np.abs(image[:, :2] - with_int_bounds).max(axis=0) > 1e-3)
    # And the same numbers as the official float32 writeTxt arithmetic.
    lefttop, rightbottom = official_corners(centre, (NYU_FX, NYU_FY, NYU_U0, NYU_V0), 110)
    xmin, ymin = max(lefttop[0, 0, 0], 0), max(lefttop[0, 0, 1], 0)
    xmax, ymax = min(rightbottom[0, 0, 0], 320 * 2 - 1), min(rightbottom[0, 0, 1], 240 * 2 - 1)
    out32 = out.astype(np.float32)
    np.testing.assert_allclose(image[:, 0], out32[:, 0] * (xmax - xmin) / 176 + xmin, rtol=0, atol=1e-4)
    np.testing.assert_allclose(image[:, 1], out32[:, 1] * (ymax - ymin) / 176 + ymin, rtol=0, atol=1e-4)


@pytest.mark.parametrize("u, v", [(0.0, 0.0), (639.0, 479.0), (1.5, 300.0), (630.0, 5.0), (320.0, 478.9)])
def test_round_trip_at_image_borders(u, v) -> None:
    rng = np.random.default_rng(7)
    centre = np.array([u, v, 420.0])
    crop = Crop(*centre_box(centre, NYU.intrinsics, 110), centre_depth=420.0, settings=NYU.crop)
    assert crop.x_min == 0 or crop.y_min == 0 or crop.x_max == 639 or crop.y_max == 479  # clipped
    joints = np.stack([rng.uniform(crop.x_min, crop.x_max, 21), rng.uniform(crop.y_min, crop.y_max, 21),
                       rng.uniform(300, 550, 21)], axis=-1)
    np.testing.assert_allclose(crop_to_image(image_to_crop(joints, crop), crop), joints, rtol=0, atol=1e-9)
    net = np.stack([rng.uniform(0, 176, 21), rng.uniform(0, 176, 21), rng.uniform(-150, 150, 21)], axis=-1)
    np.testing.assert_allclose(image_to_crop(crop_to_image(net, crop), crop), net, rtol=0, atol=1e-9)
    # Batched (..., J, 3) input works the same.
    batch = np.stack([joints, joints])
    np.testing.assert_allclose(image_to_crop(batch, crop)[1], image_to_crop(joints, crop), atol=0)


# ----------------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------------

def test_box_outside_the_image_raises() -> None:
    depth = np.full((480, 640), 500, np.uint16)
    with pytest.raises(LivePoseError, match="holds no pixel"):
        crop_hand(depth, np.array([-400.0, 240.0, 500.0]), NYU.intrinsics, NYU.crop)
    with pytest.raises(LivePoseError, match="holds no pixel"):
        crop_hand(depth, np.array([320.0, 1200.0, 500.0]), NYU.intrinsics, NYU.crop)
    with pytest.raises(LivePoseError, match="holds no pixel"):
        crop_box(depth, (10.0, 10.0, 10.9, 50.0), NYU.crop)  # less than one whole column
    with pytest.raises(LivePoseError, match="holds no pixel"):
        crop_box(depth, (700.0, 10.0, 800.0, 50.0), NYU.crop)


@pytest.mark.parametrize("shape", [(480, 640, 3), (640,), (1, 640), (2, 480, 640)])
def test_wrong_shaped_depth_raises(shape) -> None:
    depth = np.full(shape, 500, np.uint16)
    with pytest.raises(LivePoseError, match="expected a 2D"):
        crop_hand(depth, np.array([320.0, 240.0, 500.0]), NYU.intrinsics, NYU.crop)
    with pytest.raises(LivePoseError, match="expected a 2D"):
        crop_box(depth, (0.0, 0.0, 100.0, 100.0), ITOP_SIDE.crop)


def test_single_channel_depth_is_accepted() -> None:
    depth = np.full((480, 640, 1), 500, np.uint16)
    got, _ = crop_hand(depth, np.array([320.0, 240.0, 500.0]), NYU.intrinsics, NYU.crop)
    np.testing.assert_allclose(got, np.float32((0 - NYU.crop.mean) / NYU.crop.std), atol=1e-6)


@pytest.mark.parametrize("d", [0.0, -10.0, float("nan"), float("inf")])
def test_centre_without_depth_raises(d) -> None:
    depth = np.full((480, 640), 500, np.uint16)
    with pytest.raises(LivePoseError, match="centre depth"):
        crop_hand(depth, np.array([320.0, 240.0, d]), NYU.intrinsics, NYU.crop)


def test_crop_hand_refuses_box_settings() -> None:
    with pytest.raises(LivePoseError, match="'centre' crop"):
        crop_hand(np.full((240, 320), 3.0, np.float32), np.array([160.0, 120.0, 3.0]), ITOP_SIDE.intrinsics,
                  ITOP_SIDE.crop)


def test_depth_thresholds_and_centre_subtraction() -> None:
    """Depths at or beyond +-150 mm of the centre become the centre depth, i.e. 0 before normalising."""
    intr = Intrinsics(fx=500.0, fy=500.0, cx=50.0, cy=50.0, width=100, height=100)
    depth = np.full((100, 100), 1000, np.uint16)
    depth[:, 25:50] = 850   # exactly centre - 150: reset
    depth[:, 50:60] = 851   # inside: kept
    depth[:, 60:75] = 1149  # inside: kept
    depth[:, 75:] = 1150    # exactly centre + 150: reset
    settings = NYU.crop
    got, crop = crop_hand(depth, np.array([50.0, 50.0, 1000.0]), intr, settings)
    assert crop.pixel_bounds == (0, 0, 99, 99)
    raw = got.astype(np.float64) * settings.std + settings.mean
    assert set(np.round(raw).astype(int).ravel()) == {0, -149, 149}


# ----------------------------------------------------------------------------------------------------------------
# ITOP (box crop)
# ----------------------------------------------------------------------------------------------------------------

def official_itop_crop(img: np.ndarray, bndbox: np.ndarray, img_mean, img_std) -> tuple[np.ndarray, tuple]:
    """The official ITOP test-time ``dataPreprocess`` image part (no centre, no depth threshold)."""
    new_xmin = max(bndbox[0], 0)
    new_ymin = max(bndbox[1], 0)
    new_xmax = min(bndbox[2], img.shape[1] - 1)
    new_ymax = min(bndbox[3], img.shape[0] - 1)
    im_crop = img.copy()[int(new_ymin):int(new_ymax), int(new_xmin):int(new_xmax)]
    img_resize = cv2.resize(im_crop, (288, 288), interpolation=cv2.INTER_NEAREST)
    img_resize = np.asarray(img_resize, dtype="float32")
    img_resize = (img_resize - img_mean) / img_std
    out = np.ones((288, 288, 1), dtype="float32")
    out[:, :, 0] = img_resize
    return out[:, :, 0], (new_xmin, new_ymin, new_xmax, new_ymax)


def _itop_world2pixel(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 160.0 + x / (0.0035 * z), 120.0 - y / (0.0035 * z)


# The first two boxes of A2J's itop_side_bndbox_test.mat (the first reaches y = 240, past the last row) and two
# synthetic ones reaching past the other borders.
ITOP_BOXES = [(96.42177582, 53.26026154, 217.3291626, 240.0), (92.97053528, 52.28365326, 222.75233459, 240.0),
              (-12.5, -3.25, 150.75, 200.5), (200.2, 10.7, 330.0, 238.6)]


@pytest.mark.parametrize("box", ITOP_BOXES)
def test_itop_box_crop_matches_official(shared_data, box) -> None:
    rng = np.random.default_rng(3)
    depth = rng.uniform(1.5, 5.0, size=(240, 320)).astype(np.float32)  # metres
    img_mean = np.load(shared_data / "norm" / "itop_side_mean.npy")[3]
    img_std = np.load(shared_data / "norm" / "itop_side_std.npy")[3]
    bndbox = np.array(box, dtype=np.float64)
    expected, bounds = official_itop_crop(depth, bndbox, img_mean, img_std)

    got, crop = crop_box(depth, box, ITOP_SIDE.crop)

    assert got.shape == (288, 288) and got.dtype == np.float32
    assert crop.pixel_bounds == tuple(int(b) for b in bounds)
    assert (crop.x_min, crop.y_min, crop.x_max, crop.y_max) == _as_float(bounds)
    assert crop.centre_depth is None
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_itop_crop_has_no_centre_subtraction() -> None:
    settings = ITOP_SIDE.crop
    assert not settings.subtract_centre and settings.depth_scale == 50
    got, _ = crop_box(np.full((240, 320), 3.0, np.float32), (50.0, 20.0, 250.0, 230.0), settings)
    np.testing.assert_allclose(got, (3.0 - settings.mean) / settings.std, rtol=0, atol=1e-6)
    # Far depths are not thresholded either (unlike the hand crop).
    depth = np.full((240, 320), 3.0, np.float32)
    depth[:, 150:] = 9.0
    got, _ = crop_box(depth, (50.0, 20.0, 250.0, 230.0), settings)
    assert np.isclose(got.max(), (9.0 - settings.mean) / settings.std, atol=1e-6)


def test_itop_labels_depth_is_metres_times_50() -> None:
    rng = np.random.default_rng(11)
    world = np.stack([rng.uniform(-0.6, 0.6, 15), rng.uniform(-0.8, 0.8, 15), rng.uniform(2.0, 4.0, 15)], axis=-1)
    world = world.astype(np.float32)
    u, v = _itop_world2pixel(world[:, 0], world[:, 1], world[:, 2])
    uvz = np.stack([u, v, world[:, 2]], axis=-1).astype(np.float64)
    box = ITOP_BOXES[0]
    _, crop = crop_box(np.full((240, 320), 3.0, np.float32), box, ITOP_SIDE.crop)
    assert crop.y_max == 239.0  # the box reaching y = 240 is clipped to the last row

    target = image_to_crop(uvz, crop)
    # The official training / test labels: clipped bounds, depth = world z * depthFactor (50).
    xmin, ymin, xmax, ymax = max(box[0], 0), max(box[1], 0), min(box[2], 319), min(box[3], 239)
    np.testing.assert_allclose(target[:, 0], (uvz[:, 0] - xmin) * 288 / (xmax - xmin), rtol=0, atol=1e-9)
    np.testing.assert_allclose(target[:, 1], (uvz[:, 1] - ymin) * 288 / (ymax - ymin), rtol=0, atol=1e-9)
    np.testing.assert_allclose(target[:, 2], world[:, 2].astype(np.float64) * 50, rtol=0, atol=1e-9)

    # Mapping back uses the box as given (the official evaluation's Bndbox, unclipped), so for this box that
    # reaches y = 240 rows come back scaled by 240 - ymin instead of 239 - ymin; columns are unaffected.
    back = crop_to_image(target, crop)
    np.testing.assert_allclose(back[:, 0], uvz[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(back[:, 1], target[:, 1] * (box[3] - box[1]) / 288 + box[1], rtol=0, atol=1e-9)
    assert np.abs(back[:, 1] - uvz[:, 1]).max() > 1e-3
    np.testing.assert_allclose(back[:, 2], uvz[:, 2], rtol=0, atol=1e-9)
    np.testing.assert_allclose(crop_to_image(np.array([[144.0, 144.0, 170.0]]), crop)[0, 2], 3.4, atol=1e-12)


def test_itop_box_inside_the_image_round_trips() -> None:
    box = (40.5, 20.25, 250.75, 230.5)
    _, crop = crop_box(np.full((240, 320), 3.0, np.float32), box, ITOP_SIDE.crop)
    uvz = np.array([[100.0, 120.0, 3.1], [41.0, 229.0, 2.5]])
    np.testing.assert_allclose(crop_to_image(image_to_crop(uvz, crop), crop), uvz, rtol=0, atol=1e-9)
