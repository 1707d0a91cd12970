"""Hand-centre and body-box detection (livepose.detect.centre) and depth PNG reading (livepose.depth_io).

Real frames come from ../shared/data (skipped when absent); the hand centres annotated on them by eye
are in tests/data/hand_centres.json. Synthetic scenes are drawn with numpy / OpenCV in millimetres.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.depth_io import read_depth_png
from livepose.detect.centre import (
    BodyBoxDetector,
    CentreDetection,
    HandCentreDetector,
    HandDetectorSettings,
)
from livepose.errors import LivePoseError
from livepose.synth.generator import body_frames

ANNOTATIONS = json.loads((Path(__file__).parent / "data" / "hand_centres.json").read_text(encoding="utf-8"))
ANNOTATED = [entry for entry in ANNOTATIONS["entries"] if entry.get("hand", True)]
CAMERA = Intrinsics(fx=475.0, fy=475.0, cx=320.0, cy=240.0, width=640, height=480)


@pytest.fixture(scope="module")
def detector() -> HandCentreDetector:
    return HandCentreDetector()


def error_3d(intrinsics: Intrinsics, uvd_a: np.ndarray, uvd_b: np.ndarray) -> float:
    return float(np.linalg.norm(intrinsics.uvd_to_xyz(np.asarray(uvd_a)) - intrinsics.uvd_to_xyz(np.asarray(uvd_b))))


# ------------------------------------------------------------------------------------------- depth_io


def test_read_uint16_png_round_trip(tmp_path: Path) -> None:
    depth = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 17 % 65535).astype(np.uint16)
    path = tmp_path / "depth.png"
    assert cv2.imwrite(str(path), depth)
    out = read_depth_png(path)
    assert out.dtype == np.uint16 and out.shape == (48, 64)
    np.testing.assert_array_equal(out, depth)


def test_read_nyu_png_decodes_green_high_blue_low(tmp_path: Path) -> None:
    depth = np.array([[0, 255, 256, 731], [1000, 2001, 4095, 65535]], dtype=np.uint16)
    bgr = np.zeros(depth.shape + (3,), np.uint8)
    bgr[:, :, 0] = depth & 0xFF  # blue: low byte
    bgr[:, :, 1] = depth >> 8  # green: high byte
    bgr[:, :, 2] = 77  # red: unused
    path = tmp_path / "nyu.png"
    assert cv2.imwrite(str(path), bgr)
    np.testing.assert_array_equal(read_depth_png(path, encoding="nyu_rgb"), depth)


def test_read_depth_png_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(LivePoseError, match="missing.png: no such file.*16-bit"):
        read_depth_png(missing)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a PNG at all")
    with pytest.raises(LivePoseError, match="garbage.png: not a readable image"):
        read_depth_png(garbage)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(LivePoseError, match="empty.png: not a readable image"):
        read_depth_png(empty)
    eight_bit = tmp_path / "gray8.png"
    cv2.imwrite(str(eight_bit), np.zeros((8, 8), np.uint8))
    with pytest.raises(LivePoseError, match="gray8.png: a 8-bit image with 1 channel, expected a single-channel 16"):
        read_depth_png(eight_bit)
    colour = tmp_path / "colour.png"
    cv2.imwrite(str(colour), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(LivePoseError, match="colour.png: .*3 channels.*nyu_rgb"):
        read_depth_png(colour)
    sixteen = tmp_path / "depth16.png"
    cv2.imwrite(str(sixteen), np.zeros((8, 8), np.uint16))
    with pytest.raises(LivePoseError, match="depth16.png: a 16-bit image with 1 channel, expected an 8-bit colour"):
        read_depth_png(sixteen, encoding="nyu_rgb")
    with pytest.raises(LivePoseError, match="is a folder"):
        read_depth_png(tmp_path)
    with pytest.raises(LivePoseError, match="depth encoding 'kinect'"):
        read_depth_png(sixteen, encoding="kinect")


# --------------------------------------------------------------------------------- synthetic hands


def draw_hand(palm_uv: tuple[float, float], palm_depth: float, intrinsics: Intrinsics = CAMERA,
              body_depth: float | None = 900.0) -> np.ndarray:
    """A 640x480 float32 mm frame: an open hand (palm, 4 fingers, thumb) with a forearm running to the
    bottom edge and receding by 60 mm, in front of a body plane (or nothing)."""
    height, width = intrinsics.height, intrinsics.width
    depth = np.zeros((height, width), np.float32)
    if body_depth is not None:
        depth[120:, 140:520] = body_depth
    px = intrinsics.fx / palm_depth  # pixels per mm at the hand
    u0, v0 = palm_uv
    hand = np.zeros((height, width), np.uint8)

    def pt(dx_mm: float, dy_mm: float) -> tuple[int, int]:
        return int(round(u0 + dx_mm * px)), int(round(v0 + dy_mm * px))

    cv2.ellipse(hand, pt(0, 0), (int(40 * px), int(50 * px)), 0, 0, 360, 1, -1)
    for dx in (-27, -9, 9, 27):  # fingers: 16 mm wide, 75 mm long above the palm
        cv2.line(hand, pt(dx, -40), pt(dx * 1.3, -40 - 75), 1, max(1, int(16 * px)))
    cv2.line(hand, pt(-35, 10), pt(-80, -30), 1, max(1, int(18 * px)))  # thumb
    depth[hand > 0] = palm_depth + np.float32(3.0) * np.cos(np.arange(width) / 7.0)[None, :].repeat(height, 0)[hand > 0]
    # Forearm: 60 mm wide from the wrist to the bottom edge, receding to palm_depth + 60 mm.
    wrist_v = int(round(v0 + 45 * px))
    half = int(30 * px)
    rows = np.arange(wrist_v, height)
    ramp = palm_depth + 60.0 * (rows - wrist_v) / max(height - wrist_v, 1)
    depth[wrist_v:, int(u0) - half:int(u0) + half] = ramp[:, None].astype(np.float32)
    return depth


def palm_xyz(palm_uv: tuple[float, float], palm_depth: float, intrinsics: Intrinsics = CAMERA) -> np.ndarray:
    return intrinsics.uvd_to_xyz(np.array([palm_uv[0], palm_uv[1], palm_depth]))


def test_detect_synthetic_hand_centre_sits_on_the_hand_not_the_forearm(detector: HandCentreDetector) -> None:
    depth = draw_hand((300, 220), 500.0)
    result = detector.detect(depth, CAMERA)
    assert result.found and result.reason == "" and result.method == "detect"
    assert result.uvd.shape == (3,) and result.xyz_mm.shape == (3,)
    np.testing.assert_allclose(CAMERA.uvd_to_xyz(result.uvd), result.xyz_mm, atol=1e-6)
    assert np.linalg.norm(result.xyz_mm - palm_xyz((300, 220), 500.0)) < 30.0
    assert result.uvd[1] < 220 + 45 * CAMERA.fy / 500  # above the wrist
    assert 5000 < result.pixels < 60000


def test_detect_ignores_specks_and_flying_pixels(detector: HandCentreDetector) -> None:
    depth = draw_hand((300, 220), 500.0)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 480, 40), rng.integers(0, 640, 40)
    depth[rows, cols] = rng.uniform(200, 450, 40).astype(np.float32)  # isolated near pixels
    depth[400:404, 60:64] = 300.0  # a small near blob (about 3 x 3 mm)
    # Flying pixels between the hand's right edge and the body.
    depth[200:240, 338:342] = np.linspace(520, 880, 4, dtype=np.float32)[None, :]
    result = detector.detect(depth, CAMERA)
    assert result.found
    assert np.linalg.norm(result.xyz_mm - palm_xyz((300, 220), 500.0)) < 30.0


def test_detect_free_floating_hand_and_forearm_without_background(detector: HandCentreDetector) -> None:
    # Background removed and the forearm cut off by depth (as in HANDS2017): no image-border root.
    depth = draw_hand((320, 160), 550.0, body_depth=None)
    depth[420:] = 0
    result = detector.detect(depth, CAMERA)
    assert result.found
    assert np.linalg.norm(result.xyz_mm - palm_xyz((320, 160), 550.0)) < 30.0


def test_detect_skips_a_nearer_body_entering_from_the_image_edge(detector: HandCentreDetector) -> None:
    # A shoulder / desk edge nearer than the hand, entering from the right edge and curving back
    # smoothly to the body plane: not free-standing, so the hand behind it is found instead.
    depth = draw_hand((250, 220), 560.0)
    v, u = np.mgrid[0:480, 0:640]
    side = u > 470
    depth[side] = np.minimum(900.0, 480.0 + (640 - u[side]) * 2.0 + np.abs(v[side] - 300) * 0.8)
    result = detector.detect(depth, CAMERA)
    assert result.found
    assert np.linalg.norm(result.xyz_mm - palm_xyz((250, 220), 560.0)) < 30.0


def test_detect_reports_why_nothing_was_found(detector: HandCentreDetector) -> None:
    empty = detector.detect(np.zeros((480, 640), np.float32), CAMERA)
    assert not empty.found and "no depth readings" in empty.reason
    assert np.isnan(empty.uvd).all() and np.isnan(empty.xyz_mm).all() and empty.pixels == 0

    v, u = np.mgrid[0:480, 0:640]
    wall = (800.0 + 0.2 * u + 0.1 * v).astype(np.float32)  # a flat, slightly tilted wall
    result = detector.detect(wall, CAMERA)
    assert not result.found and result.reason.startswith("no hand-like region")

    far = np.full((480, 640), 3000.0, np.float32)  # beyond max_depth_mm
    assert "no depth readings" in detector.detect(far, CAMERA).reason

    nan_frame = np.full((480, 640), np.nan, np.float32)
    assert not detector.detect(nan_frame, CAMERA).found


def test_detect_rejects_mismatched_frames_and_bad_settings(detector: HandCentreDetector) -> None:
    with pytest.raises(LivePoseError, match="320x240 but the intrinsics are for 640x480"):
        detector.detect(np.zeros((240, 320), np.float32), CAMERA)
    with pytest.raises(LivePoseError, match="expected a 2D"):
        detector.detect(np.zeros((480, 640, 3), np.float32), CAMERA)
    with pytest.raises(LivePoseError, match="max_fill"):
        HandDetectorSettings(max_fill=1.5)
    with pytest.raises(LivePoseError, match="depth range"):
        HandDetectorSettings(min_depth_mm=900, max_depth_mm=800)


def test_track_follows_a_small_move_and_reports_lost(detector: HandCentreDetector) -> None:
    first = draw_hand((300, 220), 500.0)
    found = detector.detect(first, CAMERA)
    assert found.found
    # Previous joints: the centre and points around it on the hand (palm corners, fingertips).
    px = CAMERA.fx / 500.0
    offsets = np.array([[0, 0], [-30, 30], [30, 30], [-27, -100], [-9, -110], [9, -110], [27, -100], [-75, -25]])
    joints = np.column_stack([300 + offsets[:, 0] * px, 220 + offsets[:, 1] * px, np.full(len(offsets), 500.0)])

    second = draw_hand((312, 212), 515.0)  # moved about 12 mm right, 8 mm up, 15 mm back
    tracked = detector.track(second, CAMERA, joints)
    assert tracked.found and tracked.method == "track" and tracked.reason == ""
    redetected = detector.detect(second, CAMERA)
    assert np.linalg.norm(tracked.xyz_mm - redetected.xyz_mm) < 15.0
    assert np.linalg.norm(tracked.xyz_mm - palm_xyz((312, 212), 515.0)) < 30.0

    # NaN rows (joints the network did not report) are ignored.
    with_nan = np.vstack([joints, [np.nan, np.nan, np.nan]])
    assert detector.track(second, CAMERA, with_nan).found

    gone = draw_hand((300, 220), 500.0)
    gone[gone < 700] = 0  # the hand left; only the body plane (900 mm) remains
    lost = detector.track(gone, CAMERA, joints)
    assert not lost.found and lost.reason == "lost" and lost.method == "track"
    assert detector.track(np.zeros((480, 640), np.float32), CAMERA, joints).reason == "lost"
    assert detector.track(second, CAMERA, np.full((5, 3), np.nan)).reason == "lost"


def test_centre_detection_not_found_helper() -> None:
    result = CentreDetection.not_found("why", method="track")
    assert not result.found and result.reason == "why" and result.method == "track"


# ------------------------------------------------------------------------------------------ bodies


def draw_room(person: bool, rng: np.random.Generator | None = None, person_x_mm: float = 0.0,
              back_wall_mm: float | None = 4500.0) -> tuple[np.ndarray, Intrinsics]:
    """A level camera 1 m above the floor, a back wall at ``back_wall_mm`` (None: no reading beyond 6 m of
    floor) and (optionally) a 1.7 m person at 2.45 m standing on the floor, 0.5 m wide, ``person_x_mm`` to
    the right of the optical axis."""
    camera = Intrinsics(fx=525.0, fy=525.0, cx=320.0, cy=240.0, width=640, height=480)
    v, u = np.mgrid[0:480, 0:640].astype(np.float64)
    xn, yn = (u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy
    floor = np.where(yn > 0, 1000.0 / np.maximum(yn, 1e-9), np.inf)
    depth = np.minimum(floor, back_wall_mm) if back_wall_mm is not None else np.where(floor < 6000.0, floor, 0.0)
    if person:
        x, y = xn * 2450.0 - person_x_mm, yn * 2450.0
        body = ((np.abs(x) <= 250) & (y >= -450) & (y <= 1000)) | (x ** 2 + (y + 575) ** 2 <= 125 ** 2)
        depth = np.where(body, 2450.0 - 40.0 * np.cos(np.clip(x / 250.0, -1, 1) * np.pi / 2), depth)
    if rng is not None:
        depth = depth + rng.normal(0, 6.0, depth.shape)
        depth[rng.random(depth.shape) < 0.03] = 0
    return depth.astype(np.float32), camera


@pytest.mark.parametrize("noisy", [False, True])
def test_body_box_on_a_synthetic_room(noisy: bool) -> None:
    depth, camera = draw_room(person=True, rng=np.random.default_rng(1) if noisy else None)
    result = BodyBoxDetector().detect(depth, camera)
    assert result.found, result.reason
    expected = (320 - 525 * 250 / 2450, 240 - 525 * 700 / 2450, 320 + 525 * 250 / 2450, 240 + 525 * 1000 / 2450)
    # One low-resolution step (4 px) of slack, and the floor margin (40 mm, about 9 px) at the feet.
    assert np.all(np.abs(np.array(result.box) - expected) <= [6, 6, 6, 12]), (result.box, expected)
    assert 2350 < result.centre_uvd[2] < 2500
    assert 1500 < result.height_mm < 1850 and 400 < result.width_mm < 650


def test_body_box_spans_a_dropout_band_across_the_hips() -> None:
    """A 250 mm band of missing depth across the person's hips (a sensor hole) cuts the person in two; the
    box still runs from head to feet. Before vertical gaps were bridged in millimetres it held only the legs."""
    depth, camera = draw_room(person=True)
    v, u = np.mgrid[0:480, 0:640]
    y = (v - camera.cy) / camera.fy * 2450.0
    person = depth < 2500
    depth[person & (y > -100) & (y < 150)] = 0
    result = BodyBoxDetector().detect(depth, camera)
    assert result.found, result.reason
    head_top, feet = 240 - 525 * 700 / 2450, 240 + 525 * 1000 / 2450
    assert abs(result.box[1] - head_top) <= 6 and abs(result.box[3] - feet) <= 12, result.box


def test_body_box_skips_a_strip_of_wall_seen_beside_the_person() -> None:
    """Nothing in range but the floor, a 0.8 m wide panel of wall at 4.5 m (person-sized, and larger than the
    person) and a person at 2.45 m standing in front of its right edge. The panel's outline runs along the
    person, who stands in front of it: it is not the person. Before that test the panel, the largest surface,
    was chosen."""
    depth, camera = draw_room(person=True, person_x_mm=300.0, back_wall_mm=None)
    v, u = np.mgrid[0:480, 0:640]
    xn, yn = (u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy
    # Behind the person (2.45 m) and where nothing was in range: the panel.
    panel = (np.abs(xn * 4500) <= 400) & (yn * 4500 >= -1200) & ((depth == 0) | (depth > 4500))
    depth[panel] = 4500.0
    result = BodyBoxDetector().detect(depth, camera)
    assert result.found, result.reason
    assert 2350 < result.centre_uvd[2] < 2550, result.centre_uvd
    left, right = 320 + 525 * 50 / 2450, 320 + 525 * 550 / 2450
    assert abs(result.box[0] - left) <= 8 and abs(result.box[2] - right) <= 8, result.box


def test_body_box_reports_no_person() -> None:
    depth, camera = draw_room(person=False)
    result = BodyBoxDetector().detect(depth, camera)
    assert not result.found and result.box is None and "no person-sized" in result.reason
    empty = BodyBoxDetector().detect(np.zeros((480, 640), np.float32), camera)
    assert not empty.found and "no depth readings" in empty.reason


# ----------------------------------------------------------------------------------------- real frames


def test_nyu_frame_1_centre_matches_the_published_centre(shared_data: Path, detector: HandCentreDetector) -> None:
    scipy_io = pytest.importorskip("scipy.io")
    centre = scipy_io.loadmat(shared_data / "published" / "nyu_center_test.mat")["centre_pixel"][0, 0]
    depth = read_depth_png(shared_data / "frames" / "nyu" / "depth_1_0000001.png", encoding="nyu_rgb")
    intrinsics = load_profile("nyu").intrinsics
    result = detector.detect(depth.astype(np.float32), intrinsics)
    assert result.found, result.reason
    # livepose's NYU camera has fy > 0 (y down); a distance does not depend on the sign of y.
    assert error_3d(intrinsics, result.uvd, centre) < 30.0


@pytest.mark.parametrize("entry", ANNOTATED, ids=[entry["file"] for entry in ANNOTATED])
def test_real_frame_centre_matches_annotation(shared_data: Path, detector: HandCentreDetector, entry: dict) -> None:
    profile = load_profile(entry["profile"])
    intrinsics = profile.intrinsics
    raw = read_depth_png(shared_data / "frames" / entry["file"])
    depth = raw.astype(np.float32) * np.float32(intrinsics.depth_unit_mm)  # SR305: 0.125 mm units
    result = detector.detect(depth, intrinsics)
    assert result.found, result.reason
    annotated = np.array([entry["u"], entry["v"], entry["d_mm"]], dtype=np.float64)
    assert error_3d(intrinsics, result.uvd, annotated) < 40.0


def test_track_follows_the_real_hand_through_the_sr305_sequences(shared_data: Path,
                                                                 detector: HandCentreDetector) -> None:
    # The frames are 20 camera frames apart; the hand moves up to about 10 cm between them.
    intrinsics = load_profile("sr305").intrinsics
    previous: dict[str, CentreDetection] = {}
    for entry in sorted((e for e in ANNOTATED if e["profile"] == "sr305"),
                        key=lambda e: (Path(e["file"]).parent.name, int(Path(e["file"]).stem))):
        sequence = Path(entry["file"]).parent.name
        depth = read_depth_png(shared_data / "frames" / entry["file"]).astype(np.float32) * np.float32(0.125)
        detected = detector.detect(depth, intrinsics)
        assert detected.found, (entry["file"], detected.reason)
        if sequence in previous:
            tracked = detector.track(depth, intrinsics, previous[sequence].uvd[None, :])
            assert tracked.found, entry["file"]
            assert np.linalg.norm(tracked.xyz_mm - detected.xyz_mm) < 10.0, entry["file"]
        previous[sequence] = detected


def test_body_box_fits_the_silhouette_on_noisy_synthetic_rooms() -> None:
    """48 whole-body frames with ITOP's camera and sensor noise: the detector's box against the true silhouette
    box (the person's rendered pixels), and which true joints it holds. History of the mean IoU: 0.51 (54 % of
    frames above 0.5) before the box grew over the person's depth band and walls running off the image ranked
    last; 0.72 (67 % above 0.7, feet inside 79 %, hands 74 %) with that low-resolution box; 0.85 (85 %, feet
    94 %, hands 86 %) since the box is refined at full resolution, reaches down to the floor under standing
    feet and is padded by what the sensor erodes; 0.86 (90 %, feet 98 %, hands 88 %) since growth bridges
    vertical gaps, retries with a narrower band near walls and passes over surfaces with nearer things along
    their outline."""
    frames = body_frames(48, camera="itop_side", generator=torch.Generator().manual_seed(7), whole_body=True)
    fx, fy, cx, cy = frames.intrinsics.tolist()
    camera = Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=320, height=240)
    detector = BodyBoxDetector()
    ious, inside = [], []
    for depth, part, uvd in zip(frames.depth_mm.numpy(), frames.part.numpy(), frames.joints_uvd.numpy(), strict=True):
        ys, xs = np.nonzero((part >= 0) & (part < 50))
        truth = np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=float)
        found = detector.detect(depth, camera)
        if not found.found:
            ious.append(0.0)
            inside.append(np.zeros(len(uvd), dtype=bool))
            continue
        box = np.array(found.box)
        inter = np.prod(np.clip(np.minimum(box[2:], truth[2:]) - np.maximum(box[:2], truth[:2]) + 1, 0, None))
        union = np.prod(box[2:] - box[:2] + 1) + np.prod(truth[2:] - truth[:2] + 1) - inter
        ious.append(float(inter / union))
        inside.append((uvd[:, 0] >= box[0]) & (uvd[:, 0] <= box[2]) & (uvd[:, 1] >= box[1]) & (uvd[:, 1] <= box[3]))
    ious, inside = np.array(ious), np.array(inside)
    assert ious.mean() > 0.8 and (ious > 0.7).mean() > 0.75, np.round(ious, 2).tolist()
    feet, hands = inside[:, 13:15].mean(), inside[:, 6:8].mean()  # ITOP order: 6, 7 hands; 13, 14 feet
    assert feet > 0.9 and hands > 0.8, (feet, hands)


def test_body_detector_finds_side_on_and_noise_split_people_from_the_first_frame() -> None:
    """synthetic:body sources with seeds 0-9: the person is found in every one of the first 5 frames. Seed 3
    shows a person side-on (0.12 m wide at 4.3 m, under the old 0.2 m minimum) and seed 7 one whom sensor
    noise splits into pieces each smaller than a person; both were missed before seeds grew before the size
    check."""
    from livepose.sources.synthetic import SyntheticSource

    detector = BodyBoxDetector()
    for seed in range(10):
        with SyntheticSource("body", seed=seed, paced=False) as source:  # frames 0-4, however slow
            for _ in range(5):
                frame = source.read(1.0)
                found = detector.detect(frame.depth_mm(), frame.intrinsics)
                assert found.found, (seed, frame.frame_number, found.reason)
