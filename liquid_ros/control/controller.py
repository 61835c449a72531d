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
from liquid_ros.control.rotation import quat_to_matrix, wrap_angle, yaw_from_quat

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


def _dot(ax: float, ay: float, az: float, bx: float, by: float, bz: float) -> float:
    return ax * bx + ay * by + az * bz


def _check_vector(name: str, value: np.ndarray, size: int) -> list[float]:
    if type(value) is tuple and len(value) == size and all(type(v) is float for v in value):
        if all(map(math.isfinite, value)):  # e.g. QuadrotorSim.state_values: no copy needed
            return value  # type: ignore[return-value]
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {np.shape(value)}")
    values = arr.tolist()
    if not all(map(math.isfinite, values)):
        raise ValueError(f"{name} must be finite, got {arr}")
    return values


class AccelerationController:
    """Turns a desired world acceleration and yaw rate into a body wrench.

    The law runs on plain floats (once per control tick: numpy's cost per call on 3-vectors
    would dominate); ``test/unit/control/test_controller_fast.py`` keeps it equal to its
    numpy statement.

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
        # The attitude law's gains (AttitudeController.compute's), as floats.
        att = self.attitude
        self._att = (tuple(att.k_r.tolist()), tuple(att.k_w.tolist()),
                     tuple(att.inertia.tolist()), tuple(att.max_torque.tolist()))
        self._tan_tilt, self._cos_tilt = math.tan(config.max_tilt), math.cos(config.max_tilt)
        self.yaw_des = 0.0
        self.thrust_gain = 0.0
        """Estimated thrust error: achieved / modelled specific thrust - 1 (mass, kf)."""
        self.external = np.zeros(3)
        """Estimated horizontal acceleration (3,) m/s^2 of external forces (wind), world."""
        self.disturbance = np.zeros(3)
        """Both as one acceleration error (3,) m/s^2 at the last thrust: achieved - nominal."""
        # (velocity, model accel, specific thrust vector T b3 / m) of the last command
        self._last: tuple[tuple[float, ...], ...] | None = None
        self._drag_comp = (0.0, 0.0, 0.0)  # drag force (N, world) the last command compensated
        self.learning = True
        """Update the disturbance estimate from the state given; False holds it (the caller's
        odometry is stale, so the state is a prediction, not a measurement)."""
        self.target: tuple | None = None
        """After :meth:`compute`: (thrust N, desired attitude columns b1 b2 b3 (9,), attitude
        error e_R (3,), desired body rate (3,) rad/s), for attitude and rate setpoints."""

    def reset(self, yaw: float = 0.0) -> None:
        """Restart the desired heading at ``yaw`` (rad) and forget the disturbance estimate."""
        self.yaw_des = float(yaw)
        self.thrust_gain = 0.0
        self.external = np.zeros(3)
        self.disturbance = np.zeros(3)
        self._last = None

    def _observe(self, vel: list[float], dt: float) -> None:
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
        (px, py, pz), (ax, ay, az), (sx, sy, sz) = self._last
        ex, ey, ez = (vel[0] - px) / dt - ax, (vel[1] - py) / dt - ay, (vel[2] - pz) / dt - az
        gain = dt / (cfg.observer_time_constant + dt)
        step = 0.0
        if sz > 0.3 * GRAVITY:
            lim = cfg.observer_thrust_limit
            new = min(max(self.thrust_gain + gain * ez / sz, -lim), lim)
            step, self.thrust_gain = new - self.thrust_gain, new
        ext = self.external
        wx, wy, wz = ext.tolist()
        wx, wy = wx + gain * (ex - step * sx), wy + gain * (ey - step * sy)
        norm = math.sqrt(wx * wx + wy * wy + wz * wz)
        if norm > cfg.observer_limit:
            scale = cfg.observer_limit / norm
            wx, wy, wz = wx * scale, wy * scale, wz * scale
        ext[0], ext[1], ext[2] = wx, wy, wz
        k = self.thrust_gain
        self.disturbance = np.array([k * sx + wx, k * sy + wy, k * sz + wz])

    def note_applied(self, vel: np.ndarray, quat: np.ndarray, thrust: float) -> None:
        """Tell the observer the thrust (N) actually sent (after any later limiting).

        :meth:`compute` assumes its own thrust is applied; call this when a later stage (the
        safety filter's stage 2) changed it. ``vel`` (3,) and ``quat`` (4,) are the state
        :meth:`compute` was given.
        """
        if not self.config.disturbance_observer:
            return
        r = quat_to_matrix(np.asarray(quat, float))
        self._note(np.asarray(vel, float).reshape(3).tolist(),
                   (float(r[0, 2]), float(r[1, 2]), float(r[2, 2])), float(thrust))

    def _note(self, vel: list[float], b3: tuple[float, float, float], thrust: float) -> None:
        m, k = self.params.mass, 1.0 + self.thrust_gain
        dx, dy, dz = self._drag_comp
        wx, wy, wz = self.external.tolist()
        sx, sy, sz = thrust * b3[0] / m, thrust * b3[1] / m, thrust * b3[2] / m
        a_model = (k * sx - dx / m + wx, k * sy - dy / m + wy, k * sz - dz / m + wz - GRAVITY)
        self._last = (tuple(vel), a_model, (sx, sy, sz))

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
        v = _check_vector("vel", vel, 3)
        q = _check_vector("quat", quat, 4)
        wx, wy, wz = _check_vector("omega", omega, 3)
        acc = _check_vector("accel_des", accel_des, 3)
        yaw_rate = _check_vector("yaw_rate_des", np.atleast_1d(yaw_rate_des), 1)[0]
        if not (math.isfinite(dt) and dt >= 0.0):
            raise ValueError(f"dt must be finite and >= 0, got {dt!r}")
        cfg, p = self.config, self.params
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = quat_to_matrix(q).ravel().tolist()

        if cfg.disturbance_observer and self.learning:
            self._observe(v, dt)
        ex, ey, ez = self.external.tolist()
        m = p.mass
        fx, fy, fz = m * (acc[0] - ex), m * (acc[1] - ey), m * (acc[2] - ez + GRAVITY)
        ff = (fx, fy, fz)
        if cfg.drag_compensation:
            # Same model as the simulator (QuadrotorParams.drag_force), at the rotor speeds
            # that produce this force, on the velocity looked ahead (the tilt lags more
            # than the thrust).
            hx, hy, hz = v[0] + acc[0] * cfg.drag_lead, v[1] + acc[1] * cfg.drag_lead, v[2]
            rpm = math.sqrt(math.sqrt(fx * fx + fy * fy + fz * fz) / (4.0 * p.kf))
            total = rpm + rpm + rpm + rpm
            kx, ky, kz = p.drag_per_rpm
            bx = kx * total * (r00 * hx + r10 * hy + r20 * hz)
            by = ky * total * (r01 * hx + r11 * hy + r21 * hz)
            bz = kz * total * (r02 * hx + r12 * hy + r22 * hz)
            fx -= r00 * bx + r01 * by + r02 * bz
            fy -= r10 * bx + r11 * by + r12 * bz
            fz -= r20 * bx + r21 * by + r22 * bz
        drag_comp = (fx - ff[0], fy - ff[1], fz - ff[2])
        if cfg.disturbance_observer:
            k = 1.0 + self.thrust_gain
            fx, fy, fz = fx / k, fy / k, fz / k
        fz = max(fz, cfg.min_thrust_ratio * p.weight)
        horizontal = math.hypot(fx, fy)
        max_horizontal = fz * self._tan_tilt
        if horizontal > max_horizontal:
            fx, fy = fx * (max_horizontal / horizontal), fy * (max_horizontal / horizontal)

        yaw = yaw_from_quat(q)
        self.yaw_des = wrap_angle(self.yaw_des + yaw_rate * dt)
        err = wrap_angle(self.yaw_des - yaw)
        if abs(err) > cfg.yaw_error_limit:
            self.yaw_des = wrap_angle(yaw + math.copysign(cfg.yaw_error_limit, err))

        # Desired attitude: b3 along the force, b2 = b3 x (cos yaw, sin yaw, 0), b1 = b2 x b3.
        n = math.sqrt(fx * fx + fy * fy + fz * fz)
        x3, y3, z3 = fx / n, fy / n, fz / n
        c, s = math.cos(self.yaw_des), math.sin(self.yaw_des)
        x2, y2, z2 = -z3 * s, z3 * c, x3 * s - y3 * c
        n = math.sqrt(x2 * x2 + y2 * y2 + z2 * z2)
        x2, y2, z2 = x2 / n, y2 / n, z2 / n
        x1, y1, z1 = y2 * z3 - z2 * y3, z2 * x3 - x2 * z3, x2 * y3 - y2 * x3

        thrust = fx * r02 + fy * r12 + fz * r22
        if cfg.keep_vertical_force and r22 > self._cos_tilt:
            # Lee's projection cuts the thrust when the attitude lags its setpoint (fast lateral
            # swings), and with it the vertical force: the vehicle sinks though a climb was
            # asked. Never give less than the thrust whose vertical part is the desired one.
            thrust = max(thrust, fz / r22)
        thrust = min(max(thrust, 0.0), p.max_thrust)

        # AttitudeController.compute (Lee et al. 2010, eqs. 11-12) with omega_des = yaw_rate
        # e3 in the desired frame: e_R = vee(Rd^T R - R^T Rd) / 2, e_w = w - R^T Rd w_des.
        m12 = _dot(x2, y2, z2, r02, r12, r22) - _dot(r01, r11, r21, x3, y3, z3)
        m20 = _dot(x3, y3, z3, r00, r10, r20) - _dot(r02, r12, r22, x1, y1, z1)
        m01 = _dot(x1, y1, z1, r01, r11, r21) - _dot(r00, r10, r20, x2, y2, z2)
        e_r = (0.5 * -m12, 0.5 * -m20, 0.5 * -m01)
        e_w = (wx - _dot(r00, r10, r20, x3, y3, z3) * yaw_rate,
               wy - _dot(r01, r11, r21, x3, y3, z3) * yaw_rate,
               wz - _dot(r02, r12, r22, x3, y3, z3) * yaw_rate)
        (kr, kw, (jx, jy, jz), lim) = self._att
        jwx, jwy, jwz = jx * wx, jy * wy, jz * wz
        gyro = (wy * jwz - wz * jwy, wz * jwx - wx * jwz, wx * jwy - wy * jwx)
        tau = [min(max(-k1 * e1 - k2 * e2 + g, -t), t)
               for k1, e1, k2, e2, g, t in zip(kr, e_r, kw, e_w, gyro, lim, strict=True)]
        self._drag_comp = drag_comp
        if cfg.disturbance_observer:
            self._note(v, (r02, r12, r22), thrust)
        # What an attitude or rate setpoint carries (the pilot's attitude_thrust and
        # rates_thrust levels): thrust, desired attitude columns b1, b2, b3, the attitude error
        # e_R and the desired rate expressed in the body frame (R^T Rd w_des).
        self.target = (thrust, (x1, y1, z1, x2, y2, z2, x3, y3, z3), e_r,
                       (wx - e_w[0], wy - e_w[1], wz - e_w[2]))
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
