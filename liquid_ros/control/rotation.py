"""Small rotation helpers on numpy arrays: quaternions are (x, y, z, w), as in ROS messages."""

from __future__ import annotations

import math

import numpy as np


def quat_to_matrix(quat: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of a unit quaternion (4,) (x, y, z, w); maps body to world."""
    x, y, z, w = (float(v) for v in quat)
    n = x * x + y * y + z * z + w * w
    s = 2.0 / n if n > 0.0 else 0.0
    xx, yy, zz = x * x * s, y * y * s, z * z * s
    xy, xz, yz = x * y * s, x * z * s, y * z * s
    wx, wy, wz = w * x * s, w * y * s, w * z * s
    return np.array([
        [1.0 - (yy + zz), xy - wz, xz + wy],
        [xy + wz, 1.0 - (xx + zz), yz - wx],
        [xz - wy, yz + wx, 1.0 - (xx + yy)],
    ])


def quat_from_euler(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Quaternion (4,) (x, y, z, w) of intrinsic Z-Y-X Euler angles (rad), as in REP-103 RPY."""
    cr, sr = math.cos(roll / 2.0), math.sin(roll / 2.0)
    cp, sp = math.cos(pitch / 2.0), math.sin(pitch / 2.0)
    cy, sy = math.cos(yaw / 2.0), math.sin(yaw / 2.0)
    return np.array([
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    ])


def euler_from_quat(quat: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (3,) in rad of a quaternion (4,) (x, y, z, w)."""
    x, y, z, w = (float(v) for v in quat)
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


def yaw_from_quat(quat: np.ndarray) -> float:
    """Heading (rad) of a quaternion (4,) (x, y, z, w): angle of the body x axis in the world."""
    x, y, z, w = (float(v) for v in quat)
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def wrap_angle(angle: float) -> float:
    """Angle wrapped to [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def vee(skew: np.ndarray) -> np.ndarray:
    """Vector (3,) of a skew-symmetric matrix (3, 3)."""
    return np.array([skew[2, 1], skew[0, 2], skew[1, 0]])


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (several times faster than ``np.cross`` for one pair)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def quat_from_matrix(rot: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w), w >= 0, of a rotation matrix (3, 3).

    Shepperd's method (Shepperd, "Quaternion from rotation matrix", J. Guidance and Control,
    1978): the largest of the four squared components is taken from the diagonal, the others
    from the off-diagonal sums, which keeps it accurate near every rotation.
    """
    m = np.asarray(rot, dtype=float)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    cands = (tr, m[0, 0], m[1, 1], m[2, 2])
    k = int(np.argmax(cands))
    if k == 0:
        w = 0.5 * np.sqrt(max(1.0 + tr, 0.0))
        x, y, z = ((m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w),
                   (m[1, 0] - m[0, 1]) / (4 * w))
    elif k == 1:
        x = 0.5 * np.sqrt(max(1.0 + m[0, 0] - m[1, 1] - m[2, 2], 0.0))
        w, y, z = ((m[2, 1] - m[1, 2]) / (4 * x), (m[0, 1] + m[1, 0]) / (4 * x),
                   (m[0, 2] + m[2, 0]) / (4 * x))
    elif k == 2:
        y = 0.5 * np.sqrt(max(1.0 - m[0, 0] + m[1, 1] - m[2, 2], 0.0))
        w, x, z = ((m[0, 2] - m[2, 0]) / (4 * y), (m[0, 1] + m[1, 0]) / (4 * y),
                   (m[1, 2] + m[2, 1]) / (4 * y))
    else:
        z = 0.5 * np.sqrt(max(1.0 - m[0, 0] - m[1, 1] + m[2, 2], 0.0))
        w, x, y = ((m[1, 0] - m[0, 1]) / (4 * z), (m[0, 2] + m[2, 0]) / (4 * z),
                   (m[1, 2] + m[2, 1]) / (4 * z))
    q = np.array([x, y, z, w])
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q
