"""A simulated onboard flight controller: setpoints at a chosen level -> body wrench.

It stands in, in simulation, for the autopilot of a real drone (PX4, a Crazyflie): it runs at
the physics rate (called every physics substep, >= 240 Hz) on the true state, closes the
cascade of :mod:`liquid_ros.sim.flight_controller_loops` (position/velocity -> attitude ->
body rates -> torques, then the mixer) and takes setpoints from a companion computer (the
policy) at one of the :class:`CommandLevel` s, each stamped with the time it was sent.

Setpoint semantics, as on the real stacks:

* Arming: disarmed, the rotors are off (zero wrench), as PX4 and the Crazyflie do.
  :meth:`FlightController.arm` starts in HOLD until setpoints stream; PX4 likewise switches to
  offboard only once setpoints arrive ("ROS 2 Offboard Control" in the PX4 docs).
* Setpoint loss: PX4 declares offboard lost after ``COM_OF_LOSS_T`` without setpoints; its
  failsafe then holds position for ``COM_FAIL_ACT_T`` (default 5 s; the failsafe is cancelled
  if setpoints return in time) and then takes the loss action, ``COM_OBL_RC_ACT`` = land.
  Here: after ``setpoint_timeout`` the mode is HOLD at the position where the timeout fired;
  fresh setpoints within ``hold_time`` resume OFFBOARD; after it the mode is LAND (latched).
* Landing: PX4's land mode descends at ``MPC_LAND_SPEED`` holding the horizontal position;
  its land detector (``MulticopterLandDetector``) declares landed when the vertical speed and
  the thrust stay low for a while, then the vehicle disarms (``COM_DISARM_LAND``). Here: a
  ``land_speed`` descent; landed after ``land_detect_time`` s of ``|vz| < land_max_speed`` with
  the thrust demand below 90 % of the weight, then DISARMED.
* Bad setpoints: a non-finite value (NaN, inf) or a zero quaternion is rejected, counted in
  :attr:`FlightController.rejected` and treated as missing (the previous setpoint keeps its old
  stamp, so a stream of bad setpoints times out into HOLD). A wrong level or size raises.

Frames are REP-103 (world ENU, body FLU), quaternions (x, y, z, w), SI units; adapters convert
PX4's NED/FRD with :mod:`liquid_ros.control.frames`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from liquid_ros.control.levels import SETPOINT_SIZE, CommandLevel
from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.control.rotation import wrap_angle
from liquid_ros.sim.flight_controller_loops import (
    AttitudeP,
    LoopGains,
    RatePID,
    VelocityLoop,
    _body_z,
    kernels,
    pack_constants,
)
from liquid_ros.sim.hover_thrust import HoverThrustEstimator


class FlightMode(Enum):
    """What the flight controller is doing."""

    OFFBOARD = "offboard"
    """Following fresh setpoints."""
    HOLD = "hold"
    """Holding position (setpoints lost, or armed and waiting for them)."""
    LAND = "land"
    """Descending to land, then disarming; left only by disarming."""
    DISARMED = "disarmed"
    """Rotors off."""


@dataclass(frozen=True)
class FlightControllerConfig:
    """Failsafe timing and loop gains of :class:`FlightController`."""

    setpoint_timeout: float = 0.5
    """Age (s) after which the last setpoint counts as lost (PX4 COM_OF_LOSS_T)."""
    hold_time: float = 5.0
    """Time (s) holding position before landing (PX4 COM_FAIL_ACT_T)."""
    land_speed: float = 0.5
    """Descent speed (m/s) when landing (PX4 MPC_LAND_SPEED)."""
    land_max_speed: float = 0.1
    """Vertical speed (m/s) below which the land detector may declare landed."""
    land_detect_time: float = 0.5
    """Time (s) the landed condition must hold before disarming."""
    yaw_error_limit: float = 0.5
    """Largest lead (rad) of the integrated heading setpoint over the heading (anti-windup)."""
    gains: LoopGains = field(default_factory=LoopGains)
    """Gains of the cascade."""
    hover_thrust_tau: float = 0.5
    """Time constant (s) of the hover-thrust estimate (PX4 mc_hover_thrust_estimator); 0 uses
    the nominal mass only."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        for name in ("setpoint_timeout", "hold_time", "land_speed", "land_max_speed",
                     "land_detect_time", "yaw_error_limit"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0.0):
                raise ValueError(f"{name} must be finite and positive, got {v!r}")
        if not (math.isfinite(self.hover_thrust_tau) and self.hover_thrust_tau >= 0.0):
            raise ValueError(f"hover_thrust_tau must be finite and >= 0, got "
                             f"{self.hover_thrust_tau!r}")


@dataclass(frozen=True)
class _Setpoint:
    level: CommandLevel
    values: list[float]
    stamp: float


def _floats(x: np.ndarray | Sequence[float]) -> Sequence[float]:
    if type(x) is tuple:  # QuadrotorSim.state_values: floats already
        return x
    return x.tolist() if isinstance(x, np.ndarray) else [float(v) for v in x]


def _yaw(q: Sequence[float]) -> float:
    x, y, z, w = q  # as rotation.yaw_from_quat, on floats
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


class FlightController:
    """Cascaded onboard controller with arming, setpoint timeout, hold and land.

    Args:
        params: Airframe model used by the controller (mass, inertia, mixer, rotor limit).
        physics_hz: Rate (Hz) at which :meth:`update` is called; its period is the first dt.
        config: Failsafe timing and gains.
    """

    def __init__(self, params: QuadrotorParams = CF2X, physics_hz: float = 240.0,
                 config: FlightControllerConfig = FlightControllerConfig()) -> None:
        config.validate()
        if not (math.isfinite(physics_hz) and physics_hz > 0.0):
            raise ValueError(f"physics_hz must be positive, got {physics_hz!r}")
        self.params = params
        self.config = config
        self.period = 1.0 / physics_hz
        self._mixer = params.mixer()
        self._mixer_inv = np.linalg.inv(self._mixer)
        self._max_rotor = params.max_rotor_thrust
        self._consts = pack_constants(params, config.gains)
        self._k = kernels()
        self._velocity = VelocityLoop(config.gains)
        self._attitude = AttitudeP(config.gains)
        self._rates = RatePID(params, config.gains)
        self._hover = HoverThrustEstimator(params.mass, max(config.hover_thrust_tau, 1e-3))
        self._thrust_z: float | None = None
        self.rejected = 0
        """Number of setpoints rejected as non-finite since construction or :meth:`reset`."""
        self.reset()

    # ------------------------------------------------------------------------ commands
    def reset(self) -> None:
        """Disarm and forget setpoints, timers, integrators and the rejected count."""
        self._armed = False
        self._mode = FlightMode.DISARMED
        self._sp: _Setpoint | None = None
        self._t_last: float | None = None
        self._t_mode: float | None = None
        self._t_landed: float | None = None
        self._hold_pos: np.ndarray | None = None
        self._yaw_sp: float | None = None
        self._level: CommandLevel | None = None
        self.rejected = 0
        self._velocity.reset()
        self._rates.reset()
        self._hover.reset()
        self._thrust_z: float | None = None

    def arm(self) -> None:
        """Arm: HOLD at the current position until setpoints stream (no-op when armed)."""
        if not self._armed:
            self._armed = True
            self._rates.reset()
            self._enter(FlightMode.HOLD, None)

    def disarm(self) -> None:
        """Disarm now: rotors off (zero wrench) from the next :meth:`update`."""
        self._armed = False
        self._mode = FlightMode.DISARMED
        self._thrust_z = None

    def land(self) -> None:
        """Land now (e.g. an emergency stop or a hand-back); latched until disarmed."""
        if self._armed and self._mode is not FlightMode.LAND:
            self._enter(FlightMode.LAND, None)

    @property
    def mode(self) -> FlightMode:
        """Current :class:`FlightMode`."""
        return self._mode

    @property
    def armed(self) -> bool:
        """Whether the rotors may spin."""
        return self._armed

    def set_setpoint(self, level: CommandLevel, values: np.ndarray, t: float) -> bool:
        """Store a setpoint sent at time ``t`` (s); returns False if rejected as non-finite.

        Args:
            level: What ``values`` command.
            values: Setpoint (``SETPOINT_SIZE[level]``,) in the layout of ``level``.
            t: Time (s) the setpoint was sent, on the clock of :meth:`update`.

        Raises:
            ValueError: If ``level`` is not a CommandLevel or ``values`` has the wrong size.
        """
        if not isinstance(level, CommandLevel):
            raise ValueError(f"level must be a CommandLevel, got {level!r}")
        arr = np.array(values, dtype=float).reshape(-1)
        if arr.shape != (SETPOINT_SIZE[level],):
            raise ValueError(f"a {level.value} setpoint has {SETPOINT_SIZE[level]} values, "
                             f"got shape {np.shape(values)}")
        if not (all(map(math.isfinite, arr.tolist())) and math.isfinite(t)):
            self.rejected += 1
            return False
        if level is CommandLevel.ATTITUDE_THRUST:
            norm = float(np.linalg.norm(arr[:4]))
            if norm < 1e-6:
                self.rejected += 1
                return False
            arr[:4] /= norm
        self._sp = _Setpoint(level, arr.tolist(), float(t))
        return True

    # --------------------------------------------------------------------------- update
    def _enter(self, mode: FlightMode, t: float | None) -> None:
        self._mode = mode
        self._t_mode = t  # None: set by the next update
        self._hold_pos = None  # taken from the state at the next update
        self._t_landed = None
        self._velocity.reset()
        self._yaw_sp = None
        self._level = None

    def update(self, t: float, pos: np.ndarray, vel: np.ndarray, quat: np.ndarray,
               omega: np.ndarray) -> np.ndarray:
        """One control step at time ``t`` (s) on the true state; returns the wrench (4,).

        See :meth:`update_values`, which this returns as an array.
        """
        return np.array(self.update_values(t, pos, vel, quat, omega))

    def update_values(self, t: float, pos: Sequence[float], vel: Sequence[float],
                      quat: Sequence[float], omega: Sequence[float]
                      ) -> tuple[float, float, float, float]:
        """One control step at time ``t`` (s) on the true state; returns the wrench.

        The per-substep path: the state may be tuples of floats
        (:meth:`~liquid_ros.sim.quadrotor_sim.QuadrotorSim.state_values`) or arrays.

        Args:
            t: Time (s), non-decreasing.
            pos: Position (3,) m, world ENU.
            vel: Velocity (3,) m/s, world ENU.
            quat: Attitude (4,) (x, y, z, w), body to world.
            omega: Body rate (3,) rad/s, FLU.

        Returns:
            Collective thrust (N) and body torques (N m, FLU), achievable by the rotors, for
            :meth:`~liquid_ros.sim.quadrotor_sim.QuadrotorSim.set_wrench_values`.

        Raises:
            ValueError: If the state is not finite (the wrench would not be).
        """
        dt = self.period if self._t_last is None else min(max(t - self._t_last, 0.0), 0.1)
        self._t_last = t
        if not self._armed:
            self._mode = FlightMode.DISARMED
            return 0.0, 0.0, 0.0, 0.0
        cfg, sp = self.config, self._sp
        if self._t_mode is None:
            self._t_mode = t
        fresh = sp is not None and t - sp.stamp <= cfg.setpoint_timeout
        if self._mode is FlightMode.OFFBOARD and not fresh:
            self._enter(FlightMode.HOLD, t)
        elif self._mode is FlightMode.HOLD:
            if fresh:
                self._enter(FlightMode.OFFBOARD, t)
            elif t - self._t_mode >= cfg.hold_time:
                self._enter(FlightMode.LAND, t)
        pos, vel, quat, omega = _floats(pos), _floats(vel), _floats(quat), _floats(omega)
        if self.config.hover_thrust_tau > 0.0 and self._thrust_z is not None:
            self._hover.update(vel[2], self._thrust_z, dt)
        if self._hold_pos is None:
            self._hold_pos = pos
        if self._yaw_sp is None:
            self._yaw_sp = _yaw(quat)
        mode = self._mode
        if mode is FlightMode.OFFBOARD:
            wrench = self._offboard(sp, quat, omega, dt)
        else:
            if mode is FlightMode.HOLD:
                acc = self._velocity.accel(pos, vel, self._hold_pos, (0.0, 0.0, 0.0), dt)
            else:
                pos_sp = (self._hold_pos[0], self._hold_pos[1], pos[2])
                acc = self._velocity.accel(pos, vel, pos_sp, (0.0, 0.0, -cfg.land_speed), dt)
            thrust, *wrench = self._cascade(acc, self._yaw_sp, 0.0, quat, omega, dt)
            if mode is FlightMode.LAND and self._landed(t, vel, thrust):
                self.disarm()
                return 0.0, 0.0, 0.0, 0.0
        self._thrust_z = wrench[0] * _body_z(quat)[2]  # what the estimator sees next
        if not math.isfinite(wrench[0] + wrench[1] + wrench[2] + wrench[3]):
            raise ValueError(f"non-finite state: pos {pos}, vel {vel}, quat {quat}, "
                             f"omega {omega}")
        return wrench

    def _cascade(self, acc: Sequence[float], yaw_sp: float, yaw_rate_ff: float,
                 quat: Sequence[float], omega: Sequence[float], dt: float
                 ) -> tuple[float, float, float, float, float]:
        """Thrust demand and wrench for a world acceleration: the compiled cascade."""
        return self._k.accel_to_wrench(
            acc[0], acc[1], acc[2], yaw_sp, yaw_rate_ff, self._hover.scale, *quat, *omega, dt,
            self._consts, self._rates.state, self._mixer, self._mixer_inv)

    def _offboard(self, sp: _Setpoint, quat: Sequence[float], omega: Sequence[float],
                  dt: float) -> tuple[float, float, float, float]:
        v, level = sp.values, sp.level
        if level is not self._level:  # new level: the heading setpoint restarts from here
            self._level = level
            self._yaw_sp = _yaw(quat)
        if level is CommandLevel.WRENCH:
            thrust, torque = float(v[0]), v[1:]
        elif level is CommandLevel.RATES_THRUST:
            thrust, torque = float(v[3]), self._rates.torque(omega, v[:3], dt)
        elif level is CommandLevel.ACCELERATION:
            yaw = _yaw(quat)
            yaw_sp = wrap_angle(self._yaw_sp + v[3] * dt)
            lead = wrap_angle(yaw_sp - yaw)
            limit = self.config.yaw_error_limit
            if abs(lead) > limit:
                yaw_sp = wrap_angle(yaw + math.copysign(limit, lead))
            self._yaw_sp = yaw_sp
            return self._cascade(v, yaw_sp, v[3], quat, omega, dt)[1:]
        else:
            thrust = float(v[4])
            torque = self._rates.torque(omega, self._attitude.rates(quat, v[:4], 0.0), dt)
        return self._k.allocate(thrust, *torque, self._mixer, self._mixer_inv,
                                   self._max_rotor)

    def _landed(self, t: float, vel: list[float], thrust: float) -> bool:
        cfg = self.config
        if abs(vel[2]) < cfg.land_max_speed and thrust < 0.9 * self.params.weight:
            if self._t_landed is None:
                self._t_landed = t
            return t - self._t_landed >= cfg.land_detect_time
        self._t_landed = None
        return False
