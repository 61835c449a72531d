"""Conversion between ``sensor_msgs/Image`` fields and numpy arrays, without cv_bridge.

The functions work on plain fields (``height``, ``width``, ``encoding``, ``step``,
``is_bigendian``, ``data``), so they are unit-testable without ROS; the message wrappers
``image_msg_to_rgb`` / ``rgb_to_image_msg`` only read or fill those attributes.
"""

from __future__ import annotations

import array
import io
from typing import Any

import numpy as np

# encoding -> (numpy base dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
"""Supported ``sensor_msgs/Image`` encodings."""


class ImageConversionError(ValueError):
    """An image message cannot be converted (unknown encoding, size mismatch, bad data)."""


def image_to_array(height: int, width: int, encoding: str, step: int, is_bigendian: bool,
                   data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Interpret raw image bytes as an array, honouring row padding and byte order.

    Args:
        height: Rows (pixels).
        width: Columns (pixels).
        encoding: One of ``ENCODINGS``.
        step: Bytes per row, at least ``width * channels * itemsize`` (extra bytes are padding).
        is_bigendian: Byte order of multi-byte pixel types.
        data: ``height * step`` bytes (more is tolerated and ignored, less is an error).

    Returns:
        Array (H, W, C) in the encoding's channel order and native byte order; a copy, never a
        view into ``data``.

    Raises:
        ImageConversionError: Unknown encoding, non-positive size, too small ``step`` or too
            few bytes.
    """
    if encoding not in ENCODINGS:
        raise ImageConversionError(
            f"encoding {encoding!r} is not supported (supported: {', '.join(ENCODINGS)})")
    dtype, channels = ENCODINGS[encoding]
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"image size {height}x{width} is empty")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels*itemsize = {row_bytes} ({encoding})")
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else (
        np.ascontiguousarray(data).view(np.uint8).reshape(-1))
    if buf.size < height * step:
        raise ImageConversionError(
            f"data has {buf.size} bytes, expected height*step = {height * step} "
            f"({height}x{width} {encoding}, step {step})")
    rows = buf[: height * step].reshape(height, step)[:, :row_bytes]
    order = ">" if is_bigendian else "<"
    typed = np.ascontiguousarray(rows).view(dtype.newbyteorder(order))
    return typed.reshape(height, width, channels).astype(dtype, copy=True)


def array_to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """Convert an array in ``encoding`` to RGB uint8 (H, W, 3).

    Depth and float images are min-max scaled to 0..255 per image (non-finite pixels become
    0), so a depth camera gives a usable grey image; colour images are reordered.
    """
    if encoding == "rgb8":
        return array
    if encoding == "bgr8":
        return array[:, :, ::-1].copy()
    if encoding == "rgba8":
        return array[:, :, :3].copy()
    if encoding == "bgra8":
        return array[:, :, 2::-1].copy()
    grey = array[:, :, 0]
    if grey.dtype != np.uint8:
        with np.errstate(invalid="ignore", over="ignore"):
            g = grey.astype(np.float64)
        finite = np.isfinite(g)
        if not finite.any():
            grey = np.zeros(g.shape, np.uint8)
        else:
            lo, hi = float(g[finite].min()), float(g[finite].max())
            scale = 255.0 / (hi - lo) if hi > lo else 0.0
            grey = np.where(finite, (g - lo) * scale, 0.0).clip(0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def resize(image: np.ndarray, height: int, width: int, method: str = "area") -> np.ndarray:
    """Resize an image (H, W, C) with numpy only.

    Args:
        image: Input (H, W, C) array.
        height: Output rows.
        width: Output columns.
        method: ``"nearest"`` or ``"area"`` (block mean when the size divides evenly, else
            mean over the nearest source rows/columns in each output cell).

    Returns:
        Array (height, width, C) of the input dtype.
    """
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    if method == "nearest" or h < height or w < width:
        rows = (np.arange(height) * h // height).clip(0, h - 1)
        cols = (np.arange(width) * w // width).clip(0, w - 1)
        return image[rows][:, cols]
    if method != "area":
        raise ValueError(f"method must be 'nearest' or 'area', got {method!r}")
    # Cumulative sums give the mean over each output cell's source rectangle in O(HW).
    r_edges = np.arange(height + 1) * h // height
    c_edges = np.arange(width + 1) * w // width
    acc = np.zeros((h + 1, w + 1) + image.shape[2:], np.float64)
    acc[1:, 1:] = image.astype(np.float64).cumsum(0).cumsum(1)
    r0, r1 = r_edges[:-1, None], r_edges[1:, None]
    c0, c1 = c_edges[None, :-1], c_edges[None, 1:]
    total = acc[r1, c1] - acc[r0, c1] - acc[r1, c0] + acc[r0, c0]
    area = ((r1 - r0) * (c1 - c0)).astype(np.float64)
    out = total / (area[..., None] if image.ndim == 3 else area)
    if np.issubdtype(image.dtype, np.integer):
        out = np.rint(out)
    return out.astype(image.dtype)


def image_msg_to_rgb(msg: Any, height: int | None = None, width: int | None = None,
                     method: str = "area") -> np.ndarray:
    """Convert a ``sensor_msgs/Image`` to RGB uint8 (H, W, 3), resized if a size is given.

    Raises:
        ImageConversionError: See ``image_to_array``.
    """
    arr = image_to_array(int(msg.height), int(msg.width), str(msg.encoding), int(msg.step),
                         bool(msg.is_bigendian), msg.data)
    rgb = array_to_rgb8(arr, str(msg.encoding))
    if height is not None and width is not None:
        rgb = resize(rgb, height, width, method)
    return rgb


def compressed_msg_to_rgb(msg: Any, height: int | None = None, width: int | None = None,
                          method: str = "area") -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG/PNG) to RGB uint8 (H, W, 3) with Pillow.

    Raises:
        ImageConversionError: Pillow is missing or the data does not decode.
    """
    try:
        from PIL import Image as PILImage
    except ImportError as exc:  # pragma: no cover - Pillow is in the venv
        raise ImageConversionError(
            "CompressedImage input needs Pillow (pip install pillow)") from exc
    try:
        with PILImage.open(io.BytesIO(bytes(msg.data))) as img:
            rgb = np.array(img.convert("RGB"), dtype=np.uint8)  # a writable copy
    except Exception as exc:  # Pillow raises many types for corrupt data
        raise ImageConversionError(
            f"cannot decode CompressedImage (format {msg.format!r}): {exc}") from exc
    if height is not None and width is not None:
        rgb = resize(rgb, height, width, method)
    return rgb


def rgb_to_image_msg(rgb: np.ndarray, msg: Any) -> Any:
    """Fill a ``sensor_msgs/Image`` ``msg`` (header untouched) from RGB uint8 (H, W, 3)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1] * 3)
    msg.data = array.array("B", rgb.tobytes())
    return msg
