"""From the filtered acceleration to the setpoint of each command level (the pilot's last step).

* ``acceleration``: the acceleration and yaw rate, less the disturbance the flight
  controller leaves (:class:`SetpointObserver`): PX4 and ArduPilot turn an acceleration-only
  setpoint into thrust and attitude without feedback on the acceleration reached, so wind or
  a mass error would otherwise act unopposed and break the filter's assumption that the
  commanded acceleration is (within its error bound) the one achieved.
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

import math
from collections import deque
from typing import Any

import numpy as np

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.control.levels import CommandLevel
from liquid_ros.control.rotation import quat_from_matrix
from liquid_ros.runtime.command import Mode

ATTITUDE_P = np.array([6.5, 6.5, 2.8])
"""Attitude-loop gains (1/s) for rate setpoints: PX4 MC_ROLL_P, MC_PITCH_P, MC_YAW_P."""
MAX_RATES = np.radians([220.0, 220.0, 200.0])
RESPONSE_TIME = 0.1
"""Time constant (s) with which a flight controller reaches an acceleration setpoint (tilting
and the rotor lag), used by :class:`SetpointObserver` so that its own lag is not taken for a
disturbance; about what the simulated PX4-like cascade shows on the Crazyflie model."""
COMMAND_DELAY = 0.04
"""Delay (s) assumed between sending a setpoint and the flight controller acting on it (the
ROS 2 and bridge hops, e.g. uXRCE-DDS to PX4, and the controller's own loop phase): with the
40 ms the shipped leader follower kept 9-10 of 10 episodes under 40 ms on every input, where
without it (0 s) the observer took the late response for a disturbance and 1 of 10 succeeded;
it is harmless when the link is faster (nominal runs unchanged)."""
"""Rate setpoint limits (rad/s): PX4 MC_ROLLRATE_MAX, MC_PITCHRATE_MAX, MC_YAWRATE_MAX."""


class SetpointObserver:
    """Disturbance observer on acceleration setpoints: achieved minus commanded, low-passed.

    From consecutive odometry velocities, measured at their stamps, the innovation ``e = (v_k -
    v_{k-1}) / (t_k - t_{k-1}) - a_model`` is low-passed with time constant ``tau`` into the
    estimate ``d`` (norm at most ``limit``), which the next setpoints subtract. ``a_model`` is
    the mean over that interval of the setpoints sent up to then, passed through a first-order
    response of time constant ``response`` (the flight controller's lag, and what remains of
    the command latency, are no disturbance). Disturbance-observer-based control (Chen et al.,
    IEEE T-IE 2016), as the node's AccelerationController does at the wrench level; the same
    ``controller.*`` settings (``disturbance_observer``, ``observer_time_constant``,
    ``observer_limit``).
    """

    def __init__(self, tau: float = 0.3, limit: float = 4.0, enabled: bool = True,
                 response: float = RESPONSE_TIME, delay: float = COMMAND_DELAY) -> None:
        self.tau, self.limit, self.enabled = float(tau), float(limit), bool(enabled)
        self.response, self.delay = float(response), float(delay)
        self.reset()

    def reset(self) -> None:
        """Forget the estimate, the last sample and the setpoints sent."""
        self.estimate = np.zeros(3)
        self._last: tuple[float, np.ndarray] | None = None
        self._model = np.zeros(3)  # the modelled acceleration at the last sample's time
        self._sent: deque[tuple[float, np.ndarray]] = deque([(-math.inf, np.zeros(3))],
                                                             maxlen=64)

    def _mean_model(self, t0: float, t1: float) -> np.ndarray:
        """Mean modelled acceleration over [t0, t1]; advances the model to ``t1``."""
        total, r = np.zeros(3), self.response
        sent = list(self._sent)
        for i, (ts, u) in enumerate(sent):
            end = sent[i + 1][0] if i + 1 < len(sent) else math.inf
            a, b = max(ts, t0), min(end, t1)
            if b <= a + 1e-6:
                continue
            d = b - a
            k = math.exp(-d / r) if r > 0.0 else 0.0
            total += u * d + (self._model - u) * (r * (1.0 - k) if r > 0.0 else 0.0)
            self._model = u + (self._model - u) * k
        # keep the one in force (stamps carried in messages round to 1 ns: compare with slack)
        while len(self._sent) > 1 and self._sent[1][0] <= t1 + 1e-6:
            self._sent.popleft()
        return total / (t1 - t0)

    def update(self, t: float, vel: np.ndarray) -> None:
        """A new odometry velocity ``vel`` (3,) measured at ``t`` (s); repeats are ignored."""
        if not self.enabled:
            return
        vel = np.asarray(vel, np.float64)
        if self._last is not None:
            t0, v0 = self._last
            if t - t0 <= 1e-4:
                return
            model = self._mean_model(t0, t)
            if t - t0 < 0.5:  # a gap longer than that is no acceleration measurement
                e = (vel - v0) / (t - t0) - model
                self.estimate += (t - t0) / (self.tau + t - t0) * (e - self.estimate)
                norm = float(np.linalg.norm(self.estimate))
                if norm > self.limit:
                    self.estimate *= self.limit / norm
        self._last = (float(t), vel.copy())

    def sent(self, t: float, accel: np.ndarray) -> None:
        """The acceleration setpoint (3,) sent at ``t`` (s), in force until the next one."""
        self._sent.append((float(t) + self.delay, np.asarray(accel, np.float64).copy()))


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
        obs = pilot.setpoint_observer
        setpoint = np.clip(accel - obs.estimate, ACTION_LOW[:3], ACTION_HIGH[:3])
        obs.sent(pilot.now, setpoint)
        st2 = {"stage": "disturbance", "intervention": float(np.abs(setpoint - accel).max())}
        return np.append(setpoint, yaw_rate), None, st2, mode
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
    thrust = ctrl.target[0]
    sent = 0.0 if grounded else float(np.clip(thrust, 0.0, p.max_thrust))
    ctrl.note_applied(vel, quat, sent)
    st2 = {"stage": "thrust", "intervention": abs(sent - thrust), "thrust": sent}
    values = thrust_setpoint(level, ctrl.target, sent)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"non-finite {level.value} setpoint {values}")
    return values, None, st2, mode


def thrust_setpoint(level: CommandLevel, target: tuple, thrust: float) -> np.ndarray:
    """Setpoint at a thrust level from the controller's ``target`` and the thrust sent (N)."""
    _, cols, e_r, w_ff = target
    if level == CommandLevel.ATTITUDE_THRUST:
        rot_des = np.asarray(cols, np.float64).reshape(3, 3).T  # columns b1, b2, b3
        return np.append(quat_from_matrix(rot_des), thrust)
    rates = np.clip(-ATTITUDE_P * np.asarray(e_r) + np.asarray(w_ff), -MAX_RATES, MAX_RATES)
    return np.append(rates, thrust)


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
