"""Quadrotor physical model: Crazyflie 2.x constants and the rotor mixer.

Constants are those of the Crazyflie 2.x as modelled by gym-pybullet-drones (``cf2x.urdf``):
mass 0.027 kg, arm 0.0397 m, kf 3.16e-10 N/RPM^2, km 7.94e-12 N m/RPM^2, thrust-to-weight
2.25, Ixx = Iyy = 1.4e-5 kg m^2, Izz = 2.17e-5 kg m^2.

Frames follow REP-103: the body frame is FLU (x forward, y left, z up). The rotors sit in an
"X" layout; rotor ``i`` is at ``arm / sqrt(2) * (sx_i, sy_i, 0)`` and spins with direction
``spin_i`` (+1 counter-clockwise seen from above, -1 clockwise). A counter-clockwise rotor's
drag pushes the body clockwise, so its yaw torque is ``-spin_i * km / kf * f_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRAVITY = 9.81
"""Standard gravity (m/s^2)."""

# Rotor order: front-left, rear-left, rear-right, front-right (FLU body frame).
ROTOR_SIGNS_X = np.array([1.0, -1.0, -1.0, 1.0])
ROTOR_SIGNS_Y = np.array([1.0, 1.0, -1.0, -1.0])
ROTOR_SPIN = np.array([-1.0, 1.0, -1.0, 1.0])


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
        drag_coeff: Linear body drag coefficients (N s / m) per body axis.
    """

    mass: float = 0.027
    arm: float = 0.0397
    kf: float = 3.16e-10
    km: float = 7.94e-12
    thrust_to_weight: float = 2.25
    inertia: tuple[float, float, float] = (1.4e-5, 1.4e-5, 2.17e-5)
    # gym-pybullet-drones' drag is DRAG_COEFF * (sum of rotor RPM) * v with DRAG_COEFF_XY =
    # 9.1785e-7 and DRAG_COEFF_Z = 10.311e-7; linearised here at hover (4 x 14,468 RPM).
    drag_coeff: tuple[float, float, float] = (9.1785e-7 * 4 * 14468.0,) * 2 + (
        10.311e-7 * 4 * 14468.0,)

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

    def wrench_from_thrusts(self, thrusts: np.ndarray) -> np.ndarray:
        """Wrench (..., 4) produced by rotor thrusts (..., 4) in N."""
        return np.asarray(thrusts) @ self.mixer().T

    def rpm_from_thrusts(self, thrusts: np.ndarray) -> np.ndarray:
        """Rotor speeds (RPM) for thrusts (N), clipped to [0, max_rpm]."""
        return np.clip(np.sqrt(np.clip(thrusts, 0.0, None) / self.kf), 0.0, self.max_rpm)


CF2X = QuadrotorParams()
"""The Crazyflie 2.x."""
