"""Compiled kernels of the batched dense QP solver.

Each problem is ``min 1/2 x'Qx + q'x  s.t.  G x <= h`` with ``Q`` symmetric positive definite,
solved by the dual active-set method of Goldfarb and Idnani (Math. Programming 27, 1983): start
at the unconstrained minimiser and add the most violated row until none is violated, dropping
rows whose multiplier would turn negative. Every iterate is dual feasible, so the method ends
after finitely many steps, keeps the active rows linearly independent (redundant or repeated
rows are never added twice) and proves infeasibility when a violated row can be neither reached
by a primal step nor made room for by a dual step.

Problems are tiny (n <= 8, m <= ~40), so each step solves the equality-constrained KKT system
directly by Gaussian elimination instead of updating factorisations: simpler and still only a
few hundred flops. Rows marked ``soft`` get a slack with a quadratic penalty when the problem
is infeasible (minimum-violation command); hard rows never do.

Numba compiles these functions when it is installed; without it they run as plain Python (same
results, far slower).
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def njit(*args, **kwargs):  # noqa: D103
        if args and callable(args[0]):
            return args[0]
        return lambda f: f


OPTIMAL = 0
RELAXED = 1
INFEASIBLE = 2
MAX_ITER = 3
NOT_CONVEX = 4
STATUS_NAMES = ("optimal", "relaxed", "infeasible", "max_iter", "not_convex")


@njit(cache=True)
def _lu_solve(K, rhs):
    """Solve ``K y = rhs`` by elimination with partial pivoting; K, rhs are overwritten."""
    k = K.shape[0]
    scale = 0.0
    for i in range(k):
        for j in range(k):
            scale = max(scale, abs(K[i, j]))
    # Active rows are independent by construction; this only guards against exact breakdown.
    tiny = 1e-18 * max(scale, 1e-300)
    for c in range(k):
        piv = c
        best = abs(K[c, c])
        for r in range(c + 1, k):
            if abs(K[r, c]) > best:
                best = abs(K[r, c])
                piv = r
        if best <= tiny:
            return False
        if piv != c:
            for j in range(k):
                tmp = K[c, j]
                K[c, j] = K[piv, j]
                K[piv, j] = tmp
            tmp = rhs[c]
            rhs[c] = rhs[piv]
            rhs[piv] = tmp
        for r in range(c + 1, k):
            f = K[r, c] / K[c, c]
            if f != 0.0:
                for j in range(c, k):
                    K[r, j] -= f * K[c, j]
                rhs[r] -= f * rhs[c]
    for c in range(k - 1, -1, -1):
        s = rhs[c]
        for j in range(c + 1, k):
            s -= K[c, j] * rhs[j]
        rhs[c] = s / K[c, c]
    return True


@njit(cache=True)
def _kkt_matrix(Q, G, idx, k, dvec):
    """``[[Q, G_A'], [G_A, -D]]`` for the ``k`` active rows ``idx[:k]``."""
    n = Q.shape[0]
    K = np.zeros((n + k, n + k))
    K[:n, :n] = Q
    for a in range(k):
        i = idx[a]
        for j in range(n):
            K[n + a, j] = G[i, j]
            K[j, n + a] = G[i, j]
        K[n + a, n + a] = -dvec[i]
    return K


@njit(cache=True)
def _polish(Q, q, G, h, x, lam, idx, k, dvec, gnorm, tol):
    """Re-solve the KKT system of the final active set from scratch.

    The iterates accumulate round-off along the way (badly so after passing a nearly
    degenerate vertex); the direct solve removes it. Kept only if it stays feasible with
    non-negative multipliers.
    """
    n = Q.shape[0]
    K = _kkt_matrix(Q, G, idx, k, dvec)
    sol = np.zeros(n + k)
    for j in range(n):
        sol[j] = -q[j]
    for a in range(k):
        sol[n + a] = h[idx[a]]
    if not _lu_solve(K, sol):
        return
    lmax = 0.0
    for a in range(k):
        lmax = max(lmax, abs(lam[idx[a]]))
    for a in range(k):
        if not sol[n + a] >= -1e-9 * (1.0 + lmax):
            return
    xn = 0.0
    for j in range(n):
        if not np.isfinite(sol[j]):
            return
        xn = max(xn, abs(sol[j]))
    for i in range(G.shape[0]):
        gx = 0.0
        for j in range(n):
            gx += G[i, j] * sol[j]
        if gx - h[i] > tol * (1.0 + abs(h[i]) + gnorm[i] * xn):
            return
    x[:] = sol[:n]
    for a in range(k):
        lam[idx[a]] = max(sol[n + a], 0.0)


@njit(cache=True)
def _gi_core(Q, q, G, h, x, lam, active, tol, max_iter):
    """Goldfarb-Idnani dual active set on one problem; returns a status code."""
    n = Q.shape[0]
    m = G.shape[0]
    lam[:] = 0.0
    active[:] = False
    # Cholesky factor: proves convexity and gives the unconstrained start and row norms.
    L = np.zeros((n, n))
    for j in range(n):
        s = Q[j, j]
        for c in range(j):
            s -= L[j, c] * L[j, c]
        if not s > 1e-13 * max(abs(Q[j, j]), 1e-300):
            return NOT_CONVEX
        L[j, j] = np.sqrt(s)
        for i in range(j + 1, n):
            s = Q[i, j]
            for c in range(j):
                s -= L[i, c] * L[j, c]
            L[i, j] = s / L[j, j]
    y = np.empty(n)
    for i in range(n):
        s = -q[i]
        for c in range(i):
            s -= L[i, c] * y[c]
        y[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = y[i]
        for c in range(i + 1, n):
            s -= L[c, i] * x[c]
        x[i] = s / L[i, i]
    gnorm = np.empty(m)
    wq = np.empty(m)  # G_i Q^-1 G_i': reference size of a primal step along row i
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += G[i, j] * G[i, j]
        gnorm[i] = np.sqrt(s)
        for r in range(n):
            s = G[i, r]
            for c in range(r):
                s -= L[r, c] * y[c]
            y[r] = s / L[r, r]
        s = 0.0
        for r in range(n):
            s += y[r] * y[r]
        wq[i] = s
    zero_d = np.zeros(m)
    idx = np.empty(n, np.int64)
    k = 0
    it = 0
    while True:
        xn = 0.0
        for j in range(n):
            xn = max(xn, abs(x[j]))
        p = -1
        best = 0.0
        for i in range(m):
            if active[i]:
                continue
            gx = 0.0
            for j in range(n):
                gx += G[i, j] * x[j]
            v = gx - h[i]
            if gnorm[i] <= 1e-300:
                if h[i] < -tol * (1.0 + abs(h[i])):
                    return INFEASIBLE
                continue
            if v > tol * (1.0 + abs(h[i]) + gnorm[i] * xn):
                sv = v / gnorm[i]
                if sv > best:
                    best = sv
                    p = i
        if p < 0:
            _polish(Q, q, G, h, x, lam, idx, k, zero_d, gnorm, tol)
            return OPTIMAL
        lam_p = 0.0
        while True:
            it += 1
            if it > max_iter:
                return MAX_ITER
            K = _kkt_matrix(Q, G, idx, k, zero_d)
            sol = np.zeros(n + k)
            for j in range(n):
                sol[j] = -G[p, j]
            if not _lu_solve(K, sol):
                return MAX_ITER
            gz = 0.0
            for j in range(n):
                gz += G[p, j] * sol[j]
            t1 = np.inf
            drop = -1
            for a in range(k):
                r = sol[n + a]
                if r < 0.0:
                    t = -lam[idx[a]] / r
                    if t < t1:
                        t1 = t
                        drop = a
            t2 = np.inf
            if -gz > 1e-11 * wq[p]:
                gx = 0.0
                for j in range(n):
                    gx += G[p, j] * x[j]
                t2 = max(gx - h[p], 0.0) / (-gz)
            if t1 == np.inf and t2 == np.inf:
                return INFEASIBLE
            t = min(t1, t2)
            if t2 < np.inf:
                for j in range(n):
                    x[j] += t * sol[j]
            for a in range(k):
                lam[idx[a]] += t * sol[n + a]
            lam_p += t
            if t2 <= t1:
                active[p] = True
                lam[p] = lam_p
                idx[k] = p
                k += 1
                break
            # A blocking multiplier reached zero: drop that row and keep pushing on row p.
            active[idx[drop]] = False
            lam[idx[drop]] = 0.0
            for a in range(drop, k - 1):
                idx[a] = idx[a + 1]
            k -= 1


@njit(cache=True)
def _soft_weight_abs(Q, soft_weight):
    qmax = 0.0
    for j in range(Q.shape[0]):
        qmax = max(qmax, Q[j, j])
    return soft_weight * qmax


@njit(cache=True)
def solve_one(Q, q, G, h, soft, soft_weight, x, lam, active, tol, max_iter):
    """Solve one problem; on infeasibility retry with penalised slacks on the soft rows."""
    status = _gi_core(Q, q, G, h, x, lam, active, tol, max_iter)
    if status != INFEASIBLE:
        return status
    n = Q.shape[0]
    m = G.shape[0]
    ns = 0
    for i in range(m):
        if soft[i]:
            ns += 1
    if ns == 0:
        return INFEASIBLE
    w = _soft_weight_abs(Q, soft_weight)
    Q2 = np.zeros((n + ns, n + ns))
    Q2[:n, :n] = Q
    q2 = np.zeros(n + ns)
    q2[:n] = q
    G2 = np.zeros((m, n + ns))
    G2[:, :n] = G
    c = 0
    for i in range(m):
        if soft[i]:
            Q2[n + c, n + c] = w
            G2[i, n + c] = -1.0
            c += 1
    x2 = np.zeros(n + ns)
    status = _gi_core(Q2, q2, G2, h, x2, lam, active, tol, max_iter)
    x[:] = x2[:n]
    if status == OPTIMAL:
        return RELAXED
    return status
