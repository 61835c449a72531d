"""Run-time safety filter: every command passes through it (numpy in and out).

Stage 1 (:meth:`SafetyFilter.filter_accel`) projects the nominal world acceleration onto the
robust HOCBF constraints of the double integrator (see :mod:`liquid_ros.safety.barriers`) and
the acceleration box (BarrierNet's QP, solved exactly), and reports every barrier's value;
:meth:`SafetyFilter.filter_action` adds the yaw-rate bound near barriers. Stage 2
(:meth:`SafetyFilter.filter_wrench`) returns the closest wrench that the rotors can produce.
Neither stage raises on bad values in the control loop: non-finite input gives the fallback
command (braking, hover) and an error status; conflicting barriers give the minimum-violation
command (slack on barrier rows only) and ``infeasible=True``; absurd but
finite commands (1e16) are clipped before the QP. Actuator bounds hold exactly in every output.
"""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.safety import qp_kernels as _k
from liquid_ros.safety.barriers import barrier_names
from liquid_ros.safety.config import DEFAULT_SAFETY_CONFIG, SafetyConfig, SafetyStatus
from liquid_ros.safety.fast_rows import FastRows
from liquid_ros.safety.qp import solve_prepared
from liquid_ros.safety.robust import yaw_rate_bound

__all__ = ["SafetyConfig", "SafetyFilter", "SafetyStatus"]

_AXES = ("x", "y", "z")
_FAR = 100.0
"""Nominal commands further than this outside the box (m/s^2 for stage 1, full ranges for
stage 2) are clipped to it before the QP: the QP's tolerances are relative to the problem's
scale, so a 1e16 command would otherwise drown the constraints in round-off."""
_VIOLATION_TOL = 1e-6


def _norm(x: np.ndarray) -> float:
    """Euclidean norm without overflow for huge entries (1e300 stays finite)."""
    return math.hypot(*x.tolist())


def _clip(x: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    """``np.clip`` without its dispatch overhead (small arrays, every tick)."""
    return np.minimum(np.maximum(x, lo), hi)


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
        self._rows = FastRows(config)
        self._lo2, self._hi2 = self.accel_low[None], self.accel_high[None]
        self._far_lo, self._far_hi = self.accel_low - _FAR, self.accel_high + _FAR
        self._last_nominal: np.ndarray | None = None  # slew-limited nominal of filter_action
        self._setup_wrench()

    def reset(self) -> None:
        """Forget the previous nominal command (start of a flight or after a pause)."""
        self._last_nominal = None

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
        self._wq_sqrt = np.sqrt(np.asarray(cfg.wrench_weights, dtype=np.float64))
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
                     gains: np.ndarray | None = None,
                     disturbance: np.ndarray | None = None) -> tuple[np.ndarray, SafetyStatus]:
        """Closest acceleration to ``accel_nom`` that satisfies every barrier and the box.

        Args:
            pos: Position (3,) m, world ENU.
            vel: Velocity (3,) m/s.
            accel_nom: Nominal acceleration (3,) m/s^2.
            leader_pos: Leader position (3,) m (for the leader barrier), or None.
            leader_vel: Leader velocity (3,) m/s, or None (zero).
            gains: Class-K gains, (2,) ``(p1, p2)`` for all rows or (R, 2) per barrier row;
                None uses the config. Must be positive.
            disturbance: Acceleration (3,) m/s^2 the plant adds to the command and nobody
                cancels (e.g. an observer's estimate when an external flight controller
                tracks the setpoint), or None. With this library's controller, which cancels
                its own estimate, leave it None.

        Returns:
            The safe acceleration (3,) within ``[accel_min, accel_max]`` exactly, and a status
            holding every barrier's value at ``pos, vel`` (``barrier_values``, ``violated``).
            ``infeasible`` is set whenever the returned command violates a row.

        Raises:
            ValueError: If an argument has the wrong shape (values are never an error here).
        """
        pos = _vector(pos, "pos", 3)
        vel = _vector(vel, "vel", 3)
        a_nom = _vector(accel_nom, "accel_nom", 3)
        lp = None if leader_pos is None else _vector(leader_pos, "leader_pos", 3)
        lv = None if leader_vel is None else _vector(leader_vel, "leader_vel", 3)
        dist = None if disturbance is None else _vector(disturbance, "disturbance", 3)
        g = None
        if gains is not None:
            g = np.asarray(gains, dtype=np.float64)
            if g.shape not in ((2,), (len(self.barrier_names), 2)):
                raise ValueError(f"gains must have shape (2,) or ({len(self.barrier_names)}, 2),"
                                 f" got {g.shape}")
        inputs = (("pos", pos), ("vel", vel), ("accel_nom", a_nom), ("leader_pos", lp),
                  ("leader_vel", lv), ("gains", g), ("disturbance", dist))
        present = [arr for _, arr in inputs if arr is not None]
        if not np.isfinite(np.concatenate([a.reshape(-1) for a in present])).all():
            bad = next(n for n, arr in inputs if arr is not None and not np.isfinite(arr).all())
            return self._accel_fallback(vel, f"non-finite {bad}")
        if g is not None and (g <= 0).any():
            return self._accel_fallback(vel, "gains must be positive")
        G0, h0, values = self._rows(pos, vel, lp, lv, g, dist)
        if not (np.isfinite(G0).all() and not np.isnan(h0).any()):
            return self._accel_fallback(vel, "non-finite barrier rows")
        # A row whose gradient vanishes (e.g. standing exactly on the leader's or an obstacle's
        # centre) does not depend on the control: no command can change it, and keeping it
        # makes the active-set iteration cycle. Drop it; if it was violated, say so.
        dead = (G0 * G0).sum(axis=1) <= 1e-18
        dead_violated = bool((dead & (h0 < 0)).any())
        h_solve = np.where(dead, np.inf, h0)
        a_far = _clip(a_nom, self._far_lo, self._far_hi)
        arrays = (self._q_accel, -a_far[None], G0[None], h_solve[None], self._lo2, self._hi2)
        res = solve_prepared(arrays, self._soft_accel, 1, self.config.soft_weight)
        code = int(res.status[0])
        a = res.x[0]
        if code not in (_k.OPTIMAL, _k.RELAXED) or not np.isfinite(a).all():
            return self._accel_fallback(vel, f"solver {_k.STATUS_NAMES[code]}")
        active = res.active[0]
        if not active.any():
            a = a_nom.copy()  # the unconstrained optimum is the nominal command itself
        a = _clip(a, self.accel_low, self.accel_high)
        viol = max(float((G0 @ a - h0).max(initial=0.0)), 0.0)
        names, vals = self.barrier_names, values.tolist()
        status = SafetyStatus(
            active=tuple(self._accel_row_names[i] for i in np.flatnonzero(active)),
            intervention=_norm(a - a_nom),
            infeasible=code == _k.RELAXED or dead_violated or viol > _VIOLATION_TOL,
            max_violation=viol, stage="accel", barrier_values=dict(zip(names, vals, strict=True)),
            violated=tuple(n for n, v in zip(names, vals, strict=True) if v < 0.0))
        return a, status

    def filter_action(self, pos: np.ndarray, vel: np.ndarray, action_nom: np.ndarray, *,
                      leader_pos: np.ndarray | None = None,
                      leader_vel: np.ndarray | None = None,
                      gains: np.ndarray | None = None,
                      disturbance: np.ndarray | None = None,
                      dt: float | None = None) -> tuple[np.ndarray, SafetyStatus]:
        """Stage 1 on a full policy action: acceleration through the QP, yaw rate bounded.

        With ``accel_slew_max`` set and ``dt`` (s since the previous call), the nominal
        acceleration may change by at most ``accel_slew_max * dt`` per axis from the previous
        call's: commands that swing faster than the attitude loop can tilt are not tracked,
        and the tracking error they cause (tilt overshoot past 45 degrees when odometry latency
        is not predicted, the thrust then lost) is beyond any useful ``accel_error_bound``.
        The QP's output is a Lipschitz function of the nominal and the state, so it inherits
        the bound up to the rows' own motion.

        The yaw rate enters the filter's model through :func:`~liquid_ros.safety.robust.
        yaw_rate_bound` of the nearest position barrier (see ``SafetyConfig.yaw_rate_near``):
        turning is slowed near the barriers so the attitude loop keeps the acceleration error
        within ``accel_error_bound``, which every row is robust to.

        Args:
            pos: Position (3,) m, world ENU.
            vel: Velocity (3,) m/s.
            action_nom: Nominal (acceleration (3) m/s^2, yaw rate (1) rad/s).
            leader_pos: See :meth:`filter_accel`.
            leader_vel: See :meth:`filter_accel`.
            gains: See :meth:`filter_accel`.
            disturbance: See :meth:`filter_accel`.
            dt: Seconds since the previous call (slew limit), or None (no limit).

        Returns:
            The safe action (4,) and the stage-1 status (``yaw_rate_limit`` set; a clipped yaw
            rate is listed in ``active`` as ``yaw_rate``).

        Raises:
            ValueError: If an argument has the wrong shape.
        """
        act = _vector(action_nom, "action_nom", 4)
        slew = self.config.accel_slew_max
        if (slew is not None and dt is not None and np.isfinite(dt) and dt > 0.0
                and np.all(np.isfinite(act))):
            if self._last_nominal is not None:
                step = slew * float(dt)
                act[:3] = self._last_nominal + _clip(act[:3] - self._last_nominal,
                                                       -step, step)
            self._last_nominal = _clip(act[:3], self.accel_low, self.accel_high)
        a, status = self.filter_accel(pos, vel, act[:3], leader_pos=leader_pos,
                                      leader_vel=leader_vel, gains=gains,
                                      disturbance=disturbance)
        pos_vals = [v for n, v in status.barrier_values.items() if n != "speed"]
        nearest = min(pos_vals, default=np.inf) if not status.fallback else -np.inf
        limit = yaw_rate_bound(self.config, float(nearest))
        yaw = float(act[3]) if np.isfinite(act[3]) else 0.0
        yaw_safe = min(max(yaw, -limit), limit)
        status.yaw_rate_limit = limit
        if yaw_safe != yaw:
            status.active = (*status.active, "yaw_rate")
        out = np.empty(4)
        out[:3], out[3] = a, yaw_safe
        return out, status

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
            f = _clip(self._mixer_inv @ w, 0.0, self._f_max)
            w = self._mixer @ f
        return _clip(w, self.wrench_low, self.wrench_high)

    def filter_wrench(self, wrench_nom: np.ndarray) -> tuple[np.ndarray, SafetyStatus]:
        """Closest actuator-feasible wrench to ``wrench_nom``.

        The distance is ``sum_i w_i ((u_i - u_nom_i) / range_i)^2`` with ``range`` the thrust
        and torque limits and ``w`` the config's ``wrench_weights``, so a unit error on any axis
        means one full range, and yaw is given up first by default.

        Args:
            wrench_nom: Nominal (collective thrust N, tau_x, tau_y, tau_z N m), FLU body frame.

        A nominal axis more than 100 ranges out (e.g. a 1e16 N thrust) is clipped to 100
        ranges first, giving the saturated wrench (full thrust), and flagged ``infeasible``.

        Returns:
            The feasible wrench (4,): thrust in ``[0, max_thrust]`` and torques within their
            bounds exactly; with ``rotor_limits``, rotor thrusts within ``[0, f_max]`` up to
            round-off of the mixer product (about 1e-16 N). And a status.

        Raises:
            ValueError: If ``wrench_nom`` does not have shape (4,).
        """
        w_nom = _vector(wrench_nom, "wrench_nom", 4)
        if not np.isfinite(w_nom).all():
            return self.fallback_wrench(), SafetyStatus(
                error="non-finite wrench_nom", stage="wrench", fallback=True)
        y_nom = w_nom / self._w_scale
        absurd = bool((np.abs(y_nom) > _FAR).any())
        y_far = _clip(y_nom, -_FAR, _FAR)
        arrays = (self._wq, -(self._wq[0] @ y_far)[None], self._g_wrench, self._h_wrench,
                  self._y_low, self._y_high)
        res = solve_prepared(arrays, self._soft_wrench, 1)
        code = int(res.status[0])
        y = res.x[0]
        if code != _k.OPTIMAL or not np.isfinite(y).all():
            return self.fallback_wrench(), SafetyStatus(
                error=f"solver {_k.STATUS_NAMES[code]}", stage="wrench", fallback=True)
        active = res.active[0]
        w = w_nom.copy() if not active.any() else self._project_wrench(y * self._w_scale)
        w = _clip(w, self.wrench_low, self.wrench_high)
        dy = w / self._w_scale - y_nom
        status = SafetyStatus(
            active=tuple(self._wrench_row_names[i] for i in np.flatnonzero(active)),
            intervention=_norm(self._wq_sqrt * dy), stage="wrench",
            infeasible=absurd)
        return w, status
