"""Compiled control tick of the safety filter: each stage is one kernel call.

At batch 1 the filter's arithmetic (about ten barrier rows, one tiny QP) takes a few
microseconds; a tick built from numpy calls on 3-vectors, a result dataclass and per-row Python
loops took over a hundred. :func:`stage1` builds the rows (:func:`~liquid_ros.safety.fast_rows.
_rows`), solves the QP (:func:`~liquid_ros.safety.qp_kernels.solve_one`, the same solver as
:func:`~liquid_ros.safety.qp.solve_qp`), and computes the violation, the intervention, the
violated barriers and the yaw-rate bound in one call; :func:`stage2` does the same for the
wrench. :class:`~liquid_ros.safety.filter.SafetyFilter` packs its inputs into one array and
reads the results back; ``test_safety_tick`` checks both stages against
:class:`~liquid_ros.safety.reference.ReferenceSafetyFilter` (the plain numpy path).

Numba's on-disk cache is invalidated only by edits to the file that defines a cached kernel,
not to the kernels it calls: after editing ``qp_kernels.py`` or ``fast_rows.py``, also touch
this file (or delete its ``__pycache__`` entries) so the fused kernels recompile.
"""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.safety.fast_rows import _rows
from liquid_ros.safety.qp_kernels import OPTIMAL, RELAXED, njit, solve_one

# Stage 1 packed input: pos, vel, (accel, yaw), leader pos, leader vel, disturbance, flags,
# then the gains: (R, 2) per barrier row, or the (2,) given when there is no row.
IN_POS, IN_VEL, IN_ACT, IN_LP, IN_LV, IN_DIST, IN_FLAGS, IN_GAINS = 0, 3, 6, 10, 13, 16, 19, 24
# Flags: has leader pos, has leader vel, number of gain values (0: none), has disturbance,
# bound the yaw rate.
N_FLAGS = 5
# Stage 1 scalars (``sc``), then the acceleration box (low, high, pre-clip low, pre-clip high).
(SC_LEAD_R, SC_LEAD_A, SC_LEAD_P1, SC_LEAD_P2, SC_VMAX_ROW, SC_VMAX_VAL, SC_HAS_SPEED,
 SC_DELTA, SC_MARGIN, SC_P1, SC_P2, SC_SOFT_W, SC_YAW_MAX, SC_YAW_NEAR, SC_YAW_SLOW,
 SC_N_POS, SC_TOL_VIOL, SC_N_PLANES) = range(18)
SC_BOX = 18
N_SC = SC_BOX + 12
# Stage 1 output: the action (4), the barrier values (R), the info (``INFO_*``), then 1.0/0.0
# per row: active (R barriers, 3 upper, 3 lower bounds) and violated (R barriers).
INFO_VIOL, INFO_INTERV, INFO_INFEAS, INFO_YAW_LIMIT, INFO_YAW_CLIPPED = range(5)
N_INFO = 5
# Return codes (besides 0, success): a non-finite input (1 + its index: pos, vel, accel_nom,
# leader_pos, leader_vel, gains, disturbance), and:
ERR_GAINS, ERR_ROWS, ERR_SOLVER = 8, 9, 10  # solver failure: ERR_SOLVER + its status code
# Stage 2 constants (``c2``): scale (4), lowest normalised wrench (4), sqrt of the weights (4),
# wrench low (4), wrench high (4), then rotor thrust limit, rotor limits on/off, pre-clip range,
# then the rotor rows' bounds h (m).
C2_SCALE, C2_Y_LOW, C2_WQ_SQRT, C2_W_LOW, C2_W_HIGH, C2_F_MAX, C2_ROTOR, C2_FAR, C2_H = (
    0, 4, 8, 12, 16, 20, 21, 22, 23)
# Stage 2 matrices (``m2``, rows of 4): cost Q (4), mixer (4), inverse mixer (4), rotor rows G.
M2_Q, M2_MIXER, M2_MIXER_INV, M2_G = 0, 4, 8, 12

_TOL = 1e-12  # as liquid_ros.safety.qp.DEFAULT_TOL
_WRENCH_SOFT_WEIGHT = 1e6  # as liquid_ros.safety.qp.DEFAULT_SOFT_WEIGHT (unused: hard rows)


@njit(cache=True)
def safe_norm(x):  # pragma: no cover - compiled
    """Euclidean norm without overflow for huge finite entries (1e300 stays finite)."""
    big = 0.0
    for v in x:
        big = max(big, abs(v))
    if big == 0.0 or not math.isfinite(big):
        return big
    s = 0.0
    for v in x:
        s += (v / big) * (v / big)
    return big * math.sqrt(s)


@njit(cache=True)
def yaw_bound(nearest, yaw_max, yaw_near, slow):  # pragma: no cover - compiled
    """As :func:`liquid_ros.safety.robust.yaw_rate_bound`."""
    if math.isnan(nearest):
        return yaw_near
    if nearest == np.inf:
        return yaw_max
    if slow <= 0.0:
        return yaw_max if nearest > 0.0 else yaw_near
    frac = min(max(nearest / slow, 0.0), 1.0)
    return yaw_near + frac * (yaw_max - yaw_near)


@njit(cache=True)
def _finite(x):  # pragma: no cover - compiled
    for v in x:
        if not math.isfinite(v):
            return False
    return True


@njit(cache=True)
def stage1(inp, bars, sc, out):  # pragma: no cover - compiled
    """Stage 1 of one state: rows, QP, status numbers; returns 0 or an error code.

    Args:
        inp: Packed input (``IN_*`` offsets).
        bars: (P + S, 4): the planar barriers (unit normal, offset), then the keep-out spheres
            (centre, radius with margin), as :func:`~liquid_ros.safety.fast_rows.pack`.
        sc: Scalars (``SC_*``) and the acceleration box from ``SC_BOX``.
        out: (4 + R + N_INFO + 2 R + 6,) output: action (accel, yaw), barrier values, info,
            active rows, violated barriers.
    """
    n_b = (out.shape[0] - 10 - N_INFO) // 3
    m = n_b + 6
    flag0 = 4 + n_b + N_INFO
    n_pl = int(sc[SC_N_PLANES])
    box = sc[SC_BOX:SC_BOX + 12].reshape(4, 3)
    has_lp = inp[IN_FLAGS] != 0.0
    has_lv = inp[IN_FLAGS + 1] != 0.0
    n_g = int(inp[IN_FLAGS + 2])
    has_d = inp[IN_FLAGS + 3] != 0.0
    want_yaw = inp[IN_FLAGS + 4] != 0.0
    gains = inp[IN_GAINS:IN_GAINS + n_g]
    checks = ((inp[IN_POS:IN_POS + 3], True), (inp[IN_VEL:IN_VEL + 3], True),
              (inp[IN_ACT:IN_ACT + 3], True), (inp[IN_LP:IN_LP + 3], has_lp),
              (inp[IN_LV:IN_LV + 3], has_lv), (gains, n_g > 0),
              (inp[IN_DIST:IN_DIST + 3], has_d))
    for i in range(7):
        arr, present = checks[i]
        if present and not _finite(arr):
            return 1 + i
    for v in gains:
        if not v > 0.0:
            return ERR_GAINS
    p1 = np.empty(n_b)
    p2 = np.empty(n_b)
    lead_p1, lead_p2 = sc[SC_LEAD_P1], sc[SC_LEAD_P2]
    if n_g > 0 and n_b > 0:
        for r in range(n_b):
            p1[r] = gains[2 * r]
            p2[r] = gains[2 * r + 1]
        lead_p1 = lead_p2 = -1.0
    else:
        p1[:] = sc[SC_P1]
        p2[:] = sc[SC_P2]
    G = np.empty((n_b, 3))
    h = np.empty(n_b)
    vals = out[4:4 + n_b]
    _rows(inp[IN_POS:IN_POS + 3], inp[IN_VEL:IN_VEL + 3], inp[IN_LP:IN_LP + 3],
          inp[IN_LV:IN_LV + 3], has_lp, p1, p2, bars[:n_pl, :3], bars[:n_pl, 3],
          bars[n_pl:, :3], bars[n_pl:, 3], sc[SC_LEAD_R], sc[SC_LEAD_A], lead_p1, lead_p2,
          sc[SC_VMAX_ROW], sc[SC_VMAX_VAL], sc[SC_HAS_SPEED] != 0.0, sc[SC_DELTA],
          sc[SC_MARGIN], inp[IN_DIST:IN_DIST + 3], G, h, vals)
    # Values exclude margins: spheres and the leader used the margin-inflated radius.
    n_sph = bars.shape[0] - n_pl + (1 if sc[SC_LEAD_R] > 0.0 else 0)
    for r in range(n_pl, n_pl + n_sph):
        vals[r] += sc[SC_MARGIN]
    # +inf is an inactive row (no leader); NaN or -inf (an overflowing state) is an error.
    for r in range(n_b):
        if math.isnan(h[r]) or h[r] == -np.inf or not (
                math.isfinite(G[r, 0]) and math.isfinite(G[r, 1]) and math.isfinite(G[r, 2])):
            return ERR_ROWS
    a_far = np.empty(3)
    inside = True
    for k in range(3):
        a_far[k] = min(max(inp[IN_ACT + k], box[2, k]), box[3, k])
        inside = inside and box[0, k] <= a_far[k] <= box[1, k]
    # A row whose gradient vanishes cannot be changed by the command: drop it (see filter.py).
    Ga = np.zeros((m, 3))
    ha = np.empty(m)
    dead_violated = False
    for r in range(n_b):
        gg = G[r, 0] * G[r, 0] + G[r, 1] * G[r, 1] + G[r, 2] * G[r, 2]
        dead = gg <= 1e-18
        if dead and h[r] < 0.0:
            dead_violated = True
        ha[r] = np.inf if dead else h[r]
        for k in range(3):
            Ga[r, k] = G[r, k]
        inside = inside and G[r, 0] * a_far[0] + G[r, 1] * a_far[1] + G[r, 2] * a_far[2] <= ha[r]
    active = np.empty(m, np.bool_)
    code = OPTIMAL
    x = a_far
    if inside:
        # The QP's first iterate is a_far itself (Q = I) and no row is violated there: the
        # solver would stop at once with no active row, so skip it.
        active[:] = False
    else:
        q = np.empty(3)
        Q = np.zeros((3, 3))
        for k in range(3):
            Ga[n_b + k, k] = 1.0
            ha[n_b + k] = box[1, k]
            Ga[n_b + 3 + k, k] = -1.0
            ha[n_b + 3 + k] = -box[0, k]
            q[k] = -a_far[k]
            Q[k, k] = 1.0
        soft = np.zeros(m, np.bool_)
        soft[:n_b] = True
        x = np.empty(3)
        lam = np.empty(m)
        code = solve_one(Q, q, Ga, ha, soft, sc[SC_SOFT_W], x, lam, active, _TOL, 10 * m + 50)
        for k in range(3):
            x[k] = min(max(x[k], box[0, k]), box[1, k])
        if (code != OPTIMAL and code != RELAXED) or not _finite(x):
            return ERR_SOLVER + code
    any_active = False
    for i in range(m):
        any_active = any_active or active[i]
        out[flag0 + i] = 1.0 if active[i] else 0.0
    a = out[:3]
    diff = np.empty(3)
    for k in range(3):
        ak = x[k] if any_active else inp[IN_ACT + k]
        a[k] = min(max(ak, box[0, k]), box[1, k])
        diff[k] = a[k] - inp[IN_ACT + k]
    viol = 0.0
    for r in range(n_b):
        viol = max(viol, G[r, 0] * a[0] + G[r, 1] * a[1] + G[r, 2] * a[2] - h[r])
    info = out[4 + n_b:flag0]
    info[INFO_VIOL] = viol
    info[INFO_INTERV] = safe_norm(diff)
    infeasible = code == RELAXED or dead_violated or viol > sc[SC_TOL_VIOL]
    info[INFO_INFEAS] = 1.0 if infeasible else 0.0
    nearest = np.inf
    for r in range(n_b):
        out[flag0 + m + r] = 1.0 if vals[r] < 0.0 else 0.0
        if r < sc[SC_N_POS]:
            nearest = min(nearest, vals[r])
    out[3] = 0.0
    info[INFO_YAW_LIMIT] = np.nan
    info[INFO_YAW_CLIPPED] = 0.0
    if want_yaw:
        limit = yaw_bound(nearest, sc[SC_YAW_MAX], sc[SC_YAW_NEAR], sc[SC_YAW_SLOW])
        yaw = inp[IN_ACT + 3] if math.isfinite(inp[IN_ACT + 3]) else 0.0
        out[3] = min(max(yaw, -limit), limit)
        info[INFO_YAW_LIMIT] = limit
        info[INFO_YAW_CLIPPED] = 1.0 if out[3] != yaw else 0.0
    return 0


@njit(cache=True)
def stage2(w_nom, m2, c2, out):  # pragma: no cover - compiled
    """Stage 2 of one wrench; returns 0, 1 (non-finite input) or 2 + the solver's status.

    Args:
        w_nom: Nominal wrench (4,).
        m2: Matrices, rows of 4 (``M2_*``).
        c2: Constants (``C2_*``).
        out: (6 + m + 8,) output: the wrench (4), the intervention, 1.0 if an axis was more
            than the pre-clip range out, then 1.0/0.0 per row: active (rotor rows, 4 upper,
            4 lower bounds).
    """
    n = 4
    m = m2.shape[0] - M2_G
    active = np.zeros(m + 2 * n, np.bool_)
    if not _finite(w_nom):
        return 1
    Q = m2[M2_Q:M2_Q + n]
    scale = c2[C2_SCALE:C2_SCALE + n]
    y_low = c2[C2_Y_LOW:C2_Y_LOW + n]
    far = c2[C2_FAR]
    y_nom = np.empty(n)
    y_far = np.empty(n)
    absurd = False
    for j in range(n):
        y_nom[j] = w_nom[j] / scale[j]
        absurd = absurd or abs(y_nom[j]) > far
        y_far[j] = min(max(y_nom[j], -far), far)
    y = y_far
    inside = True
    for j in range(n):
        inside = inside and y_low[j] <= y_far[j] <= 1.0
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += m2[M2_G + i, j] * y_far[j]
        inside = inside and s <= c2[C2_H + i]
    any_active = False
    if inside:
        # The solver's first iterate is y_far up to round-off far below its tolerance, and no
        # row is violated there: it would stop at once with no active row.
        pass
    else:
        q = np.empty(n)
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += Q[i, j] * y_far[j]
            q[i] = -s
        Ga = np.zeros((m + 2 * n, n))
        ha = np.empty(m + 2 * n)
        Ga[:m] = m2[M2_G:]
        ha[:m] = c2[C2_H:C2_H + m]
        for j in range(n):
            Ga[m + j, j] = 1.0
            ha[m + j] = 1.0
            Ga[m + n + j, j] = -1.0
            ha[m + n + j] = -y_low[j]
        soft = np.zeros(m + 2 * n, np.bool_)
        y = np.empty(n)
        lam = np.empty(m + 2 * n)
        code = solve_one(np.ascontiguousarray(Q), q, Ga, ha, soft, _WRENCH_SOFT_WEIGHT, y, lam,
                         active, _TOL, 10 * (m + 2 * n) + 50)
        for j in range(n):
            y[j] = min(max(y[j], y_low[j]), 1.0)
        if code != OPTIMAL or not _finite(y):
            return 2 + code
        for i in range(m + 2 * n):
            any_active = any_active or active[i]
    for i in range(m + 2 * n):
        out[n + 2 + i] = 1.0 if active[i] else 0.0
    w = out[:n]
    if not any_active:
        w[:] = w_nom
    else:
        for j in range(n):
            w[j] = y[j] * scale[j]
        if c2[C2_ROTOR] != 0.0:
            f = np.empty(n)
            for i in range(n):
                s = 0.0
                for j in range(n):
                    s += m2[M2_MIXER_INV + i, j] * w[j]
                f[i] = min(max(s, 0.0), c2[C2_F_MAX])
            for i in range(n):
                s = 0.0
                for j in range(n):
                    s += m2[M2_MIXER + i, j] * f[j]
                w[i] = s
    dy = np.empty(n)
    for j in range(n):
        w[j] = min(max(w[j], c2[C2_W_LOW + j]), c2[C2_W_HIGH + j])
        dy[j] = c2[C2_WQ_SQRT + j] * (w[j] / scale[j] - y_nom[j])
    out[n] = safe_norm(dy)
    out[n + 1] = 1.0 if absurd else 0.0
    return 0
