"""Image conversion without cv_bridge: every encoding, row padding, byte order, resizing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from liquid_ros.ros.image_conversion import (
    ImageConversionError,
    compressed_msg_to_rgb,
    image_msg_to_rgb,
    image_to_array,
    resize,
    rgb_to_image_msg,
)

RNG = np.random.default_rng(0)
H, W = 5, 7


def _msg(arr: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False) -> Image:
    """Serialise ``arr`` (H, W, C) as a ROS Image with ``pad`` bytes of padding per row."""
    a = arr.astype(arr.dtype.newbyteorder(">" if bigendian else "<"))
    rows = a.reshape(arr.shape[0], -1).view(np.uint8)
    rows = np.concatenate([rows, np.full((arr.shape[0], pad), 0xAB, np.uint8)], axis=1)
    return Image(height=arr.shape[0], width=arr.shape[1], encoding=encoding,
                 is_bigendian=int(bigendian), step=rows.shape[1], data=rows.tobytes())


@pytest.mark.parametrize("pad", [0, 3])
@pytest.mark.parametrize("bigendian", [False, True])
def test_colour_encodings(pad, bigendian):
    rgb = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (H, W, 1), dtype=np.uint8)
    cases = {"rgb8": rgb, "bgr8": rgb[:, :, ::-1], "rgba8": np.concatenate([rgb, alpha], 2),
             "bgra8": np.concatenate([rgb[:, :, ::-1], alpha], 2)}
    for enc, arr in cases.items():
        out = image_msg_to_rgb(_msg(arr, enc, pad, bigendian))
        assert out.dtype == np.uint8 and out.shape == (H, W, 3)
        np.testing.assert_array_equal(out, rgb, err_msg=enc)


@pytest.mark.parametrize("pad", [0, 2])
def test_mono8(pad):
    grey = RNG.integers(0, 256, (H, W, 1), dtype=np.uint8)
    out = image_msg_to_rgb(_msg(grey, "mono8", pad))
    np.testing.assert_array_equal(out, np.repeat(grey, 3, 2))


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("pad", [0, 6])
def test_16uc1_raw_and_scaled(bigendian, pad):
    depth = RNG.integers(0, 65535, (H, W, 1)).astype(np.uint16)
    msg = _msg(depth, "16UC1", pad, bigendian)
    raw = image_to_array(msg.height, msg.width, msg.encoding, msg.step, bool(msg.is_bigendian),
                         msg.data)
    np.testing.assert_array_equal(raw, depth)
    out = image_msg_to_rgb(msg)
    lo, hi = depth.min(), depth.max()
    expect = ((depth[:, :, 0].astype(float) - lo) * 255.0 / (hi - lo)).astype(np.uint8)
    np.testing.assert_array_equal(out[:, :, 1], expect)


@pytest.mark.parametrize("bigendian", [False, True])
def test_32fc1_with_nan(bigendian):
    depth = RNG.uniform(0.5, 4.0, (H, W, 1)).astype(np.float32)
    depth[0, 0, 0] = np.nan
    depth[1, 1, 0] = np.inf
    msg = _msg(depth, "32FC1", 4, bigendian)
    raw = image_to_array(msg.height, msg.width, msg.encoding, msg.step, bool(msg.is_bigendian),
                         msg.data)
    np.testing.assert_array_equal(raw[2:], depth[2:])
    out = image_msg_to_rgb(msg)
    assert out[0, 0, 0] == 0 and out[1, 1, 0] == 0 and out.max() == 255


def test_rejects_bad_messages():
    rgb = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
    good = _msg(rgb, "rgb8")
    short = Image(height=H, width=W, encoding="rgb8", step=W * 3, data=good.data[:-1].tobytes())
    with pytest.raises(ImageConversionError, match="expected height\\*step"):
        image_msg_to_rgb(short)
    with pytest.raises(ImageConversionError, match="not supported"):
        image_msg_to_rgb(Image(height=H, width=W, encoding="yuv422", step=W * 2,
                               data=bytes(H * W * 2)))
    with pytest.raises(ImageConversionError, match="step"):
        image_msg_to_rgb(Image(height=H, width=W, encoding="rgb8", step=W, data=bytes(H * W)))
    with pytest.raises(ImageConversionError, match="empty"):
        image_msg_to_rgb(Image(height=0, width=W, encoding="rgb8", step=W * 3))
    assert issubclass(ImageConversionError, ValueError)


def test_resize_area_and_nearest():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4, 1).repeat(3, 2)
    area = resize(img, 2, 2, "area")
    np.testing.assert_array_equal(area[:, :, 0], [[2, 4], [10, 12]])  # rint of block means
    near = resize(img, 2, 2, "nearest")
    np.testing.assert_array_equal(near[:, :, 0], [[0, 2], [8, 10]])
    up = resize(img, 8, 8, "area")  # upsampling falls back to nearest
    assert up.shape == (8, 8, 3) and up[7, 7, 0] == 15
    odd = resize(RNG.integers(0, 256, (48, 80, 3), dtype=np.uint8), 64, 64)
    assert odd.shape == (64, 64, 3)
    big = RNG.integers(0, 256, (128, 96, 3), dtype=np.uint8)
    np.testing.assert_allclose(resize(big, 64, 64).mean(), big.mean(), atol=1.0)


def test_roundtrip_and_resize_on_message():
    rgb = RNG.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    msg = rgb_to_image_msg(rgb, Image())
    np.testing.assert_array_equal(image_msg_to_rgb(msg), rgb)
    assert image_msg_to_rgb(msg, 64, 64).shape == (64, 64, 3)


def test_compressed_png_and_garbage():
    from PIL import Image as PILImage
    rgb = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG")
    msg = CompressedImage(format="png", data=buf.getvalue())
    np.testing.assert_array_equal(compressed_msg_to_rgb(msg), rgb)
    assert compressed_msg_to_rgb(msg, 64, 64).shape == (64, 64, 3)
    with pytest.raises(ImageConversionError, match="cannot decode"):
        compressed_msg_to_rgb(CompressedImage(format="jpeg", data=b"not an image"))
