"""Hover-thrust estimation of the simulated flight controller (PX4 mc_hover_thrust_estimator).

A real autopilot maps an acceleration setpoint to thrust through its estimate of the thrust
that holds the vehicle in hover, learnt in flight; PX4 runs a one-state Kalman filter on it
(module ``mc_hover_thrust_estimator``, Multicopter docs "Hover Thrust"). Without it, 20 % more
mass than the model makes every acceleration setpoint 0.2 g short and the drone sinks.

Here the estimate is a scale ``s = m_effective / m_nominal``: from the vertical thrust applied
(lagged like the rotors) and the measured vertical acceleration, ``s_meas = T_z / (m (a_z +
g))``, low-pass filtered with time constant ``tau`` and clamped to ``[0.5, 2]``. It only learns
in flight (thrust above 20 % of the weight, specific force above 0.3 g), as PX4 does not learn
on the ground.
"""

from __future__ import annotations

import math

from liquid_ros.control.quadrotor import GRAVITY

MOTOR_LAG = 0.069
"""Rotor time constant (s) the applied thrust is lagged by (see ``SimConfig.motor_tau``)."""


class HoverThrustEstimator:
    """Learns the hover-thrust scale from applied thrust and measured vertical acceleration.

    Args:
        mass: Nominal mass (kg).
        tau: Estimate time constant (s).
        accel_tau: Low-pass time constant (s) of the measured acceleration.
    """

    def __init__(self, mass: float, tau: float = 0.5, accel_tau: float = 0.03) -> None:
        self.mass, self.tau, self.accel_tau = float(mass), float(tau), float(accel_tau)
        self._key: tuple[float, float, float] | None = None
        self._gains = (0.0, 0.0, 0.0)
        self.reset()

    def reset(self) -> None:
        """Back to the nominal model (scale 1)."""
        self.scale = 1.0
        self._vz: float | None = None
        self._az = 0.0
        self._tz = self.mass * GRAVITY

    def update(self, vz: float, thrust_z: float, dt: float) -> float:
        """One substep; returns the scale.

        Args:
            vz: Measured vertical velocity (m/s).
            thrust_z: Vertical thrust (N) commanded at the previous substep.
            dt: Seconds since the previous substep.
        """
        if dt <= 0.0:
            return self.scale
        key = (dt, self.tau, self.accel_tau)
        if key != self._key:  # the filters' gains, recomputed only when these change
            self._key = key
            self._gains = (1.0 - math.exp(-dt / MOTOR_LAG), 1.0 - math.exp(-dt / self.accel_tau),
                           1.0 - math.exp(-dt / self.tau))
        k_thrust, k_accel, k_scale = self._gains
        self._tz += k_thrust * (thrust_z - self._tz)
        if self._vz is not None:
            a = (vz - self._vz) / dt
            self._az += k_accel * (a - self._az)
        self._vz = vz
        force = self._az + GRAVITY
        if self._tz > 0.2 * self.mass * GRAVITY and force > 0.3 * GRAVITY:
            meas = min(max(self._tz / (self.mass * force), 0.5), 2.0)
            self.scale += k_scale * (meas - self.scale)
        return self.scale
