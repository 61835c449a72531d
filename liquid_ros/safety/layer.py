"""Differentiable QP and barrier layers for training (torch, batched, float32 or float64).

The forward pass runs the same compiled active-set solver as the run-time filter (in float64,
cast back to the input dtype); the backward pass differentiates the KKT conditions at the
solution over its active set, which gives the exact gradients with respect to Q, q, G, h and
the box wherever the active set is locally constant (strict complementarity).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from liquid_ros.safety import qp_batch as _b
from liquid_ros.safety.barriers import barrier_names, hocbf_rows
from liquid_ros.safety.config import DEFAULT_SAFETY_CONFIG, SafetyConfig
from liquid_ros.safety.qp import DEFAULT_SOFT_WEIGHT, DEFAULT_TOL, solve_prepared


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float64).numpy())


class _QPFunction(torch.autograd.Function):
    """Autograd wrapper; every tensor input has a leading axis of size 1 (shared) or B."""

    @staticmethod
    def forward(ctx, Q, q, G, h, lb, ub, soft, soft_weight):  # noqa: D102
        arrays = tuple(_np(t) for t in (Q, q, G, h, lb, ub))
        batch = max(a.shape[0] for a in arrays)
        bad = _b.check_finite(*arrays)
        if bad >= 0:
            raise ValueError(f"{('Q', 'q', 'G', 'h', 'lb', 'ub')[bad]} contains invalid values "
                             "(NaN anywhere, Inf in Q/q/G, -inf in h)")
        res = solve_prepared(arrays, soft, batch, soft_weight, DEFAULT_TOL)
        ctx.arrays = arrays
        ctx.res = res
        ctx.soft = soft
        ctx.soft_weight = soft_weight
        x = torch.from_numpy(res.x).to(device=q.device, dtype=q.dtype)
        status = torch.from_numpy(res.status)
        ctx.mark_non_differentiable(status)
        return x, status

    @staticmethod
    def backward(ctx, grad_x, grad_status):  # noqa: D102
        Q, q, G, h, lb, ub = ctx.arrays
        res = ctx.res
        B, n = res.x.shape
        m = G.shape[1]
        ma = m + 2 * n
        gx = np.ascontiguousarray(grad_x.detach().to("cpu", torch.float64).numpy())
        DQ = np.empty((B, n, n))
        Dq = np.empty((B, n))
        DG = np.empty((B, ma, n))
        Dh = np.empty((B, ma))
        _b.backward_batch(Q, q, G, h, lb, ub, ctx.soft, ctx.soft_weight, res.x, res.lam,
                          res.active, res.status, gx, DQ, Dq, DG, Dh)
        grads = (DQ, Dq, DG[:, :m], Dh[:, :m], -Dh[:, m + n:], Dh[:, m:m + n])
        out = []
        for g, a, need in zip(grads, ctx.arrays, ctx.needs_input_grad[:6], strict=True):
            if not need:
                out.append(None)
                continue
            if a.shape[0] == 1 and B > 1:
                g = g.sum(axis=0, keepdims=True)
            out.append(torch.from_numpy(np.ascontiguousarray(g)).to(grad_x.dtype))
        return (*out, None, None)


def qp_solve(Q: torch.Tensor, q: torch.Tensor, G: torch.Tensor | None = None,
             h: torch.Tensor | None = None, lb: torch.Tensor | None = None,
             ub: torch.Tensor | None = None, soft: np.ndarray | None = None, *,
             soft_weight: float = DEFAULT_SOFT_WEIGHT
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable batched ``min 1/2 x'Qx + q'x  s.t.  G x <= h, lb <= x <= ub``.

    Args:
        Q: (B, n, n) or (n, n), positive definite (its symmetric part is used).
        q: (B, n).
        G: (B, m, n) or (m, n), or None.
        h: (B, m) or (m,), or None; ``+inf`` disables a row.
        lb: (B, n) or (n,) lower bounds, or None (free).
        ub: (B, n) or (n,) upper bounds, or None (free).
        soft: Bool mask (m,) of rows that may be violated (least squares) when infeasible.
        soft_weight: Relative penalty on soft-row slack.

    Returns:
        ``x`` (B, n) in the dtype of ``q`` and the int64 status codes (B,) of
        :class:`~liquid_ros.safety.qp.QPResult`. Gradients flow to Q, q, G, h, lb and ub.

    Raises:
        ValueError: On wrong shapes or invalid values.
    """
    if q.ndim != 2:
        raise ValueError(f"q must have shape (B, n), got {tuple(q.shape)}")
    B, n = q.shape
    if G is None:
        G, h = q.new_zeros((1, 0, n)), q.new_zeros((1, 0))
    if h is None:
        raise ValueError("h is required when G is given")
    m = G.shape[-2]
    lb = q.new_full((1, n), -np.inf) if lb is None else lb
    ub = q.new_full((1, n), np.inf) if ub is None else ub
    inputs = []
    for name, t, tail in (("Q", Q, (n, n)), ("q", q, (n,)), ("G", G, (m, n)), ("h", h, (m,)),
                          ("lb", lb, (n,)), ("ub", ub, (n,))):
        if t.ndim == len(tail):
            t = t.unsqueeze(0)
        if tuple(t.shape[1:]) != tail or t.shape[0] not in (1, B):
            raise ValueError(f"{name} has shape {tuple(t.shape)}; expected ({B}, *{tail})")
        inputs.append(t)
    soft_m = np.zeros(m, dtype=np.bool_) if soft is None else np.asarray(soft, dtype=np.bool_)
    if soft_m.shape != (m,):
        raise ValueError(f"soft must have shape ({m},), got {soft_m.shape}")
    return _QPFunction.apply(*inputs, soft_m, float(soft_weight))


class BarrierLayer(nn.Module):
    """BarrierNet layer: the stage-1 safety QP as a differentiable module.

    ``a_safe = argmin |a - a_nom|^2`` subject to the HOCBF rows of the configured barriers
    (soft only if they conflict) and the acceleration box. Gains may come from the network.

    Args:
        config: Barrier set, margins, default gains and acceleration box.
    """

    def __init__(self, config: SafetyConfig = DEFAULT_SAFETY_CONFIG) -> None:
        super().__init__()
        self.config = config
        self.names = barrier_names(config)
        self.register_buffer("accel_low", torch.tensor(config.accel_min, dtype=torch.float64))
        self.register_buffer("accel_high", torch.tensor(config.accel_max, dtype=torch.float64))

    def forward(self, pos: torch.Tensor, vel: torch.Tensor, accel_nom: torch.Tensor,
                gains: torch.Tensor | None = None, leader_pos: torch.Tensor | None = None,
                leader_vel: torch.Tensor | None = None,
                return_status: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Safe accelerations.

        Args:
            pos: Positions (..., 3) m, world ENU (any leading dims, e.g. (B, T)).
            vel: Velocities (..., 3) m/s.
            accel_nom: Nominal accelerations (..., 3) m/s^2.
            gains: Positive class-K gains (..., 2) or (..., R, 2) (e.g. ``penalty_gains`` of
                network outputs), or None for the config values.
            leader_pos: Leader positions (..., 3), or None.
            leader_vel: Leader velocities (..., 3), or None.
            return_status: Also return the solver status codes (...,).

        Returns:
            Safe accelerations (..., 3) in the dtype of ``accel_nom`` (and the status codes).
        """
        lead = accel_nom.shape[:-1]
        flat = int(np.prod(lead)) if lead else 1

        def f(t: torch.Tensor | None, tail: tuple[int, ...]) -> torch.Tensor | None:
            return None if t is None else t.reshape(flat, *tail)

        g = None
        if gains is not None:
            g = f(gains, tuple(gains.shape[len(lead):]))
        G, h = hocbf_rows(f(pos, (3,)), f(vel, (3,)), self.config, g,
                          f(leader_pos, (3,)), f(leader_vel, (3,)))
        eye = torch.eye(3, dtype=accel_nom.dtype, device=accel_nom.device)
        lo = self.accel_low.to(accel_nom.dtype)
        hi = self.accel_high.to(accel_nom.dtype)
        x, status = qp_solve(eye, -f(accel_nom, (3,)), G.to(accel_nom.dtype),
                             h.to(accel_nom.dtype), lo, hi, soft=np.ones(len(self.names), bool),
                             soft_weight=self.config.soft_weight)
        x = x.reshape(*lead, 3)
        if return_status:
            return x, status.reshape(lead)
        return x
