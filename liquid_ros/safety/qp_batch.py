"""Compiled kernels of the batched QP: one problem per batch entry, forward and backward.

The single-problem solver is :func:`liquid_ros.safety.qp_kernels.solve_one` (Goldfarb-Idnani
dual active set); these kernels loop it over a batch whose inputs of leading size 1 are shared,
with the box bounds as extra rows, and differentiate the solution through its active set
(used by :mod:`liquid_ros.safety.qp` and :class:`liquid_ros.safety.layer.BarrierLayer`).
"""

from __future__ import annotations

import numpy as np

from liquid_ros.safety.qp_kernels import (
    OPTIMAL,
    RELAXED,
    _kkt_matrix,
    _lu_solve,
    _soft_weight_abs,
    njit,
    solve_one,
)


@njit(cache=True)
def _problem(Q, q, G, h, lb, ub, b):
    """Problem ``b`` of a batch (inputs of leading size 1 are shared) with the box as rows.

    Returns the symmetrised Q, q, and rows ``[G; I; -I]`` with bounds ``[h; ub; -lb]``.
    """
    n = q.shape[1]
    m = G.shape[1]
    Qb = Q[min(b, Q.shape[0] - 1)]
    Gb = G[min(b, G.shape[0] - 1)]
    hb = h[min(b, h.shape[0] - 1)]
    lbb = lb[min(b, lb.shape[0] - 1)]
    ubb = ub[min(b, ub.shape[0] - 1)]
    Qs = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            Qs[i, j] = 0.5 * (Qb[i, j] + Qb[j, i])
    Ga = np.zeros((m + 2 * n, n))
    ha = np.empty(m + 2 * n)
    Ga[:m] = Gb
    ha[:m] = hb
    for j in range(n):
        Ga[m + j, j] = 1.0
        ha[m + j] = ubb[j]
        Ga[m + n + j, j] = -1.0
        ha[m + n + j] = -lbb[j]
    return Qs, q[min(b, q.shape[0] - 1)], Ga, ha


@njit(cache=True)
def check_finite(Q, q, G, h, lb, ub):
    """Index of the first bad input (Q, q, G, h, lb, ub) or -1; h/lb/ub may be infinite."""
    for name, a in enumerate((Q.ravel(), q.ravel(), G.ravel())):
        for v in a:
            if not np.isfinite(v):
                return name
    for v in h.ravel():
        if np.isnan(v) or v == -np.inf:
            return 3
    for name, a in ((4, lb.ravel()), (5, ub.ravel())):
        for v in a:
            if np.isnan(v):
                return name
    return -1


@njit(cache=True)
def solve_batch(Q, q, G, h, lb, ub, soft, soft_weight, tol, max_iter, X, LAM, ACT, STATUS):
    """Solve ``B`` problems ``min 1/2 x'Qx + q'x, G x <= h, lb <= x <= ub``.

    Shapes: Q (B|1, n, n), q (B|1, n), G (B|1, m, n), h (B|1, m), lb and ub (B|1, n), soft (m,);
    outputs X (B, n), LAM and ACT (B, m + 2n), STATUS (B,). X is clipped into the box.
    """
    n = q.shape[1]
    m = G.shape[1]
    soft_all = np.zeros(m + 2 * n, np.bool_)
    soft_all[:m] = soft
    for b in range(X.shape[0]):
        Qs, qb, Ga, ha = _problem(Q, q, G, h, lb, ub, b)
        STATUS[b] = solve_one(Qs, qb, Ga, ha, soft_all, soft_weight, X[b], LAM[b], ACT[b],
                              tol, max_iter)
        lbb = lb[min(b, lb.shape[0] - 1)]
        ubb = ub[min(b, ub.shape[0] - 1)]
        for j in range(n):
            X[b, j] = min(max(X[b, j], lbb[j]), ubb[j])


@njit(cache=True)
def backward_batch(Q, q, G, h, lb, ub, soft, soft_weight, X, LAM, ACT, STATUS, GX,
                   DQ, Dq, DG, Dh):
    """Gradients of a loss through the solutions by implicit differentiation of the KKT system.

    With the active rows ``A`` (relaxed soft rows carry ``-1/w`` on the diagonal since their
    slack is ``lam / w``), solve ``[[Q, G_A'], [G_A, -D]] [a; b] = [dL/dx; 0]``; then
    ``dL/dq = -a``, ``dL/dh_A = b``, ``dL/dG_A = -(lam_A a' + b x')``,
    ``dL/dQ = -(a x' + x a') / 2``. Inactive rows get zero gradient. DG and Dh cover all
    ``m + 2n`` rows (box rows last: upper, then lower bounds).
    """
    n = q.shape[1]
    m = G.shape[1]
    ma = m + 2 * n
    for bi in range(X.shape[0]):
        DQ[bi] = 0.0
        Dq[bi] = 0.0
        DG[bi] = 0.0
        Dh[bi] = 0.0
        if STATUS[bi] != OPTIMAL and STATUS[bi] != RELAXED:
            continue
        Qs, qb, Ga, ha = _problem(Q, q, G, h, lb, ub, bi)
        dvec = np.zeros(ma)
        if STATUS[bi] == RELAXED:
            w = _soft_weight_abs(Qs, soft_weight)
            for i in range(m):
                if soft[i]:
                    dvec[i] = 1.0 / w
        idx = np.empty(ma, np.int64)
        k = 0
        for i in range(ma):
            if ACT[bi, i]:
                idx[k] = i
                k += 1
        K = _kkt_matrix(Qs, Ga, idx, k, dvec)
        sol = np.zeros(n + k)
        sol[:n] = GX[bi]
        if not _lu_solve(K, sol):
            continue
        x = X[bi]
        for r in range(n):
            Dq[bi, r] = -sol[r]
            for c in range(n):
                DQ[bi, r, c] = -0.5 * (sol[r] * x[c] + x[r] * sol[c])
        for a in range(k):
            i = idx[a]
            bval = sol[n + a]
            Dh[bi, i] = bval
            for j in range(n):
                DG[bi, i, j] = -(LAM[bi, i] * sol[j] + bval * x[j])
