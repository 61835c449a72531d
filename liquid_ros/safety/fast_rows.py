"""Compiled barrier rows of one state, for the run-time filter's control tick.

:func:`liquid_ros.safety.barriers.hocbf_rows` serves numpy and torch batches alike and costs
about a hundred small array operations per call; at batch 1 that dominated the filter's tick.
:class:`FastRows` packs the configuration into arrays once and one compiled loop builds the same
rows (and the barrier values) for one state. ``test_safety_fast_rows`` checks it against
:func:`~liquid_ros.safety.barriers.hocbf_rows` and
:func:`~liquid_ros.safety.barriers.barrier_values`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from liquid_ros.safety.barriers import barrier_names
from liquid_ros.safety.config import SafetyConfig
from liquid_ros.safety.qp_kernels import njit

_EPS = 1e-9


@njit(cache=True)
def _rows(pos, vel, lp, lv, has_leader, p1, p2, normals, offsets, centers, radii, lead_r,
          lead_a, lead_p1, lead_p2, vmax_row, vmax_val, has_speed, delta, margin, dist,
          G, h, vals):  # pragma: no cover - compiled
    """Fill ``G`` (R, 3), ``h`` (R,) and ``vals`` (R,) in :func:`barrier_names` order."""
    r = 0
    for i in range(normals.shape[0]):
        bdot = 0.0
        b = -offsets[i]
        for k in range(3):
            G[r, k] = -normals[i, k]
            bdot += normals[i, k] * vel[k]
            b += normals[i, k] * pos[k]
        vals[r] = b
        h[r] = -delta + (p1[r] + p2[r]) * bdot + p1[r] * p2[r] * (b - margin)
        r += 1
    n_sph = centers.shape[0]
    for i in range(n_sph + (1 if lead_r > 0.0 else 0)):
        leader = i == n_sph
        if leader and not has_leader:
            for k in range(3):
                G[r, k] = 0.0
            h[r] = np.inf
            vals[r] = np.inf
            r += 1
            continue
        d = np.empty(3)
        w = np.empty(3)
        for k in range(3):
            d[k] = pos[k] - (lp[k] if leader else centers[i, k])
            w[k] = vel[k] - (lv[k] if leader else 0.0)
        dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
        norm = math.sqrt(max(dd, _EPS * _EPS))
        nw = 0.0
        ww = 0.0
        for k in range(3):
            G[r, k] = -d[k] / norm
            nw += d[k] / norm * w[k]
            ww += w[k] * w[k]
        radius = lead_r if leader else radii[i]
        g1 = lead_p1 if leader and lead_p1 > 0.0 else p1[r]
        g2 = lead_p2 if leader and lead_p2 > 0.0 else p2[r]
        extra = lead_a if leader else 0.0
        vals[r] = norm - radius
        h[r] = ((ww - nw * nw) / norm - delta - extra + (g1 + g2) * nw
                + g1 * g2 * (norm - radius))
        r += 1
    if has_speed:
        vv = vel[0] * vel[0] + vel[1] * vel[1] + vel[2] * vel[2]
        speed = math.sqrt(max(vv, _EPS * _EPS))
        for k in range(3):
            G[r, k] = 2.0 * vel[k]
        h[r] = p1[r] * (vmax_row * vmax_row - vv) - 2.0 * delta * speed
        vals[r] = vmax_val - speed
        r += 1
    for j in range(r):  # known acceleration offset of the plant: G (a + dist) <= h
        h[j] -= G[j, 0] * dist[0] + G[j, 1] * dist[1] + G[j, 2] * dist[2]


class BarrierPack(NamedTuple):
    """A configuration's barriers as arrays, in :func:`barrier_names` order (see :func:`pack`).

    Attributes:
        normals: Unit normals (P, 3) of the planar barriers (floor, ceiling, geofence).
        offsets: Their offsets (P,): the barrier is ``normal . p - offset``.
        centers: Keep-out sphere centres (S, 3) m.
        radii: Keep-out radii (S,) m, margin included.
        lead_r: Leader keep-out radius (m), margin included; 0 without a leader row.
        lead_p1: The leader row's own first gain, or -1 (the default gain).
        lead_p2: The leader row's own second gain, or -1.
        has_speed: Whether the speed row is configured.
        vmax_row: The speed row's limit (m/s), ``speed_max - speed_margin``.
        vmax_val: ``speed_max`` (m/s), for the speed barrier's value.
    """

    normals: np.ndarray
    offsets: np.ndarray
    centers: np.ndarray
    radii: np.ndarray
    lead_r: float
    lead_p1: float
    lead_p2: float
    has_speed: bool
    vmax_row: float
    vmax_val: float


def pack(config: SafetyConfig) -> BarrierPack:
    """The barriers of ``config`` as arrays for the compiled kernels."""
    normals, offsets = [], []
    if config.altitude_min is not None:
        normals.append((0.0, 0.0, 1.0))
        offsets.append(config.altitude_min)
    if config.altitude_max is not None:
        normals.append((0.0, 0.0, -1.0))
        offsets.append(-config.altitude_max)
    if config.geofence is not None:
        (x0, x1), (y0, y1) = config.geofence
        normals += [(1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)]
        offsets += [x0, -x1, y0, -y1]
    obs = np.array(config.obstacles, dtype=np.float64).reshape(-1, 4)
    has_speed = config.speed_max is not None
    return BarrierPack(
        normals=np.array(normals, dtype=np.float64).reshape(-1, 3),
        offsets=np.array(offsets, dtype=np.float64),
        centers=np.ascontiguousarray(obs[:, :3]), radii=obs[:, 3] + config.margin,
        lead_r=(config.leader_distance + config.margin
                if config.leader_distance is not None else 0.0),
        lead_p1=config.leader_gain_p1 or -1.0, lead_p2=config.leader_gain_p2 or -1.0,
        has_speed=has_speed,
        vmax_row=(config.speed_max - config.speed_margin) if has_speed else 0.0,
        vmax_val=config.speed_max if has_speed else 0.0)


class FastRows:
    """Rows ``G a <= h`` and barrier values of one state, compiled (numpy in and out).

    Args:
        config: The filter's configuration.
    """

    def __init__(self, config: SafetyConfig) -> None:
        self.config = config
        self.n = len(barrier_names(config))
        pk = pack(config)
        self._normals, self._offsets = pk.normals, pk.offsets
        self._centers, self._radii = pk.centers, pk.radii
        self._lead_r, self._lead_p1, self._lead_p2 = pk.lead_r, pk.lead_p1, pk.lead_p2
        self._has_speed, self._vmax_row, self._vmax_val = (pk.has_speed, pk.vmax_row,
                                                           pk.vmax_val)
        self._p1 = np.full(self.n, config.gain_p1)
        self._p2 = np.full(self.n, config.gain_p2)
        self._zero3 = np.zeros(3)

    def __call__(self, pos: np.ndarray, vel: np.ndarray, leader_pos: np.ndarray | None,
                 leader_vel: np.ndarray | None, gains: np.ndarray | None,
                 disturbance: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows and barrier values of one state.

        Returns ``G`` (R, 3) and ``h`` (R,) as :func:`~liquid_ros.safety.barriers.hocbf_rows`
        and the values (R,) as :func:`~liquid_ros.safety.barriers.barrier_values` would for
        a batch of one. ``gains`` is None, (2,) or (R, 2) (given gains also replace the
        leader's own, as there).
        """
        cfg = self.config
        if gains is None:
            p1, p2, lead_p1, lead_p2 = self._p1, self._p2, self._lead_p1, self._lead_p2
        else:
            g = np.broadcast_to(gains, (self.n, 2)) if gains.ndim == 1 else gains
            p1, p2 = np.ascontiguousarray(g[:, 0]), np.ascontiguousarray(g[:, 1])
            lead_p1 = lead_p2 = -1.0
        G = np.empty((self.n, 3))
        h = np.empty(self.n)
        vals = np.empty(self.n)
        has_leader = leader_pos is not None
        _rows(pos, vel, leader_pos if has_leader else self._zero3,
              leader_vel if leader_vel is not None else self._zero3, has_leader, p1, p2,
              self._normals, self._offsets, self._centers, self._radii, self._lead_r,
              cfg.leader_accel_max, lead_p1, lead_p2, self._vmax_row, self._vmax_val,
              self._has_speed, cfg.accel_error_bound, cfg.margin,
              self._zero3 if disturbance is None else disturbance, G, h, vals)
        # Values exclude margins: planes are exact above; spheres and the leader used the
        # margin-inflated radius, so add the margin back.
        n_pl = self._normals.shape[0]
        n_sph = self._centers.shape[0] + (1 if self._lead_r > 0.0 else 0)
        vals[n_pl:n_pl + n_sph] += cfg.margin
        return G, h, vals
