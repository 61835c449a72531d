"""Control laws of the simulated flight controller: a PX4-like cascade in SI units.

Each stage models one module of a real autopilot (all frames REP-103: world ENU, body FLU;
quaternions (x, y, z, w)):

* :class:`VelocityLoop`: PX4 ``mc_pos_control`` (``PositionControl.cpp``): position P ->
  velocity setpoint (speed-limited) -> velocity PI -> acceleration setpoint. Default gains are
  PX4's ``MPC_XY_P``, ``MPC_Z_P``, ``MPC_XY_VEL_P_ACC``, ``MPC_XY_VEL_I_ACC``,
  ``MPC_Z_VEL_P_ACC``, ``MPC_Z_VEL_I_ACC``; speed limits are the Crazyflie ``controller_pid``
  ones (1 m/s). The velocity D term is left out (its derivative of a 240 Hz velocity needs
  PX4's filtered estimate to be of use).
* :func:`attitude_from_accel`: PX4 ``PositionControl::_accelerationControl`` and
  ``ControlMath::bodyzToAttitude``: the thrust vector ``m (a + g e3)`` with a tilt limit
  (``MPC_TILTMAX_AIR``) and a minimum thrust (``MPC_THR_MIN``) gives the body z axis; the
  collective thrust keeps the vertical acceleration (PX4 divides by the body z's vertical
  part); the heading completes the attitude.
* :class:`AttitudeP`: PX4 ``mc_att_control`` (``AttitudeControl.cpp``), the quaternion law of
  Brescianini, Hehn and D'Andrea, "Nonlinear quadrocopter attitude control", ETH 2013: tilt is
  corrected first, yaw with a weight (``MC_YAW_WEIGHT``), rate setpoint
  ``K * 2 sign(qe_w) qe_xyz`` plus the yaw-rate feedforward, rates limited
  (``MC_ROLLRATE_MAX``...).
* :class:`RatePID`: PX4 ``mc_rate_control`` (``RateControl.cpp``) and the Crazyflie's
  ``controller_pid`` rate stage: PID on body rates (D on the measured rate, as PX4 does) with a
  clamped integrator, written as an angular acceleration scaled by the inertia plus the
  gyroscopic term, so the gains are airframe-independent.
* :func:`allocate`: PX4's mixer with desaturation (``ControlAllocator``): roll and pitch come
  first (scaled down if the rotors cannot make them at all), the collective is shifted to fit
  (airmode for roll/pitch), yaw gets what headroom is left; rotor thrusts lie in [0, max].

Gains: attitude P is PX4's default. The rate gains were chosen for the Crazyflie's motor lag
(rotor-speed time constant 0.069 s, see :mod:`liquid_ros.sim.quadrotor_sim`) on a per-axis
linear model (inertia, first-order motor, 240 Hz zero-order hold): the D term (0.6, in angular
acceleration per angular acceleration) supplies the phase the lag takes, and staying below 1 it
stays stable with no lag at all (its discrete pole is -kd). Attitude steps then settle in about
0.4 s without overshoot for motor time constants from 0 to 0.1 s (rate steps overshoot about
12 % at 0.069 s). Real stacks run these loops at 0.5-8 kHz; the 240 Hz physics rate is what
bounds the gains here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from liquid_ros.control.quadrotor import GRAVITY, QuadrotorParams

Vec = Sequence[float]
"""A short vector of floats (list, tuple or 1-D array)."""


@dataclass(frozen=True)
class LoopGains:
    """Gains and limits of the cascade (SI units; per axis x, y, z or roll, pitch, yaw)."""

    pos_p: tuple[float, float, float] = (0.95, 0.95, 1.0)
    """Position P (1/s): PX4 MPC_XY_P, MPC_Z_P."""
    vel_p: tuple[float, float, float] = (1.8, 1.8, 4.0)
    """Velocity P (1/s): PX4 MPC_XY_VEL_P_ACC, MPC_Z_VEL_P_ACC."""
    vel_i: tuple[float, float, float] = (0.4, 0.4, 2.0)
    """Velocity I (1/s^2): PX4 MPC_XY_VEL_I_ACC, MPC_Z_VEL_I_ACC."""
    vel_i_limit: float = 3.0
    """Largest velocity-integrator acceleration (m/s^2) per axis."""
    max_speed_xy: float = 1.0
    """Horizontal speed limit of the position loop (m/s): Crazyflie xyVelMax."""
    max_speed_z: float = 1.0
    """Vertical speed limit of the position loop (m/s): Crazyflie zVelMax."""
    max_tilt: float = math.radians(45.0)
    """Largest tilt of the thrust vector (rad): PX4 MPC_TILTMAX_AIR."""
    min_thrust_ratio: float = 0.12
    """Least collective thrust in flight, fraction of the maximum: PX4 MPC_THR_MIN."""
    att_p: tuple[float, float, float] = (6.5, 6.5, 2.8)
    """Attitude P (1/s): PX4 MC_ROLL_P, MC_PITCH_P, MC_YAW_P."""
    yaw_weight: float = 0.4
    """Yaw priority against tilt in [0, 1]: PX4 MC_YAW_WEIGHT."""
    max_rates: tuple[float, float, float] = (3.84, 3.84, 3.49)
    """Rate setpoint limits of the attitude loop (rad/s): PX4 MC_ROLLRATE_MAX 220 deg/s..."""
    rate_p: tuple[float, float, float] = (30.0, 30.0, 20.0)
    """Rate P (1/s): angular acceleration per rate error."""
    rate_i: tuple[float, float, float] = (20.0, 20.0, 10.0)
    """Rate I (1/s^2)."""
    rate_d: tuple[float, float, float] = (0.6, 0.6, 0.45)
    """Rate D (dimensionless, < 1), on the measured rate (see the module text)."""
    rate_i_limit: float = 0.3
    """Largest rate-integrator torque, fraction of the maximum torque: PX4 MC_RR_INT_LIM."""


class VelocityLoop:
    """Position P and velocity PI: (position and/or velocity setpoint) -> acceleration (3,).

    Vectors here and below are plain sequences of floats, and the arithmetic is written out
    per axis: the cascade runs every physics substep, where numpy's cost per call on
    3-vectors (and Python's on small loops) would dominate.

    Args:
        gains: Loop gains.
    """

    def __init__(self, gains: LoopGains) -> None:
        self.gains = gains
        self.integral = [0.0, 0.0, 0.0]

    def reset(self) -> None:
        """Zero the integrator."""
        self.integral = [0.0, 0.0, 0.0]

    def accel(self, pos: Vec, vel: Vec, pos_sp: Vec | None, vel_ff: Vec,
              dt: float) -> list[float]:
        """Acceleration setpoint (3,) m/s^2, world ENU.

        Args:
            pos: Position (3,) m.
            vel: Velocity (3,) m/s.
            pos_sp: Position setpoint (3,) m, or None to track ``vel_ff`` alone.
            vel_ff: Velocity setpoint or feedforward (3,) m/s.
            dt: Time step (s) for the integrator.
        """
        g = self.gains
        if pos_sp is None:
            vel_sp = list(vel_ff)
        else:
            vel_sp = [f + k * (s - x) for f, k, s, x in zip(vel_ff, g.pos_p, pos_sp, pos,
                                                            strict=True)]
        speed_xy = math.hypot(vel_sp[0], vel_sp[1])
        if speed_xy > g.max_speed_xy:
            vel_sp[0] *= g.max_speed_xy / speed_xy
            vel_sp[1] *= g.max_speed_xy / speed_xy
        vel_sp[2] = min(max(vel_sp[2], -g.max_speed_z), g.max_speed_z)
        err = [s - v for s, v in zip(vel_sp, vel, strict=True)]
        lim = g.vel_i_limit
        self.integral = [min(max(i + k * e * dt, -lim), lim)
                         for i, k, e in zip(self.integral, g.vel_i, err, strict=True)]
        return [k * e + i for k, e, i in zip(g.vel_p, err, self.integral, strict=True)]


def _qmul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Hamilton product of two (x, y, z, w) quaternions given as tuples."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


def _quat_from_axes(b1: tuple[float, ...], b2: tuple[float, ...],
                    b3: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Unit quaternion (x, y, z, w) of the rotation with columns b1, b2, b3 (Shepperd)."""
    m00, m10, m20 = b1
    m01, m11, m21 = b2
    m02, m12, m22 = b3
    tr = m00 + m11 + m22
    if tr > 0.0:
        s = 2.0 * math.sqrt(tr + 1.0)
        return (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s, 0.25 * s
    if m00 >= m11 and m00 >= m22:
        s = 2.0 * math.sqrt(1.0 + m00 - m11 - m22)
        return 0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s
    if m11 >= m22:
        s = 2.0 * math.sqrt(1.0 + m11 - m00 - m22)
        return (m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s
    s = 2.0 * math.sqrt(1.0 + m22 - m00 - m11)
    return (m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s


class ThrustVector:
    """World acceleration -> attitude setpoint and collective thrust, for one airframe.

    Args:
        params: Airframe (mass, maximum thrust).
        gains: Tilt limit and minimum thrust.
    """

    def __init__(self, params: QuadrotorParams, gains: LoopGains) -> None:
        self.mass = params.mass
        self.max_thrust = params.max_thrust
        self.min_force = gains.min_thrust_ratio * params.max_thrust
        self.tan_tilt = math.tan(gains.max_tilt)

    def attitude(self, ax: float, ay: float, az: float, yaw: float, mass_scale: float = 1.0
                 ) -> tuple[tuple[float, float, float, float], float]:
        """Attitude setpoint (x, y, z, w) and thrust (N) for acceleration (ax, ay, az) m/s^2.

        See :func:`attitude_from_accel`.
        """
        m = self.mass * mass_scale
        fx, fy, fz = m * ax, m * ay, m * (az + GRAVITY)
        if self.min_force > fz:
            fz = self.min_force
        horizontal = math.hypot(fx, fy)
        max_horizontal = fz * self.tan_tilt
        if horizontal > max_horizontal:
            fx, fy = fx * max_horizontal / horizontal, fy * max_horizontal / horizontal
        n = math.sqrt(math.fsum((fx * fx, fy * fy, fz * fz)))
        x3, y3, z3 = fx / n, fy / n, fz / n  # body z
        thrust = fz / z3
        if thrust > self.max_thrust:
            thrust = self.max_thrust
        # body x: (-sin yaw, cos yaw, 0) x b3, normalised; body y: b3 x b1
        s, c = -math.sin(yaw), math.cos(yaw)
        x1, y1, z1 = c * z3 - 0.0 * y3, 0.0 * x3 - s * z3, s * y3 - c * x3
        n = math.sqrt(math.fsum((x1 * x1, y1 * y1, z1 * z1)))
        x1, y1, z1 = x1 / n, y1 / n, z1 / n
        b2 = (y3 * z1 - z3 * y1, z3 * x1 - x3 * z1, x3 * y1 - y3 * x1)
        return _quat_from_axes((x1, y1, z1), b2, (x3, y3, z3)), thrust


def attitude_from_accel(accel: Vec, yaw: float, params: QuadrotorParams,
                        gains: LoopGains, mass_scale: float = 1.0
                        ) -> tuple[tuple[float, float, float, float], float]:
    """Attitude setpoint (x, y, z, w) and collective thrust (N) for a world acceleration.

    Args:
        accel: Acceleration setpoint (3,) m/s^2, world ENU.
        yaw: Heading setpoint (rad), ENU.
        params: Airframe (mass, maximum thrust).
        gains: Tilt limit and minimum thrust.
        mass_scale: Hover-thrust estimate over the nominal (see ``sim.hover_thrust``).
    """
    return ThrustVector(params, gains).attitude(float(accel[0]), float(accel[1]),
                                                float(accel[2]), yaw, mass_scale)


def _body_z(q: tuple[float, ...]) -> tuple[float, float, float]:
    """Body z axis in the world of a unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    return 2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)


class AttitudeP:
    """Quaternion attitude P law (Brescianini 2013, as PX4's AttitudeControl): rates (3,).

    Args:
        gains: ``att_p``, ``yaw_weight`` and ``max_rates``.
    """

    def __init__(self, gains: LoopGains) -> None:
        self.yaw_weight = min(max(gains.yaw_weight, 0.0), 1.0)
        gain = list(gains.att_p)
        if self.yaw_weight > 1e-4:  # the weight shrinks the yaw error; undo it in the gain
            gain[2] /= self.yaw_weight
        self.gain = tuple(gain)
        self.max_rates = tuple(gains.max_rates)

    def rates(self, quat: Vec, quat_sp: Vec, yaw_rate_ff: float) -> list[float]:
        """Body rate setpoint (3,) rad/s FLU.

        Args:
            quat: Attitude (4,) (x, y, z, w), body to world, unit.
            quat_sp: Attitude setpoint (4,), unit.
            yaw_rate_ff: World yaw-rate feedforward (rad/s).
        """
        x, y, z, w = q = tuple(quat)
        q_sp = tuple(quat_sp)
        # Reduced setpoint: the shortest tilt taking the body z axis to the desired one.
        ex, ey, ez = _body_z(q)
        dx, dy, dz = _body_z(q_sp)
        cw = 1.0 + ex * dx + ey * dy + ez * dz
        if cw < 1e-5:  # upside down: no unique shortest tilt, use the full setpoint
            q_red = q_sp
        else:
            cx, cy, cz = ey * dz - ez * dy, ez * dx - ex * dz, ex * dy - ey * dx
            n = math.sqrt(math.fsum((cx * cx, cy * cy, cz * cz, cw * cw)))
            q_red = _qmul((cx / n, cy / n, cz / n, cw / n), q)
        rx, ry, rz, rw = q_red
        mx, my, mz, mw = _qmul((-rx, -ry, -rz, rw), q_sp)
        if mw < 0.0:  # canonical: w >= 0
            mz, mw = -mz, -mw
        cz, sz = min(max(mw, -1.0), 1.0), min(max(mz, -1.0), 1.0)
        yaw_part = (0.0, 0.0, math.sin(self.yaw_weight * math.asin(sz)),
                    math.cos(self.yaw_weight * math.acos(cz)))
        ux, uy, uz, uw = _qmul((-x, -y, -z, w), _qmul(q_red, yaw_part))
        if uw < 0.0:
            ux, uy, uz = -ux, -uy, -uz
        # Feedforward: the world yaw rate expressed in the body frame (R^T e3 = e_z's row).
        (kx, ky, kz), (lx, ly, lz) = self.gain, self.max_rates
        px = 2.0 * ux * kx + 2.0 * (x * z - w * y) * yaw_rate_ff
        py = 2.0 * uy * ky + 2.0 * (y * z + w * x) * yaw_rate_ff
        pz = 2.0 * uz * kz + (1.0 - 2.0 * (x * x + y * y)) * yaw_rate_ff
        return [-lx if px < -lx else (lx if px > lx else px),
                -ly if py < -ly else (ly if py > ly else py),
                -lz if pz < -lz else (lz if pz > lz else pz)]


class RatePID:
    """Body-rate PID: (rate setpoint, measured rate) -> torque (3,) N m FLU.

    Args:
        params: Airframe (inertia, maximum torque).
        gains: ``rate_p``, ``rate_i``, ``rate_d`` and ``rate_i_limit``.
    """

    def __init__(self, params: QuadrotorParams, gains: LoopGains) -> None:
        j = params.inertia
        self.inertia = tuple(j)
        self._kp = [k * i for k, i in zip(gains.rate_p, j, strict=True)]
        self._ki = [k * i for k, i in zip(gains.rate_i, j, strict=True)]
        self._kd = [k * i for k, i in zip(gains.rate_d, j, strict=True)]
        self._i_limit = (gains.rate_i_limit * params.max_torque).tolist()
        self.integral = [0.0, 0.0, 0.0]
        self._prev_omega: Vec | None = None

    def reset(self) -> None:
        """Zero the integrator and forget the previous rate."""
        self.integral = [0.0, 0.0, 0.0]
        self._prev_omega = None

    def torque(self, omega: Vec, rate_sp: Vec, dt: float) -> list[float]:
        """Torque (3,) N m for body rate ``omega`` (3,) and setpoint ``rate_sp`` (3,) rad/s.

        Args:
            omega: Measured body rate (3,) rad/s FLU.
            rate_sp: Rate setpoint (3,) rad/s FLU.
            dt: Time step (s); 0 freezes the integrator and the D term.
        """
        wx, wy, wz = omega
        sx, sy, sz = rate_sp
        ex, ey, ez = sx - wx, sy - wy, sz - wz
        (px, py, pz), (ix, iy, iz) = self._kp, self.integral
        if dt > 0.0:
            (kx, ky, kz), (lx, ly, lz) = self._ki, self._i_limit
            ix, iy, iz = ix + kx * ex * dt, iy + ky * ey * dt, iz + kz * ez * dt
            ix = -lx if ix < -lx else (lx if ix > lx else ix)
            iy = -ly if iy < -ly else (ly if iy > ly else iy)
            iz = -lz if iz < -lz else (lz if iz > lz else iz)
            self.integral = [ix, iy, iz]
        jx, jy, jz = self.inertia
        # P + I + the gyroscopic term w x J w
        tau = [px * ex + ix + (jz - jy) * wy * wz, py * ey + iy + (jx - jz) * wz * wx,
               pz * ez + iz + (jy - jx) * wx * wy]
        prev = self._prev_omega
        if prev is not None and dt > 0.0:
            dx, dy, dz = self._kd
            tau = [tau[0] - dx * (wx - prev[0]) / dt, tau[1] - dy * (wy - prev[1]) / dt,
                   tau[2] - dz * (wz - prev[2]) / dt]
        self._prev_omega = omega
        return tau


def allocate_values(thrust: float, torque: Vec, mixer: Sequence[Vec],
                    mixer_inv: Sequence[Vec], max_rotor: float
                    ) -> tuple[float, float, float, float]:
    """:func:`allocate` with the matrices' rows as sequences; the wrench as a tuple."""
    tx, ty, tz = torque
    (a0, b0, c0, d0), (a1, b1, c1, d1), (a2, b2, c2, d2), (a3, b3, c3, d3) = mixer_inv
    u0, u1, u2, u3 = b0 * tx + c0 * ty, b1 * tx + c1 * ty, b2 * tx + c2 * ty, b3 * tx + c3 * ty
    lo, hi = min(u0, u1, u2, u3), max(u0, u1, u2, u3)
    spread = hi - lo
    if spread > max_rotor:
        u0, u1, u2, u3 = (u0 * max_rotor / spread, u1 * max_rotor / spread,
                          u2 * max_rotor / spread, u3 * max_rotor / spread)
        lo, hi = min(u0, u1, u2, u3), max(u0, u1, u2, u3)
    base = min(max(thrust * a0, -lo), max_rotor - hi)  # shifted to fit
    rotors = (base + u0, base + u1, base + u2, base + u3)
    k = 1.0  # the share of the yaw demand that fits
    for f, d in zip(rotors, (d0, d1, d2, d3), strict=True):
        y = d * tz
        if y > 0.0 and f + y > max_rotor:
            k = min(k, (max_rotor - f) / y)
        elif y < 0.0 and f + y < 0.0:
            k = min(k, -f / y)
    k = max(k, 0.0)
    f0 = min(max(rotors[0] + k * d0 * tz, 0.0), max_rotor)
    f1 = min(max(rotors[1] + k * d1 * tz, 0.0), max_rotor)
    f2 = min(max(rotors[2] + k * d2 * tz, 0.0), max_rotor)
    f3 = min(max(rotors[3] + k * d3 * tz, 0.0), max_rotor)
    (m00, m01, m02, m03), (m10, m11, m12, m13), (m20, m21, m22, m23), (m30, m31, m32, m33) = mixer
    return (m00 * f0 + m01 * f1 + m02 * f2 + m03 * f3, m10 * f0 + m11 * f1 + m12 * f2 + m13 * f3,
            m20 * f0 + m21 * f1 + m22 * f2 + m23 * f3, m30 * f0 + m31 * f1 + m32 * f2 + m33 * f3)


def allocate(thrust: float, torque: Vec, mixer: np.ndarray,
             mixer_inv: np.ndarray | Sequence[Vec], max_rotor: float) -> np.ndarray:
    """Achievable wrench (4,) nearest the demand, roll/pitch first, then thrust, then yaw.

    Assumes a symmetric airframe (each rotor carries a quarter of the collective thrust).

    Args:
        thrust: Collective thrust demand (N).
        torque: Torque demand (3,) N m FLU.
        mixer: Matrix (4, 4) rotor thrusts -> wrench.
        mixer_inv: Its inverse (an array or its rows as lists).
        max_rotor: Largest thrust of one rotor (N).
    """
    inv = mixer_inv.tolist() if isinstance(mixer_inv, np.ndarray) else mixer_inv
    return np.array(allocate_values(thrust, torque, np.asarray(mixer).tolist(), inv,
                                    max_rotor))
