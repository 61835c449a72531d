"""Run-time safety filter: every command passes through it (numpy in and out).

Stage 1 (:meth:`SafetyFilter.filter_accel`) projects the nominal world acceleration onto the
HOCBF constraints of the double integrator and the acceleration box (BarrierNet's QP, solved
exactly). Stage 2 (:meth:`SafetyFilter.filter_wrench`) returns the closest wrench that the
rotors can produce. Neither stage raises on bad values in the control loop: non-finite input
gives the fallback command (braking, hover) and an error status; conflicting barriers give the
minimum-violation command (slack on barrier rows only) and ``infeasible=True``. Actuator bounds
hold exactly in every output.
"""

from __future__ import annotations

import numpy as np

from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.safety import qp_kernels as _k
from liquid_ros.safety.barriers import barrier_names, hocbf_rows
from liquid_ros.safety.config import DEFAULT_SAFETY_CONFIG, SafetyConfig, SafetyStatus
from liquid_ros.safety.qp import solve_prepared

__all__ = ["SafetyConfig", "SafetyFilter", "SafetyStatus"]

_AXES = ("x", "y", "z")


def _vector(value: object, name: str, size: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1) if value is not None else None
    if arr is None or arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {np.shape(value)}")
    return arr


class SafetyFilter:
    """Two-stage safety filter of a quadrotor command.

    Args:
        config: Limits, barriers, gains and margins.
        params: Quadrotor whose mixer and limits define stage 2.
    """

    def __init__(self, config: SafetyConfig = DEFAULT_SAFETY_CONFIG,
                 params: QuadrotorParams = CF2X) -> None:
        self.config = config
        self.params = params
        self.barrier_names = barrier_names(config)
        self.accel_low = np.array(config.accel_min, dtype=np.float64)
        self.accel_high = np.array(config.accel_max, dtype=np.float64)
        r = len(self.barrier_names)
        self._accel_row_names = self.barrier_names + tuple(
            f"accel_{a}_max" for a in _AXES) + tuple(f"accel_{a}_min" for a in _AXES)
        self._soft_accel = np.ones(r, dtype=np.bool_)
        self._q_accel = np.eye(3)[None]
        self._setup_wrench()

    def _setup_wrench(self) -> None:
        """Wrench QP in range-normalised variables ``y = w / scale`` (all entries O(1))."""
        cfg, par = self.config, self.params
        t_max = par.max_thrust if cfg.max_thrust is None else cfg.max_thrust
        tau = par.max_torque if cfg.max_torque is None else np.asarray(cfg.max_torque, float)
        self._w_scale = np.concatenate([[t_max], tau]).astype(np.float64)
        self.wrench_low = np.concatenate([[0.0], -tau]).astype(np.float64)
        self.wrench_high = self._w_scale.copy()
        self._mixer = par.mixer()
        self._mixer_inv = np.linalg.inv(self._mixer)
        self._f_max = par.max_rotor_thrust
        self._wq = np.diag(np.asarray(cfg.wrench_weights, dtype=np.float64))[None]
        names = []
        if cfg.rotor_limits:
            a = self._mixer_inv * self._w_scale[None, :] / self._f_max
            self._g_wrench = np.concatenate([a, -a])[None]
            self._h_wrench = np.concatenate([np.ones(4), np.zeros(4)])[None]
            names = [f"rotor_{i}_max" for i in range(4)] + [f"rotor_{i}_min" for i in range(4)]
        else:
            self._g_wrench = np.zeros((1, 0, 4))
            self._h_wrench = np.zeros((1, 0))
        self._wrench_row_names = tuple(names) + (
            "thrust_max", "torque_x_max", "torque_y_max", "torque_z_max",
            "thrust_min", "torque_x_min", "torque_y_min", "torque_z_min")
        self._y_low = (self.wrench_low / self._w_scale)[None]
        self._y_high = np.ones((1, 4))
        self._soft_wrench = np.zeros(self._g_wrench.shape[1], dtype=np.bool_)

    # ----------------------------------------------------------------------------- stage 1
    def brake_accel(self, vel: np.ndarray | None = None) -> np.ndarray:
        """Fallback acceleration (3,): ``-brake_gain * vel`` (zero if vel is not finite), boxed."""
        a = np.zeros(3)
        if vel is not None:
            v = np.asarray(vel, dtype=np.float64).reshape(-1)
            if v.shape == (3,) and np.all(np.isfinite(v)):
                a = -self.config.brake_gain * v
        return np.clip(a, self.accel_low, self.accel_high)

    def filter_accel(self, pos: np.ndarray, vel: np.ndarray, accel_nom: np.ndarray, *,
                     leader_pos: np.ndarray | None = None,
                     leader_vel: np.ndarray | None = None,
                     gains: np.ndarray | None = None) -> tuple[np.ndarray, SafetyStatus]:
        """Closest acceleration to ``accel_nom`` that satisfies every barrier and the box.

        Args:
            pos: Position (3,) m, world ENU.
            vel: Velocity (3,) m/s.
            accel_nom: Nominal acceleration (3,) m/s^2.
            leader_pos: Leader position (3,) m (for the leader barrier), or None.
            leader_vel: Leader velocity (3,) m/s, or None (zero).
            gains: Class-K gains, (2,) ``(p1, p2)`` for all rows or (R, 2) per barrier row;
                None uses the config. Must be positive.

        Returns:
            The safe acceleration (3,) within ``[accel_min, accel_max]`` exactly, and a status.

        Raises:
            ValueError: If an argument has the wrong shape (values are never an error here).
        """
        pos = _vector(pos, "pos", 3)
        vel = _vector(vel, "vel", 3)
        a_nom = _vector(accel_nom, "accel_nom", 3)
        lp = None if leader_pos is None else _vector(leader_pos, "leader_pos", 3)
        lv = None if leader_vel is None else _vector(leader_vel, "leader_vel", 3)
        g = None
        if gains is not None:
            g = np.asarray(gains, dtype=np.float64)
            if g.shape not in ((2,), (len(self.barrier_names), 2)):
                raise ValueError(f"gains must have shape (2,) or ({len(self.barrier_names)}, 2),"
                                 f" got {g.shape}")
        for name, arr in (("pos", pos), ("vel", vel), ("accel_nom", a_nom),
                          ("leader_pos", lp), ("leader_vel", lv), ("gains", g)):
            if arr is not None and not np.all(np.isfinite(arr)):
                return self._accel_fallback(vel, f"non-finite {name}")
        if g is not None and np.any(g <= 0):
            return self._accel_fallback(vel, "gains must be positive")
        G, h = hocbf_rows(pos[None], vel[None], self.config, None if g is None else g[None],
                          None if lp is None else lp[None], None if lv is None else lv[None])
        if not (np.all(np.isfinite(G)) and not np.any(np.isnan(h))):
            return self._accel_fallback(vel, "non-finite barrier rows")
        # A row whose gradient vanishes (e.g. standing exactly on the leader's or an obstacle's
        # centre) does not depend on the control: no command can change it, and keeping it
        # makes the active-set iteration cycle. Drop it; if it was violated, say so.
        dead = np.linalg.norm(G[0], axis=1) <= 1e-9
        dead_violated = bool(np.any(dead & (h[0] < 0)))
        h_solve = np.where(dead[None], np.inf, h)
        arrays = (self._q_accel, -a_nom[None], np.ascontiguousarray(G),
                  np.ascontiguousarray(h_solve), self.accel_low[None], self.accel_high[None])
        res = solve_prepared(arrays, self._soft_accel, 1, self.config.soft_weight)
        code = int(res.status[0])
        a = res.x[0]
        if code not in (_k.OPTIMAL, _k.RELAXED) or not np.all(np.isfinite(a)):
            return self._accel_fallback(vel, f"solver {_k.STATUS_NAMES[code]}")
        active = res.active[0]
        if not active.any():
            a = a_nom.copy()  # the unconstrained optimum is the nominal command itself
        a = np.clip(a, self.accel_low, self.accel_high)
        viol = float(np.max(G[0] @ a - h[0], initial=0.0))
        status = SafetyStatus(
            active=tuple(n for n, on in zip(self._accel_row_names, active, strict=True) if on),
            intervention=float(np.linalg.norm(a - a_nom)),
            infeasible=code == _k.RELAXED or dead_violated,
            max_violation=max(viol, 0.0), stage="accel")
        return a, status

    def _accel_fallback(self, vel: np.ndarray, error: str) -> tuple[np.ndarray, SafetyStatus]:
        return self.brake_accel(vel), SafetyStatus(error=error, stage="accel", fallback=True)

    # ----------------------------------------------------------------------------- stage 2
    def fallback_wrench(self) -> np.ndarray:
        """Hover wrench (thrust = weight, zero torque), clipped to the actuator limits, (4,)."""
        w = np.array([self.params.weight, 0.0, 0.0, 0.0])
        return self._project_wrench(w)

    def _project_wrench(self, w: np.ndarray) -> np.ndarray:
        """Enforce rotor limits and the wrench box exactly (removes solver round-off)."""
        if self.config.rotor_limits:
            f = np.clip(self._mixer_inv @ w, 0.0, self._f_max)
            w = self._mixer @ f
        return np.clip(w, self.wrench_low, self.wrench_high)

    def filter_wrench(self, wrench_nom: np.ndarray) -> tuple[np.ndarray, SafetyStatus]:
        """Closest actuator-feasible wrench to ``wrench_nom``.

        The distance is ``sum_i w_i ((u_i - u_nom_i) / range_i)^2`` with ``range`` the thrust
        and torque limits and ``w`` the config's ``wrench_weights``, so a unit error on any axis
        means one full range, and yaw is given up first by default.

        Args:
            wrench_nom: Nominal (collective thrust N, tau_x, tau_y, tau_z N m), FLU body frame.

        Returns:
            The feasible wrench (4,): thrust in ``[0, max_thrust]`` and torques within their
            bounds exactly; with ``rotor_limits``, rotor thrusts within ``[0, f_max]`` up to
            round-off of the mixer product (about 1e-16 N). And a status.

        Raises:
            ValueError: If ``wrench_nom`` does not have shape (4,).
        """
        w_nom = _vector(wrench_nom, "wrench_nom", 4)
        if not np.all(np.isfinite(w_nom)):
            return self.fallback_wrench(), SafetyStatus(
                error="non-finite wrench_nom", stage="wrench", fallback=True)
        y_nom = w_nom / self._w_scale
        arrays = (self._wq, -(self._wq[0] @ y_nom)[None], self._g_wrench, self._h_wrench,
                  self._y_low, self._y_high)
        res = solve_prepared(arrays, self._soft_wrench, 1)
        code = int(res.status[0])
        y = res.x[0]
        if code != _k.OPTIMAL or not np.all(np.isfinite(y)):
            return self.fallback_wrench(), SafetyStatus(
                error=f"solver {_k.STATUS_NAMES[code]}", stage="wrench", fallback=True)
        active = res.active[0]
        w = w_nom.copy() if not active.any() else self._project_wrench(y * self._w_scale)
        w = np.clip(w, self.wrench_low, self.wrench_high)
        dy = w / self._w_scale - y_nom
        status = SafetyStatus(
            active=tuple(n for n, on in zip(self._wrench_row_names, active, strict=True) if on),
            intervention=float(np.sqrt(dy @ self._wq[0] @ dy)), stage="wrench")
        return w, status
