"""Attitude + thrust and body rates + thrust setpoints in the stacks' messages (ROS-free).

The pilot's setpoints at these levels (:mod:`liquid_ros.control.levels`):

* ``attitude_thrust``: ``[qx, qy, qz, qw, thrust]``, the attitude of the FLU body in the ENU
  world (body -> world) and the collective thrust (N, along body up);
* ``rates_thrust``: ``[p, q, r, thrust]``, FLU body rates (rad/s) and the collective thrust (N).

Over ROS they travel as ``mavros_msgs/AttitudeTarget`` (mavros 2.12.0, the de-facto ROS message
for these setpoints): ENU/FLU as MAVROS expects, ``type_mask`` ignoring the body rates
(attitude) or the attitude (rates), and ``thrust`` normalised as ``thrust_n / max_thrust`` in
``[0, 1]`` (policy_node uses the modelled vehicle's ``CF2X.max_thrust``, 0.595 N). MAVROS
passes ``thrust`` on unchanged as SET_ATTITUDE_TARGET's normalised thrust, which the
autopilot reads as a fraction of full throttle; that equals a fraction of the maximum force
when the autopilot's thrust curve is linearised (PX4 ``THR_MDL_FAC``).

PX4 (px4_msgs v1.16): VehicleAttitudeSetpoint (``q_d`` of FRD in NED, order w, x, y, z) and
VehicleRatesSetpoint (FRD rates ``roll``, ``pitch``, ``yaw``), both with ``thrust_body = [0, 0,
-normalised thrust]`` from newtons through the hover-thrust model of
:func:`liquid_ros.control.frames.thrust_newtons_to_normalized`.

Every reader validates (finite, unit quaternion, thrust in range, type_mask of the level) and
raises :class:`~liquid_ros.runtime.stacks.StackConversionError`, so nothing invalid reaches a
flight controller.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from liquid_ros.control import frames
from liquid_ros.control.levels import CommandLevel
from liquid_ros.runtime.stacks import StackConversionError

IGNORE_ROLL_RATE, IGNORE_PITCH_RATE, IGNORE_YAW_RATE = 1, 2, 4
IGNORE_THRUST, IGNORE_ATTITUDE = 64, 128
TYPE_MASKS = {CommandLevel.ATTITUDE_THRUST: IGNORE_ROLL_RATE | IGNORE_PITCH_RATE
              | IGNORE_YAW_RATE,
              CommandLevel.RATES_THRUST: IGNORE_ATTITUDE}
"""AttitudeTarget ``type_mask`` of each level: 7 (attitude + thrust), 128 (rates + thrust)."""
FRAMES = ("odom", "map", "")
"""Accepted AttitudeTarget ``header.frame_id``: the ENU world (policy_node sends 'odom')."""
QUAT_NORM_TOLERANCE = 0.01
"""Largest ``| |q| - 1 |`` accepted (float32 round-off is about 1e-7); the rest renormalised."""
THRUST_LEVELS = tuple(TYPE_MASKS)


def _level(level: CommandLevel | str) -> CommandLevel:
    lv = CommandLevel(level)
    if lv not in TYPE_MASKS:
        raise StackConversionError(f"{lv.value} is not a thrust setpoint level")
    return lv


def check_setpoint(level: CommandLevel | str, values: Any) -> np.ndarray:
    """Validated setpoint (5,) or (4,) of ``level``: unit quaternion, thrust >= 0, finite.

    Raises:
        StackConversionError: Wrong size, a non-finite value, a quaternion off unit norm by
            more than :data:`QUAT_NORM_TOLERANCE` (a zero quaternion included), or a negative
            thrust.
    """
    lv = _level(level)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    size = 5 if lv == CommandLevel.ATTITUDE_THRUST else 4
    if v.shape != (size,):
        raise StackConversionError(f"{lv.value} setpoint must have {size} values, got {v.shape}")
    if not np.isfinite(v).all():
        raise StackConversionError(f"non-finite {lv.value} setpoint {v}")
    if v[-1] < 0.0:
        raise StackConversionError(f"negative collective thrust {v[-1]:g} N")
    if lv == CommandLevel.ATTITUDE_THRUST:
        norm = float(np.linalg.norm(v[:4]))
        if abs(norm - 1.0) > QUAT_NORM_TOLERANCE:
            raise StackConversionError(f"attitude is not a unit quaternion (norm {norm:.3g})")
        v[:4] /= norm
    return v


def _max_thrust(max_thrust: float) -> float:
    m = float(max_thrust)
    if not (math.isfinite(m) and m > 0.0):
        raise StackConversionError(f"max_thrust must be > 0, got {max_thrust!r}")
    return m


# ------------------------------------------------------------------ mavros_msgs/AttitudeTarget
def attitude_target_fields(level: CommandLevel | str, values: Any,
                           max_thrust: float) -> dict[str, Any]:
    """AttitudeTarget fields (no header) for a setpoint of ``level``.

    ``thrust = clip(thrust_n / max_thrust, 0, 1)``; the ignored part is the identity attitude
    or zero rates.

    Raises:
        StackConversionError: See :func:`check_setpoint`.
    """
    lv, v = _level(level), check_setpoint(level, values)
    thrust = float(np.clip(v[-1] / _max_thrust(max_thrust), 0.0, 1.0))
    q, rates = ([*v[:4]], [0.0] * 3) if lv == CommandLevel.ATTITUDE_THRUST else (
        [0.0, 0.0, 0.0, 1.0], [*v[:3]])
    return {"type_mask": TYPE_MASKS[lv],
            "orientation": dict(zip("xyzw", (float(x) for x in q), strict=True)),
            "body_rate": dict(zip("xyz", (float(x) for x in rates), strict=True)),
            "thrust": thrust}


def attitude_target_setpoint(msg: Any, level: CommandLevel | str,
                             max_thrust: float) -> np.ndarray:
    """Setpoint values of ``level`` from an AttitudeTarget (the receiving side).

    Args:
        msg: mavros_msgs/AttitudeTarget (duck-typed): frame in :data:`FRAMES`, ``type_mask``
            exactly :data:`TYPE_MASKS` ``[level]``, ``thrust`` in [0, 1].
        level: The receiver's level.
        max_thrust: Newtons that ``thrust = 1`` stands for.

    Raises:
        StackConversionError: Another frame, a type_mask of another level (or ignoring the
            thrust), thrust outside [0, 1], or anything :func:`check_setpoint` rejects.
    """
    lv = _level(level)
    if msg.header.frame_id not in FRAMES:
        raise StackConversionError(f"frame {msg.header.frame_id!r} is not the ENU world "
                                   f"({'/'.join(repr(f) for f in FRAMES)})")
    if int(msg.type_mask) != TYPE_MASKS[lv]:
        raise StackConversionError(f"type_mask {msg.type_mask} does not match {lv.value} "
                                   f"(expected {TYPE_MASKS[lv]})")
    thrust = float(msg.thrust)
    if not 0.0 <= thrust <= 1.0:  # NaN fails too
        raise StackConversionError(f"normalised thrust {thrust} is not in [0, 1]")
    t = thrust * _max_thrust(max_thrust)
    if lv == CommandLevel.ATTITUDE_THRUST:
        o = msg.orientation
        return check_setpoint(lv, [o.x, o.y, o.z, o.w, t])
    r = msg.body_rate
    return check_setpoint(lv, [r.x, r.y, r.z, t])


# ------------------------------------------------------------------------------------ PX4
def px4_thrust_setpoint(level: CommandLevel | str, values: Any, hover_thrust: float,
                        weight: float, stamp_us: int) -> dict[str, Any]:
    """VehicleAttitudeSetpoint or VehicleRatesSetpoint fields for a setpoint of ``level``.

    Attitude: ``q_d`` = the attitude of FRD in NED, (w, x, y, z); rates: FLU -> FRD (q and r
    change sign). ``thrust_body = [0, 0, -hover_thrust * thrust_n / weight]`` clipped to
    ``[-1, 0]``.

    Raises:
        StackConversionError: See :func:`check_setpoint`; a bad hover thrust or weight.
    """
    lv, v = _level(level), check_setpoint(level, values)
    try:
        tz = frames.thrust_newtons_to_normalized(v[-1], hover_thrust, weight)
    except ValueError as exc:
        raise StackConversionError(str(exc)) from None
    out: dict[str, Any] = {"timestamp": int(stamp_us), "thrust_body": [0.0, 0.0, tz],
                           "reset_integral": False}
    if lv == CommandLevel.ATTITUDE_THRUST:
        out["q_d"] = [float(x) for x in frames.ros_quat_to_px4(v[:4])]
        out["yaw_sp_move_rate"] = 0.0
        out["fw_control_yaw_wheel"] = False
    else:
        out["roll"], out["pitch"], out["yaw"] = (float(x) for x in frames.flu_to_frd(v[:3]))
    return out


def px4_thrust_setpoint_values(msg: Any, level: CommandLevel | str, hover_thrust: float,
                               weight: float) -> np.ndarray:
    """Setpoint values (ENU/FLU, N) from a VehicleAttitudeSetpoint / VehicleRatesSetpoint.

    The simulated PX4's side; the inverse of :func:`px4_thrust_setpoint`.

    Raises:
        StackConversionError: Non-finite fields, a thrust_body that is not along body down
            (x, y non-zero, or z outside [-1, 0]), or what :func:`check_setpoint` rejects.
    """
    lv = _level(level)
    tb = np.asarray(msg.thrust_body, np.float64)
    if tb.shape != (3,) or not np.isfinite(tb).all():
        raise StackConversionError(f"thrust_body is not finite: {tb}")
    if abs(tb[0]) > 1e-6 or abs(tb[1]) > 1e-6 or not -1.0 <= tb[2] <= 0.0:
        raise StackConversionError(f"thrust_body {tb} is not a multicopter's [0, 0, [-1, 0]]")
    try:
        t = frames.thrust_normalized_to_newtons(float(tb[2]), hover_thrust, weight)
    except ValueError as exc:
        raise StackConversionError(str(exc)) from None
    if lv == CommandLevel.ATTITUDE_THRUST:
        q = np.asarray(msg.q_d, np.float64)
        if q.shape != (4,) or not np.isfinite(q).all():
            raise StackConversionError(f"q_d is not finite: {q}")
        norm = float(np.linalg.norm(q))
        if abs(norm - 1.0) > QUAT_NORM_TOLERANCE:
            raise StackConversionError(f"q_d is not a unit quaternion (norm {norm:.3g})")
        return check_setpoint(lv, [*frames.px4_quat_to_ros(q / norm), t])
    rates = np.array([msg.roll, msg.pitch, msg.yaw], np.float64)
    return check_setpoint(lv, [*frames.frd_to_flu(rates), t])
