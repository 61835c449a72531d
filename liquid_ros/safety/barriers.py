"""Control barrier functions of the double integrator as linear rows on the acceleration.

Model: ``p' = v, v' = a`` (world ENU, ``a`` the commanded acceleration). For a barrier ``b(p)``
of relative degree 2 the high-order CBF (Xiao and Belta, IEEE TAC 2022; BarrierNet, Xiao et
al., IEEE T-RO 2023) with class-K gains ``p1, p2`` is

    psi1 = b' + p1 b,   psi1' + p2 psi1 >= 0
    <=>  grad(b).a + v' hess(b) v + (p1 + p2) b' + p1 p2 b >= 0,

a row ``G a <= h`` with ``G = -grad(b)``. The speed limit ``b = v_max^2 - |v|^2`` has relative
degree 1: ``b' + p1 b >= 0``. The moving leader is assumed to keep its velocity; its row can
be made robust to a bounded leader acceleration and have its own gains (see
:class:`~liquid_ros.safety.config.SafetyConfig`).

Every function works on numpy arrays and on torch tensors alike (the same code builds the rows
of the run-time filter and of the differentiable training layer); inputs are batched (B, 3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liquid_ros.safety.config import SafetyConfig

Array = Any  # numpy.ndarray or torch.Tensor


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
        d = pos - pos.new_tensor((x, y, z)) if _is_torch(pos) else pos - np.array((x, y, z))
        out.append((2.0 * d, 2.0 * _dot(vel, vel), 2.0 * _dot(d, vel),
                    _dot(d, d) - (r + margin) ** 2))
    if config.leader_distance is not None:
        if leader_pos is None:
            out.append(None)
        else:
            d = pos - leader_pos
            w = vel - (leader_vel if leader_vel is not None else _zeros(vel))
            out.append((2.0 * d, 2.0 * _dot(w, w), 2.0 * _dot(d, w),
                        _dot(d, d) - (config.leader_distance + margin) ** 2))
    return out


def _split_gains(gains: Array | None, config: SafetyConfig, n_rows: int, like: Array
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
               leader_pos: Array | None = None, leader_vel: Array | None = None
               ) -> tuple[Array, Array]:
    """Rows ``G a <= h`` of every configured barrier, margins included.

    Args:
        pos: Positions (B, 3) m, world ENU.
        vel: Velocities (B, 3) m/s.
        config: Barrier set, margins and default gains.
        gains: Positive class-K gains: None (config values), (B, 2) ``(p1, p2)`` shared by all
            rows, or (B, R, 2) per row (``p2`` unused on the speed row).
        leader_pos: Leader positions (B, 3), needed for an active leader row.
        leader_vel: Leader velocities (B, 3); zero when None.

    Returns:
        ``G`` (B, R, 3) and ``h`` (B, R), in the order of :func:`barrier_names`. A leader row
        without a leader state is ``0 a <= +inf``.
    """
    names = barrier_names(config)
    p1, p2 = _split_gains(gains, config, len(names), pos)
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
        h = curv
        if names[r] == "leader":
            if gains is None:
                r1 = config.gain_p1 if config.leader_gain_p1 is None else config.leader_gain_p1
                r2 = config.gain_p2 if config.leader_gain_p2 is None else config.leader_gain_p2
            if config.leader_accel_max > 0.0:
                # b'' holds -2 d.a_leader, which the constant-velocity model drops: take its
                # worst case (grad b = 2 d).
                h = h - config.leader_accel_max * _dot(grad, grad) ** 0.5
        g_rows.append(-grad)
        b_rows.append(h + (r1 + r2) * bdot + r1 * r2 * b)
    if config.speed_max is not None:
        r = len(pos_rows)
        r1 = p1 if isinstance(p1, float) else p1[:, min(r, p1.shape[1] - 1)]
        vmax = config.speed_max - config.speed_margin
        g_rows.append(2.0 * vel)
        b_rows.append(r1 * (vmax * vmax - _dot(vel, vel)))
    if not g_rows:
        return _zeros(pos)[:, None, :][:, :0], _zeros(pos)[:, :0]
    return _stack(g_rows, 1), _stack(b_rows, 1)


def barrier_values(pos: Array, vel: Array, config: SafetyConfig,
                   leader_pos: Array | None = None, leader_vel: Array | None = None) -> Array:
    """Barrier functions ``b`` (B, R) without margins (``>= 0`` means safe), for monitoring.

    Position barriers are distances or squared-distance differences as in
    :func:`hocbf_rows`; the speed row is ``speed_max^2 - |v|^2``. An absent leader gives +inf.
    """
    rows = _position_barriers(pos, vel, config, 0.0, leader_pos, leader_vel)
    inf_b = _zeros(pos[:, 0]) + np.inf
    vals = [inf_b if row is None else row[3] for row in rows]
    if config.speed_max is not None:
        vals.append(config.speed_max ** 2 - _dot(vel, vel))
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
