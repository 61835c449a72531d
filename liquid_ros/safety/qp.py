"""Batched dense QP solver for tiny problems (numpy in and out).

Solves ``min 1/2 x'Qx + q'x  s.t.  G x <= h,  lb <= x <= ub`` for a batch of problems with
``n`` of 2 to 8 variables and up to a few dozen rows, with the compiled dual active-set kernel in
:mod:`liquid_ros.safety.qp_kernels`. Chosen by measurement (see the safety benchmark): qpth's
batched interior point takes milliseconds even for one problem; this solver takes microseconds
and returns the exact active set, from which gradients follow (:mod:`liquid_ros.safety.layer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liquid_ros.safety import qp_batch as _b
from liquid_ros.safety import qp_kernels as _k

DEFAULT_TOL = 1e-12
DEFAULT_SOFT_WEIGHT = 1e6


@dataclass(frozen=True)
class QPResult:
    """Solutions of a batch of QPs.

    Attributes:
        x: Solutions, shape (B, n) (or (n,) for an unbatched call). For a ``relaxed`` problem the
            minimum-violation point; for a failed one, a best effort clipped into the box.
        lam: Multipliers of the rows, shape (B, m + 2n): the ``G`` rows, then upper-bound rows,
            then lower-bound rows.
        active: Rows in the final active set, shape (B, m + 2n), bool.
        status: Codes per problem, shape (B,): 0 optimal, 1 relaxed (soft rows violated because
            the problem was infeasible), 2 infeasible, 3 iteration limit, 4 Q not positive
            definite.
    """

    x: np.ndarray
    lam: np.ndarray
    active: np.ndarray
    status: np.ndarray

    def status_names(self) -> list[str]:
        """Status codes as words."""
        return [_k.STATUS_NAMES[int(s)] for s in np.atleast_1d(self.status)]


_INPUT_NAMES = ("Q", "q", "G", "h", "lb", "ub")


def _lead(a: object, name: str, tail: tuple[int, ...]) -> np.ndarray:
    """``a`` as contiguous float64 with a leading batch axis (size 1 when shared)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == len(tail):
        arr = arr[None]
    if arr.shape[1:] != tail:
        raise ValueError(f"{name} has shape {np.shape(a)}; expected (B, *{tail}) or {tail}")
    return np.ascontiguousarray(arr)


def prepare_inputs(Q: object, q: object, G: object | None, h: object | None,
                   lb: object | None, ub: object | None, soft: object | None
                   ) -> tuple[tuple[np.ndarray, ...], np.ndarray, int, bool]:
    """Validate and convert inputs for the kernels.

    Returns:
        ``(Q, q, G, h, lb, ub)`` each with a leading axis of 1 or B, the soft mask (m,), the
        batch size B and whether the call was unbatched.
    """
    q_arr = np.asarray(q, dtype=np.float64)
    if q_arr.ndim not in (1, 2) or q_arr.shape[-1] < 1:
        raise ValueError(f"q must have shape (B, n) or (n,), got {q_arr.shape}")
    n = q_arr.shape[-1]
    if G is None:
        G, h = np.zeros((0, n)), np.zeros((0,))
    elif h is None:
        raise ValueError("h is required when G is given")
    m = np.shape(G)[-2] if np.ndim(G) >= 2 else -1
    if m < 0:
        raise ValueError(f"G must have shape (B, m, n) or (m, n), got {np.shape(G)}")
    arrays = (
        _lead(Q, "Q", (n, n)), _lead(q_arr, "q", (n,)), _lead(G, "G", (m, n)),
        _lead(h, "h", (m,)),
        _lead(np.full(n, -np.inf) if lb is None else lb, "lb", (n,)),
        _lead(np.full(n, np.inf) if ub is None else ub, "ub", (n,)),
    )
    sizes = {a.shape[0] for a in arrays} - {1}
    if len(sizes) > 1:
        raise ValueError(f"inconsistent batch sizes {sorted(sizes)} across Q, q, G, h, lb, ub")
    batch = sizes.pop() if sizes else 1
    bad = _b.check_finite(*arrays)
    if bad >= 0:
        what = "NaN or Inf" if bad < 3 else ("NaN or -inf" if bad == 3 else "NaN")
        raise ValueError(f"{_INPUT_NAMES[bad]} contains {what}")
    soft_m = np.zeros(m, dtype=np.bool_) if soft is None else np.asarray(soft, dtype=np.bool_)
    if soft_m.shape != (m,):
        raise ValueError(f"soft must have shape ({m},), got {soft_m.shape}")
    unbatched = batch == 1 and q_arr.ndim == 1 and all(
        np.ndim(v) <= d for v, d in ((Q, 2), (G, 2), (h, 1), (lb, 1), (ub, 1)))
    return arrays, soft_m, batch, unbatched


def solve_qp(Q: np.ndarray, q: np.ndarray, G: np.ndarray | None = None,
             h: np.ndarray | None = None, lb: np.ndarray | None = None,
             ub: np.ndarray | None = None, soft: np.ndarray | None = None, *,
             soft_weight: float = DEFAULT_SOFT_WEIGHT, tol: float = DEFAULT_TOL,
             max_iter: int | None = None) -> QPResult:
    """Solve ``min 1/2 x'Qx + q'x  s.t.  G x <= h, lb <= x <= ub`` for a batch.

    Args:
        Q: Cost matrices, (B, n, n) or (n, n); only the symmetric part is used; must be
            positive definite.
        q: Linear costs, (B, n) or (n,).
        G: Row matrices, (B, m, n) or (m, n); None for no rows.
        h: Row bounds, (B, m) or (m,); ``+inf`` disables a row.
        lb: Lower bounds, (B, n) or (n,); ``-inf`` entries are free. Box rows are hard.
        ub: Upper bounds, (B, n) or (n,); ``+inf`` entries are free.
        soft: Mask (m,) of ``G`` rows that may be violated (with the least squared violation,
            weighted by ``soft_weight * max(diag Q)``) when the problem is infeasible.
        soft_weight: Relative penalty on the slacks of soft rows.
        tol: Relative feasibility tolerance of the active-set iteration.
        max_iter: Iteration limit per problem (default ``10 * (m + 2n) + 50``).

    Returns:
        A :class:`QPResult`, unbatched when every input was. The solution is clipped into
        ``[lb, ub]`` so the box holds exactly.

    Raises:
        ValueError: On mismatched shapes, NaN in any input, Inf in Q, q or G, or ``-inf`` in h.
    """
    arrays, soft_m, batch, unbatched = prepare_inputs(Q, q, G, h, lb, ub, soft)
    res = solve_prepared(arrays, soft_m, batch, soft_weight, tol, max_iter)
    if unbatched:
        return QPResult(res.x[0], res.lam[0], res.active[0], res.status[0])
    return res


def solve_prepared(arrays: tuple[np.ndarray, ...], soft: np.ndarray, batch: int,
                   soft_weight: float = DEFAULT_SOFT_WEIGHT, tol: float = DEFAULT_TOL,
                   max_iter: int | None = None) -> QPResult:
    """Run the kernel on the output of :func:`prepare_inputs` (always batched results)."""
    n = arrays[1].shape[1]
    m = arrays[2].shape[1] + 2 * n
    X = np.empty((batch, n))
    LAM = np.empty((batch, m))
    ACT = np.empty((batch, m), dtype=np.bool_)
    STATUS = np.empty(batch, dtype=np.int64)
    iters = 10 * m + 50 if max_iter is None else int(max_iter)
    _b.solve_batch(*arrays, soft, float(soft_weight), float(tol), iters, X, LAM, ACT, STATUS)
    return QPResult(X, LAM, ACT, STATUS)
