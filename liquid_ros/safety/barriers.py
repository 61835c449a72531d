"""Control barrier functions of the double integrator as linear rows on the acceleration.

Model: ``p' = v, v' = a + e`` (world ENU, ``a`` the commanded acceleration, ``e`` the
acceleration error: attitude-tracking lag, thrust/mass error and wind left over after the
controller's disturbance observer), with ``|e| <= delta`` (``SafetyConfig.accel_error_bound``).

Position barriers are *distances* with a unit gradient (``|grad b| = 1``): a half-space
``b = n.p - c`` for the floor, ceiling and geofence, ``b = |p - c| - R`` for a keep-out sphere
and ``b = |p - p_L| - R`` for the leader. For such a barrier of relative degree 2 the robust
high-order CBF (Xiao and Belta, IEEE TAC 2022; BarrierNet, Xiao et al., IEEE T-RO 2023; the
worst-case disturbance term of Jankovic's robust CBF, Automatica 2018) with class-K gains
``p1, p2`` is

    psi1 = b' + p1 b,   inf_{|e|<=delta} psi1' + p2 psi1 >= 0
    <=>  grad(b).a + v' hess(b) v + (p1 + p2) b' + p1 p2 b - delta >= 0,

a row ``G a <= h`` with ``G = -grad(b)`` (Jankovic, "Robust control barrier functions for
constrained stabilization of nonlinear systems", Automatica 2018). If the true error exceeds
``delta`` by ``eps``, safety degrades gracefully rather than failing: the rows are then an
input-to-state-safe CBF (Kolathaya and Ames, IEEE L-CSS 2019) and a state starting safe stays
within ``eps / (p1 p2)`` of the set. With ``|grad b| = 1`` the worst case of the error is
the constant ``delta``, and outside the safe set (``b < 0``) the row demands ``b'' >= -p1 p2 b
- (p1 + p2) b' > 0`` while ``b'`` is not positive: it pushes back from any depth. (The squared
distance used before had ``2 |v|^2`` in ``b''``, which alone could satisfy the row deep inside.)
For a sphere ``v' hess(b) v = (|v|^2 - (n.v)^2) / |d| >= 0``. The leader's unknown acceleration
``a_L`` enters ``b''`` as ``-n.a_L``; the row takes its worst case ``leader_accel_max``.

The speed limit ``s = v_max^2 - |v|^2`` has relative degree 1: ``2 v.a <= p1 s - 2 |v| delta``.

Every function works on numpy arrays and on torch tensors alike (the same code builds the rows
of the run-time filter and of the differentiable training layer); inputs are batched (B, 3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liquid_ros.safety.config import SafetyConfig

Array = Any  # numpy.ndarray or torch.Tensor

_EPS = 1e-9  # distances below this are "at the centre": the gradient is taken as zero


def _is_torch(x: Array) -> bool:
    return type(x).__module__.startswith("torch")


def _stack(xs: list[Array], axis: int) -> Array:
    if _is_torch(xs[0]):
        import torch

        return torch.stack(xs, dim=axis)
    return np.stack(xs, axis=axis)


def _zeros(x: Array) -> Array:
    if _is_torch(x):
        import torch

        return torch.zeros_like(x)
    return np.zeros_like(x)


def _dot(a: Array, b: Array) -> Array:
    return (a * b).sum(-1)


def _norm(x: Array) -> Array:
    """Euclidean norm over the last axis, floored at ``_EPS`` (finite gradients at zero)."""
    sq = _dot(x, x)
    if _is_torch(x):
        return sq.clamp_min(_EPS * _EPS).sqrt()
    return np.sqrt(np.maximum(sq, _EPS * _EPS))


def penalty_gains(raw: Array) -> Array:
    """Positive class-K gains ``4 sigmoid(raw)`` from network outputs (BarrierNet, T-RO 2023)."""
    if _is_torch(raw):
        return 4.0 * raw.sigmoid()
    return 4.0 / (1.0 + np.exp(-np.asarray(raw, dtype=np.float64)))


def barrier_names(config: SafetyConfig) -> tuple[str, ...]:
    """Names of the barrier rows that :func:`hocbf_rows` builds, in order."""
    names: list[str] = []
    if config.altitude_min is not None:
        names.append("altitude_min")
    if config.altitude_max is not None:
        names.append("altitude_max")
    if config.geofence is not None:
        names += ["fence_x_min", "fence_x_max", "fence_y_min", "fence_y_max"]
    names += [f"obstacle_{i}" for i in range(len(config.obstacles))]
    if config.leader_distance is not None:
        names.append("leader")
    if config.speed_max is not None:
        names.append("speed")
    return tuple(names)


def _sphere(d: Array, w: Array, radius: float) -> tuple[Array, Array, Array, Array]:
    """``(grad b, w' hess(b) w, b', b)`` of ``b = |d| - radius`` with ``d' = w``."""
    dist = _norm(d)
    n = d / dist[:, None]  # zero at the centre itself (dist is floored): a dead row
    nw = _dot(n, w)
    curv = (_dot(w, w) - nw * nw) / dist
    return n, curv, nw, dist - radius


def _position_barriers(pos: Array, vel: Array, config: SafetyConfig, margin: float,
                       leader_pos: Array | None, leader_vel: Array | None
                       ) -> list[tuple[Array, Array, Array, Array] | None]:
    """``(grad b, v'hess(b)v, b', b)`` per relative-degree-2 barrier (None: inactive row)."""
    out: list[tuple[Array, Array, Array, Array] | None] = []
    zero_curv = _zeros(pos[:, 0])

    def plane(axis: int, sign: float, limit: float) -> tuple[Array, Array, Array, Array]:
        grad = _zeros(pos)
        grad[:, axis] = sign
        return grad, zero_curv, sign * vel[:, axis], sign * (pos[:, axis] - limit) - margin

    if config.altitude_min is not None:
        out.append(plane(2, 1.0, config.altitude_min))
    if config.altitude_max is not None:
        out.append(plane(2, -1.0, config.altitude_max))
    if config.geofence is not None:
        (x0, x1), (y0, y1) = config.geofence
        out += [plane(0, 1.0, x0), plane(0, -1.0, x1), plane(1, 1.0, y0), plane(1, -1.0, y1)]
    for x, y, z, r in config.obstacles:
        c = pos.new_tensor((x, y, z)) if _is_torch(pos) else np.array((x, y, z))
        out.append(_sphere(pos - c, vel, r + margin))
    if config.leader_distance is not None:
        if leader_pos is None:
            out.append(None)
        else:
            w = vel - (leader_vel if leader_vel is not None else _zeros(vel))
            out.append(_sphere(pos - leader_pos, w, config.leader_distance + margin))
    return out


def _split_gains(gains: Array | None, config: SafetyConfig, n_rows: int
                 ) -> tuple[Array | float, Array | float]:
    """(p1, p2), each a float or (B, R) array, from None, (B, 2) or (B, R, 2) gains."""
    if gains is None:
        return config.gain_p1, config.gain_p2
    if gains.ndim == 2 and gains.shape[-1] == 2:
        return gains[:, None, 0], gains[:, None, 1]
    if gains.ndim == 3 and gains.shape[1:] == (n_rows, 2):
        return gains[..., 0], gains[..., 1]
    raise ValueError(f"gains must have shape (B, 2) or (B, {n_rows}, 2), got "
                     f"{tuple(gains.shape)}")


def hocbf_rows(pos: Array, vel: Array, config: SafetyConfig, gains: Array | None = None,
               leader_pos: Array | None = None, leader_vel: Array | None = None,
               disturbance: Array | None = None) -> tuple[Array, Array]:
    """Rows ``G a <= h`` of every configured barrier, margins and error bound included.

    Args:
        pos: Positions (B, 3) m, world ENU.
        vel: Velocities (B, 3) m/s.
        config: Barrier set, margins, error bound and default gains.
        gains: Positive class-K gains: None (config values), (B, 2) ``(p1, p2)`` shared by all
            rows, or (B, R, 2) per row (``p2`` unused on the speed row).
        leader_pos: Leader positions (B, 3), needed for an active leader row.
        leader_vel: Leader velocities (B, 3); zero when None.
        disturbance: Known acceleration offset (B, 3) m/s^2 that the plant adds to the command
            (an observer's estimate, when the flight controller does not cancel it), or None.

    Returns:
        ``G`` (B, R, 3) and ``h`` (B, R), in the order of :func:`barrier_names`. A leader row
        without a leader state is ``0 a <= +inf``.
    """
    names = barrier_names(config)
    p1, p2 = _split_gains(gains, config, len(names))
    delta = config.accel_error_bound
    pos_rows = _position_barriers(pos, vel, config, config.margin, leader_pos, leader_vel)
    inf_h = _zeros(pos[:, 0]) + np.inf
    g_rows: list[Array] = []
    b_rows: list[Array] = []
    for r, row in enumerate(pos_rows):
        if row is None:
            g_rows.append(_zeros(pos))
            b_rows.append(inf_h)
            continue
        grad, curv, bdot, b = row
        r1 = p1 if isinstance(p1, float) else p1[:, min(r, p1.shape[1] - 1)]
        r2 = p2 if isinstance(p2, float) else p2[:, min(r, p2.shape[1] - 1)]
        h = curv - delta
        if names[r] == "leader":
            if gains is None:
                r1 = config.gain_p1 if config.leader_gain_p1 is None else config.leader_gain_p1
                r2 = config.gain_p2 if config.leader_gain_p2 is None else config.leader_gain_p2
            h = h - config.leader_accel_max  # worst case of -n.a_L with |n| = 1
        g_rows.append(-grad)
        b_rows.append(h + (r1 + r2) * bdot + r1 * r2 * b)
    if config.speed_max is not None:
        r = len(pos_rows)
        r1 = p1 if isinstance(p1, float) else p1[:, min(r, p1.shape[1] - 1)]
        vmax = config.speed_max - config.speed_margin
        g_rows.append(2.0 * vel)
        b_rows.append(r1 * (vmax * vmax - _dot(vel, vel)) - 2.0 * delta * _norm(vel))
    if not g_rows:
        return _zeros(pos)[:, None, :][:, :0], _zeros(pos)[:, :0]
    G, h = _stack(g_rows, 1), _stack(b_rows, 1)
    if disturbance is not None:
        h = h - (G * disturbance[:, None, :]).sum(-1)
    return G, h


def barrier_values(pos: Array, vel: Array, config: SafetyConfig,
                   leader_pos: Array | None = None, leader_vel: Array | None = None) -> Array:
    """Barrier values ``b`` (B, R) without margins: ``>= 0`` safe, ``< 0`` in a forbidden set.

    Position barriers are signed distances (m) to their limit, sphere or leader keep-out; the
    speed row is ``speed_max - |v|`` (m/s). An absent leader gives +inf.
    """
    rows = _position_barriers(pos, vel, config, 0.0, leader_pos, leader_vel)
    inf_b = _zeros(pos[:, 0]) + np.inf
    vals = [inf_b if row is None else row[3] for row in rows]
    if config.speed_max is not None:
        vals.append(config.speed_max - _norm(vel))
    if not vals:
        return _zeros(pos)[:, :0]
    return _stack(vals, 1)


def discretisation_margin(accel_bound: float, dt: float, p2: float) -> float:
    """Margin (m) that keeps a planar barrier safe when ``a`` is held constant for ``dt``.

    Between ticks ``psi1 = b' + p1 b`` has ``psi1'' = p1 n.a`` with ``|n.a| <= A``, so the
    sampled condition ``psi1' + p2 psi1 >= 0`` gives ``psi1(t) >= (1 - p2 t) psi1(0) -
    p1 A t^2 / 2`` for ``t <= dt``; by induction ``psi1 >= -p1 A dt / (2 p2)`` at all times
    (for ``p2 dt <= 1``), and ``b' + p1 b >= psi1`` then keeps ``b >= -A dt / (2 p2)``.
    Tightening the barrier by this margin makes the continuous-time guarantee hold under
    zero-order hold. Spheres and the leader have velocity-dependent ``psi1''`` terms; their
    worst-case bound is loose, and the closed-loop test checks the same margin empirically.
    """
    return accel_bound * dt / (2.0 * p2)


def speed_discretisation_margin(accel_bound: float, dt: float, p1: float,
                                speed_max: float) -> float:
    """Speed margin (m/s) that keeps the speed limit under zero-order hold.

    The barrier ``s = v_max^2 - |v|^2`` changes over one tick by ``-2 dt v.a - dt^2 |a|^2``;
    the sampled condition bounds the first term, so ``s(k+1) >= (1 - p1 dt) s(k) -
    dt^2 A^2`` and ``s >= -dt A^2 / p1`` (``A`` bounds ``|a|``, e.g. turning at full speed).
    """
    slack = speed_max * speed_max - dt * accel_bound * accel_bound / p1
    return speed_max - float(np.sqrt(max(slack, 0.0)))
