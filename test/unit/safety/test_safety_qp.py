from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_ros.safety.layer import qp_solve
from liquid_ros.safety.qp import solve_qp


def random_problem(seed, n, m, degenerate=False, tight=False):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    Q = A @ A.T + 0.5 * np.eye(n)
    q = rng.normal(size=n) * 3.0
    G = rng.normal(size=(m, n))
    x0 = rng.uniform(-0.5, 0.5, size=n)
    h = G @ x0 + rng.uniform(0.0, 1.0, size=m)
    if degenerate and m >= 3:
        G[1], h[1] = 2.0 * G[0], 2.0 * h[0]  # redundant (scaled copy)
        G[2], h[2] = G[0], h[0]  # exact duplicate
    lb, ub = -np.full(n, 2.0), np.full(n, 2.0)
    if tight:
        lb[0] = ub[0] = x0[0]  # an equality hidden in the box
    return Q, q, G, h, lb, ub


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 8), m=st.integers(0, 32),
       degenerate=st.booleans(), tight=st.booleans())
def test_matches_reference_and_holds_bounds(reference_qp, seed, n, m, degenerate, tight):
    Q, q, G, h, lb, ub = random_problem(seed, n, m, degenerate, tight)
    res = solve_qp(Q, q, G, h, lb, ub)
    assert res.status == 0
    assert np.all(res.x >= lb) and np.all(res.x <= ub)  # exact, no tolerance
    assert np.all(G @ res.x - h <= 1e-9)
    x_ref, status = reference_qp(Q, q, G, h, lb, ub)
    assert "SOLVED" in status
    np.testing.assert_allclose(res.x, x_ref, atol=1e-5)


def test_unconstrained_optimum_passes_unchanged():
    q = np.array([0.3, -0.2, 0.1])
    res = solve_qp(np.eye(3), q, np.eye(3), np.full(3, 5.0), -np.ones(3), np.ones(3))
    np.testing.assert_allclose(res.x, -q, rtol=0, atol=1e-12)
    assert not res.active.any()


def test_batched_equals_single_and_broadcasts():
    probs = [random_problem(s, 4, 12) for s in range(16)]
    Q = np.stack([p[0] for p in probs])
    q, G, h = (np.stack([p[i] for p in probs]) for i in (1, 2, 3))
    res = solve_qp(Q, q, G, h, probs[0][4], probs[0][5])
    assert res.x.shape == (16, 4)
    for b, p in enumerate(probs):
        # Same problem, same algorithm: equal up to rounding (SIMD paths may differ per CPU).
        np.testing.assert_allclose(res.x[b], solve_qp(*p).x, rtol=0, atol=1e-12)


def test_infeasible_detected_and_soft_rows_relaxed():
    G = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    h = np.array([-1.0, -1.0, 0.5])  # x0 <= -1 and x0 >= 1 conflict
    assert solve_qp(np.eye(2), np.zeros(2), G, h).status_names() == ["infeasible"]
    res = solve_qp(np.eye(2), np.array([0.0, -3.0]), G, h, -np.ones(2) * 0.2, np.ones(2),
                   soft=np.array([True, True, False]))
    assert res.status_names() == ["relaxed"]
    assert abs(res.x[0]) <= 1e-4  # least-squares split of the two violated rows
    assert res.x[1] <= 0.5 + 1e-12  # the hard row still holds
    assert np.all(res.x >= -0.2) and np.all(res.x <= 1.0)


def test_hard_rows_infeasible_reported():
    res = solve_qp(np.eye(2), np.zeros(2), np.array([[1.0, 1.0]]), np.array([-5.0]),
                   -np.ones(2), np.ones(2), soft=np.array([False]))
    assert res.status_names() == ["infeasible"]
    assert np.all(np.abs(res.x) <= 1.0)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="q"):
        solve_qp(np.eye(2), np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="Q"):
        solve_qp(np.eye(3), np.zeros(2))
    assert solve_qp(-np.eye(2), np.zeros(2)).status_names() == ["not_convex"]


def _torch_problem(seed, B, n, m, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    Q = np.stack([a @ a.T + np.eye(n) for a in rng.normal(size=(B, n, n))])
    G = rng.normal(size=(B, m, n))
    h = rng.uniform(0.1, 1.0, size=(B, m))
    q = rng.normal(size=(B, n)) * 3.0
    return [torch.tensor(a, dtype=dtype, requires_grad=True) for a in (Q, q, G, h)]


def test_gradcheck_float64():
    Q, q, G, h = _torch_problem(0, 3, 4, 6)
    lb = torch.full((4,), -0.6, dtype=torch.float64, requires_grad=True)
    ub = torch.full((4,), 0.5, dtype=torch.float64, requires_grad=True)
    x, status = qp_solve(Q, q, G, h, lb, ub)
    assert (status == 0).all()
    res = solve_qp(*(t.detach().numpy() for t in (Q, q, G, h, lb, ub)))
    assert res.active[:, :6].any() and res.active[:, 6:].any()  # rows and box both active

    def f(Q, q, G, h, lb, ub):
        return qp_solve(Q, q, G, h, lb, ub)[0]

    assert torch.autograd.gradcheck(f, (Q, q, G, h, lb, ub), eps=1e-6, atol=1e-5)


def test_gradients_agree_with_qpth():
    qpth_qp = pytest.importorskip("qpth.qp")
    QPFunction, QPSolvers = qpth_qp.QPFunction, qpth_qp.QPSolvers

    Q, q, G, h = _torch_problem(1, 16, 4, 12)
    x, _ = qp_solve(Q, q, G, h)
    w = torch.randn(16, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grads = torch.autograd.grad((x * w).sum(), (Q, q, G, h))
    e = torch.empty(0, dtype=torch.float64)
    xr = QPFunction(verbose=-1, eps=1e-12, maxIter=50, solver=QPSolvers.PDIPM_BATCHED)(
        Q, q, G, h, e, e)
    ref = torch.autograd.grad((xr * w).sum(), (Q, q, G, h))
    torch.testing.assert_close(x, xr, atol=1e-5, rtol=1e-5)
    for g, r in zip(grads, ref, strict=True):
        # qpth's Q gradient is not symmetrised; compare the symmetric parts only.
        if g.ndim == 3 and g.shape[-1] == g.shape[-2]:
            g, r = 0.5 * (g + g.mT), 0.5 * (r + r.mT)
        torch.testing.assert_close(g, r, atol=1e-4, rtol=1e-3)


def test_float32_and_shared_inputs():
    Q, q, G, h = _torch_problem(2, 8, 3, 5, torch.float32)
    Q1 = torch.eye(3, requires_grad=True)
    x, status = qp_solve(Q1, q, G, h, None, torch.full((3,), 0.3))
    assert x.dtype == torch.float32 and (status == 0).all() and (x <= 0.3).all()
    x.sum().backward()
    assert Q1.grad.shape == (3, 3) and torch.isfinite(Q1.grad).all()
    assert h.grad.dtype == torch.float32 and h.grad.abs().sum() > 0
