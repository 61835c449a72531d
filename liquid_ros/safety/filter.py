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

Each stage is one compiled call (:mod:`liquid_ros.safety.tick_kernels`) on inputs packed into
one array; :class:`~liquid_ros.safety.reference.ReferenceSafetyFilter` is the same filter in
plain numpy, the specification the tests hold this one to. A filter keeps the previous nominal
(slew limit) and is meant for one control loop: use one per thread.
"""

from __future__ import annotations

from itertools import compress

import numpy as np

from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.safety import qp_kernels as _k
from liquid_ros.safety import tick_kernels as _t
from liquid_ros.safety.barriers import barrier_names
from liquid_ros.safety.config import DEFAULT_SAFETY_CONFIG, SafetyConfig, SafetyStatus
from liquid_ros.safety.fast_rows import pack
from liquid_ros.safety.robust import yaw_rate_bound

__all__ = ["SafetyConfig", "SafetyFilter", "SafetyStatus"]

_AXES = ("x", "y", "z")
FAR = 100.0
"""Nominal commands further than this outside the box (m/s^2 for stage 1, full ranges for
stage 2) are clipped to it before the QP: the QP's tolerances are relative to the problem's
scale, so a 1e16 command would otherwise drown the constraints in round-off."""
VIOLATION_TOL = 1e-6
_INPUTS = ("pos", "vel", "accel_nom", "leader_pos", "leader_vel", "gains", "disturbance")


def vector(value: object, name: str, size: int) -> np.ndarray:
    """``value`` as a float64 vector of ``size`` entries (any shape holding them), else raise."""
    arr = np.asarray(value, dtype=np.float64).reshape(-1) if value is not None else None
    if arr is None or arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {np.shape(value)}")
    return arr


def _put(buf: np.ndarray, start: int, value: object, name: str, size: int) -> None:
    """Write ``value`` (checked as :func:`vector`) into ``buf[start:start + size]``."""
    if type(value) is not np.ndarray or value.shape != (size,):
        value = vector(value, name, size)
    buf[start:start + size] = value


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
        self._accel_row_names = self.barrier_names + tuple(
            f"accel_{a}_max" for a in _AXES) + tuple(f"accel_{a}_min" for a in _AXES)
        self._last_nominal: np.ndarray | None = None  # slew-limited nominal of filter_action
        self._setup_accel()
        self._setup_wrench()

    def reset(self) -> None:
        """Forget the previous nominal command (start of a flight or after a pause)."""
        self._last_nominal = None

    def _setup_accel(self) -> None:
        """Pack the barriers and scalars of stage 1 for :func:`tick_kernels.stage1`."""
        cfg, pk = self.config, pack(self.config)
        n = self._n_bars = len(self.barrier_names)
        self._n_in = _t.IN_GAINS + max(2 * n, 2)
        self._i_info = 4 + n
        self._i_act = self._i_info + _t.N_INFO
        self._i_viol = self._i_act + n + 6
        self._n_out = self._i_viol + n
        self._bars = np.ascontiguousarray(np.concatenate([
            np.column_stack([pk.normals, pk.offsets]),
            np.column_stack([pk.centers, pk.radii])]))
        sc = np.zeros(_t.N_SC)
        sc[[_t.SC_LEAD_R, _t.SC_LEAD_P1, _t.SC_LEAD_P2, _t.SC_VMAX_ROW, _t.SC_VMAX_VAL,
            _t.SC_HAS_SPEED]] = (pk.lead_r, pk.lead_p1, pk.lead_p2, pk.vmax_row, pk.vmax_val,
                                 float(pk.has_speed))
        sc[[_t.SC_LEAD_A, _t.SC_DELTA, _t.SC_MARGIN, _t.SC_P1, _t.SC_P2, _t.SC_SOFT_W,
            _t.SC_YAW_MAX, _t.SC_YAW_NEAR, _t.SC_YAW_SLOW, _t.SC_TOL_VIOL]] = (
            cfg.leader_accel_max, cfg.accel_error_bound, cfg.margin, cfg.gain_p1, cfg.gain_p2,
            cfg.soft_weight, cfg.yaw_rate_max, cfg.yaw_rate_near, cfg.yaw_slow_distance,
            VIOLATION_TOL)
        sc[_t.SC_N_POS] = n - int(pk.has_speed)
        sc[_t.SC_N_PLANES] = len(pk.offsets)
        sc[_t.SC_BOX:] = np.concatenate([self.accel_low, self.accel_high,
                                         self.accel_low - FAR, self.accel_high + FAR])
        self._sc = sc

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
        self._wq_sqrt = np.sqrt(np.asarray(cfg.wrench_weights, dtype=np.float64))
        names = []
        if cfg.rotor_limits:
            a = self._mixer_inv * self._w_scale[None, :] / self._f_max
            self._g_wrench = np.ascontiguousarray(np.concatenate([a, -a])[None])
            self._h_wrench = np.concatenate([np.ones(4), np.zeros(4)])[None]
            names = [f"rotor_{i}_max" for i in range(4)] + [f"rotor_{i}_min" for i in range(4)]
        else:
            self._g_wrench = np.zeros((1, 0, 4))
            self._h_wrench = np.zeros((1, 0))
        self._wrench_row_names = tuple(names) + (
            "thrust_max", "torque_x_max", "torque_y_max", "torque_z_max",
            "thrust_min", "torque_x_min", "torque_y_min", "torque_z_min")
        self._y_low = (self.wrench_low / self._w_scale)[None]
        self._m2 = np.ascontiguousarray(np.concatenate([
            np.diag(np.asarray(cfg.wrench_weights, dtype=np.float64)), self._mixer,
            self._mixer_inv, self._g_wrench[0]]))
        self._c2 = np.concatenate([
            self._w_scale, self._y_low[0], self._wq_sqrt, self.wrench_low, self.wrench_high,
            [self._f_max, float(cfg.rotor_limits), FAR], self._h_wrench[0]])
        self._hover = self._project_wrench(np.array([self.params.weight, 0.0, 0.0, 0.0]))

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
        inp = np.zeros(self._n_in)
        _put(inp, _t.IN_ACT, accel_nom, "accel_nom", 3)
        return self._stage1(inp, pos, vel, leader_pos, leader_vel, gains, disturbance, False)

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
        within ``accel_error_bound``, which every row is robust to. On the fallback (no
        barrier values) the bound is ``yaw_rate_near``.

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
        inp = np.zeros(self._n_in)
        _put(inp, _t.IN_ACT, action_nom, "action_nom", 4)
        slew = self.config.accel_slew_max
        if slew is not None and dt is not None:
            self._slew(inp[_t.IN_ACT:_t.IN_ACT + 4], slew, dt)
        return self._stage1(inp, pos, vel, leader_pos, leader_vel, gains, disturbance, True)

    def _slew(self, act: np.ndarray, slew: float, dt: float) -> None:
        """Limit the nominal acceleration's change since the previous call, in place."""
        if not (np.isfinite(dt) and dt > 0.0 and np.all(np.isfinite(act))):
            return
        if self._last_nominal is not None:
            step = slew * float(dt)
            act[:3] = self._last_nominal + np.clip(act[:3] - self._last_nominal, -step, step)
        self._last_nominal = np.clip(act[:3], self.accel_low, self.accel_high)

    def _stage1(self, inp: np.ndarray, pos: object, vel: object, leader_pos: object,
                leader_vel: object, gains: object, disturbance: object, yaw: bool
                ) -> tuple[np.ndarray, SafetyStatus]:
        """Pack the rest of the inputs, run :func:`tick_kernels.stage1`, build the status."""
        # Written out rather than looped or factored: this runs every control tick.
        if type(pos) is np.ndarray and pos.shape == (3,):
            inp[0:3] = pos
        else:
            inp[0:3] = vector(pos, "pos", 3)
        if type(vel) is np.ndarray and vel.shape == (3,):
            inp[3:6] = vel
        else:
            inp[3:6] = vector(vel, "vel", 3)
        if leader_pos is not None:
            _put(inp, _t.IN_LP, leader_pos, "leader_pos", 3)
            inp[_t.IN_FLAGS] = 1.0
        if leader_vel is not None:
            _put(inp, _t.IN_LV, leader_vel, "leader_vel", 3)
            inp[_t.IN_FLAGS + 1] = 1.0
        if gains is not None:
            g = np.asarray(gains, dtype=np.float64)
            n = self._n_bars
            if g.shape not in ((2,), (n, 2)):
                raise ValueError(f"gains must have shape (2,) or ({n}, 2), got {g.shape}")
            if n:
                inp[_t.IN_GAINS:].reshape(n, 2)[:] = g
            else:  # no row to give them to; still checked as given
                inp[_t.IN_GAINS:_t.IN_GAINS + g.size] = g.reshape(-1)
            inp[_t.IN_FLAGS + 2] = max(2 * n, g.size)
        if disturbance is not None:
            _put(inp, _t.IN_DIST, disturbance, "disturbance", 3)
            inp[_t.IN_FLAGS + 3] = 1.0
        if yaw:
            inp[_t.IN_FLAGS + 4] = 1.0
        out = np.empty(self._n_out)
        code = _t.stage1(inp, self._bars, self._sc, out)
        if code:
            return self._accel_fallback(inp, code, yaw)
        lst = out.tolist()
        i_info, i_act, i_viol = self._i_info, self._i_act, self._i_viol
        active = tuple(compress(self._accel_row_names, lst[i_act:i_viol]))
        if yaw and lst[i_info + _t.INFO_YAW_CLIPPED]:
            active = (*active, "yaw_rate")
        names = self.barrier_names
        # SafetyStatus fields in order (positional: this runs every tick).
        status = SafetyStatus(
            active, lst[i_info + _t.INFO_INTERV], lst[i_info + _t.INFO_INFEAS] != 0.0, None,
            lst[i_info + _t.INFO_VIOL], "accel", False,
            dict(zip(names, lst[4:i_info], strict=False)), tuple(compress(names, lst[i_viol:])),
            lst[i_info + _t.INFO_YAW_LIMIT] if yaw else None)
        return out[:4] if yaw else out[:3], status

    def _accel_fallback(self, inp: np.ndarray, code: int, yaw: bool
                        ) -> tuple[np.ndarray, SafetyStatus]:
        if code <= len(_INPUTS):
            error = f"non-finite {_INPUTS[code - 1]}"
        elif code == _t.ERR_GAINS:
            error = "gains must be positive"
        elif code == _t.ERR_ROWS:
            error = "non-finite barrier rows"
        else:
            error = f"solver {_k.STATUS_NAMES[code - _t.ERR_SOLVER]}"
        a = self.brake_accel(inp[_t.IN_VEL:_t.IN_VEL + 3])
        status = SafetyStatus(error=error, stage="accel", fallback=True)
        if not yaw:
            return a, status
        # No barrier values to judge the distance by: the slowest turn.
        limit = yaw_rate_bound(self.config, -np.inf)
        nominal = float(inp[_t.IN_ACT + 3])
        nominal = nominal if np.isfinite(nominal) else 0.0
        yaw_safe = min(max(nominal, -limit), limit)
        status.yaw_rate_limit = limit
        if yaw_safe != nominal:
            status.active = ("yaw_rate",)
        return np.append(a, yaw_safe), status

    # ----------------------------------------------------------------------------- stage 2
    def fallback_wrench(self) -> np.ndarray:
        """Hover wrench (thrust = weight, zero torque), clipped to the actuator limits, (4,)."""
        return self._hover.copy()

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

        A nominal axis more than 100 ranges out (e.g. a 1e16 N thrust) is clipped to 100
        ranges first, giving the saturated wrench (full thrust), and flagged ``infeasible``.

        Returns:
            The feasible wrench (4,): thrust in ``[0, max_thrust]`` and torques within their
            bounds exactly; with ``rotor_limits``, rotor thrusts within ``[0, f_max]`` up to
            round-off of the mixer product (about 1e-16 N). And a status.

        Raises:
            ValueError: If ``wrench_nom`` does not have shape (4,).
        """
        w_nom = np.empty(4)
        if type(wrench_nom) is np.ndarray and wrench_nom.shape == (4,):
            w_nom[:] = wrench_nom
        else:
            w_nom[:] = vector(wrench_nom, "wrench_nom", 4)
        out = np.empty(6 + len(self._wrench_row_names))
        code = _t.stage2(w_nom, self._m2, self._c2, out)
        if code:
            error = ("non-finite wrench_nom" if code == 1
                     else f"solver {_k.STATUS_NAMES[code - 2]}")
            return self.fallback_wrench(), SafetyStatus(error=error, stage="wrench",
                                                        fallback=True)
        lst = out.tolist()
        # SafetyStatus fields in order: active, intervention, infeasible, error, max_violation,
        # stage.
        return out[:4], SafetyStatus(tuple(compress(self._wrench_row_names, lst[6:])), lst[4],
                                     lst[5] != 0.0, None, 0.0, "wrench")
