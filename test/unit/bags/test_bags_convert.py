"""bag-to-dataset on bags written in the test: exact samples, dt values and action mappings."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from liquid_ros.bags import messages as bm
from liquid_ros.bags.convert import bag_to_dataset
from liquid_ros.bags.sync import SyncConfig, command_to_action
from liquid_ros.bags.writer import BagWriter
from liquid_ros.cli.bag_to_dataset import main
from liquid_ros.control.quadrotor import GRAVITY
from liquid_ros.control.rotation import quat_from_euler, quat_to_matrix
from liquid_ros.train.dataset import load_dataset, read_manifest

BASE = 1_700_000_000_000_000_000  # a wall-clock epoch, as a real recording has
IMAGES = [0.000, 0.031, 0.072, 0.100, 0.139, 0.400, 1.500, 1.530, 1.561]
COMMANDS = [0.000, 0.035, 0.072, 0.120, 0.150, 1.505, 1.540, 1.570]
ODOM = [round(0.01 * k, 3) for k in range(21)] + [round(1.5 + 0.01 * k, 3) for k in range(11)]


def ns(t: float) -> int:
    return BASE + int(round(t * 1e9))


def odom_velocity(t: float) -> np.ndarray:
    return np.array([t, -2.0 * t, 0.5])


def command_action(i: int) -> np.ndarray:
    return np.array([0.1 * i, -0.1 * i, 0.05 * i, 0.01 * i])


def write_known_bag(path, storage: str) -> None:
    events = [(t, 0, k) for k, t in enumerate(IMAGES)] + [
        (t, 1, k) for k, t in enumerate(ODOM)] + [(t, 2, k) for k, t in enumerate(COMMANDS)]
    with BagWriter(path, storage) as bag:
        for t, kind, k in sorted(events):
            if kind == 0:
                img = np.full((64, 64, 3), k, np.uint8)
                img[0, 0] = (k, 2 * k, 3 * k)
                bag.write("/camera/image_raw", ns(t), bm.image_msg(ns(t), img))
            elif kind == 1:
                bag.write("/odom", ns(t), bm.odometry_msg(
                    ns(t), [t, 0.0, 1.0], quat_from_euler(0.0, 0.0, 0.3), odom_velocity(t),
                    [0.0, 0.0, 0.1]))
            else:
                bag.write("/cmd", ns(t), bm.accel_msg(ns(t), command_action(k)))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_known_bag_converts_to_exact_samples_and_dt(tmp_path, storage):
    bag, out = tmp_path / "bag", tmp_path / "data"
    write_known_bag(bag, storage)
    manifest, reports = bag_to_dataset([bag], out, command_topic="/cmd",
                                       sync=SyncConfig(), read=_quiet())
    # The image at 0.400 s has no odometry within 0.05 s; the gap to 1.500 s splits episodes.
    assert reports[0]["dropped"] == {"no_odom": 1, "no_command": 0, "short_episode": 0}
    assert manifest["num_episodes"] == 2 and manifest["num_steps"] == 8
    ep0, ep1 = load_dataset(out)
    np.testing.assert_array_equal(ep0.images[:, 1, 1, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(ep1.images[:, 1, 1, 0], [6, 7, 8])
    np.testing.assert_array_equal(ep1.images[1, 0, 0], [7, 14, 21])
    # Real, irregular steps; dt[0] is the episode's median step.
    np.testing.assert_allclose(ep0.dt, [0.035, 0.031, 0.041, 0.028, 0.039], atol=1e-7)
    np.testing.assert_allclose(ep1.dt, [0.0305, 0.030, 0.031], atol=1e-7)
    np.testing.assert_allclose(ep0.timestamps, [0.0, 0.031, 0.072, 0.100, 0.139], atol=1e-9)
    # First command at or after each image: 0->0, .031->.035, .072->.072, .100->.120, ...
    np.testing.assert_allclose(ep0.actions, [command_action(i) for i in range(5)], atol=1e-7)
    np.testing.assert_allclose(ep1.actions, [command_action(i) for i in (5, 6, 7)], atol=1e-7)
    # Nearest odometry: 0.031 -> 0.03, 0.139 -> 0.14, 1.561 -> 1.56.
    for ep, times in ((ep0, [0.0, 0.03, 0.07, 0.10, 0.14]), (ep1, [1.5, 1.53, 1.56])):
        np.testing.assert_allclose(ep.velocities, [odom_velocity(t) for t in times], atol=1e-6)
        np.testing.assert_allclose(ep.states[:, :3], ep.velocities, atol=1e-7)
        np.testing.assert_allclose(ep.positions[:, 0], times, atol=1e-6)
    np.testing.assert_allclose(ep0.states[0, 3:7], quat_from_euler(0, 0, 0.3), atol=1e-7)
    np.testing.assert_allclose(ep0.states[:, 9], 0.1, atol=1e-7)
    assert ep0.meta["source"] == "rosbag2" and ep0.meta["start_time_ns"] == ns(0.0)


def test_before_alignment_takes_latest_command(tmp_path):
    bag = tmp_path / "bag"
    write_known_bag(bag, "mcap")
    bag_to_dataset([bag], tmp_path / "d", command_topic="cmd", read=_quiet(),
                   sync=SyncConfig(command_align="before"))
    ep0 = load_dataset(tmp_path / "d")[0]
    # .000->.000, .031->.000, .072->.072, .100->.072, .139->.120
    np.testing.assert_allclose(ep0.actions, [command_action(i) for i in (0, 0, 2, 2, 3)],
                               atol=1e-7)


def test_wrench_maps_to_net_world_acceleration():
    q = quat_from_euler(0.2, -0.1, 0.7)
    rot = quat_to_matrix(q)
    v = np.array([1.0, -0.5, 0.2])
    omega = np.array([0.1, 0.2, 0.3])
    odom = np.concatenate([[0, 0, 1], q, v, omega])[None]
    raw = np.array([[0.01, 0.0, 0.3, 0.0, 0.0, 0.0]])
    cfg = SyncConfig(mass=0.03, drag_coeff=(0.05, 0.05, 0.1))
    got = command_to_action(raw, bm.WRENCH, odom, cfg)[0]
    force = raw[0, :3] - np.array([0.05, 0.05, 0.1]) * (rot.T @ v)
    np.testing.assert_allclose(got[:3], rot @ force / 0.03 - [0, 0, GRAVITY], atol=1e-12)
    np.testing.assert_allclose(got[3], (rot @ omega)[2], atol=1e-12)


def test_velocity_twist_maps_through_gain_and_frame():
    q = quat_from_euler(0.0, 0.0, math.pi / 2)
    odom = np.concatenate([[0, 0, 1], q, [0.0, 0.5, 0.0], [0, 0, 0]])[None]
    raw = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 0.4]])  # 1 m/s forward in the body frame
    got = command_to_action(raw, bm.TWIST, odom, SyncConfig(twist_gain=2.0))[0]
    np.testing.assert_allclose(got, [0.0, 1.0, 0.0, 0.4], atol=1e-12)
    world = command_to_action(raw, bm.TWIST, odom, SyncConfig(twist_frame="world"))[0]
    np.testing.assert_allclose(world, [2.0, -1.0, 0.0, 0.4], atol=1e-12)
    accel = command_to_action(raw, bm.TWIST, odom, SyncConfig(twist_mode="acceleration"))[0]
    np.testing.assert_allclose(accel, [1.0, 0.0, 0.0, 0.4], atol=1e-12)


def test_compressed_images_bgr_and_resize(tmp_path):
    from PIL import Image as PILImage

    ts = bm.typestore().types
    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[:, :64] = (200, 10, 10)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG")
    with BagWriter(tmp_path / "bag", "mcap") as bag:
        for k in range(4):
            t = ns(0.05 * k)
            msg = ts[bm.COMPRESSED_IMAGE](header=bm.image_msg(t, rgb[:8, :8]).header,
                                          format="png",
                                          data=np.frombuffer(buf.getvalue(), np.uint8))
            bag.write("img", t, msg)
            bag.write("odom", t, bm.odometry_msg(t, [0, 0, 1], [0, 0, 0, 1], [0, 0, 0],
                                                 [0, 0, 0]))
            bag.write("cmd", t, bm.wrench_msg(t, [0.027 * (GRAVITY + 1.0), 0, 0, 0]))
    bag_to_dataset([tmp_path / "bag"], tmp_path / "d", image_topic="img", command_topic="cmd",
                   read=_quiet())
    ep = load_dataset(tmp_path / "d")[0]
    assert ep.images.shape == (4, 64, 64, 3)
    np.testing.assert_array_equal(ep.images[0, :, :32], np.broadcast_to([200, 10, 10],
                                                                        (64, 32, 3)))
    np.testing.assert_array_equal(ep.images[0, :, 32:], 0)
    np.testing.assert_allclose(ep.actions[:, 2], 1.0, atol=1e-5)  # hover thrust + 1 m/s^2
    # bgr8 with row padding decodes to RGB
    msg = ts[bm.IMAGE](header=bm.image_msg(0, rgb[:2, :2]).header, height=2, width=2,
                       encoding="bgr8", is_bigendian=0, step=8,
                       data=np.array([1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0],
                                     np.uint8))
    np.testing.assert_array_equal(bm.decode_image(msg), [[[3, 2, 1], [6, 5, 4]],
                                                         [[9, 8, 7], [12, 11, 10]]])


def test_cli_summary_and_manifest(tmp_path, capsys):
    bag = tmp_path / "bag"
    write_known_bag(bag, "mcap")
    rc = main([str(bag), "--out", str(tmp_path / "d"), "--command-topic", "cmd",
               "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert '9 images -> 8 samples in 2 episodes' in out and '"no_odom": 1' in out
    manifest = read_manifest(tmp_path / "d")
    assert manifest["source"] == "rosbag2" and manifest["sync"]["command_align"] == "after"
    # A second run into the same folder refuses, --overwrite replaces.
    assert main([str(bag), "--out", str(tmp_path / "d"), "--command-topic", "cmd",
                 "--no-progress"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([str(bag), "--out", str(tmp_path / "d"), "--command-topic", "cmd",
                 "--no-progress", "--overwrite", "--first-seed", "10"]) == 0
    assert [e["seed"] for e in read_manifest(tmp_path / "d")["episodes"]] == [10, 11]


def _quiet():
    from liquid_ros.bags.reader import ReadConfig

    return ReadConfig(progress=False)
