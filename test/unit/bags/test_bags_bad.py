"""Bad recordings: each gives a clear error naming file, topic and time, or counted skips."""

from __future__ import annotations

import os

import numpy as np
import pytest

from liquid_ros.bags import messages as bm
from liquid_ros.bags.convert import bag_to_dataset
from liquid_ros.bags.reader import BagError, ReadConfig, read_bag
from liquid_ros.bags.writer import BagWriter
from liquid_ros.cli.bag_to_dataset import main

TOPICS = {"image": "camera/image_raw", "odom": "odom", "command": "action"}
QUIET = ReadConfig(progress=False)


def ns(t: float) -> int:
    return 5_000_000_000 + int(round(t * 1e9))


def write_bag(path, storage="mcap", n=20, image_times=None, header_zero=False, extra=None):
    """Images, odometry and commands every 0.05 s; ``extra(bag)`` adds bad messages."""
    times = image_times if image_times is not None else [0.05 * k for k in range(n)]
    with BagWriter(path, storage) as bag:
        for k in range(n):
            t = ns(0.05 * k)
            bag.write("odom", t, bm.odometry_msg(t, [0, 0, 1], [0, 0, 0, 1], [k, 0, 0],
                                                 [0, 0, 0]))
            bag.write("action", t, bm.accel_msg(t, [0.1, 0.0, 0.0, 0.0]))
        for k, ti in enumerate(times):
            stamp = 0 if header_zero else ns(ti)
            bag.write("camera/image_raw", ns(0.05 * k),
                      bm.image_msg(stamp, np.full((64, 64, 3), k, np.uint8)))
        if extra is not None:
            extra(bag)
    return path


def cli_error(capsys, args):
    rc = main([*args, "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1, err
    return err[0]


def test_truncated_mcap_names_the_file(tmp_path, capsys):
    bag = write_bag(tmp_path / "bag")
    mcap = next(bag.glob("*.mcap"))
    with open(mcap, "r+b") as fh:
        fh.truncate(os.path.getsize(mcap) // 2)
    line = cli_error(capsys, [str(bag), "--out", str(tmp_path / "d")])
    assert str(bag) in line and "truncated, corrupted" in line
    assert not (tmp_path / "d").exists()  # never an empty dataset


def test_corrupted_sqlite3_names_the_file(tmp_path):
    bag = write_bag(tmp_path / "bag", "sqlite3")
    db = next(bag.glob("*.db3"))
    data = bytearray(db.read_bytes())
    data[:100] = b"\x00" * 100  # wreck the sqlite header
    db.write_bytes(bytes(data))
    with pytest.raises(BagError, match="cannot open the recording"):
        read_bag(bag, TOPICS, QUIET)


def test_not_a_bag(tmp_path, capsys):
    line = cli_error(capsys, [str(tmp_path / "nothing"), "--out", str(tmp_path / "d")])
    assert "nothing" in line and "no such bag" in line


def test_missing_topic_lists_what_the_bag_has(tmp_path, capsys):
    bag = write_bag(tmp_path / "bag")
    line = cli_error(capsys, [str(bag), "--out", str(tmp_path / "d"),
                              "--command-topic", "/cmd_vel"])
    assert "'/cmd_vel' (command) is not in the recording" in line
    assert "odom (nav_msgs/msg/Odometry)" in line and str(bag) in line


def test_unsupported_and_unknown_message_types(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    bag = write_bag(tmp_path / "bag")
    with pytest.raises(BagError, match="odom' has message type nav_msgs/msg/Odometry, which is"
                       " not supported for the image stream"):
        read_bag(bag, {**TOPICS, "image": "odom"}, QUIET)
    path = tmp_path / "custom"
    w = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
    w.open()
    conn = w.add_connection("camera/image_raw", "my_msgs/msg/Frame", msgdef="float64 x\n",
                            rihs01="RIHS01_" + "0" * 64)
    w.write(conn, ns(0), b"\x00\x01\x00\x00" + b"\x00" * 8)
    w.close()
    with pytest.raises(BagError, match="my_msgs/msg/Frame"):
        read_bag(path, TOPICS, QUIET)


def test_corrupt_payload_is_skipped_and_counted_or_strict_error(tmp_path):
    def extra(bag):
        bag.write_raw("camera/image_raw", bm.IMAGE, ns(0.33), b"\x00\x01\x00\x00garbage")

    bag = write_bag(tmp_path / "bag", extra=extra)
    data = read_bag(bag, TOPICS, QUIET)
    img = data.streams["image"]
    assert img.counts["corrupt"] == 1 and len(img.stamps) == 20
    assert "t=5.330000000 s" in data.warnings[0] and "camera/image_raw" in data.warnings[0]
    with pytest.raises(BagError, match=r"camera/image_raw' message at t=5.330000000 s"):
        read_bag(bag, TOPICS, ReadConfig(progress=False, strict=True))


def test_invalid_values_are_skipped_and_counted(tmp_path):
    def extra(bag):
        t = ns(1.001)
        bag.write("odom", t, bm.odometry_msg(t, [np.nan, 0, 1], [0, 0, 0, 1], [0, 0, 0],
                                             [0, 0, 0]))
        msg = bm.image_msg(t, np.zeros((64, 64, 3), np.uint8))
        msg.encoding = "yuv422"
        bag.write("camera/image_raw", t, msg)

    data = read_bag(write_bag(tmp_path / "bag", extra=extra), TOPICS, QUIET)
    assert data.streams["odom"].counts["invalid"] == 1
    assert data.streams["image"].counts["invalid"] == 1
    assert any("yuv422" in w for w in data.warnings)


def test_out_of_order_stamps_are_sorted_and_counted(tmp_path):
    times = [0.05 * k for k in range(20)]
    times[5], times[6] = times[6], times[5]  # header stamps swapped in receive order
    bag = write_bag(tmp_path / "bag", image_times=times)
    manifest, reports = bag_to_dataset([bag], tmp_path / "d", read=QUIET)
    assert reports[0]["streams"]["image"]["reordered"] == 1
    from liquid_ros.train.dataset import load_dataset

    ep = load_dataset(tmp_path / "d")[0]
    assert np.all(np.diff(ep.timestamps) > 0)
    np.testing.assert_array_equal(ep.images[4:8, 0, 0, 0], [4, 6, 5, 7])  # sorted by stamp
    with pytest.raises(BagError, match="out of order at t=5.25"):
        read_bag(bag, TOPICS, ReadConfig(progress=False, strict=True))


def test_duplicate_stamps_keep_the_first(tmp_path):
    times = [0.05 * k for k in range(20)]
    times[8] = times[7]
    bag = write_bag(tmp_path / "bag", image_times=times)
    data = read_bag(bag, TOPICS, QUIET)
    img = data.streams["image"]
    assert img.counts["duplicate"] == 1 and len(img.stamps) == 19
    assert len(np.unique(img.stamps)) == 19 and img.values[7, 0, 0, 0] == 7
    with pytest.raises(BagError, match="duplicate stamp t=5.35"):
        read_bag(bag, TOPICS, ReadConfig(progress=False, strict=True))


def test_backwards_clock_is_an_error_naming_topic_and_time(tmp_path, capsys):
    times = [0.05 * k for k in range(20)]
    times[12:] = [t - 0.6 for t in times[12:]]  # clock reset: 0.55 s -> 0.0 s
    bag = write_bag(tmp_path / "bag", image_times=times)
    line = cli_error(capsys, [str(bag), "--out", str(tmp_path / "d"), "--max-backjump",
                              "0.5"])
    assert str(bag) in line and "'camera/image_raw'" in line
    assert "time goes back 0.550 s at t=5.000000000 s" in line


def test_no_samples_is_an_error_with_reasons(tmp_path, capsys):
    bag = write_bag(tmp_path / "bag", image_times=[10.0 + 0.05 * k for k in range(20)])
    line = cli_error(capsys, [str(bag), "--out", str(tmp_path / "d")])
    assert "no samples: of 20 images" in line and "20 had no odometry" in line
    assert not (tmp_path / "d").exists()


def test_zero_header_stamps_fall_back_to_receive_time(tmp_path):
    data = read_bag(write_bag(tmp_path / "bag", header_zero=True), TOPICS, QUIET)
    img = data.streams["image"]
    assert img.stamp_source == "receive" and data.streams["odom"].stamp_source == "header"
    np.testing.assert_array_equal(img.stamps, [ns(0.05 * k) for k in range(20)])


def test_bad_options_are_value_errors(tmp_path, capsys):
    bag = write_bag(tmp_path / "bag")
    line = cli_error(capsys, [str(bag), "--out", str(tmp_path / "d"), "--odom-tolerance", "0"])
    assert "odom_tolerance must be a positive number" in line
    with pytest.raises(ValueError, match="stamps must be"):
        ReadConfig(stamps="wall")
