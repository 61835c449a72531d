"""ROS 2 messages for rosbag2 files without ROS: build them for writing, decode them to numpy.

Types come from ``rosbags.typesys`` (the Jazzy store, whose definitions and type hashes of the
messages used here are those of Kilted too), so no ROS install is needed. Decoders take the
deserialised ``rosbags`` objects, which carry the same attributes as rclpy messages; images and
odometry are decoded by :mod:`liquid_ros.runtime.decoding`, the node's decoder.

Frames follow REP-103/REP-105: ``nav_msgs/Odometry`` holds the pose in the world (ENU) and the
twist in the body (FLU) frame, so the world velocity is the body twist rotated by the attitude.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from liquid_ros.control.rotation import quat_to_matrix
from liquid_ros.runtime import decoding

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
ODOMETRY = "nav_msgs/msg/Odometry"
WRENCH = "geometry_msgs/msg/WrenchStamped"
TWIST = "geometry_msgs/msg/TwistStamped"
ACCEL = "geometry_msgs/msg/AccelStamped"
POINT = "geometry_msgs/msg/PointStamped"

IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
"""Message types accepted on the image topic."""
COMMAND_TYPES = (WRENCH, TWIST, ACCEL)
"""Message types accepted on the command topic."""
GOAL_TYPES = (POINT, ODOMETRY)
"""Message types accepted on the optional goal topic."""

@lru_cache(maxsize=1)
def typestore() -> Any:
    """The ``rosbags`` type store used for reading and writing (ROS 2 Jazzy definitions)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def stamp_ns(header: Any) -> int:
    """``header.stamp`` in integer nanoseconds."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def _header(t_ns: int, frame_id: str) -> Any:
    ts = typestore().types
    sec, nsec = divmod(int(t_ns), 1_000_000_000)
    return ts["std_msgs/msg/Header"](stamp=ts["builtin_interfaces/msg/Time"](
        sec=sec, nanosec=nsec), frame_id=frame_id)


def _vec(cls: str, v: Any) -> Any:
    return typestore().types[cls](x=float(v[0]), y=float(v[1]), z=float(v[2]))


# --------------------------------------------------------------------------------- building
def image_msg(t_ns: int, rgb: np.ndarray, frame_id: str = "camera") -> Any:
    """``sensor_msgs/Image`` (rgb8) from an (H, W, 3) uint8 array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return typestore().types[IMAGE](
        header=_header(t_ns, frame_id), height=h, width=w, encoding="rgb8", is_bigendian=0,
        step=w * 3, data=rgb.reshape(-1))


def odometry_msg(t_ns: int, position: np.ndarray, quaternion: np.ndarray,
                 velocity_world: np.ndarray, omega_body: np.ndarray,
                 frame_id: str = "odom", child_frame_id: str = "base_link") -> Any:
    """``nav_msgs/Odometry``: pose in the world, twist in the body frame (REP-105)."""
    ts = typestore().types
    q = np.asarray(quaternion, np.float64)
    v_body = quat_to_matrix(q).T @ np.asarray(velocity_world, np.float64)
    pose = ts["geometry_msgs/msg/Pose"](
        position=_vec("geometry_msgs/msg/Point", position),
        orientation=ts["geometry_msgs/msg/Quaternion"](
            x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3])))
    twist = ts["geometry_msgs/msg/Twist"](linear=_vec("geometry_msgs/msg/Vector3", v_body),
                                          angular=_vec("geometry_msgs/msg/Vector3", omega_body))
    return ts[ODOMETRY](
        header=_header(t_ns, frame_id), child_frame_id=child_frame_id,
        pose=ts["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
        twist=ts["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=np.zeros(36)))


def wrench_msg(t_ns: int, wrench: np.ndarray, frame_id: str = "base_link") -> Any:
    """``geometry_msgs/WrenchStamped`` from (thrust N, tau_x, tau_y, tau_z N m), body FLU."""
    ts = typestore().types
    w = np.asarray(wrench, np.float64)
    return ts[WRENCH](header=_header(t_ns, frame_id), wrench=ts["geometry_msgs/msg/Wrench"](
        force=_vec("geometry_msgs/msg/Vector3", (0.0, 0.0, w[0])),
        torque=_vec("geometry_msgs/msg/Vector3", w[1:4])))


def accel_msg(t_ns: int, action: np.ndarray, frame_id: str = "odom") -> Any:
    """``geometry_msgs/AccelStamped`` holding a policy action.

    ``linear`` is the world ENU acceleration (m/s^2), ``angular.z`` the yaw rate (rad/s).
    """
    ts = typestore().types
    a = np.asarray(action, np.float64)
    return ts[ACCEL](header=_header(t_ns, frame_id), accel=ts["geometry_msgs/msg/Accel"](
        linear=_vec("geometry_msgs/msg/Vector3", a[:3]),
        angular=_vec("geometry_msgs/msg/Vector3", (0.0, 0.0, a[3]))))


def twist_msg(t_ns: int, linear: np.ndarray, yaw_rate: float, frame_id: str = "base_link"
              ) -> Any:
    """``geometry_msgs/TwistStamped``: ``linear`` (3,) m/s and yaw rate (rad/s)."""
    ts = typestore().types
    return ts[TWIST](header=_header(t_ns, frame_id), twist=ts["geometry_msgs/msg/Twist"](
        linear=_vec("geometry_msgs/msg/Vector3", linear),
        angular=_vec("geometry_msgs/msg/Vector3", (0.0, 0.0, yaw_rate))))


def point_msg(t_ns: int, point: np.ndarray, frame_id: str = "odom") -> Any:
    """``geometry_msgs/PointStamped`` (m, world)."""
    return typestore().types[POINT](header=_header(t_ns, frame_id),
                                    point=_vec("geometry_msgs/msg/Point", point))


# --------------------------------------------------------------------------------- decoding
def decode_image(msg: Any) -> np.ndarray:
    """RGB (H, W, 3) uint8 from an Image or a CompressedImage, at its own size.

    The shared decoder :func:`liquid_ros.runtime.decoding.to_rgb`, which the node uses too.

    Raises:
        decoding.ImageDecodeError: Unsupported encoding, inconsistent size, or undecodable data.
    """
    return decoding.to_rgb(msg)


def decode_command(msg: Any, msgtype: str) -> np.ndarray:
    """(6,) float64 raw command: force, torque (Wrench) or linear, angular (Twist, Accel).

    Raises:
        ValueError: A non-finite field.
    """
    if msgtype == WRENCH:
        a, b = msg.wrench.force, msg.wrench.torque
    elif msgtype == TWIST:
        a, b = msg.twist.linear, msg.twist.angular
    else:
        a, b = msg.accel.linear, msg.accel.angular
    raw = np.array([a.x, a.y, a.z, b.x, b.y, b.z], np.float64)
    if not np.all(np.isfinite(raw)):
        raise ValueError("command has non-finite fields")
    return raw


def decode_goal(msg: Any, msgtype: str) -> np.ndarray:
    """(3,) float64 goal position (m) from a PointStamped or an Odometry."""
    p = msg.point if msgtype == POINT else msg.pose.pose.position
    raw = np.array([p.x, p.y, p.z], np.float64)
    if not np.all(np.isfinite(raw)):
        raise ValueError("goal has non-finite fields")
    return raw
