"""Image and odometry decoding shared by policy_node, sim_node and the bag reader.

One decoder, so a policy trained from a recording sees the pixels it flies on. ROS-free: the
functions read message fields by name (``height``, ``width``, ``encoding``, ``step``,
``is_bigendian``, ``data``; ``format`` for compressed images; ``pose.pose`` and ``twist.twist``
for odometry), so rclpy messages and the deserialised dataclasses of ``rosbags`` both work.
Images use numpy only (Pillow, imported on first use, for ``CompressedImage``), no cv_bridge.

Frames follow REP-103/REP-105: ``nav_msgs/Odometry`` holds the pose in the world (ENU) and the
twist in the body (FLU) frame, so the world velocity is the body twist rotated by the attitude.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from liquid_ros.control.rotation import quat_to_matrix

ResizeMethod = Literal["area", "nearest"]
"""``"area"`` (mean over each output pixel's source cell) or ``"nearest"`` (point sample)."""

ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "8UC3": (np.dtype(np.uint8), 3),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
"""Supported ``sensor_msgs/Image`` encodings: (pixel type, channels). ``8UC3`` carries no
channel order and is read as RGB."""


class ImageDecodeError(ValueError):
    """An image message cannot be decoded (unknown encoding, size mismatch, bad data)."""


def _bytes(data: Any) -> np.ndarray:
    """(N,) uint8 view of a message's ``data`` (bytes, array.array, numpy array or list)."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).view(np.uint8).reshape(-1)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:  # a plain sequence of ints
        return np.asarray(data, dtype=np.uint8).reshape(-1)


def image_to_array(height: int, width: int, encoding: str, step: int, is_bigendian: bool,
                   data: Any) -> np.ndarray:
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
        ImageDecodeError: Unknown encoding, non-positive size, too small ``step`` or too few
            bytes.
    """
    if encoding not in ENCODINGS:
        raise ImageDecodeError(
            f"encoding {encoding!r} is not supported (supported: {', '.join(ENCODINGS)})")
    dtype, channels = ENCODINGS[encoding]
    if height <= 0 or width <= 0:
        raise ImageDecodeError(f"image size {height}x{width} is empty")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageDecodeError(
            f"step {step} is smaller than width*channels*itemsize = {row_bytes} ({encoding})")
    buf = _bytes(data)
    if buf.size < height * step:
        raise ImageDecodeError(
            f"data has {buf.size} bytes, expected height*step = {height * step} "
            f"({height}x{width} {encoding}, step {step})")
    rows = buf[: height * step].reshape(height, step)[:, :row_bytes]
    typed = np.ascontiguousarray(rows).view(dtype.newbyteorder(">" if is_bigendian else "<"))
    return typed.reshape(height, width, channels).astype(dtype, copy=True)


def array_to_rgb8(array: np.ndarray, encoding: str) -> np.ndarray:
    """Convert an array (H, W, C) in ``encoding`` to RGB uint8 (H, W, 3).

    Colour images are reordered. Depth and float images are min-max scaled to 0..255 per image
    (non-finite pixels become 0), so a depth camera gives a usable grey image.
    """
    if encoding in ("rgb8", "8UC3"):
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


def resize(image: np.ndarray, height: int, width: int,
           method: ResizeMethod = "area") -> np.ndarray:
    """Resize an image (H, W) or (H, W, C) with numpy only.

    Args:
        image: Input array.
        height: Output rows (> 0).
        width: Output columns (> 0).
        method: ``"area"``: output pixel i covers source rows ``[i*H//height,
            (i+1)*H//height)`` (likewise columns) and is their mean, rounded half to even for
            integer images (a block mean when the size divides evenly); enlarging falls back to
            nearest. ``"nearest"``: source row ``i*H//height`` (likewise columns).

    Returns:
        Array (height, width, ...) of the input dtype; ``image`` itself when the size matches.

    Raises:
        ValueError: Unknown method or non-positive size.
    """
    if method not in ("area", "nearest"):
        raise ValueError(f"method must be 'area' or 'nearest', got {method!r}")
    if height <= 0 or width <= 0:
        raise ValueError(f"resize target {height}x{width} is empty")
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    rows = np.arange(height) * h // height
    cols = np.arange(width) * w // width
    if method == "nearest" or h < height or w < width:
        return image[rows][:, cols]
    # Integer sums are exact, so the result is the same on every machine and code path.
    integer = np.issubdtype(image.dtype, np.integer)
    acc = np.int64 if integer else np.float64
    total = np.add.reduceat(np.add.reduceat(image, rows, axis=0, dtype=acc), cols, axis=1,
                            dtype=acc)
    area = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    out = total / area.reshape(area.shape + (1,) * (image.ndim - 2))
    if integer:
        out = np.rint(out)
    return out.astype(image.dtype)


def _finish(rgb: np.ndarray, height: int | None, width: int | None,
            method: ResizeMethod) -> np.ndarray:
    if height is None and width is None:
        return rgb
    if height is None or width is None:
        raise ValueError(f"give both height and width or neither, got {height}x{width}")
    return resize(rgb, int(height), int(width), method)


def image_to_rgb(msg: Any, height: int | None = None, width: int | None = None,
                 method: ResizeMethod = "area") -> np.ndarray:
    """RGB uint8 (H, W, 3) from a ``sensor_msgs/Image``, resized when a size is given.

    Args:
        msg: Any object with the Image fields (rclpy message or rosbags dataclass).
        height: Output rows, or None for the message's size.
        width: Output columns, or None for the message's size.
        method: See :func:`resize`.

    Raises:
        ImageDecodeError: See :func:`image_to_array`.
    """
    encoding = str(msg.encoding)
    arr = image_to_array(int(msg.height), int(msg.width), encoding, int(msg.step),
                         bool(msg.is_bigendian), msg.data)
    return _finish(array_to_rgb8(arr, encoding), height, width, method)


def compressed_to_rgb(msg: Any, height: int | None = None, width: int | None = None,
                      method: ResizeMethod = "area") -> np.ndarray:
    """RGB uint8 (H, W, 3) from a ``sensor_msgs/CompressedImage`` (JPEG, PNG) with Pillow.

    Args:
        msg: Any object with ``format`` and ``data`` fields.
        height: Output rows, or None for the decoded size.
        width: Output columns, or None for the decoded size.
        method: See :func:`resize`.

    Raises:
        ImageDecodeError: Pillow is missing or the data does not decode.
    """
    try:
        from PIL import Image as PILImage
    except ImportError as exc:  # pragma: no cover - Pillow is a dependency
        raise ImageDecodeError("CompressedImage input needs Pillow (pip install pillow)"
                               ) from exc
    try:
        with PILImage.open(io.BytesIO(_bytes(msg.data).tobytes())) as img:
            rgb = np.array(img.convert("RGB"), dtype=np.uint8)  # a writable copy
    except Exception as exc:  # Pillow raises many types for corrupt data
        raise ImageDecodeError(
            f"cannot decode CompressedImage (format {msg.format!r}): {exc}") from exc
    return _finish(rgb, height, width, method)


def is_compressed(msg: Any) -> bool:
    """Whether ``msg`` is a CompressedImage (has ``format`` but no ``encoding``)."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def to_rgb(msg: Any, height: int | None = None, width: int | None = None,
           method: ResizeMethod = "area") -> np.ndarray:
    """RGB uint8 (H, W, 3) from an Image or a CompressedImage, whichever ``msg`` is."""
    decode = compressed_to_rgb if is_compressed(msg) else image_to_rgb
    return decode(msg, height, width, method)


@dataclass(frozen=True)
class OdomSample:
    """One odometry reading in SI units (world ENU, body FLU).

    Attributes:
        position: World position (3,) m.
        velocity: World velocity (3,) m/s.
        quaternion: Attitude (4,) x, y, z, w (unit norm).
        angular_velocity: Body rate (3,) rad/s.
    """

    position: np.ndarray
    velocity: np.ndarray
    quaternion: np.ndarray
    angular_velocity: np.ndarray

    def state(self) -> np.ndarray:
        """Policy state (10,) float32: world velocity, quaternion, body rate."""
        return np.concatenate([self.velocity, self.quaternion,
                               self.angular_velocity]).astype(np.float32)

    def vector(self) -> np.ndarray:
        """(13,) float64: position, quaternion x,y,z,w, world velocity, body rate."""
        return np.concatenate([self.position, self.quaternion, self.velocity,
                               self.angular_velocity]).astype(np.float64)


def odometry(msg: Any, max_abs: float = 1e4) -> OdomSample:
    """Decode and validate a ``nav_msgs/Odometry`` (rclpy or rosbags).

    The quaternion is renormalised; the twist (body frame) is rotated into the world.

    Args:
        msg: Any object with ``pose.pose.{position,orientation}`` and
            ``twist.twist.{linear,angular}``.
        max_abs: Largest absolute value accepted in any field (m, m/s, rad/s).

    Raises:
        ValueError: A non-finite or absurd (``> max_abs``) field, or a quaternion whose norm is
            off by more than 10 %.
    """
    p, o = msg.pose.pose.position, msg.pose.pose.orientation
    lin, ang = msg.twist.twist.linear, msg.twist.twist.angular
    raw = np.array([p.x, p.y, p.z, o.x, o.y, o.z, o.w, lin.x, lin.y, lin.z, ang.x, ang.y,
                    ang.z], np.float64)
    if not (np.isfinite(raw).all() and np.abs(raw).max() <= max_abs):
        for name, part in (("position", raw[0:3]), ("orientation", raw[3:7]),
                           ("linear twist", raw[7:10]), ("angular twist", raw[10:13])):
            if not np.all(np.isfinite(part)):
                raise ValueError(f"odometry {name} is not finite: {part}")
            if np.any(np.abs(part) > max_abs):
                raise ValueError(f"odometry {name} exceeds {max_abs}: {part}")
    norm = float(np.linalg.norm(raw[3:7]))
    if abs(norm - 1.0) > 0.1:
        raise ValueError(f"odometry orientation is not a unit quaternion (norm {norm:.3g})")
    quat = raw[3:7] / norm
    return OdomSample(raw[0:3], quat_to_matrix(quat) @ raw[7:10], quat, raw[10:13])
