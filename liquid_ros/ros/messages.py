"""Message conversions and QoS profiles shared by the nodes.

``nav_msgs/Odometry`` follows REP-105: the pose is in ``header.frame_id`` (the world, ENU) and
the twist in ``child_frame_id`` (the body, FLU), so the world velocity the policy needs is the
body twist rotated by the attitude.
"""

from __future__ import annotations

import array
import json
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import AccelStamped, TwistStamped, WrenchStamped
from nav_msgs.msg import Odometry
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from std_msgs.msg import Float64MultiArray, MultiArrayDimension, String

from liquid_ros.control.quadrotor import CF2X
from liquid_ros.runtime.decoding import OdomSample, odometry
from liquid_ros.runtime.stacks import fill
from liquid_ros.runtime.thrust_setpoints import attitude_target_fields

SENSOR_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                        reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.VOLATILE)
"""Sensor-data QoS with a latest-value buffer (keep last 1, best effort)."""
COMMAND_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
"""Commands: reliable, only the newest matters."""
STATUS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                        reliability=ReliabilityPolicy.RELIABLE)
"""Status, metrics and diagnostics."""


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector ``v`` (3,) by unit quaternion ``q`` (x, y, z, w)."""
    u, w = q[:3], q[3]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def odom_from_msg(msg: Odometry, max_abs: float = 1e4) -> OdomSample:
    """Convert and validate an Odometry message (:func:`liquid_ros.runtime.decoding.odometry`).

    ``OdomSample`` is re-exported here for the nodes' existing imports.

    Raises:
        ValueError: A non-finite or absurd (``> max_abs``) field, or a quaternion that is not
            close to unit norm (it is renormalised when within 10%).
    """
    return odometry(msg, max_abs)


def odom_to_msg(msg: Odometry, position: np.ndarray, quaternion: np.ndarray,
                velocity_world: np.ndarray, angular_velocity_body: np.ndarray) -> Odometry:
    """Fill an Odometry message (header and frames untouched); twist in the body frame."""
    q = np.asarray(quaternion, np.float64)
    q_inv = np.array([-q[0], -q[1], -q[2], q[3]])
    v_body = quat_rotate(q_inv, np.asarray(velocity_world, np.float64))
    pp, po = msg.pose.pose.position, msg.pose.pose.orientation
    pp.x, pp.y, pp.z = (float(x) for x in position)
    po.x, po.y, po.z, po.w = (float(x) for x in q)
    tl, ta = msg.twist.twist.linear, msg.twist.twist.angular
    tl.x, tl.y, tl.z = (float(x) for x in v_body)
    ta.x, ta.y, ta.z = (float(x) for x in angular_velocity_body)
    return msg


THRUST_OUTPUTS = {"attitude": "attitude_thrust", "rates": "rates_thrust"}
"""output_type -> command level of the outputs sent as mavros_msgs/AttitudeTarget."""


def command_msg(output_type: str, stamp: Any, frame_id: str, wrench: np.ndarray,
                accel: np.ndarray, yaw_rate: float, values: Any = None) -> Any:
    """Build the output command message.

    Args:
        output_type: ``wrench``, ``accel``, ``twist``, ``array``, ``attitude`` or ``rates``
            (see ``PolicyNodeConfig.output_type``).
        stamp: builtin_interfaces/Time.
        frame_id: Body frame.
        wrench: (4,) thrust N, body torques N m (FLU).
        accel: (3,) safe world acceleration m/s^2 (for ``twist``).
        yaw_rate: rad/s (for ``twist``).
        values: The pilot's setpoint (for ``attitude``: (5,) quaternion x, y, z, w of the FLU
            body in ENU and thrust N; ``rates``: (4,) FLU body rates rad/s and thrust N): a
            mavros_msgs/AttitudeTarget in frame 'odom' (:func:`attitude_target_msg`).

    Raises:
        MissingMessagePackage: ``attitude``/``rates`` without mavros_msgs.
        StackConversionError: An invalid ``values`` (never published).
    """
    if output_type in THRUST_OUTPUTS:
        return attitude_target_msg(THRUST_OUTPUTS[output_type], stamp, values)
    if output_type == "wrench":
        msg = WrenchStamped()
        msg.header.stamp, msg.header.frame_id = stamp, frame_id
        msg.wrench.force.z = float(wrench[0])
        t = msg.wrench.torque
        t.x, t.y, t.z = float(wrench[1]), float(wrench[2]), float(wrench[3])
        return msg
    if output_type == "accel":  # a flight controller's acceleration setpoint (world ENU)
        msg = AccelStamped()
        msg.header.stamp, msg.header.frame_id = stamp, "odom"
        lin = msg.accel.linear
        lin.x, lin.y, lin.z = (float(v) for v in accel)
        msg.accel.angular.z = float(yaw_rate)
        return msg
    if output_type == "twist":
        msg = TwistStamped()
        msg.header.stamp, msg.header.frame_id = stamp, frame_id
        lin = msg.twist.linear
        lin.x, lin.y, lin.z = (float(a) for a in accel)
        msg.twist.angular.z = float(yaw_rate)
        return msg
    if output_type == "array":
        msg = Float64MultiArray()
        msg.layout.dim = [MultiArrayDimension(label="thrust_tx_ty_tz", size=4, stride=4)]
        msg.data = array.array("d", np.asarray(wrench, np.float64).tolist())
        return msg
    raise ValueError(f"output_type must be wrench, accel, twist, array, attitude or rates, got "
                     f"{output_type!r}")


def attitude_target_type() -> type:
    """mavros_msgs/AttitudeTarget.

    Raises:
        MissingMessagePackage: mavros_msgs is not installed (the message names it).
    """
    from liquid_ros.ros.adapter_common import import_types

    return import_types("mavros_msgs", "msg", ["AttitudeTarget"])[0]


def attitude_target_msg(level: str, stamp: Any, values: Any,
                        max_thrust: float = CF2X.max_thrust, frame_id: str = "odom") -> Any:
    """A mavros_msgs/AttitudeTarget for a setpoint of ``level`` (ENU/FLU, as MAVROS expects).

    ``type_mask`` 7 (body rates ignored) at ``attitude_thrust``, 128 (attitude ignored) at
    ``rates_thrust``; ``thrust = thrust_n / max_thrust`` clipped to [0, 1], with the modelled
    vehicle's ``CF2X.max_thrust`` (0.595 N) by default
    (:mod:`liquid_ros.runtime.thrust_setpoints`).

    Raises:
        MissingMessagePackage: No mavros_msgs.
        StackConversionError: Invalid ``values``.
    """
    msg = attitude_target_type()()
    fill(msg, attitude_target_fields(level, values, max_thrust))
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    return msg


def command_type(output_type: str) -> type:
    """Message class for ``output_type``.

    Raises:
        MissingMessagePackage: ``attitude``/``rates`` without mavros_msgs.
    """
    if output_type in THRUST_OUTPUTS:
        return attitude_target_type()
    return {"wrench": WrenchStamped, "twist": TwistStamped, "accel": AccelStamped,
            "array": Float64MultiArray}[output_type]


def wrench_from_msg(msg: WrenchStamped) -> np.ndarray:
    """(4,) thrust, torques from a WrenchStamped (thrust is force.z in the body frame)."""
    w, t = msg.wrench.force, msg.wrench.torque
    return np.array([w.z, t.x, t.y, t.z], np.float64)


def json_msg(data: dict) -> String:
    """A std_msgs/String holding ``data`` as JSON (non-finite floats become null)."""
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, np.ndarray)):
            return [clean(x) for x in v]
        if isinstance(v, (np.floating, float)):
            return float(v) if np.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        return v
    return String(data=json.dumps(clean(data)))


def diagnostics_msg(stamp: Any, name: str, hardware_id: str, level: int, message: str,
                    values: dict[str, Any]) -> DiagnosticArray:
    """A DiagnosticArray with one status; ``level`` 0 OK, 1 WARN, 2 ERROR, 3 STALE."""
    status = DiagnosticStatus(level=bytes([level]), name=name, message=message,
                              hardware_id=hardware_id,
                              values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
    return DiagnosticArray(header=_header(stamp), status=[status])


def _header(stamp: Any) -> Any:
    from std_msgs.msg import Header
    return Header(stamp=stamp)
