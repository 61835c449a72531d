"""Quadrotor physical model: Crazyflie 2.x constants and the rotor mixer.

Constants are those of the Crazyflie 2.x as modelled by gym-pybullet-drones (``cf2x.urdf``):
mass 0.027 kg, arm 0.0397 m, kf 3.16e-10 N/RPM^2, km 7.94e-12 N m/RPM^2, thrust-to-weight
2.25, Ixx = Iyy = 1.4e-5 kg m^2, Izz = 2.17e-5 kg m^2.

Frames follow REP-103: the body frame is FLU (x forward, y left, z up). The rotors sit in an
"X" layout; rotor ``i`` is at ``arm / sqrt(2) * (sx_i, sy_i, 0)`` and spins with direction
``spin_i`` (+1 counter-clockwise seen from above, -1 clockwise). A counter-clockwise rotor's
drag pushes the body clockwise, so its yaw torque is ``-spin_i * km / kf * f_i``.

Body drag is Forster's (2015) identified linear model as gym-pybullet-drones applies it to cf2x
(``PYB_DRAG``): ``F_body = -k * sum_i(omega_i) * v_body`` with ``omega_i = 2 pi rpm_i / 60`` the
actual rotor speeds in rad/s and ``k = (9.1785e-7, 9.1785e-7, 10.311e-7)`` N s^2 / (m rad). It
is about 0.0056 N s/m at hover and vanishes with the rotors stopped. One implementation,
:meth:`QuadrotorParams.drag_force`, serves the simulator and the controller alike.

References:
    J. Forster, "System Identification of the Crazyflie 2.0 Nano Quadrocopter", BSc thesis,
    ETH Zurich, 2015. J. Panerati et al., "Learning to Fly - a Gym Environment with PyBullet
    Physics for Reinforcement Learning of Multi-agent Quadcopter Control", IROS 2021
    (gym-pybullet-drones, ``BaseAviary._drag``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

GRAVITY = 9.81
"""Standard gravity (m/s^2)."""

# Rotor order: front-left, rear-left, rear-right, front-right (FLU body frame).
ROTOR_SIGNS_X = np.array([1.0, -1.0, -1.0, 1.0])
ROTOR_SIGNS_Y = np.array([1.0, 1.0, -1.0, -1.0])
ROTOR_SPIN = np.array([-1.0, 1.0, -1.0, 1.0])

RPM_TO_RAD_S = 2.0 * np.pi / 60.0
"""Rotor speed conversion: rad/s per RPM."""


@dataclass(frozen=True)
class QuadrotorParams:
    """Physical parameters of a quadrotor (SI units).

    Attributes:
        mass: Total mass (kg).
        arm: Distance from the centre to each rotor axis (m).
        kf: Thrust coefficient (N / RPM^2).
        km: Drag-torque coefficient (N m / RPM^2).
        thrust_to_weight: Maximum total thrust over weight.
        inertia: Diagonal inertia (Ixx, Iyy, Izz) in kg m^2.
        drag_k: Rotor-speed-scaled body drag coefficients (k_x, k_y, k_z) in
            N s^2 / (m rad): drag per body axis is ``-k * sum(omega_i) * v`` (Forster 2015).
    """

    mass: float = 0.027
    arm: float = 0.0397
    kf: float = 3.16e-10
    km: float = 7.94e-12
    thrust_to_weight: float = 2.25
    inertia: tuple[float, float, float] = (1.4e-5, 1.4e-5, 2.17e-5)
    drag_k: tuple[float, float, float] = (9.1785e-7, 9.1785e-7, 10.311e-7)

    def drag_force(self, rpm: np.ndarray, vel_body: np.ndarray) -> np.ndarray:
        """Body drag force (..., 3) in N, body frame (FLU).

        ``F = -k * sum_i(2 pi rpm_i / 60) * v_body`` per body axis (Forster 2015, as
        gym-pybullet-drones applies it to cf2x); zero with the rotors stopped.

        Args:
            rpm: Actual rotor speeds (..., 4) in RPM.
            vel_body: Velocity (..., 3) in m/s, expressed in the body frame.
        """
        omega_sum = np.asarray(rpm, dtype=float).sum(axis=-1)[..., None]
        return self._neg_drag_k_rad * omega_sum * np.asarray(vel_body, dtype=float)

    @cached_property
    def drag_per_rpm(self) -> tuple[float, float, float]:
        """``-k`` per body axis in N s / (m RPM), as floats.

        :meth:`drag_force` is ``drag_per_rpm * sum(rpm_i) * v_body``: the same model with the
        rad/s conversion folded in, for code that runs every physics substep on plain floats.
        """
        return tuple(-RPM_TO_RAD_S * float(k) for k in self.drag_k)  # type: ignore

    @cached_property
    def _neg_drag_k_rad(self) -> np.ndarray:
        return np.array(self.drag_per_rpm)

    @property
    def drag_coeff(self) -> tuple[float, float, float]:
        """Drag per body axis (N s / m) linearised at hover: ``k * 4 * omega_hover``.

        For readers that need one constant linear drag (bag conversion); flight uses
        :meth:`drag_force` with the actual rotor speeds.
        """
        omega_sum = 4.0 * RPM_TO_RAD_S * self.hover_rpm
        return tuple(float(k * omega_sum) for k in self.drag_k)  # type: ignore[return-value]

    @property
    def weight(self) -> float:
        """Weight (N)."""
        return self.mass * GRAVITY

    @property
    def max_thrust(self) -> float:
        """Maximum collective thrust (N)."""
        return self.thrust_to_weight * self.weight

    @property
    def max_rotor_thrust(self) -> float:
        """Maximum thrust of one rotor (N)."""
        return self.max_thrust / 4.0

    @property
    def max_rpm(self) -> float:
        """Maximum rotor speed (RPM)."""
        return float(np.sqrt(self.max_rotor_thrust / self.kf))

    @property
    def hover_rpm(self) -> float:
        """Rotor speed that balances gravity (RPM)."""
        return float(np.sqrt(self.weight / (4.0 * self.kf)))

    @property
    def max_torque(self) -> np.ndarray:
        """Largest achievable body torque per axis (N m), shape (3,).

        Roll/pitch: two rotors at full thrust on one side, none on the other; yaw: the two
        rotors of one spin direction at full thrust.
        """
        f = self.max_rotor_thrust
        lever = self.arm / np.sqrt(2.0)
        return np.array([2.0 * f * lever, 2.0 * f * lever, 2.0 * f * self.km / self.kf])

    def mixer(self) -> np.ndarray:
        """Matrix ``M`` (4, 4) with ``wrench = M @ rotor_thrusts``.

        ``wrench`` is (collective thrust N, torque x, torque y, torque z N m) in FLU.
        """
        lever = self.arm / np.sqrt(2.0)
        return np.stack([
            np.ones(4),
            lever * ROTOR_SIGNS_Y,
            -lever * ROTOR_SIGNS_X,
            -ROTOR_SPIN * self.km / self.kf,
        ])

    def thrusts_from_wrench(self, wrench: np.ndarray) -> np.ndarray:
        """Rotor thrusts (N), shape (..., 4), that produce ``wrench`` (..., 4) exactly."""
        return np.asarray(wrench) @ np.linalg.inv(self.mixer()).T

    @cached_property
    def _mixer_inv(self) -> np.ndarray:
        return np.linalg.inv(self.mixer())

    def feasible_thrusts(self, wrench: np.ndarray) -> np.ndarray:
        """Rotor thrusts (..., 4) for ``wrench`` (..., 4), each clipped to its limits.

        The actuator model of the simulator (and of the start-up hold): the exact rotor
        thrusts of the inverse mixer, clipped to ``[0, max_rotor_thrust]``.
        """
        return np.clip(np.asarray(wrench) @ self._mixer_inv.T, 0.0, self.max_rotor_thrust)

    def wrench_from_thrusts(self, thrusts: np.ndarray) -> np.ndarray:
        """Wrench (..., 4) produced by rotor thrusts (..., 4) in N."""
        return np.asarray(thrusts) @ self.mixer().T

    def rpm_from_thrusts(self, thrusts: np.ndarray) -> np.ndarray:
        """Rotor speeds (RPM) for thrusts (N), clipped to [0, max_rpm]."""
        return np.clip(np.sqrt(np.clip(thrusts, 0.0, None) / self.kf), 0.0, self.max_rpm)


CF2X = QuadrotorParams()
"""The Crazyflie 2.x."""
