"""From the filtered acceleration to the setpoint of each command level (the pilot's last step).

* ``acceleration``: the acceleration and yaw rate themselves (a flight controller tracks them).
* ``attitude_thrust``: the AccelerationController's desired attitude (thrust along the needed
  force, heading integrated from the yaw rate; Lee et al. 2010) as a quaternion (x, y, z, w),
  and its collective thrust (N).
* ``rates_thrust``: body rates from that attitude by a proportional attitude loop, ``w = -K e_R
  + R^T R_d w_d``, with PX4's default gains and rate limits (MC_ROLL_P, MC_PITCH_P 6.5,
  MC_YAW_P 2.8 /s; MC_ROLLRATE_MAX, MC_PITCHRATE_MAX 220, MC_YAWRATE_MAX 200 deg/s), and the
  collective thrust.
* ``wrench``: controller torques, then stage 2 of the safety filter (the closest wrench every
  rotor can produce).

At the thrust levels, stage 2 is the collective thrust's range ``[0, max_thrust]`` (what the
rotors give together); the flight controller owns the torques. The thrust actually sent is told
to the controller's disturbance observer. An emergency-stopped drone below ``ground_altitude``
gets zero thrust (mode ``grounded``) at every level that sends thrust.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liquid_ros.control.levels import CommandLevel
from liquid_ros.control.rotation import quat_from_matrix
from liquid_ros.runtime.command import Mode

ATTITUDE_P = np.array([6.5, 6.5, 2.8])
"""Attitude-loop gains (1/s) for rate setpoints: PX4 MC_ROLL_P, MC_PITCH_P, MC_YAW_P."""
MAX_RATES = np.radians([220.0, 220.0, 200.0])
"""Rate setpoint limits (rad/s): PX4 MC_ROLLRATE_MAX, MC_PITCHRATE_MAX, MC_YAWRATE_MAX."""


def _status(status: Any) -> dict[str, Any]:
    if status is None:
        return {}
    return status.to_dict() if hasattr(status, "to_dict") else dict(status)


def level_setpoint(pilot: Any, mode: Mode, state: tuple[np.ndarray, ...], accel: np.ndarray,
                   yaw_rate: float, dt: float
                   ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any], Mode]:
    """(setpoint values, wrench or None, stage-2 status, mode) at ``pilot.level``.

    Args:
        pilot: The Pilot (its level, controller, safety filter, params and config).
        mode: The tick's mode (``estop`` may become ``grounded``).
        state: Predicted (position, velocity, quaternion, body rate).
        accel: Filtered world acceleration (3,) m/s^2.
        yaw_rate: Filtered yaw rate (rad/s).
        dt: Controller time step (s).

    Raises:
        ValueError: A non-finite result (the pilot then falls back).
    """
    level = pilot.level
    if level == CommandLevel.ACCELERATION:
        return np.append(accel, yaw_rate), None, {}, mode
    pos, vel, quat, omega = state
    grounded = mode == Mode.ESTOP and pos[2] < pilot.config.ground_altitude
    if grounded:
        mode = Mode.GROUNDED
    ctrl, p = pilot.controller, pilot.params
    wrench = np.asarray(ctrl.compute(pos, vel, quat, omega, accel, yaw_rate, dt), np.float64)
    if level == CommandLevel.WRENCH:
        wrench, st2 = pilot.safety.filter_wrench(np.zeros(4) if grounded else wrench)
        wrench = np.asarray(wrench, np.float64)
        if wrench.shape != (4,) or not np.all(np.isfinite(wrench)):
            raise ValueError(f"non-finite or misshaped wrench {wrench}")
        wrench[0] = 0.0 if grounded else np.clip(wrench[0], 0.0, p.max_thrust)
        wrench[1:] = 0.0 if grounded else np.clip(wrench[1:], -pilot.max_torque,
                                                   pilot.max_torque)
        if hasattr(ctrl, "note_applied"):
            ctrl.note_applied(vel, quat, float(wrench[0]))
        return wrench, wrench, _status(st2), mode
    thrust, cols, e_r, w_ff = ctrl.target
    sent = 0.0 if grounded else float(np.clip(thrust, 0.0, p.max_thrust))
    ctrl.note_applied(vel, quat, sent)
    st2 = {"stage": "thrust", "intervention": abs(sent - thrust), "thrust": sent}
    if level == CommandLevel.ATTITUDE_THRUST:
        rot_des = np.asarray(cols, np.float64).reshape(3, 3).T  # columns b1, b2, b3
        values = np.append(quat_from_matrix(rot_des), sent)
    else:
        rates = np.clip(-ATTITUDE_P * np.asarray(e_r) + np.asarray(w_ff), -MAX_RATES, MAX_RATES)
        values = np.append(rates, sent)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"non-finite {level.value} setpoint {values}")
    return values, None, st2, mode


def last_resort(pilot: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(values, wrench) when even the fallback chain failed: level hover thrust, no turning."""
    weight = pilot.params.weight
    if pilot.level == CommandLevel.WRENCH:
        wrench = np.array([weight, 0.0, 0.0, 0.0])
        return wrench, wrench
    if pilot.level == CommandLevel.ATTITUDE_THRUST:  # level attitude at the current heading
        q = np.asarray(pilot.odom.quaternion, float) if pilot.odom is not None else None
        yaw = 0.0 if q is None else float(np.arctan2(2 * (q[3] * q[2] + q[0] * q[1]),
                                                     1 - 2 * (q[1] ** 2 + q[2] ** 2)))
        return np.array([0.0, 0.0, np.sin(yaw / 2), np.cos(yaw / 2), weight]), None
    if pilot.level == CommandLevel.RATES_THRUST:
        return np.array([0.0, 0.0, 0.0, weight]), None
    return np.zeros(4), None
