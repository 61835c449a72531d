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

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from liquid_ros.control.quadrotor import CF2X, QuadrotorParams

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


def kernels() -> ModuleType:
    """The compiled cascade, :mod:`liquid_ros.sim.fc_kernels`, imported on first use.

    Numba takes about 1 s to load, which an env without a flight controller need not pay.
    """
    return importlib.import_module("liquid_ros.sim.fc_kernels")


def pack_constants(params: QuadrotorParams, gains: LoopGains) -> np.ndarray:
    """The cascade's constants packed for :mod:`liquid_ros.sim.fc_kernels` (see its layout)."""
    weight = min(max(gains.yaw_weight, 0.0), 1.0)
    att = list(gains.att_p)
    if weight > 1e-4:  # the weight shrinks the yaw error; undo it in the gain
        att[2] /= weight
    j = params.inertia
    per_axis = [k * i for gain in (gains.rate_p, gains.rate_i, gains.rate_d)
                for k, i in zip(gain, j, strict=True)]
    c = np.array([params.mass, gains.min_thrust_ratio * params.max_thrust, params.max_thrust,
                  math.tan(gains.max_tilt), weight, *att, *gains.max_rates, *per_axis,
                  *(gains.rate_i_limit * params.max_torque).tolist(), *j,
                  params.max_rotor_thrust], dtype=float)
    assert c.shape == (kernels().N_CONSTS,)
    return c


class ThrustVector:
    """World acceleration -> attitude setpoint and collective thrust, for one airframe.

    Args:
        params: Airframe (mass, maximum thrust).
        gains: Tilt limit and minimum thrust.
    """

    def __init__(self, params: QuadrotorParams, gains: LoopGains) -> None:
        self.constants = pack_constants(params, gains)

    def attitude(self, ax: float, ay: float, az: float, yaw: float, mass_scale: float = 1.0
                 ) -> tuple[tuple[float, float, float, float], float]:
        """Attitude setpoint (x, y, z, w) and thrust (N) for acceleration (ax, ay, az) m/s^2.

        See :func:`attitude_from_accel`.
        """
        *q, thrust = kernels().thrust_attitude(float(ax), float(ay), float(az), float(yaw),
                                                float(mass_scale), self.constants)
        return tuple(q), thrust  # type: ignore[return-value]


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
    return ThrustVector(params, gains).attitude(accel[0], accel[1], accel[2], yaw, mass_scale)


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
        self.constants = pack_constants(CF2X, gains)  # only the gains' entries are read
        self.yaw_weight = float(self.constants[4])
        self.gain = tuple(self.constants[5:8].tolist())
        self.max_rates = tuple(gains.max_rates)

    def rates(self, quat: Vec, quat_sp: Vec, yaw_rate_ff: float) -> list[float]:
        """Body rate setpoint (3,) rad/s FLU.

        Args:
            quat: Attitude (4,) (x, y, z, w), body to world, unit.
            quat_sp: Attitude setpoint (4,), unit.
            yaw_rate_ff: World yaw-rate feedforward (rad/s).
        """
        x, y, z, w = (float(v) for v in quat)
        sx, sy, sz, sw = (float(v) for v in quat_sp)
        return list(kernels().attitude_rates(x, y, z, w, sx, sy, sz, sw, float(yaw_rate_ff),
                                              self.constants))


class RatePID:
    """Body-rate PID: (rate setpoint, measured rate) -> torque (3,) N m FLU.

    Args:
        params: Airframe (inertia, maximum torque).
        gains: ``rate_p``, ``rate_i``, ``rate_d`` and ``rate_i_limit``.
    """

    def __init__(self, params: QuadrotorParams, gains: LoopGains) -> None:
        self.inertia = tuple(params.inertia)
        self.constants = pack_constants(params, gains)
        self.state = np.zeros(7)
        """Integrator (3) N m, previous body rate (3) rad/s, and 1.0 once that is set."""

    @property
    def integral(self) -> list[float]:
        """Integrator torque (3,) N m."""
        return self.state[:3].tolist()

    def reset(self) -> None:
        """Zero the integrator and forget the previous rate."""
        self.state[:] = 0.0

    def torque(self, omega: Vec, rate_sp: Vec, dt: float) -> list[float]:
        """Torque (3,) N m for body rate ``omega`` (3,) and setpoint ``rate_sp`` (3,) rad/s.

        Args:
            omega: Measured body rate (3,) rad/s FLU.
            rate_sp: Rate setpoint (3,) rad/s FLU.
            dt: Time step (s); 0 freezes the integrator and the D term.
        """
        wx, wy, wz = (float(v) for v in omega)
        sx, sy, sz = (float(v) for v in rate_sp)
        return list(kernels().rate_torque(wx, wy, wz, sx, sy, sz, float(dt), self.constants,
                                           self.state))


def allocate_values(thrust: float, torque: Vec, mixer: np.ndarray | Sequence[Vec],
                    mixer_inv: np.ndarray | Sequence[Vec], max_rotor: float
                    ) -> tuple[float, float, float, float]:
    """:func:`allocate` with the wrench as a tuple of floats."""
    tx, ty, tz = (float(v) for v in torque)
    return kernels().allocate(float(thrust), tx, ty, tz, np.asarray(mixer, float),
                               np.asarray(mixer_inv, float), float(max_rotor))


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
    return np.array(allocate_values(thrust, torque, mixer, mixer_inv, max_rotor))
