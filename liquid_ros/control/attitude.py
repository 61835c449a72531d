"""Geometric attitude controller on SO(3) for a quadrotor (numpy).

The control law is that of Lee, Leok and McClamroch, "Geometric tracking control of a quadrotor
UAV on SE(3)", CDC 2010 (eqs. 11-12): ``tau = -K_R e_R - K_w e_w + w x J w``. Gains are set per
axis by pole placement on the linearised loop ``J e'' = tau`` (``K_R = J wn^2``,
``K_w = 2 zeta wn J``), so one natural frequency and damping ratio describe each axis.
"""

from __future__ import annotations

import numpy as np

from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.control.rotation import cross, vee


class AttitudeController:
    """Torque command (N m, FLU body frame) tracking a desired rotation matrix.

    Args:
        params: Quadrotor parameters (inertia and torque limits are used).
        natural_freq: Closed-loop natural frequency per body axis (3,) in rad/s.
        damping: Damping ratio of each axis.
    """

    def __init__(
        self,
        params: QuadrotorParams = CF2X,
        natural_freq: tuple[float, float, float] = (14.0, 14.0, 6.0),
        damping: float = 0.9,
    ) -> None:
        wn = np.asarray(natural_freq, dtype=float)
        if wn.shape != (3,) or not np.all(np.isfinite(wn)) or np.any(wn <= 0.0):
            raise ValueError(f"natural_freq must be 3 positive numbers, got {natural_freq!r}")
        if not damping > 0.0:
            raise ValueError(f"damping must be positive, got {damping!r}")
        self.params = params
        self.inertia = np.asarray(params.inertia, dtype=float)
        self.k_r = self.inertia * wn**2
        self.k_w = 2.0 * damping * wn * self.inertia
        self.max_torque = params.max_torque

    def compute(
        self,
        rot: np.ndarray,
        omega: np.ndarray,
        rot_des: np.ndarray,
        omega_des: np.ndarray | None = None,
    ) -> np.ndarray:
        """Body torque (3,) in N m, clipped to the rotor-limited torque per axis.

        Args:
            rot: Current rotation matrix (3, 3), body to world.
            omega: Current body angular rate (3,) in rad/s (FLU).
            rot_des: Desired rotation matrix (3, 3), body to world.
            omega_des: Desired angular rate (3,) in rad/s, in the desired body frame.
        """
        e_r = 0.5 * vee(rot_des.T @ rot - rot.T @ rot_des)
        w_des = np.zeros(3) if omega_des is None else rot.T @ rot_des @ omega_des
        e_w = omega - w_des
        # Gyroscopic term: cancels the coupling omega x J omega (Lee et al. 2010, eq. 12).
        gyro = cross(omega, self.inertia * omega)
        tau = -self.k_r * e_r - self.k_w * e_w + gyro
        return np.clip(tau, -self.max_torque, self.max_torque)
