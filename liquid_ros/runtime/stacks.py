"""Setpoint and state conversions between liquid_ros and the flight stacks (ROS-free).

The policy's command at the ``acceleration`` level is a world acceleration (ENU, m/s^2,
kinematic: zero holds velocity, the flight controller adds gravity) and a yaw rate (rad/s about
world up). This module turns it into the fields of each stack's setpoint message and turns each
stack's state message into an :class:`~liquid_ros.runtime.decoding.OdomSample` (world ENU
position and velocity, attitude (x, y, z, w) of the FLU body in ENU, FLU body rates).

Functions return plain ``dict`` s of message fields (filled into a generated message with
:func:`fill`) and read messages duck-typed by field name, so they are tested without ROS and
without the message packages.

Stacks and their conventions (cited in ``shared/DESIGN.md`` and ``interfaces/README.md``):

* PX4 (px4_msgs v1.16, uXRCE-DDS ``/fmu/in``, ``/fmu/out``): world NED, body FRD, quaternions
  (w, x, y, z), timestamps in microseconds, NaN = "not controlled" in TrajectorySetpoint.
* Crazyswarm2 (crazyflie_interfaces 1.0.5): world ENU; FullState carries a position, velocity
  and acceleration reference, attitude (only its yaw is used) and body rates.
* MAVROS (mavros_msgs/PositionTarget on ``setpoint_raw/local``): ENU in the message, which
  MAVROS converts to NED itself; ``coordinate_frame = FRAME_LOCAL_NED`` and a ``type_mask``
  choosing the controlled fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from liquid_ros.control import frames
from liquid_ros.control.rotation import quat_to_matrix, yaw_from_quat
from liquid_ros.runtime.decoding import OdomSample

NAN3 = [math.nan] * 3


class StackConversionError(ValueError):
    """A setpoint or state message that cannot be converted (non-finite, unsupported frame)."""


def fill(msg: Any, fields: dict[str, Any]) -> Any:
    """Set ``msg``'s attributes from ``fields`` (nested dicts fill sub-messages); returns it."""
    for name, value in fields.items():
        if isinstance(value, dict):
            fill(getattr(msg, name), value)
        else:
            setattr(msg, name, value)
    return msg


def check_accel(accel_enu: Any, yaw_rate: float) -> tuple[np.ndarray, float]:
    """Validate an acceleration setpoint.

    Args:
        accel_enu: World acceleration (3,) m/s^2, ENU.
        yaw_rate: Yaw rate (rad/s) about world up.

    Returns:
        ``(accel (3,) float64, yaw_rate)``.

    Raises:
        StackConversionError: Wrong size or a non-finite value (never sent to a flight stack).
    """
    a = np.asarray(accel_enu, dtype=np.float64).reshape(-1)
    if a.shape != (3,):
        raise StackConversionError(f"acceleration must have 3 values, got {a.shape}")
    if not (np.isfinite(a).all() and math.isfinite(float(yaw_rate))):
        raise StackConversionError(f"non-finite setpoint: accel {a}, yaw rate {yaw_rate}")
    return a, float(yaw_rate)


def accel_setpoint(msg: Any) -> tuple[np.ndarray, float]:
    """The setpoint of a geometry_msgs/AccelStamped from policy_node (``cmd_accel``).

    Args:
        msg: AccelStamped (duck-typed): frame ``odom`` (or empty), ``accel.linear`` world ENU
            m/s^2, ``accel.angular.z`` yaw rate rad/s.

    Returns:
        ``(accel (3,) float64, yaw_rate)``, checked by :func:`check_accel`.

    Raises:
        StackConversionError: Another frame, or a non-finite value.
    """
    if msg.header.frame_id not in ("odom", ""):
        raise StackConversionError(f"frame {msg.header.frame_id!r} is not 'odom'")
    a = msg.accel
    return check_accel([a.linear.x, a.linear.y, a.linear.z], a.angular.z)


# ------------------------------------------------------------------------------------ PX4
PX4_POSE_FRAME_NED = 1
PX4_VELOCITY_FRAME_NED = 1
PX4_VELOCITY_FRAME_BODY_FRD = 3
PX4_ARMING_STATE_ARMED = 2
PX4_NAV_STATE_OFFBOARD = 14
PX4_NAV_STATE_AUTO_LOITER = 4
PX4_NAV_STATE_AUTO_LAND = 18
PX4_CMD_DO_SET_MODE = 176
PX4_CMD_COMPONENT_ARM_DISARM = 400
PX4_CUSTOM_MAIN_MODE_OFFBOARD = 6.0
"""``param2`` of DO_SET_MODE for offboard (px4_ros_com offboard_control example)."""


PX4_MODE_FIELDS = {"acceleration": "acceleration", "attitude_thrust": "attitude",
                   "rates_thrust": "body_rate"}
"""Command level -> the OffboardControlMode flag that selects it (PX4 "Offboard Mode")."""


def px4_offboard_control_mode(stamp_us: int, level: str = "acceleration") -> dict[str, Any]:
    """OffboardControlMode fields of the heartbeat at ``level`` (one flag set).

    Raises:
        StackConversionError: A level PX4 offboard is not driven at here (wrench).
    """
    name = getattr(level, "value", level)
    if name not in PX4_MODE_FIELDS:
        raise StackConversionError(f"no PX4 offboard mode for level {name!r}")
    out = {"timestamp": int(stamp_us), "position": False, "velocity": False,
           "acceleration": False, "attitude": False, "body_rate": False,
           "thrust_and_torque": False, "direct_actuator": False}
    out[PX4_MODE_FIELDS[name]] = True
    return out


def px4_trajectory_setpoint(accel_enu: Any, yaw_rate: float, stamp_us: int) -> dict[str, Any]:
    """TrajectorySetpoint fields for an ENU acceleration and yaw rate.

    Position, velocity, jerk and yaw are NaN (not controlled); acceleration is NED; yawspeed is
    about NED down, so its sign flips.

    Raises:
        StackConversionError: See :func:`check_accel`.
    """
    a, r = check_accel(accel_enu, yaw_rate)
    return {"timestamp": int(stamp_us), "position": list(NAN3), "velocity": list(NAN3),
            "acceleration": [float(x) for x in frames.enu_to_ned(a)], "jerk": list(NAN3),
            "yaw": math.nan, "yawspeed": frames.yaw_rate_enu_to_ned(r)}


def px4_trajectory_to_accel(msg: Any) -> tuple[np.ndarray, float]:
    """ENU acceleration (3,) and yaw rate from a TrajectorySetpoint (the simulated PX4's side).

    A NaN ``yawspeed`` means "not controlled" and becomes 0 (hold the heading).

    Raises:
        StackConversionError: Acceleration not (all) set, or position/velocity set (this
            simulated PX4 follows acceleration-only setpoints).
    """
    acc = np.asarray(msg.acceleration, np.float64)
    if not np.isfinite(acc).all():
        raise StackConversionError(f"TrajectorySetpoint acceleration is not set: {acc}")
    for name in ("position", "velocity"):
        if np.isfinite(np.asarray(getattr(msg, name), np.float64)).any():
            raise StackConversionError(f"TrajectorySetpoint {name} is set; only acceleration "
                                       "setpoints are supported")
    yawspeed = float(msg.yawspeed)
    rate = 0.0 if math.isnan(yawspeed) else frames.yaw_rate_enu_to_ned(yawspeed)
    return check_accel(frames.ned_to_enu(acc), rate)


def px4_vehicle_command(command: int, param1: float, param2: float, stamp_us: int,
                        target_system: int = 1) -> dict[str, Any]:
    """VehicleCommand fields, addressed as px4_ros_com's offboard example does."""
    return {"timestamp": int(stamp_us), "command": int(command), "param1": float(param1),
            "param2": float(param2), "target_system": int(target_system),
            "target_component": 1, "source_system": 1, "source_component": 1,
            "from_external": True}


def px4_offboard_commands(stamp_us: int, target_system: int = 1) -> list[dict[str, Any]]:
    """VehicleCommands that switch to offboard mode and arm, in that order."""
    return [px4_vehicle_command(PX4_CMD_DO_SET_MODE, 1.0, PX4_CUSTOM_MAIN_MODE_OFFBOARD,
                                stamp_us, target_system),
            px4_vehicle_command(PX4_CMD_COMPONENT_ARM_DISARM, 1.0, 0.0, stamp_us,
                                target_system)]


def px4_odometry_to_sample(msg: Any) -> OdomSample:
    """OdomSample (ENU/FLU) from a VehicleOdometry (NED/FRD, quaternion w, x, y, z).

    Raises:
        StackConversionError: Pose frame not NED, velocity frame not NED or body FRD, a
            non-finite field (PX4 sends NaN for what its estimator does not know) or a
            quaternion far from unit norm.
    """
    if int(msg.pose_frame) != PX4_POSE_FRAME_NED:
        raise StackConversionError(f"VehicleOdometry pose_frame {msg.pose_frame} is not NED")
    raw = np.concatenate([np.asarray(v, np.float64) for v in (
        msg.position, msg.q, msg.velocity, msg.angular_velocity)])
    if not np.isfinite(raw).all():
        raise StackConversionError(f"VehicleOdometry has non-finite fields: {raw}")
    norm = float(np.linalg.norm(raw[3:7]))
    if abs(norm - 1.0) > 0.1:
        raise StackConversionError(f"VehicleOdometry q is not a unit quaternion ({norm:.3g})")
    quat = frames.px4_quat_to_ros(raw[3:7] / norm)
    vel = raw[7:10]
    if int(msg.velocity_frame) == PX4_VELOCITY_FRAME_NED:
        vel_enu = frames.ned_to_enu(vel)
    elif int(msg.velocity_frame) == PX4_VELOCITY_FRAME_BODY_FRD:
        vel_enu = quat_to_matrix(quat) @ frames.frd_to_flu(vel)
    else:
        raise StackConversionError(
            f"VehicleOdometry velocity_frame {msg.velocity_frame} is not NED or BODY_FRD")
    return OdomSample(frames.ned_to_enu(raw[0:3]), vel_enu, quat,
                      frames.frd_to_flu(raw[10:13]))


def px4_odometry_fields(sample: OdomSample, stamp_us: int) -> dict[str, Any]:
    """VehicleOdometry fields (pose and velocity NED, body rates FRD) from an OdomSample."""
    return {"timestamp": int(stamp_us), "timestamp_sample": int(stamp_us),
            "pose_frame": PX4_POSE_FRAME_NED, "velocity_frame": PX4_VELOCITY_FRAME_NED,
            "position": [float(x) for x in frames.enu_to_ned(sample.position)],
            "q": [float(x) for x in frames.ros_quat_to_px4(sample.quaternion)],
            "velocity": [float(x) for x in frames.enu_to_ned(sample.velocity)],
            "angular_velocity": [float(x) for x in frames.flu_to_frd(sample.angular_velocity)],
            "position_variance": list(NAN3), "orientation_variance": list(NAN3),
            "velocity_variance": list(NAN3)}


@dataclass(frozen=True)
class Px4Status:
    """What the adapter needs from VehicleStatus.

    Attributes:
        armed: ``arming_state == ARMING_STATE_ARMED``.
        offboard: ``nav_state == NAVIGATION_STATE_OFFBOARD``.
        failsafe: PX4's failsafe is active.
    """

    armed: bool
    offboard: bool
    failsafe: bool


def px4_status(msg: Any) -> Px4Status:
    """:class:`Px4Status` from a VehicleStatus."""
    return Px4Status(int(msg.arming_state) == PX4_ARMING_STATE_ARMED,
                     int(msg.nav_state) == PX4_NAV_STATE_OFFBOARD, bool(msg.failsafe))


def px4_status_fields(stamp_us: int, armed: bool, nav_state: int) -> dict[str, Any]:
    """VehicleStatus fields (the simulated PX4's side)."""
    return {"timestamp": int(stamp_us), "arming_state": 2 if armed else 1,
            "nav_state": int(nav_state), "nav_state_user_intention": int(nav_state),
            "failsafe": nav_state != PX4_NAV_STATE_OFFBOARD and armed}


# ---------------------------------------------------------------------------- Crazyswarm2
def crazyflie_full_state(sample: OdomSample, accel_enu: Any, yaw_rate: float,
                         lookahead: float) -> dict[str, Any]:
    """FullState fields (no header) from the current state and an acceleration setpoint.

    Crazyswarm2 has no acceleration-only command; FullState carries a position, velocity and
    acceleration reference that the Crazyflie's controller tracks with acceleration feed-forward.
    The reference starts at the current state and moves as the setpoint asks over
    ``lookahead`` s (about one control period): ``p + v h + a h^2 / 2``, ``v + a h``, ``a``;
    yaw ``psi + r h`` with yaw rate ``r``. With ``lookahead = 0`` the position and velocity
    errors are zero and only the feed-forward acts. Re-anchoring at the measured state every
    tick keeps the reference from drifting away from the vehicle.

    Args:
        sample: Current odometry (world ENU).
        accel_enu: World acceleration (3,) m/s^2.
        yaw_rate: Yaw rate (rad/s) about world up.
        lookahead: ``h`` (s), >= 0.

    Raises:
        StackConversionError: See :func:`check_accel`; a negative lookahead.
    """
    a, r = check_accel(accel_enu, yaw_rate)
    h = float(lookahead)
    if not (math.isfinite(h) and h >= 0.0):
        raise StackConversionError(f"lookahead must be >= 0, got {lookahead!r}")
    pos = sample.position + sample.velocity * h + 0.5 * a * h * h
    vel = sample.velocity + a * h
    yaw = yaw_from_quat(sample.quaternion) + r * h
    qz, qw = math.sin(0.5 * yaw), math.cos(0.5 * yaw)
    return {"pose": {"position": _xyz(pos),
                     "orientation": {"x": 0.0, "y": 0.0, "z": qz, "w": qw}},
            "twist": {"linear": _xyz(vel), "angular": {"x": 0.0, "y": 0.0, "z": r}},
            "acc": _xyz(a)}


def crazyflie_notify_stop(remain_valid_ms: int = 100, group_mask: int = 0) -> dict[str, Any]:
    """NotifySetpointsStop request fields: hand control back to the high-level commander."""
    return {"group_mask": int(group_mask), "remain_valid_millisecs": int(remain_valid_ms)}


def _xyz(v: np.ndarray) -> dict[str, float]:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


# ---------------------------------------------------------------------------------- MAVROS
MAVROS_FRAME_LOCAL_NED = 1
MAVROS_IGNORE_PX, MAVROS_IGNORE_PY, MAVROS_IGNORE_PZ = 1, 2, 4
MAVROS_IGNORE_VX, MAVROS_IGNORE_VY, MAVROS_IGNORE_VZ = 8, 16, 32
MAVROS_IGNORE_YAW = 1024
MAVROS_ACCEL_TYPE_MASK = (MAVROS_IGNORE_PX | MAVROS_IGNORE_PY | MAVROS_IGNORE_PZ
                          | MAVROS_IGNORE_VX | MAVROS_IGNORE_VY | MAVROS_IGNORE_VZ
                          | MAVROS_IGNORE_YAW)
"""Acceleration (afx, afy, afz, not force) and yaw rate controlled; 1087."""


def mavros_position_target(accel_enu: Any, yaw_rate: float) -> dict[str, Any]:
    """PositionTarget fields (no header) for ``setpoint_raw/local``: ENU, MAVROS converts.

    Raises:
        StackConversionError: See :func:`check_accel`.
    """
    a, r = check_accel(accel_enu, yaw_rate)
    return {"coordinate_frame": MAVROS_FRAME_LOCAL_NED, "type_mask": MAVROS_ACCEL_TYPE_MASK,
            "position": {"x": 0.0, "y": 0.0, "z": 0.0},
            "velocity": {"x": 0.0, "y": 0.0, "z": 0.0},
            "acceleration_or_force": _xyz(a), "yaw": 0.0, "yaw_rate": r}
