"""Whole-sequence LTC solver as one autograd function with an analytic backward (numba).

Training an LTC in eager torch costs thousands of small ops per sequence (T steps times
``ode_unfolds`` sub-steps, each a dozen ops over a dense (B, N, N) synapse tensor), and autograd
keeps every intermediate. Here the recurrent ODE of a whole sequence runs in one compiled loop
that visits only existing synapses (CSR by destination), in float64. The backward pass walks the
sub-steps in reverse from the saved sub-step potentials
(B, T, unfolds, N) and synapse activations (B, T, unfolds, E); nothing of size (B, N, N) is
stored.

Sub-step (as ``ltc.ltc_unfold``; semi-implicit Euler of Hasani et al., AAAI 2021, ncps 1.0.1):

    v'_j = (cm_t_j v_j + num_j + sum_k we_k a_k) / (den_j + sum_k w_k a_k),
    a_k = sigmoid(sigma_k (v_src(k) - mu_k))   over the synapses k into neuron j.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from liquid_ros.models._fast import HAVE_NUMBA, csr_by_destination, numba

__all__ = ["HAVE_NUMBA", "LTCSequence", "cell_sequence", "ltc_sequence"]


def _forward(v0, num_s, den, cm_t, src, ptr, mu, sig, w, we, unfolds, vs, acts, out):
    """v0 (B, N); num_s, den, cm_t (B, T, N); vs (B, T, U, N), acts (B, T, U, E), out written."""
    n_batch, steps, n = num_s.shape
    v = np.empty(n)
    v_new = np.empty(n)
    for b in range(n_batch):
        for j in range(n):
            v[j] = v0[b, j]
        for t in range(steps):
            for u in range(unfolds):
                for j in range(n):
                    vs[b, t, u, j] = v[j]
                for j in range(n):
                    acc_num = 0.0
                    acc_den = 0.0
                    for k in range(ptr[j], ptr[j + 1]):
                        act = 1.0 / (1.0 + math.exp(-sig[k] * (v[src[k]] - mu[k])))
                        acts[b, t, u, k] = act
                        acc_num += we[k] * act
                        acc_den += w[k] * act
                    v_new[j] = ((cm_t[b, t, j] * v[j] + num_s[b, t, j] + acc_num)
                                / (den[b, t, j] + acc_den))
                v, v_new = v_new, v
            for j in range(n):
                out[b, t, j] = v[j]


def _backward(g_out, vs, all_acts, out, den, cm_t, src, ptr, mu, sig, w, we, unfolds,
              g_v0, g_num, g_den, g_cm, g_mu, g_sig, g_w, g_we):
    """Reverse pass; (B, T, N) and (E,) gradient arrays must be zeroed by the caller."""
    n_batch, steps, n = g_out.shape
    g = np.empty(n)
    g_prev = np.empty(n)
    for b in range(n_batch):
        for j in range(n):
            g[j] = 0.0
        for t in range(steps - 1, -1, -1):
            for j in range(n):
                g[j] += g_out[b, t, j]
            for u in range(unfolds - 1, -1, -1):
                for j in range(n):
                    g_prev[j] = 0.0
                for j in range(n):
                    v_j = vs[b, t, u, j]
                    v_next = out[b, t, j] if u == unfolds - 1 else vs[b, t, u + 1, j]
                    acts = all_acts[b, t, u]
                    acc_den = 0.0
                    for k in range(ptr[j], ptr[j + 1]):
                        acc_den += w[k] * acts[k]
                    q = g[j] / (den[b, t, j] + acc_den)  # d loss / d numerator
                    r = -q * v_next  # d loss / d denominator
                    g_prev[j] += q * cm_t[b, t, j]
                    g_cm[b, t, j] += q * v_j
                    g_num[b, t, j] += q
                    g_den[b, t, j] += r
                    for k in range(ptr[j], ptr[j + 1]):
                        act = acts[k]
                        g_we[k] += q * act
                        g_w[k] += r * act
                        dz = (q * we[k] + r * w[k]) * act * (1.0 - act)
                        diff = vs[b, t, u, src[k]] - mu[k]
                        g_sig[k] += dz * diff
                        gs = dz * sig[k]
                        g_prev[src[k]] += gs
                        g_mu[k] -= gs
                g, g_prev = g_prev, g
        for j in range(n):
            g_v0[b, j] = g[j]


if HAVE_NUMBA:
    _forward_nb = numba.njit(cache=True, nogil=True)(_forward)
    _backward_nb = numba.njit(cache=True, nogil=True)(_backward)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).contiguous().numpy()


class LTCSequence(torch.autograd.Function):
    """Autograd function: all sub-steps of a sequence (CPU, numba; float64 inside).

    Inputs: v0 (B, N); num_s, den, cm_t (B, T, N); src, ptr (CSR by destination, int64);
    mu, sigma, w, w_erev (E,) synapse values; unfolds. Output: potentials (B, T, N) after
    each input step, in the dtype of ``num_s``.
    """

    @staticmethod
    def forward(ctx, v0, num_s, den, cm_t, src, ptr, mu, sig, w, we, unfolds):  # noqa: D102
        n_batch, steps, n = num_s.shape
        arrays = [_np(t) for t in (v0, num_s, den, cm_t, mu, sig, w, we)]
        src_np, ptr_np = src.numpy(), ptr.numpy()
        vs = np.empty((n_batch, steps, unfolds, n))
        acts = np.empty((n_batch, steps, unfolds, src_np.shape[0]))
        out = np.empty((n_batch, steps, n))
        v0_np, num_np, den_np, cm_np, mu_np, sig_np, w_np, we_np = arrays
        _forward_nb(v0_np, num_np, den_np, cm_np, src_np, ptr_np, mu_np, sig_np, w_np, we_np,
                    unfolds, vs, acts, out)
        ctx.unfolds = unfolds
        ctx.numpy = (vs, acts, out, den_np, cm_np, src_np, ptr_np, mu_np, sig_np, w_np, we_np)
        ctx.dtypes = [t.dtype for t in (v0, num_s, den, cm_t, mu, sig, w, we)]
        return torch.from_numpy(out).to(num_s.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        vs, acts, out, den, cm_t, src, ptr, mu, sig, w, we = ctx.numpy
        n_batch, steps, n = out.shape
        n_edges = src.shape[0]
        g_v0 = np.empty((n_batch, n))
        g_seq = [np.zeros((n_batch, steps, n)) for _ in range(3)]
        g_edge = [np.zeros(n_edges) for _ in range(4)]
        _backward_nb(_np(grad_out), vs, acts, out, den, cm_t, src, ptr, mu, sig, w, we,
                     ctx.unfolds, g_v0, *g_seq, *g_edge)
        grads = [g_v0, *g_seq, *g_edge]
        v0_g, num_g, den_g, cm_g, mu_g, sig_g, w_g, we_g = (
            torch.from_numpy(g).to(dtype) for g, dtype in zip(grads, ctx.dtypes, strict=True)
        )
        return v0_g, num_g, den_g, cm_g, None, None, mu_g, sig_g, w_g, we_g, None


def ltc_sequence(
    v0: torch.Tensor, num_s: torch.Tensor, den: torch.Tensor, cm_t: torch.Tensor,
    src: torch.Tensor, ptr: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
    w: torch.Tensor, w_erev: torch.Tensor, unfolds: int,
) -> torch.Tensor:
    """Potentials after every input step of a sequence, (B, T, N) (see ``LTCSequence``).

    ``cm_t`` may be (N,) or (B, T, N); synapse values are (E,) in the order of ``src``.
    """
    cm_t = cm_t.expand_as(num_s)
    return LTCSequence.apply(v0, num_s, den, cm_t, src, ptr, mu, sigma, w, w_erev, unfolds)


def _synapses(cell) -> tuple[torch.Tensor, ...]:
    """Cached synapse lists of a cell's masks, rebuilt when a mask changes.

    Returns:
        (sensory src, sensory dst, recurrent src, recurrent dst, recurrent CSR pointers,
        sensory one-hot (Es, N)).
    """
    masks = (cell.sensory_sparsity_mask, cell.sparsity_mask)
    key = tuple((m._version, m.data_ptr(), m.dtype) for m in masks)
    cache = getattr(cell, "_fused_synapses", None)
    if cache is not None and cache[0] == key:
        return cache[1]
    s_mask, r_mask = (m.detach().cpu().numpy() for m in masks)
    s_dst, s_src = np.nonzero(s_mask.T)
    r_src, r_ptr = csr_by_destination(r_mask)
    r_dst = np.repeat(np.arange(r_mask.shape[1]), np.diff(r_ptr))
    one_hot = np.zeros((s_src.shape[0], s_mask.shape[1]))
    one_hot[np.arange(s_src.shape[0]), s_dst] = 1.0
    as_long = [torch.from_numpy(a.astype(np.int64)) for a in (s_src, s_dst, r_src, r_dst, r_ptr)]
    value = (*as_long, torch.from_numpy(one_hot).to(masks[0].dtype))
    cell._fused_synapses = (key, value)
    return value


def cell_sequence(cell, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor | None) -> torch.Tensor:
    """All potentials (B, T, N) of an ``LTCCell`` over inputs x (B, T, S) from state h (B, N).

    The sensory synapses (input only) are evaluated for all steps at once on the existing
    synapses; dt is None (1 s) or (B, T, 1) in s.
    """
    s_src, s_dst, r_src, r_dst, r_ptr, one_hot = _synapses(cell)
    p = cell.constrained()
    n = cell.state_size
    xs = cell.map_inputs(x).index_select(-1, s_src)
    act = torch.sigmoid((xs - cell.sensory_mu[s_src, s_dst]) * cell.sensory_sigma[s_src, s_dst])
    one_hot = one_hot.to(x.dtype)
    scatter = torch.cat([one_hot * p["sw_erev"][s_src, s_dst, None],
                         one_hot * p["sw"][s_src, s_dst, None]], 1)
    sums = torch.matmul(act, scatter)  # (B, T, 2N): sensory numerator and denominator sums
    cm_t = cell.cm_over_dt(p, 1.0 if dt is None else dt)
    num_s = sums[..., :n] + p["glvl"]
    den = cm_t + (sums[..., n:] + p["gleak"] + cell.epsilon)
    return ltc_sequence(h, num_s, den, cm_t, r_src, r_ptr, cell.mu[r_src, r_dst],
                        cell.sigma[r_src, r_dst], p["w"][r_src, r_dst],
                        p["w_erev"][r_src, r_dst], cell.ode_unfolds)
