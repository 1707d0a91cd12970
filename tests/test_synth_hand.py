"""The synthetic hand: shapes, poses, kinematics, sphere mesh and layout conversions."""

from __future__ import annotations

import math

import pytest
import torch

from livepose.skeletons import HAND21, HANDS21, ICVL16, MSRA21, NYU14
from livepose.synth import hand as H
from livepose.synth import layouts
from livepose.synth.geometry import SPHERE_SPACING, SphereSet, bone_spheres, chain_count


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def hands() -> H.HandSample:
    return H.sample_hands(1024, _gen(0))


def _angle_deg(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    return torch.rad2deg(torch.acos(cos.clamp(-1.0, 1.0)))


def _bone_slices() -> list[tuple[str, int, slice]]:
    """(finger, bone, slice into the sphere set) for every finger bone chain, in hand_spheres' order."""
    start = 2 * H.FOREARM_COUNT + H.PALM_ROWS * H.PALM_COLS + H.WEB_ROWS * H.WEB_COLS
    out = []
    for f, name in enumerate(H.FINGERS):
        for b in range(3):
            n = H.CHAIN_COUNTS[f][b]
            out.append((name, b, slice(start, start + n)))
            start += n
    return out


# --- geometry ---------------------------------------------------------------------------------------


def test_bone_spheres_and_sphere_set_ops() -> None:
    start = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    end = torch.tensor([[0.0, 10.0, 0.0], [1.0, 2.0, 13.0]])
    centres, radii = bone_spheres(start, end, torch.tensor([4.0, 6.0]), torch.tensor([2.0, 6.0]), 6)
    assert centres.shape == (2, 6, 3) and radii.shape == (2, 6)
    torch.testing.assert_close(centres[:, 0], start)
    torch.testing.assert_close(centres[:, -1], end)
    torch.testing.assert_close(radii[0], torch.linspace(4.0, 2.0, 6))
    assert chain_count(10.0, spacing=0.5) == 21  # 10 radii long at <= half a radius apart
    assert chain_count(10.0) == math.ceil(10.0 / SPHERE_SPACING) + 1

    parts = torch.zeros(6, dtype=torch.int64)
    spheres = SphereSet(centres, radii, parts)
    both = spheres.concat(SphereSet(centres[:, :2], radii[:, :2], torch.ones(2, dtype=torch.int64)))
    assert both.centres.shape == (2, 8, 3) and both.parts.tolist() == [0] * 6 + [1] * 2
    rotation = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).expand(2, 3, 3)
    moved = spheres.transformed(rotation, torch.tensor([[0.0, 0.0, 500.0], [1.0, 1.0, 1.0]]))
    torch.testing.assert_close(moved.centres[0, -1], torch.tensor([-10.0, 0.0, 500.0]))
    torch.testing.assert_close(moved.radii, radii)
    with pytest.raises(ValueError):
        SphereSet(centres, radii[:, :3], parts)


# --- shapes and poses -------------------------------------------------------------------------------


def test_shape_ranges(hands: H.HandSample) -> None:
    shape = hands.shape
    assert shape.palm_length.min() >= H.PALM_LENGTH_RANGE_MM[0] and shape.palm_length.max() <= H.PALM_LENGTH_RANGE_MM[1]
    ratio = shape.palm_width / shape.palm_length
    assert ratio.min() >= H.PALM_WIDTH_RATIO_RANGE[0] - 1e-6 and ratio.max() <= H.PALM_WIDTH_RATIO_RANGE[1] + 1e-6
    # Both children and adults occur.
    assert (shape.palm_length < 80).float().mean() > 0.1 and (shape.palm_length > 95).float().mean() > 0.1
    # Adult-sized hands: index and middle radii typically ~9-12.5 mm at the MCP, ~6-9 mm at the tip (the thickness
    # range reaches 1.35 x the reference radii: real SR305 fingers read up to 21 mm across).
    adult = (shape.palm_length - H.REFERENCE_PALM_LENGTH_MM).abs() < 3
    radii = shape.joint_radii[adult][:, 1:3]
    assert 9.0 < radii[..., 0].median() < 12.5 and 6.0 < radii[..., 3].median() < 9.0
    assert radii[..., 0].min() > 7.5 and radii[..., 0].max() < 15.0
    assert radii[..., 3].min() > 5.0 and radii[..., 3].max() < 10.5
    assert (shape.joint_radii[..., :-1] > shape.joint_radii[..., 1:]).all()  # tapering toward the tips


def test_sampled_poses_within_limits() -> None:
    low = torch.tensor([lo for lo, _ in H.JOINT_LIMITS.values()])
    high = torch.tensor([hi for _, hi in H.JOINT_LIMITS.values()])
    for family in (None, "independent", *H.FAMILIES):
        pose = H.sample_pose(500, _gen(3), family=family)
        assert pose.angles.shape == (500, H.NUM_DOF)
        assert (pose.angles >= low - 1e-4).all() and (pose.angles <= high + 1e-4).all(), family
    mixed = H.sample_pose(4000, _gen(4))
    assert 0.4 < (mixed.family >= 0).float().mean() < 0.6
    assert set(mixed.family[mixed.family >= 0].tolist()) == set(range(len(H.FAMILIES)))
    # DIPs follow their PIPs.
    pip = mixed.angles[:, [H.DOF_INDEX[f"{f}_pip_flex"] for f in H.LONG_FINGERS]]
    dip = mixed.angles[:, [H.DOF_INDEX[f"{f}_dip_flex"] for f in H.LONG_FINGERS]]
    assert torch.corrcoef(torch.stack((pip.flatten(), dip.flatten())))[0, 1] > 0.9
    with pytest.raises(ValueError):
        H.sample_pose(2, _gen(0), family="jazz_hands")


def test_joint_angles_recovered_from_joints(hands: H.HandSample) -> None:
    """The angle between consecutive phalanges is the sampled PIP / DIP / thumb IP flexion."""
    j, pose = hands.joints, hands.pose
    for name in H.LONG_FINGERS:
        mcp, pip, dip, tip = (j[:, i] for i in H.FINGER_JOINTS[name])
        torch.testing.assert_close(_angle_deg(pip - mcp, dip - pip), pose[f"{name}_pip_flex"].abs(), atol=0.05, rtol=0)
        torch.testing.assert_close(_angle_deg(dip - pip, tip - dip), pose[f"{name}_dip_flex"].abs(), atol=0.05, rtol=0)
    cmc, mcp, ip, tip = (j[:, i] for i in H.FINGER_JOINTS["thumb"])
    torch.testing.assert_close(_angle_deg(mcp - cmc, ip - mcp), pose["thumb_mcp_flex"].abs(), atol=0.05, rtol=0)
    torch.testing.assert_close(_angle_deg(ip - mcp, tip - ip), pose["thumb_ip_flex"].abs(), atol=0.05, rtol=0)


def test_bone_lengths(hands: H.HandSample) -> None:
    j, shape = hands.joints, hands.shape
    lengths = shape.bone_lengths
    for f, name in enumerate(H.FINGERS):
        ids = H.FINGER_JOINTS[name]
        for b in range(3):
            measured = (j[:, ids[b + 1]] - j[:, ids[b]]).norm(dim=-1)
            torch.testing.assert_close(measured, lengths[:, f, b], atol=1e-3, rtol=1e-5)
            ref = H.REFERENCE_BONE_LENGTHS_MM[f][b]
            low = ref * H.PALM_LENGTH_RANGE_MM[0] / H.REFERENCE_PALM_LENGTH_MM * H.FINGER_LENGTH_RANGE[0] \
                * H.BONE_LENGTH_JITTER[0]
            high = ref * H.PALM_LENGTH_RANGE_MM[1] / H.REFERENCE_PALM_LENGTH_MM * H.FINGER_LENGTH_RANGE[1] \
                * H.BONE_LENGTH_JITTER[1]
            assert measured.min() >= low - 1e-3 and measured.max() <= high + 1e-3, (name, b)
    # The palm length is the wrist to middle-MCP distance, whatever the pose.
    torch.testing.assert_close(j[:, 9].norm(dim=-1), shape.palm_length, atol=1e-3, rtol=1e-5)
    torch.testing.assert_close(j[:, 0], torch.zeros_like(j[:, 0]))


# --- frame, sides, determinism ----------------------------------------------------------------------


def test_hand_frame_convention() -> None:
    """Right hand: fingers +y, palm toward -z, thumb on -x; fingers flex toward -z (the palm side)."""
    sample = H.sample_hands(64, _gen(5), family="open", left_fraction=0.0)
    j = sample.joints
    assert (j[:, 12, 1] > j[:, 9, 1] + 50).all()  # middle tip above its MCP
    assert (j[:, 4, 0] < -20).all() and (j[:, 17, 0] > 20).all()  # thumb -x, little +x
    fist = H.sample_hands(64, _gen(5), family="fist", left_fraction=0.0)
    # In a fist the middle phalanges sit on the palm side (-z) of the MCPs.
    assert (fist.joints[:, [6, 10, 14, 18], 2] < fist.joints[:, [5, 9, 13, 17], 2] - 20).all()
    # Turned 180 degrees about z (fingers up in a y-down image, palm still toward the camera), a right
    # hand shows its thumb on the image's right (+x), a left hand on the left.
    turn = torch.diag(torch.tensor([-1.0, -1.0, 1.0]))
    seen = j @ turn.T
    assert (seen[:, 12, 1] < 0).all() and (seen[:, 4, 0] > seen[:, 20, 0]).all()
    left = H.sample_hands(64, _gen(5), family="open", left_fraction=1.0).joints @ turn.T
    assert (left[:, 4, 0] < left[:, 20, 0]).all()
    # The forearm leaves toward -y, and stays 300 mm long.
    forearm = sample.spheres.centres[:, sample.spheres.parts == H.PART_FOREARM]
    assert (forearm[:, :, 1].min(dim=1).values < -200).all()


def test_left_is_mirror_of_right() -> None:
    shape = H.sample_shape(32, _gen(6))
    pose = H.sample_pose(32, _gen(7))
    right = torch.zeros(32, dtype=torch.bool)
    left = torch.ones(32, dtype=torch.bool)
    j_r = H.forward_kinematics(shape, pose, right)
    j_l = H.forward_kinematics(shape, pose, left)
    mirror = torch.tensor([-1.0, 1.0, 1.0])
    torch.testing.assert_close(j_l, j_r * mirror)
    s_r = H.hand_spheres(j_r, shape, right, pose)
    s_l = H.hand_spheres(j_l, shape, left, pose)
    torch.testing.assert_close(s_l.centres, s_r.centres * mirror)
    torch.testing.assert_close(s_l.radii, s_r.radii)
    # A mixed batch is the same as the two separate ones.
    side = torch.arange(32) % 2 == 0
    j_mixed = H.forward_kinematics(shape, pose, side)
    torch.testing.assert_close(j_mixed, torch.where(side[:, None, None], j_l, j_r))


def test_same_seed_same_hands_different_seed_different() -> None:
    a = H.sample_hands(16, _gen(11))
    b = H.sample_hands(16, _gen(11))
    c = H.sample_hands(16, _gen(12))
    assert torch.equal(a.joints, b.joints) and torch.equal(a.spheres.centres, b.spheres.centres)
    assert torch.equal(a.spheres.radii, b.spheres.radii) and torch.equal(a.side, b.side)
    assert torch.equal(a.family, b.family)
    assert (a.joints - c.joints).abs().max() > 1.0
    assert (a.spheres.radii - c.spheres.radii).abs().max() > 0.1


# --- the sphere mesh --------------------------------------------------------------------------------


def test_sphere_set_layout(hands: H.HandSample) -> None:
    spheres = hands.spheres
    batch, count = spheres.radii.shape
    assert spheres.centres.shape == (batch, count, 3) and spheres.parts.shape == (count,)
    assert spheres.parts.dtype == torch.int64 and set(spheres.parts.tolist()) == set(range(7))
    assert (spheres.radii > 0).all() and torch.isfinite(spheres.centres).all()
    # Every sample has the same number of spheres, whatever its shape and pose.
    assert H.sample_hands(3, _gen(1), family="fist").spheres.radii.shape[1] == count
    # Finger chains: consecutive spheres no further apart than SPHERE_SPACING x the smaller radius.
    for name, b, sl in _bone_slices():
        assert (spheres.parts[sl] == H.FINGER_PART[name]).all()
        c, r = spheres.centres[:, sl], spheres.radii[:, sl]
        spacing = (c[:, 1:] - c[:, :-1]).norm(dim=-1)
        assert (spacing <= SPHERE_SPACING * torch.minimum(r[:, 1:], r[:, :-1]) + 1e-4).all(), (name, b)
    # Forearm: reaches 300 mm from the wrist, 2 x ~20-30 mm radius across.
    fore = spheres.parts == H.PART_FOREARM
    reach = spheres.centres[:, fore].norm(dim=-1).max(dim=1).values
    assert (reach > 295).all() and (reach < 320).all()


def _inside_margin(joints: torch.Tensor, spheres: SphereSet, parts: tuple[int, ...]) -> torch.Tensor:
    """(B,) min over the spheres of the given parts of |joint - centre| - radius (<= 0: inside the union)."""
    mask = torch.isin(spheres.parts, torch.tensor(parts))
    dist = (joints[:, None] - spheres.centres[:, mask]).norm(dim=-1) - spheres.radii[:, mask]
    return dist.min(dim=1).values


def test_joints_inside_their_own_part(hands: H.HandSample) -> None:
    j, s = hands.joints, hands.spheres
    assert (_inside_margin(j[:, 0], s, (H.PART_PALM,)) < 0).all()
    for name in H.FINGERS:
        ids = H.FINGER_JOINTS[name]
        base_parts = (H.FINGER_PART[name],) if name == "thumb" else (H.PART_PALM,)
        assert (_inside_margin(j[:, ids[0]], s, base_parts) < 0).all(), name
        for i in ids:
            assert (_inside_margin(j[:, i], s, (H.FINGER_PART[name],)) <= 1e-4).all(), (name, i)


def test_fingertips_end_the_finger(hands: H.HandSample) -> None:
    """Each tip joint lies just inside the end of its finger: the skin is ~TIP_INSET x r_tip further on."""
    j, s, radii = hands.joints, hands.spheres, hands.shape.joint_radii
    last_bone = {name: sl for name, b, sl in _bone_slices() if b == 2}
    for f, name in enumerate(H.FINGERS):
        dip, tip = j[:, H.FINGER_JOINTS[name][2]], j[:, H.FINGER_JOINTS[name][3]]
        direction = (tip - dip) / (tip - dip).norm(dim=-1, keepdim=True)
        centres, sphere_radii = s.centres[:, last_bone[name]], s.radii[:, last_bone[name]]
        # The tip joint is inside the chain's last sphere ...
        assert ((tip - centres[:, -1]).norm(dim=-1) < sphere_radii[:, -1]).all()
        # ... and the last bone's surface reaches TIP_INSET x r_tip past it along the bone.
        reach = ((centres - tip[:, None]) * direction[:, None]).sum(-1) + sphere_radii
        beyond = reach.max(dim=1).values
        r_tip = radii[:, f, 3]
        torch.testing.assert_close(beyond, H.TIP_INSET * r_tip, atol=1e-3, rtol=1e-4)
        assert (beyond > 1.0).all() and (beyond < 6.0).all()


# --- pose families ----------------------------------------------------------------------------------


def _tip_reach(sample: H.HandSample) -> torch.Tensor:
    """(B, 4) distance of the index..little tips from the palm centre, in palm lengths."""
    tips = sample.joints[:, [8, 12, 16, 20]]
    return (tips - sample.palm_centre[:, None]).norm(dim=-1) / sample.shape.palm_length[:, None]


def test_family_poses_look_right() -> None:
    fist = _tip_reach(H.sample_hands(300, _gen(21), family="fist"))
    opened = _tip_reach(H.sample_hands(300, _gen(22), family="open"))
    point = _tip_reach(H.sample_hands(300, _gen(23), family="point"))
    victory = _tip_reach(H.sample_hands(300, _gen(24), family="victory"))
    assert fist.max() < 0.75 and opened.min() > 0.8
    assert point[:, 0].min() > 0.95 and point[:, 1:].max() < 0.75
    assert victory[:, :2].min() > 0.95 and victory[:, 2:].max() < 0.75
    pinch = H.sample_hands(300, _gen(25), family="pinch")
    gap = (pinch.joints[:, 4] - pinch.joints[:, 8]).norm(dim=-1)
    assert gap.median() < 20 and gap.quantile(0.9) < 40
    thumbs_up = H.sample_hands(300, _gen(26), family="thumbs_up")
    # The thumb tip is the highest point (+y) of the hand in a thumbs-up.
    assert (thumbs_up.joints[:, 4, 1] > thumbs_up.joints[:, 5:, 1].max(dim=1).values).float().mean() > 0.95
    spread = H.sample_hands(300, _gen(27), family="spread")
    assert ((spread.joints[:, 8] - spread.joints[:, 20]).norm(dim=-1)
            > (H.sample_hands(300, _gen(27), family="open").joints[:, 8]
               - H.sample_hands(300, _gen(27), family="open").joints[:, 20]).norm(dim=-1)).float().mean() > 0.9


# --- layouts ----------------------------------------------------------------------------------------


def test_layout_conversions(hands: H.HandSample) -> None:
    j = hands.joints
    for name, layout in (("nyu14", NYU14), ("icvl16", ICVL16), ("hands21", HANDS21), ("msra21", MSRA21),
                         ("hand21", HAND21)):
        out = layouts.convert(j, name)
        assert out.shape == (j.shape[0], layout.num_joints, 3)
        assert layouts.convert(j[:6].view(2, 3, 21, 3), name).shape == (2, 3, layout.num_joints, 3)
    nyu = layouts.convert(j, "nyu14")
    idx = NYU14.joints.index
    torch.testing.assert_close(nyu[:, idx("P1")], j[:, 20])
    torch.testing.assert_close(nyu[:, idx("P2")], j[:, 18])
    torch.testing.assert_close(nyu[:, idx("T3")], j[:, 2])
    torch.testing.assert_close(nyu[:, idx("C")], j[:, [0, 5, 9, 13, 17]].mean(1))
    # W1 is on the little-finger side, W2 on the thumb side, ~29 mm apart on an average adult hand.
    w1, w2 = nyu[:, idx("W1")], nyu[:, idx("W2")]
    assert ((w1 - j[:, 17]).norm(dim=-1) < (w2 - j[:, 17]).norm(dim=-1)).all()
    torch.testing.assert_close((w1 + w2) / 2, j[:, 0])
    adult = (hands.shape.palm_length - 89).abs() < 4
    assert 22 < (w1 - w2).norm(dim=-1)[adult].median() < 36
    fixed = layouts.convert(j, "nyu14", wrist_halfwidth_mm=15.0)
    torch.testing.assert_close((fixed[:, idx("W1")] - fixed[:, idx("W2")]).norm(dim=-1),
                               torch.full((j.shape[0],), 30.0))

    hands21 = layouts.convert(j, "hands21")
    expected = [0, 1, 5, 9, 13, 17, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20]
    torch.testing.assert_close(hands21, j[:, expected])
    icvl = layouts.convert(j, "icvl16")
    torch.testing.assert_close(icvl[:, 0], hands.palm_centre)
    torch.testing.assert_close(icvl[:, ICVL16.joints.index("Pinky.T")], j[:, 20])
    torch.testing.assert_close(layouts.convert(j, "hand21"), j)
    with pytest.raises(ValueError):
        layouts.convert(j, "itop15")


# --- devices ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:
    cpu = H.sample_hands(64, _gen(31))
    gpu = H.sample_hands(64, _gen(31), device="cuda")  # a CPU generator: the same random numbers
    assert gpu.joints.is_cuda and gpu.spheres.parts.is_cuda
    torch.testing.assert_close(gpu.joints.cpu(), cpu.joints, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(gpu.spheres.centres.cpu(), cpu.spheres.centres, atol=1e-3, rtol=1e-4)
    cuda_gen = torch.Generator(device="cuda").manual_seed(5)
    a = H.sample_hands(8, cuda_gen, device="cuda")
    b = H.sample_hands(8, torch.Generator(device="cuda").manual_seed(5), device="cuda")
    assert torch.equal(a.joints, b.joints)


def test_angles_are_degrees() -> None:
    assert max(hi for _, hi in H.JOINT_LIMITS.values()) > 2 * math.pi  # degrees, not radians
