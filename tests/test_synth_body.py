"""Synthetic bodies: shapes, poses, forward kinematics and sphere sets (livepose.synth.body)."""

from __future__ import annotations

import pytest
import torch

from livepose.skeletons import ITOP15
from livepose.synth import body as B


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def bodies() -> B.BodySample:
    return B.sample_bodies(1024, _gen(0))


def _by_family(bodies: B.BodySample, name: str) -> torch.Tensor:
    mask = bodies.family == B.FAMILIES.index(name)
    assert mask.any(), f"no {name} body drawn"
    return mask


def test_joint_names_match_itop15() -> None:
    assert tuple(B.J) == ITOP15.joints
    assert len(B.JOINT_PARTS) == ITOP15.num_joints


def test_shapes_and_fixed_sphere_count(bodies: B.BodySample) -> None:
    assert bodies.joints.shape == (1024, 15, 3)
    assert bodies.spheres.centres.shape == (1024, B.NUM_SPHERES, 3)
    assert bodies.spheres.radii.shape == (1024, B.NUM_SPHERES)
    assert bodies.spheres.parts.shape == (B.NUM_SPHERES,)
    assert bodies.spheres.parts.dtype == torch.int64
    assert set(bodies.spheres.parts.tolist()) == set(range(len(B.PART_NAMES)))
    assert bodies.family.shape == (1024,) and bodies.family.dtype == torch.int64
    assert set(bodies.family.tolist()) == set(range(len(B.FAMILIES)))
    assert bool((bodies.spheres.radii > 0).all())
    assert bool(torch.isfinite(bodies.joints).all()) and bool(torch.isfinite(bodies.spheres.centres).all())
    # Every batch size and family gives the same sphere layout.
    small = B.sample_bodies(3, _gen(1), family="sitting")
    assert small.spheres.centres.shape == (3, B.NUM_SPHERES, 3)
    assert torch.equal(small.spheres.parts, bodies.spheres.parts)


def test_seeds_reproducible() -> None:
    a = B.sample_bodies(16, _gen(7))
    b = B.sample_bodies(16, _gen(7))
    c = B.sample_bodies(16, _gen(8))
    assert torch.equal(a.joints, b.joints)
    assert torch.equal(a.spheres.centres, b.spheres.centres) and torch.equal(a.spheres.radii, b.spheres.radii)
    assert torch.equal(a.family, b.family)
    assert not torch.allclose(a.joints, c.joints)
    # Forcing a family does not change the random stream: the shapes stay the same.
    d = B.sample_bodies(16, _gen(7), family="waving")
    assert torch.equal(d.shape.height, a.shape.height)
    assert bool((d.family == B.FAMILIES.index("waving")).all())


def test_heights_in_range_and_exact_when_standing_straight(bodies: B.BodySample) -> None:
    lo, hi = B.HEIGHT_RANGE_MM
    h = bodies.shape.height
    assert float(h.min()) >= lo and float(h.max()) <= hi
    assert float(h.max() - h.min()) > 0.8 * (hi - lo)  # the range is covered
    neutral = B.BodyPose.neutral(h.shape[0])
    joints = B.forward_kinematics(bodies.shape, neutral)
    crown = joints[:, B.J["Head"], 1] + bodies.shape.head_r
    assert torch.allclose(crown, h, atol=1.0)
    spheres = B.body_spheres(joints, bodies.shape)
    top = (spheres.centres[..., 1] + spheres.radii).max(dim=1).values
    assert torch.allclose(top, h, atol=1.0)
    bottom = (spheres.centres[..., 1] - spheres.radii).min(dim=1).values
    assert float(bottom.abs().max()) < 1.0


def test_joints_inside_their_part(bodies: B.BodySample) -> None:
    c, r, parts = bodies.spheres.centres, bodies.spheres.radii, bodies.spheres.parts
    for joint, part in enumerate(B.JOINT_PARTS):
        members = parts == part
        gap = (bodies.joints[:, joint, None] - c[:, members]).norm(dim=-1) - r[:, members]
        worst = float(gap.min(dim=1).values.max())
        assert worst <= 1e-3, f"{ITOP15.joints[joint]} lies {worst:.1f} mm outside part {B.PART_NAMES[part]}"


def test_left_and_right_sides(bodies: B.BodySample) -> None:
    j = bodies.joints
    x = j[..., 0]
    for right, left in ITOP15.flip_pairs:
        names = (ITOP15.joints[right], ITOP15.joints[left])
        assert names[0].startswith("R") and names[1].startswith("L")
    # The person's right is -x: shoulders, hips, knees and feet in every pose.
    for name in ("Shoulder", "Hip", "Knee", "Foot"):
        assert bool((x[:, B.J["R" + name]] < x[:, B.J["L" + name]]).all()), name
    # Arms too when standing relaxed.
    standing = _by_family(bodies, "standing")
    for name in ("Elbow", "Hand"):
        assert bool((x[standing, B.J["R" + name]] < 0).all()) and bool((x[standing, B.J["L" + name]] > 0).all())
    # Sphere parts follow: right arm and leg on -x when standing.
    c, parts = bodies.spheres.centres[standing], bodies.spheres.parts
    for part, sign in ((B.RIGHT_ARM, -1), (B.LEFT_ARM, 1), (B.RIGHT_LEG, -1), (B.LEFT_LEG, 1)):
        assert bool((c[:, parts == part, 0].mean(dim=1) * sign > 0).all())


def test_facing_minus_z(bodies: B.BodySample) -> None:
    j = bodies.joints
    sitting = _by_family(bodies, "sitting")
    assert bool((j[sitting, B.J["RKnee"], 2] < j[sitting, B.J["RHip"], 2] - 200).all())
    assert bool((j[sitting, B.J["LKnee"], 2] < j[sitting, B.J["LHip"], 2] - 200).all())
    # Reaching forward, crossing or waving never puts a hand far behind the back; the nose side is -z.
    bending = _by_family(bodies, "bending")
    assert bool((j[bending, B.J["Head"], 2] < j[bending, B.J["Torso"], 2]).all())


def test_sitting_thighs_level_torso_upright(bodies: B.BodySample) -> None:
    j = bodies.joints[_by_family(bodies, "sitting")]
    for side in ("R", "L"):
        thigh = j[:, B.J[side + "Knee"]] - j[:, B.J[side + "Hip"]]
        assert bool((thigh[:, 1].abs() < 0.3 * thigh.norm(dim=-1)).all())
        shank = j[:, B.J[side + "Foot"]] - j[:, B.J[side + "Knee"]]
        assert bool((shank[:, 1] < -0.8 * shank.norm(dim=-1)).all())  # shank near vertical
    pelvis = 0.5 * (j[:, B.J["RHip"]] + j[:, B.J["LHip"]])
    spine = j[:, B.J["Neck"]] - pelvis
    assert bool((spine[:, 1] > 0.9 * spine.norm(dim=-1)).all())
    seat = bodies.seat[_by_family(bodies, "sitting")]
    assert bool((seat > 250).all()) and bool((seat < 650).all())
    # the seat is under the buttocks: the lowest torso sphere reaches it
    torso = bodies.spheres.parts == B.TORSO
    sitting = _by_family(bodies, "sitting")
    c, r = bodies.spheres.centres[sitting][:, torso], bodies.spheres.radii[sitting][:, torso]
    assert torch.allclose((c[..., 1] - r).min(dim=1).values, seat, atol=25.0)


def test_feet_on_the_floor(bodies: B.BodySample) -> None:
    c, r = bodies.spheres.centres, bodies.spheres.radii
    lowest = (c[..., 1] - r).min(dim=1).values
    assert float(lowest.abs().max()) < 1e-2  # every family: the lowest point is on the floor
    ankles = bodies.joints[:, [B.J["RFoot"], B.J["LFoot"]]]
    # origin between the ankles
    assert float(ankles[..., [0, 2]].mean(dim=1).abs().max()) < 1e-2
    for name in ("standing", "reaching", "arms_crossed", "waving", "bending", "sitting"):
        mask = _by_family(bodies, name)
        soles = ankles[mask, :, 1] - bodies.shape.ankle_h[mask, None]
        assert float(soles.max()) < 50.0, name  # both feet down (within a few cm)
    # Nothing below the floor, and the standing head is high.
    standing = _by_family(bodies, "standing")
    assert bool((bodies.joints[standing, B.J["Head"], 1] > 0.85 * bodies.shape.height[standing]).all())


def test_anatomy_plausible(bodies: B.BodySample) -> None:
    j = bodies.joints
    standing = _by_family(bodies, "standing")
    js = j[standing]
    y = js[..., 1]
    # Vertical order when standing: head > neck > torso > hips > knees > feet.
    assert bool((y[:, B.J["Head"]] > y[:, B.J["Neck"]]).all())
    assert bool((y[:, B.J["Neck"]] > y[:, B.J["Torso"]]).all())
    assert bool((y[:, B.J["Torso"]] > y[:, B.J["RHip"]]).all())
    assert bool((y[:, B.J["RHip"]] > y[:, B.J["RKnee"]]).all())
    assert bool((y[:, B.J["RKnee"]] > y[:, B.J["RFoot"]]).all())
    shoulders = (js[:, B.J["LShoulder"]] - js[:, B.J["RShoulder"]]).norm(dim=-1)
    hips = (js[:, B.J["LHip"]] - js[:, B.J["RHip"]]).norm(dim=-1)
    assert bool((shoulders > hips).all())
    assert bool((shoulders > 250).all()) and bool((shoulders < 500).all())
    # The torso is wider than deep.
    assert bool((bodies.shape.chest_a > bodies.shape.chest_b).all())
    assert bool((bodies.shape.hip_a > bodies.shape.hip_b).all())


def test_chains_dense(bodies: B.BodySample) -> None:
    c, r = bodies.spheres.centres, bodies.spheres.radii
    gap = (c[:, 1:] - c[:, :-1]).norm(dim=-1)
    smaller = torch.minimum(r[:, 1:], r[:, :-1])
    # consecutive spheres inside a chain: boundaries between chains and torso rows jump, so look at the median
    ratio = gap / smaller
    assert float(ratio.median()) < 0.8


def test_pose_angles_within_limits() -> None:
    pose = B.sample_pose(512, _gen(3))
    for key, (lo, hi) in B.LIMITS_DEG.items():
        v = torch.rad2deg(getattr(pose, key))
        assert float(v.min()) >= lo - 1e-4 and float(v.max()) <= hi + 1e-4, key
    with pytest.raises(ValueError):
        B.sample_pose(2, _gen(0), family="dancing")


def test_spheres_transform_with_geometry() -> None:
    s = B.sample_bodies(4, _gen(5))
    rot = torch.eye(3).expand(4, 3, 3)
    moved = s.spheres.transformed(rot, torch.tensor([0.0, 0.0, 3000.0]).expand(4, 3))
    assert torch.allclose(moved.centres[..., 2], s.spheres.centres[..., 2] + 3000.0)
