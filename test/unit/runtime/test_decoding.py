"""One decoder: the same recorded frames give identical pixels through the bag and node paths.

The frames are ``rosbags`` messages written to a real bag. The bag path reads that bag with
``read_bag`` (CDR -> rosbags dataclass -> decoder). The node path decodes the same CDR bytes
the way policy_node does: as an rclpy message (``deserialize_message``) through
``image_msg_to_rgb`` / ``odom_from_msg`` with the node's default resize method; that half is
skipped without rclpy. Both pipelines are integer (or exact) arithmetic, so equality is exact.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from liquid_ros.bags import messages as bm
from liquid_ros.bags.reader import ReadConfig, read_bag
from liquid_ros.bags.writer import BagWriter
from liquid_ros.runtime import decoding
from liquid_ros.runtime.decoding import ImageDecodeError

SIZE = (64, 64)
RNG = np.random.default_rng(17)
T0 = 1_000_000_000


def _image(t_ns: int, arr: np.ndarray, encoding: str, pad: int = 0,
           bigendian: bool = False) -> object:
    """A rosbags ``sensor_msgs/Image`` of ``arr`` (H, W, C) with ``pad`` bytes per row."""
    a = arr.astype(arr.dtype.newbyteorder(">" if bigendian else "<"))
    rows = np.ascontiguousarray(a).reshape(arr.shape[0], -1).view(np.uint8)
    rows = np.concatenate([rows, np.full((arr.shape[0], pad), 0xAB, np.uint8)], axis=1)
    return bm.typestore().types[bm.IMAGE](
        header=bm.image_msg(t_ns, np.zeros((1, 1, 3), np.uint8)).header, height=arr.shape[0],
        width=arr.shape[1], encoding=encoding, is_bigendian=int(bigendian), step=rows.shape[1],
        data=rows.reshape(-1))


def _frames() -> list[object]:
    """Image messages of several encodings and sizes, one every 10 ms."""
    u8 = lambda h, w, c: RNG.integers(0, 256, (h, w, c), dtype=np.uint8)  # noqa: E731
    depth = RNG.uniform(0.3, 8.0, (120, 160, 1)).astype(np.float32)
    depth[3, 4, 0], depth[7, 9, 0] = np.nan, np.inf
    specs = [
        lambda t: bm.image_msg(t, u8(480, 640, 3)),  # the camera case: 7.5 x 10 cells
        lambda t: bm.image_msg(t, u8(64, 64, 3)),  # already the policy size
        lambda t: bm.image_msg(t, u8(30, 40, 3)),  # enlarged (nearest)
        lambda t: _image(t, u8(480, 640, 3), "bgr8", pad=5),
        lambda t: _image(t, u8(240, 320, 4), "rgba8"),
        lambda t: _image(t, u8(96, 128, 4), "bgra8", pad=3),
        lambda t: _image(t, u8(640, 480, 1), "mono8"),  # portrait
        lambda t: _image(t, u8(100, 70, 1), "8UC1", pad=2),
        lambda t: _image(t, u8(128, 128, 3), "8UC3"),
        lambda t: _image(t, RNG.integers(0, 65536, (120, 160, 1)).astype(np.uint16), "16UC1",
                         pad=4, bigendian=True),
        lambda t: _image(t, RNG.integers(0, 65536, (90, 90, 1)).astype(np.uint16), "mono16"),
        lambda t: _image(t, depth, "32FC1", pad=8, bigendian=True),
    ]
    return [make(T0 + k * 10_000_000) for k, make in enumerate(specs)]


def _compressed() -> list[object]:
    from PIL import Image as PILImage

    out = []
    for k, fmt in enumerate(("png", "jpeg")):
        buf = io.BytesIO()
        PILImage.fromarray(RNG.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(
            buf, format=fmt.upper())
        t = T0 + k * 10_000_000
        out.append(bm.typestore().types[bm.COMPRESSED_IMAGE](
            header=bm.image_msg(t, np.zeros((1, 1, 3), np.uint8)).header, format=fmt,
            data=np.frombuffer(buf.getvalue(), np.uint8)))
    return out


def _odometry() -> list[object]:
    out = []
    for k in range(6):
        q = RNG.normal(size=4)
        q *= (1.0 + 0.05 * (k % 2)) / np.linalg.norm(q)  # within the 10 % renormalised
        out.append(bm.odometry_msg(T0 + k * 10_000_000, RNG.uniform(-5, 5, 3), q,
                                   RNG.uniform(-3, 3, 3), RNG.uniform(-2, 2, 3)))
    return out


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A bag of the frames and odometry, what the bag path reads from it, and the CDR bytes."""
    path = tmp_path_factory.mktemp("decoding") / "bag"
    msgs = {"camera/image_raw": (bm.IMAGE, _frames()),
            "camera/compressed": (bm.COMPRESSED_IMAGE, _compressed()),
            "odom": (bm.ODOMETRY, _odometry())}
    with BagWriter(path, "mcap") as bag:
        for topic, (_, items) in msgs.items():
            for m in items:
                bag.write(topic, bm.stamp_ns(m.header), m)
    raw = {topic: (kind, [bytes(bm.typestore().serialize_cdr(m, kind)) for m in items])
           for topic, (kind, items) in msgs.items()}
    read = {method: {role: read_bag(path, {role: topic}, ReadConfig(
                progress=False, strict=True, image_size=SIZE, resize=method)).streams[role]
                     for role, topic in (("image", "camera/image_raw"), ("odom", "odom"))}
            for method in ("area", "nearest")}
    compressed = read_bag(path, {"image": "camera/compressed"},
                          ReadConfig(progress=False, strict=True, image_size=SIZE))
    read["area"]["compressed"] = compressed.streams["image"]
    return {"msgs": msgs, "raw": raw, "read": read}


def test_bag_path_equals_decoder_on_the_same_messages(recording):
    from liquid_ros.ros.image_conversion import image_msg_to_rgb  # the node's names, ROS-free

    for method in ("area", "nearest"):
        images = recording["read"][method]["image"]
        assert images.counts["invalid"] == 0 and len(images.values) == 12
        for got, msg in zip(images.values, recording["msgs"]["camera/image_raw"][1], strict=True):
            np.testing.assert_array_equal(got, decoding.to_rgb(msg, *SIZE, method))
            assert np.array_equal(got, image_msg_to_rgb(msg, *SIZE, method)), msg.encoding
    for got, msg in zip(recording["read"]["area"]["compressed"].values,
                        recording["msgs"]["camera/compressed"][1], strict=True):
        assert np.array_equal(got, decoding.compressed_to_rgb(msg, *SIZE))
    odom = recording["read"]["area"]["odom"].values
    for got, msg in zip(odom, recording["msgs"]["odom"][1], strict=True):
        assert np.array_equal(got, decoding.odometry(msg).vector())


def test_node_path_on_rclpy_messages_gives_identical_pixels_and_odometry(recording):
    pytest.importorskip("rclpy")
    from nav_msgs.msg import Odometry
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CompressedImage, Image

    from liquid_ros.ros.config import PolicyNodeConfig
    from liquid_ros.ros.image_conversion import compressed_msg_to_rgb, image_msg_to_rgb
    from liquid_ros.ros.messages import odom_from_msg

    method = PolicyNodeConfig().resize_method
    assert method == ReadConfig().resize == "area"  # bag conversion resizes like the node
    for topic, cls, node_decode, role in (
            ("camera/image_raw", Image, image_msg_to_rgb, "image"),
            ("camera/compressed", CompressedImage, compressed_msg_to_rgb, "compressed")):
        bag_values = recording["read"][method][role].values
        for k, raw in enumerate(recording["raw"][topic][1]):
            msg = deserialize_message(raw, cls)  # what policy_node's subscription receives
            node = node_decode(msg, *SIZE, method)
            assert node.dtype == np.uint8 and node.shape == (*SIZE, 3)
            assert np.array_equal(node, bag_values[k]), f"{topic} #{k}"
    for k, raw in enumerate(recording["raw"]["odom"][1]):
        node = odom_from_msg(deserialize_message(raw, Odometry))
        assert np.array_equal(node.vector(), recording["read"]["area"]["odom"].values[k])


def test_area_resize_by_hand_and_by_brute_force():
    img = np.arange(15, dtype=np.uint8).reshape(3, 5)
    # rows [0,1) [1,3), columns [0,2) [2,5); 0.5 and 10.5 round half to even
    np.testing.assert_array_equal(decoding.resize(img, 2, 2), [[0, 3], [8, 10]])
    np.testing.assert_array_equal(decoding.resize(img, 2, 2, "nearest"), [[0, 2], [5, 7]])
    frame = RNG.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    out = decoding.resize(frame, *SIZE)
    r = np.append(np.arange(64) * 480 // 64, 480)
    c = np.append(np.arange(64) * 640 // 64, 640)
    ref = np.array([[np.rint(frame[r[i]:r[i + 1], c[j]:c[j + 1]].mean(axis=(0, 1)))
                     for j in range(64)] for i in range(64)])
    np.testing.assert_array_equal(out, ref)
    assert decoding.resize(frame, 480, 640) is frame


def test_odometry_rotates_the_body_twist_into_the_world():
    yaw90 = [0.0, 0.0, np.sqrt(0.5), np.sqrt(0.5)]
    msg = bm.odometry_msg(0, [1.0, 2.0, 3.0], yaw90, [0.0, 2.0, 0.0], [0.1, 0.2, 0.3])
    msg.twist.twist.linear.x, msg.twist.twist.linear.y = 2.0, 0.0  # 2 m/s forward in the body
    s = decoding.odometry(msg)
    np.testing.assert_allclose(s.velocity, [0.0, 2.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(s.position, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(s.angular_velocity, [0.1, 0.2, 0.3])
    assert s.state().dtype == np.float32 and s.state().shape == (10,)
    assert s.vector().shape == (13,)


def _bad_images() -> list[tuple[object, str]]:
    good = _image(0, np.zeros((4, 6, 3), np.uint8), "rgb8")
    ts = bm.typestore().types

    def variant(**kw: object) -> object:
        fields = {k: getattr(good, k) for k in ("header", "height", "width", "encoding",
                                                 "is_bigendian", "step", "data")}
        return ts[bm.IMAGE](**{**fields, **kw})

    return [
        (variant(data=good.data[:-1]), r"expected height\*step"),
        (variant(encoding="yuv422"), "not supported"),
        (variant(step=6), "step 6 is smaller"),
        (variant(height=0), "empty"),
        (ts[bm.COMPRESSED_IMAGE](header=good.header, format="jpeg",
                                 data=np.frombuffer(b"not an image", np.uint8)),
         "cannot decode"),
    ]


@pytest.mark.parametrize("case", range(5))
def test_bad_images_raise(case):
    msg, match = _bad_images()[case]
    with pytest.raises(ImageDecodeError, match=match):
        decoding.to_rgb(msg, *SIZE)
    with pytest.raises(ImageDecodeError, match=match):
        bm.decode_image(msg)


def test_bad_arguments_and_odometry_raise():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="method"):
        decoding.resize(img, 4, 4, "bilinear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        decoding.resize(img, 0, 4)
    with pytest.raises(ValueError, match="both height and width"):
        decoding.image_to_rgb(bm.image_msg(0, img), 4, None)
    with pytest.raises(ValueError, match="resize"):
        ReadConfig(resize="bilinear")  # type: ignore[arg-type]

    def odom(**edit: float) -> object:
        msg = bm.odometry_msg(0, [0, 0, 1], [0, 0, 0, 1], [0, 0, 0], [0, 0, 0])
        for path, value in edit.items():
            part, field = path.rsplit("_", 1)
            setattr({"p": msg.pose.pose.position, "q": msg.pose.pose.orientation,
                     "v": msg.twist.twist.linear, "w": msg.twist.twist.angular}[part],
                    field, value)
        return msg

    for edit, match in (({"p_x": np.nan}, "position is not finite"),
                        ({"w_z": np.inf}, "angular twist is not finite"),
                        ({"v_y": 2e4}, "linear twist exceeds"),
                        ({"q_w": 1.2}, "not a unit quaternion"),
                        ({"q_w": 0.0}, "not a unit quaternion")):
        with pytest.raises(ValueError, match=match):
            decoding.odometry(odom(**edit))
    assert decoding.odometry(odom(q_w=1.05)).quaternion[3] == 1.0  # renormalised


def test_decoding_and_bag_reader_import_without_ros():
    code = ("import sys, liquid_ros.runtime.decoding, liquid_ros.bags.reader, "
            "liquid_ros.ros.image_conversion; "
            "assert not [m for m in sys.modules if m.split('.')[0] in "
            "('rclpy', 'sensor_msgs', 'nav_msgs')], 'ROS imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
