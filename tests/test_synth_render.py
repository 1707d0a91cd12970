"""The sphere renderer against analytic geometry, and the sensor models' measurable properties."""

from __future__ import annotations

import math

import torch

from livepose.synth.render import crop_camera, render
from livepose.synth.sensors import SENSORS, apply_sensor


def one_sphere(z: float = 500.0, radius: float = 50.0):
    return torch.tensor([[[0.0, 0.0, z]]]), torch.tensor([[radius]]), torch.tensor([3])


def test_sphere_depth_is_exact() -> None:
    centres, radii, parts = one_sphere()
    camera = torch.tensor([[500.0, 500.0, 64.0, 64.0]])
    out = render(centres, radii, parts, camera, 128, 128)
    assert float(out.depth[0, 64, 64]) == 450.0
    # A ray 40 px right of the centre: solve |t d - c| = r by hand.
    rx = 40 / 500
    dd, dc, cc = 1 + rx * rx, 500.0, 500.0**2 - 50.0**2
    expected = (dc - math.sqrt(dc * dc - dd * cc)) / dd
    assert abs(float(out.depth[0, 64, 104]) - expected) < 1e-3
    assert int(out.part[0, 64, 64]) == 3 and int(out.part[0, 0, 0]) == -1 and float(out.depth[0, 0, 0]) == 0.0
    # The silhouette radius: r / sqrt(z^2 - r^2) * f = 50.25 px.
    row = out.depth[0, 64] > 0
    width = int(row.sum())
    assert abs(width - 2 * 500 * 50 / math.sqrt(500**2 - 50**2)) <= 2


def test_nearest_surface_wins_and_planes() -> None:
    centres = torch.tensor([[[0.0, 0.0, 500.0], [0.0, 0.0, 420.0]]])
    radii = torch.tensor([[50.0, 10.0]])
    parts = torch.tensor([1, 2])
    camera = torch.tensor([[500.0, 500.0, 128.0, 128.0]])
    wall = torch.tensor([[[0.0, 0.0, 1.0, 800.0]]])
    out = render(centres, radii, parts, camera, 256, 256, planes=wall, plane_parts=torch.tensor([60]))
    assert float(out.depth[0, 128, 128]) == 410.0 and int(out.part[0, 128, 128]) == 2
    assert 450.0 <= float(out.depth[0, 128, 160]) < 500.0 and int(out.part[0, 128, 160]) == 1
    assert float(out.depth[0, 0, 0]) == 800.0 and int(out.part[0, 0, 0]) == 60


def test_crop_camera_sees_the_same_point() -> None:
    fx = fy = torch.tensor([600.0])
    cx, cy = torch.tensor([320.0]), torch.tensor([240.0])
    box = torch.tensor([[200.0, 100.0, 376.0, 276.0]])
    virtual = crop_camera(fx, fy, cx, cy, box, 176)
    point = torch.tensor([30.0, -20.0, 500.0])
    u_real = 600 * point[0] / point[2] + 320
    u_crop = virtual[0, 0] * point[0] / point[2] + virtual[0, 2]
    assert abs(float((u_real - 200) * 176 / 176 - u_crop)) < 1e-4


def flat_wall(z: float, size: int = 96, batch: int = 2) -> torch.Tensor:
    return torch.full((batch, size, size), z)


def test_stereo_noise_grows_with_distance_squared() -> None:
    sensor = SENSORS["d435_640"]
    focal = torch.full((2,), 380.0)
    spread = []
    for z in (500.0, 1000.0):
        noisy = apply_sensor(flat_wall(z), sensor, focal, torch.ones(2), torch.Generator().manual_seed(0))
        valid = noisy > 0
        spread.append(float(noisy[valid].std()))
    ratio = spread[1] / spread[0]
    assert 2.5 < ratio < 6.0, ratio  # ideal 4 (z^2); quantisation and holes blur it a little


def test_tof_noise_grows_linearly_and_sr305_quantises_to_its_unit() -> None:
    sensor = SENSORS["azure_kinect_nfov"]
    spread = []
    for z in (1000.0, 3000.0):
        noisy = apply_sensor(flat_wall(z), sensor, torch.full((2,), 500.0), torch.ones(2),
                             torch.Generator().manual_seed(1))
        spread.append(float(noisy[noisy > 0].std()))
    assert spread[1] > 1.5 * spread[0]
    sr = apply_sensor(flat_wall(400.0), SENSORS["sr305"], torch.full((2,), 476.0), torch.ones(2),
                      torch.Generator().manual_seed(2))
    values = sr[sr > 0]
    assert torch.equal(values, torch.round(values / 0.125) * 0.125)
    assert (values != torch.round(values)).any()  # finer than a millimetre


def test_same_generator_same_noise_and_edges_lose_pixels() -> None:
    centres, radii, parts = one_sphere(600.0, 60.0)
    camera = torch.tensor([[400.0, 400.0, 48.0, 48.0]])
    wall = torch.tensor([[[0.0, 0.0, 1.0, 1000.0]]])
    clean = render(centres, radii, parts, camera, 96, 96, planes=wall).depth
    a = apply_sensor(clean, SENSORS["d435_640"], torch.tensor([400.0]), torch.ones(1), torch.Generator().manual_seed(5))
    b = apply_sensor(clean, SENSORS["d435_640"], torch.tensor([400.0]), torch.ones(1), torch.Generator().manual_seed(5))
    c = apply_sensor(clean, SENSORS["d435_640"], torch.tensor([400.0]), torch.ones(1), torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # The stereo shadow: background pixels just right of the sphere's silhouette have no depth; left ones do.
    row = a[0, 48]
    sphere_cols = (clean[0, 48] < 900).nonzero().flatten()
    right_edge, left_edge = int(sphere_cols.max()), int(sphere_cols.min())
    assert (row[right_edge + 2:right_edge + 6] == 0).float().mean() > 0.7
    assert (row[left_edge - 6:left_edge - 2] > 0).float().mean() > 0.7
