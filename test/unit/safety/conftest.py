"""Shared helpers of the safety tests: an independent reference QP solver (proxsuite)."""

from __future__ import annotations

import numpy as np
import pytest


def _reference_qp(Q, q, G, h, lb, ub):
    """Solve min 1/2 x'Qx + q'x, G x <= h, lb <= x <= ub with proxsuite (dense, tight eps).

    Zero-width box entries are substituted out first.
    """
    proxsuite = pytest.importorskip("proxsuite")  # an optional reference; skip without it
    n, m = len(q), len(h)
    Q = 0.5 * (Q + Q.T)
    G = np.asarray(G, dtype=float).reshape(m, n)
    fix = lb == ub
    free = ~fix
    xf = lb[fix]
    Qr = Q[np.ix_(free, free)]
    qr = q[free] + Q[np.ix_(free, fix)] @ xf
    Gr = G[:, free]
    hr = h - G[:, fix] @ xf
    nr = int(free.sum())
    C = np.vstack([Gr, np.eye(nr)])
    lo = np.concatenate([np.full(m, -1e20), lb[free]])
    hi = np.concatenate([np.minimum(hr, 1e20), ub[free]])
    # Very tight tolerances sometimes trip proxsuite's infeasibility test; loosen step by step.
    for eps in (1e-11, 1e-10, 1e-9):
        qp = proxsuite.proxqp.dense.QP(nr, 0, len(lo), False)
        qp.settings.eps_abs = eps
        qp.settings.eps_rel = 0.0
        qp.settings.max_iter = 100000
        # Its default infeasibility test (1e-4) misfires on feasible problems with many rows.
        qp.settings.eps_primal_inf = 1e-15
        qp.settings.eps_dual_inf = 1e-15
        qp.init(Qr, qr, None, None, C, lo, hi)
        qp.solve()
        if "SOLVED" in str(qp.results.info.status):
            break
    x = np.empty(n)
    x[fix] = xf
    x[free] = qp.results.x
    return x, str(qp.results.info.status)


@pytest.fixture(scope="session")
def reference_qp():
    """The reference solver as a function (session scope: usable inside hypothesis tests)."""
    return _reference_qp
