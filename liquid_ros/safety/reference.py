"""The safety filter written plainly in numpy: the specification the compiled tick must meet.

:class:`ReferenceSafetyFilter` builds the rows with :func:`~liquid_ros.safety.barriers.
hocbf_rows` and :func:`~liquid_ros.safety.barriers.barrier_values` (shared with the training
layer) and solves with :func:`~liquid_ros.safety.qp.solve_qp`, one numpy operation at a time,
as :class:`~liquid_ros.safety.filter.SafetyFilter` did before its tick became one compiled call
per stage. Same configuration, same outputs (``test_safety_tick`` compares them on random
states, infeasible and fallback cases included); about four times slower. The safety benchmark
prints its cost as the reference of the filter's.
"""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.safety import qp_kernels as _k
from liquid_ros.safety.barriers import barrier_values, hocbf_rows
from liquid_ros.safety.config import SafetyStatus
from liquid_ros.safety.filter import FAR, VIOLATION_TOL, SafetyFilter, vector
from liquid_ros.safety.qp import solve_qp
from liquid_ros.safety.robust import yaw_rate_bound


def _norm(x: np.ndarray) -> float:
    return math.hypot(*x.tolist())


class ReferenceSafetyFilter(SafetyFilter):
    """:class:`~liquid_ros.safety.filter.SafetyFilter` with both stages in plain numpy."""

    def filter_accel(self, pos, vel, accel_nom, *, leader_pos=None, leader_vel=None,
                     gains=None, disturbance=None) -> tuple[np.ndarray, SafetyStatus]:
        """See :meth:`SafetyFilter.filter_accel`."""
        pos, vel = vector(pos, "pos", 3), vector(vel, "vel", 3)
        a_nom = vector(accel_nom, "accel_nom", 3)
        lp = None if leader_pos is None else vector(leader_pos, "leader_pos", 3)
        lv = None if leader_vel is None else vector(leader_vel, "leader_vel", 3)
        dist = None if disturbance is None else vector(disturbance, "disturbance", 3)
        g = None
        if gains is not None:
            g = np.asarray(gains, dtype=np.float64)
            if g.shape not in ((2,), (len(self.barrier_names), 2)):
                raise ValueError(f"gains must have shape (2,) or ({len(self.barrier_names)}, 2),"
                                 f" got {g.shape}")
        inputs = (("pos", pos), ("vel", vel), ("accel_nom", a_nom), ("leader_pos", lp),
                  ("leader_vel", lv), ("gains", g), ("disturbance", dist))
        for name, arr in inputs:
            if arr is not None and not np.isfinite(arr).all():
                return self._fallback(vel, f"non-finite {name}")
        if g is not None and (g <= 0).any():
            return self._fallback(vel, "gains must be positive")
        G0, h0 = hocbf_rows(pos[None], vel[None], self.config, None if g is None else g[None],
                            None if lp is None else lp[None],
                            None if lv is None else lv[None],
                            None if dist is None else dist[None])
        G0, h0 = G0[0], h0[0]
        values = barrier_values(pos[None], vel[None], self.config,
                                None if lp is None else lp[None],
                                None if lv is None else lv[None])[0]
        # +inf is an inactive row (no leader); NaN or -inf (an overflowing state) is an error.
        if not (np.isfinite(G0).all() and not (np.isnan(h0) | (h0 == -np.inf)).any()):
            return self._fallback(vel, "non-finite barrier rows")
        dead = (G0 * G0).sum(axis=1) <= 1e-18
        dead_violated = bool((dead & (h0 < 0)).any())
        h_solve = np.where(dead, np.inf, h0)
        a_far = np.clip(a_nom, self.accel_low - FAR, self.accel_high + FAR)
        soft = np.ones(len(h0), dtype=np.bool_)
        res = solve_qp(np.eye(3), -a_far, G0, h_solve, self.accel_low, self.accel_high, soft,
                       soft_weight=self.config.soft_weight)
        code = int(res.status)
        a = res.x
        if code not in (_k.OPTIMAL, _k.RELAXED) or not np.isfinite(a).all():
            return self._fallback(vel, f"solver {_k.STATUS_NAMES[code]}")
        if not res.active.any():
            a = a_nom.copy()
        a = np.clip(a, self.accel_low, self.accel_high)
        viol = max(float((G0 @ a - h0).max(initial=0.0)), 0.0)
        names, vals = self.barrier_names, values.tolist()
        status = SafetyStatus(
            active=tuple(self._accel_row_names[i] for i in np.flatnonzero(res.active)),
            intervention=_norm(a - a_nom),
            infeasible=code == _k.RELAXED or dead_violated or viol > VIOLATION_TOL,
            max_violation=viol, stage="accel", barrier_values=dict(zip(names, vals, strict=True)),
            violated=tuple(n for n, v in zip(names, vals, strict=True) if v < 0.0))
        return a, status

    def _fallback(self, vel: np.ndarray, error: str) -> tuple[np.ndarray, SafetyStatus]:
        return self.brake_accel(vel), SafetyStatus(error=error, stage="accel", fallback=True)

    def filter_action(self, pos, vel, action_nom, *, leader_pos=None, leader_vel=None,
                      gains=None, disturbance=None, dt=None) -> tuple[np.ndarray, SafetyStatus]:
        """See :meth:`SafetyFilter.filter_action`."""
        act = vector(action_nom, "action_nom", 4).copy()
        slew = self.config.accel_slew_max
        if (slew is not None and dt is not None and np.isfinite(dt) and dt > 0.0
                and np.all(np.isfinite(act))):
            if self._last_nominal is not None:
                step = slew * float(dt)
                act[:3] = self._last_nominal + np.clip(act[:3] - self._last_nominal,
                                                       -step, step)
            self._last_nominal = np.clip(act[:3], self.accel_low, self.accel_high)
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
        return np.append(a, yaw_safe), status

    def filter_wrench(self, wrench_nom) -> tuple[np.ndarray, SafetyStatus]:
        """See :meth:`SafetyFilter.filter_wrench`."""
        w_nom = vector(wrench_nom, "wrench_nom", 4)
        if not np.isfinite(w_nom).all():
            return self.fallback_wrench(), SafetyStatus(
                error="non-finite wrench_nom", stage="wrench", fallback=True)
        y_nom = w_nom / self._w_scale
        absurd = bool((np.abs(y_nom) > FAR).any())
        y_far = np.clip(y_nom, -FAR, FAR)
        wq = np.diag(np.asarray(self.config.wrench_weights, dtype=np.float64))
        res = solve_qp(wq, -(wq @ y_far), self._g_wrench[0], self._h_wrench[0],
                       self._y_low[0], np.ones(4))
        code = int(res.status)
        if code != _k.OPTIMAL or not np.isfinite(res.x).all():
            return self.fallback_wrench(), SafetyStatus(
                error=f"solver {_k.STATUS_NAMES[code]}", stage="wrench", fallback=True)
        w = (w_nom.copy() if not res.active.any()
             else self._project_wrench(res.x * self._w_scale))
        w = np.clip(w, self.wrench_low, self.wrench_high)
        dy = w / self._w_scale - y_nom
        status = SafetyStatus(
            active=tuple(self._wrench_row_names[i] for i in np.flatnonzero(res.active)),
            intervention=_norm(self._wq_sqrt * dy), stage="wrench", infeasible=absurd)
        return w, status
