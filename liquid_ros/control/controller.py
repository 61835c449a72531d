"""Acceleration controller: (desired world acceleration, yaw rate) -> (thrust, body torques).

The outer law is the thrust-vector part of Lee, Leok and McClamroch (CDC 2010): the desired
force ``f = m (a_des + g e3) + drag`` fixes the desired body z axis and, projected on the current
body z axis, the collective thrust; the desired heading comes from integrating the commanded yaw
rate. The inner law is :class:`~liquid_ros.control.attitude.AttitudeController`. A disturbance
observer (on by default) estimates the acceleration the force model misses (mass, thrust
coefficient, wind) and the outer law cancels it (:meth:`AccelerationController._observe`).

Gains' origin: pole placement at a 50 Hz zero-order-hold control rate. The attitude natural
frequency (14 rad/s roll/pitch, 6 rad/s yaw, damping 0.9) keeps ``wn * T`` below 0.3 at T = 20 ms
so the sampled loop keeps its damping; the position-hold PD (``wn`` = 2.5 rad/s, damping 1.0) is
about 5x slower than the attitude loop, the usual cascade separation. Checked in simulation by
``test/unit/control`` (step responses, hover).

Action bounds (``ACTION_LOW``, ``ACTION_HIGH``): world acceleration within +-4 m/s^2 per axis and
yaw rate within +-2 rad/s. At the corner (4, 4, 4) m/s^2 the Crazyflie needs 0.40 N of its
0.60 N thrust and tilts 22 degrees, so every bounded command is flyable with torque margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liquid_ros.control.attitude import AttitudeController
from liquid_ros.control.quadrotor import CF2X, GRAVITY, QuadrotorParams
from liquid_ros.control.rotation import cross, quat_to_matrix, wrap_angle, yaw_from_quat

ACTION_LOW = np.array([-4.0, -4.0, -4.0, -2.0], dtype=np.float32)
"""Lower action bounds: world ENU acceleration (3) m/s^2, yaw rate (1) rad/s."""
ACTION_HIGH = np.array([4.0, 4.0, 4.0, 2.0], dtype=np.float32)
"""Upper action bounds: world ENU acceleration (3) m/s^2, yaw rate (1) rad/s."""

HOVER_KP = 2.5**2
"""Position-hold stiffness (1/s^2): natural frequency 2.5 rad/s."""
HOVER_KD = 2.0 * 1.0 * 2.5
"""Position-hold damping (1/s): damping ratio 1.0 at 2.5 rad/s."""
LAND_SPEED = 0.3
"""Descent speed (m/s) commanded by :func:`land_accel`."""
LAND_KV = 3.0
"""Velocity gain (1/s) of :func:`land_accel`."""


@dataclass(frozen=True)
class ControllerConfig:
    """Gains and limits of :class:`AccelerationController`."""

    attitude_natural_freq: tuple[float, float, float] = (14.0, 14.0, 6.0)
    """Attitude loop natural frequency per body axis (rad/s)."""
    attitude_damping: float = 0.9
    """Attitude loop damping ratio."""
    max_tilt: float = math.radians(45.0)
    """Largest tilt of the thrust axis from vertical (rad); horizontal demand is scaled down."""
    min_thrust_ratio: float = 0.2
    """Lowest vertical force as a fraction of weight: keeps the thrust axis defined."""
    yaw_error_limit: float = 0.5
    """Largest gap (rad) between integrated desired yaw and actual yaw (anti-windup)."""
    drag_compensation: bool = True
    """Add the modelled body drag to the desired force."""
    drag_lead: float = 0.07
    """Look-ahead (s) of the horizontal drag compensation: drag is taken at
    ``v + a_des * drag_lead`` because the tilt that cancels it arrives late. The attitude
    loop's ramp lag is 2 zeta / wn = 0.13 s, but 0.07 s tracked the step responses of
    ``test/unit/control`` best (0.13 s overshoots as speed grows)."""
    keep_vertical_force: bool = True
    """Raise the collective thrust, when the attitude lags, so that its vertical part is the
    desired one (Lee's law projects the desired force on the body axis and loses height in
    fast lateral swings); up to ``max_tilt``."""
    disturbance_observer: bool = True
    """Estimate the acceleration the force model misses (mass or thrust-coefficient error,
    wind, drag error) and cancel it; see :meth:`AccelerationController.compute`."""
    observer_time_constant: float = 0.3
    """Time constant (s) of the observer's low-pass: slower than the attitude loop (0.13 s), so
    tilt transients and measurement noise average out, fast enough to follow gusts of ~1 s."""
    observer_limit: float = 4.0
    """Largest external-acceleration estimate (m/s^2, norm): twice a 0.05 N wind on the
    Crazyflie (1.9 m/s^2); bounds windup."""
    observer_thrust_limit: float = 0.5
    """Largest thrust-gain error estimate (fraction): +-50 % covers +-20 % mass with margin and
    bounds windup (e.g. resting on the ground, where the thrust seems to do nothing)."""


def _check_vector(name: str, value: np.ndarray, size: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {np.shape(value)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr}")
    return arr


class AccelerationController:
    """Turns a desired world acceleration and yaw rate into a body wrench.

    Args:
        params: Quadrotor parameters.
        config: Gains and limits.
    """

    def __init__(
        self, params: QuadrotorParams = CF2X, config: ControllerConfig = ControllerConfig()
    ) -> None:
        self.params = params
        self.config = config
        self.attitude = AttitudeController(
            params, config.attitude_natural_freq, config.attitude_damping)
        self.yaw_des = 0.0
        self.thrust_gain = 0.0
        """Estimated thrust error: achieved / modelled specific thrust - 1 (mass, kf)."""
        self.external = np.zeros(3)
        """Estimated horizontal acceleration (3,) m/s^2 of external forces (wind), world."""
        self.disturbance = np.zeros(3)
        """Both as one acceleration error (3,) m/s^2 at the last thrust: achieved - nominal."""
        # (velocity, model accel, specific thrust vector T b3 / m) of the last command
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._drag_comp = np.zeros(3)  # drag force (N, world) the last command compensated

    def reset(self, yaw: float = 0.0) -> None:
        """Restart the desired heading at ``yaw`` (rad) and forget the disturbance estimate."""
        self.yaw_des = float(yaw)
        self.thrust_gain = 0.0
        self.external = np.zeros(3)
        self.disturbance = np.zeros(3)
        self._last = None

    def _observe(self, vel: np.ndarray, dt: float) -> None:
        """Disturbance observer: thrust gain and horizontal external force.

        The innovation ``e = (v - v_prev) / dt - a_model_prev`` (measured minus modelled
        acceleration over the last interval, the model holding the current estimates) is
        low-passed with time constant ``observer_time_constant`` into two parts with their
        own structure: its vertical part updates the thrust gain ``k`` (achieved over modelled
        specific thrust ``T b3 / m``: mass, thrust-coefficient or battery error, which scale
        every commanded acceleration, not just add to it), the horizontal remainder the
        external acceleration ``w`` (wind). The outer law cancels both: desired force
        ``m (a_des - w + g e3) + drag``, divided by ``1 + k``. Disturbance-observer-based
        control (Chen, Yang, Guo and Li, "Disturbance-observer-based control and related
        methods: an overview", IEEE T-IE 2016); the residual is what the safety filter's
        ``accel_error_bound`` covers.
        """
        cfg = self.config
        if self._last is None or dt <= 1e-6:
            return
        v_prev, a_prev, spec = self._last
        e = (vel - v_prev) / dt - a_prev
        gain = dt / (cfg.observer_time_constant + dt)
        step = 0.0
        if spec[2] > 0.3 * GRAVITY:
            new = float(np.clip(self.thrust_gain + gain * e[2] / spec[2],
                                -cfg.observer_thrust_limit, cfg.observer_thrust_limit))
            step, self.thrust_gain = new - self.thrust_gain, new
        self.external[:2] += gain * (e[:2] - step * spec[:2])
        norm = float(np.linalg.norm(self.external))
        if norm > cfg.observer_limit:
            self.external *= cfg.observer_limit / norm
        self.disturbance = self.thrust_gain * spec + self.external

    def note_applied(self, vel: np.ndarray, quat: np.ndarray, thrust: float) -> None:
        """Tell the observer the thrust (N) actually sent (after any later limiting).

        :meth:`compute` assumes its own thrust is applied; call this when a later stage (the
        safety filter's stage 2) changed it. ``vel`` (3,) and ``quat`` (4,) are the state
        :meth:`compute` was given.
        """
        if not self.config.disturbance_observer:
            return
        b3 = quat_to_matrix(np.asarray(quat, float))[:, 2]
        spec = float(thrust) * b3 / self.params.mass
        a_model = (1.0 + self.thrust_gain) * spec - self._drag_comp / self.params.mass \
            + self.external
        a_model[2] -= GRAVITY
        self._last = (np.asarray(vel, float).copy(), a_model, spec)

    def compute(
        self,
        pos: np.ndarray,
        vel: np.ndarray,
        quat: np.ndarray,
        omega: np.ndarray,
        accel_des: np.ndarray,
        yaw_rate_des: float,
        dt: float,
    ) -> np.ndarray:
        """Wrench (4,): collective thrust (N) and body torques (N m, FLU).

        Args:
            pos: Position (3,) in m, world ENU (unused by the law; kept for a uniform API).
            vel: Velocity (3,) in m/s, world ENU.
            quat: Attitude quaternion (4,) (x, y, z, w), body to world.
            omega: Body angular rate (3,) in rad/s, FLU.
            accel_des: Desired acceleration (3,) in m/s^2, world ENU.
            yaw_rate_des: Desired yaw rate (rad/s).
            dt: Time (s) since the previous call, used to integrate the desired heading.

        Raises:
            ValueError: If an input is non-finite or has the wrong shape, or ``dt`` < 0.
        """
        _check_vector("pos", pos, 3)
        vel = _check_vector("vel", vel, 3)
        quat = _check_vector("quat", quat, 4)
        omega = _check_vector("omega", omega, 3)
        accel_des = _check_vector("accel_des", accel_des, 3)
        yaw_rate = float(_check_vector("yaw_rate_des", np.atleast_1d(yaw_rate_des), 1)[0])
        if not (math.isfinite(dt) and dt >= 0.0):
            raise ValueError(f"dt must be finite and >= 0, got {dt!r}")
        cfg, p = self.config, self.params
        rot = quat_to_matrix(quat)

        if cfg.disturbance_observer:
            self._observe(vel, dt)
        force = p.mass * (accel_des - self.external + np.array([0.0, 0.0, GRAVITY]))
        force_ff = force.copy()
        if cfg.drag_compensation:
            v_ahead = vel.copy()
            v_ahead[:2] += accel_des[:2] * cfg.drag_lead  # the tilt lags more than the thrust
            # Same model as the simulator, at the rotor speeds that produce this force.
            rpm = np.full(4, math.sqrt(float(np.linalg.norm(force)) / (4.0 * p.kf)))
            force = force - rot @ p.drag_force(rpm, rot.T @ v_ahead)
        drag_comp = force - force_ff
        if cfg.disturbance_observer:
            force = force / (1.0 + self.thrust_gain)
        force[2] = max(force[2], cfg.min_thrust_ratio * p.weight)
        horizontal = math.hypot(force[0], force[1])
        max_horizontal = force[2] * math.tan(cfg.max_tilt)
        if horizontal > max_horizontal:
            force[:2] *= max_horizontal / horizontal

        yaw = yaw_from_quat(quat)
        self.yaw_des = wrap_angle(self.yaw_des + yaw_rate * dt)
        err = wrap_angle(self.yaw_des - yaw)
        if abs(err) > cfg.yaw_error_limit:
            self.yaw_des = wrap_angle(yaw + math.copysign(cfg.yaw_error_limit, err))

        b3 = force / np.linalg.norm(force)
        b1c = np.array([math.cos(self.yaw_des), math.sin(self.yaw_des), 0.0])
        b2 = cross(b3, b1c)
        b2 /= np.linalg.norm(b2)
        rot_des = np.column_stack([cross(b2, b3), b2, b3])

        thrust = force @ rot[:, 2]
        if cfg.keep_vertical_force and rot[2, 2] > math.cos(cfg.max_tilt):
            # Lee's projection cuts the thrust when the attitude lags its setpoint (fast lateral
            # swings), and with it the vertical force: the vehicle sinks though a climb was
            # asked. Never give less than the thrust whose vertical part is the desired one.
            thrust = max(thrust, force[2] / rot[2, 2])
        thrust = float(np.clip(thrust, 0.0, p.max_thrust))
        tau = self.attitude.compute(rot, omega, rot_des, np.array([0.0, 0.0, yaw_rate]))
        self._drag_comp = drag_comp
        self.note_applied(vel, quat, thrust)
        return np.array([thrust, tau[0], tau[1], tau[2]])


def position_accel(
    pos: np.ndarray,
    vel: np.ndarray,
    pos_des: np.ndarray,
    vel_des: np.ndarray | None = None,
    acc_ff: np.ndarray | None = None,
    kp: float = HOVER_KP,
    kd: float = HOVER_KD,
) -> np.ndarray:
    """PD position tracking with feedforward, clipped to the action bounds: accel (3,) m/s^2.

    Args:
        pos: Position (3,) in m, world ENU.
        vel: Velocity (3,) in m/s.
        pos_des: Desired position (3,) in m.
        vel_des: Desired velocity (3,) in m/s (zero if None).
        acc_ff: Feedforward acceleration (3,) in m/s^2 (zero if None).
        kp: Stiffness (1/s^2).
        kd: Damping (1/s).
    """
    acc = kp * (np.asarray(pos_des, float) - np.asarray(pos, float))
    acc = acc + kd * ((0.0 if vel_des is None else np.asarray(vel_des, float))
                      - np.asarray(vel, float))
    if acc_ff is not None:
        acc = acc + np.asarray(acc_ff, float)
    return np.clip(acc, ACTION_LOW[:3], ACTION_HIGH[:3]).astype(float)


def hover_accel(pos: np.ndarray, vel: np.ndarray, hold_pos: np.ndarray) -> np.ndarray:
    """Acceleration (3,) in m/s^2 that holds ``hold_pos`` (3,) (PD; gains HOVER_KP, HOVER_KD)."""
    return position_accel(pos, vel, hold_pos)


def land_accel(pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
    """Acceleration (3,) in m/s^2 for a slow vertical descent at LAND_SPEED, damping drift.

    ``pos`` (3,) is accepted for a uniform API; the descent speed does not depend on height.
    """
    vel = np.asarray(vel, float)
    acc = np.array([-HOVER_KD * vel[0], -HOVER_KD * vel[1], LAND_KV * (-LAND_SPEED - vel[2])])
    return np.clip(acc, ACTION_LOW[:3], ACTION_HIGH[:3]).astype(float)
