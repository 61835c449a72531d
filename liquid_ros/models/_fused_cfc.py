"""Whole-sequence CfC layer stack as one autograd function with an analytic backward (numba).

For backbone-free CfC cells (the wired NCP variant, or ``backbone_layers=0``) one time step is
a few tiny matrix products and gates per layer; in eager torch each is a separate op with
autograd bookkeeping, so a B32 x T64 sequence costs thousands of dispatches. Here all steps and
layers run in one compiled loop (float64), saving only the pre-activations (B, T, K); the
backward pass recomputes the gates from them. The input part of layer 0 stays a single torch
matrix product over all steps (``first0``).

Gates (Hasani et al., Nature Machine Intelligence 2022, as ``cfc_cell.CfCCell.finish``), with
pre-activations [p1, p2, pa, pb] of a layer:

    default: h' = tanh(p1) (1 - s) + s tanh(p2),  s = sigmoid(pa ts + pb)
    no_gate: h' = tanh(p1) + s tanh(p2)
    pure:    h' = -A exp(-ts (|w_tau| + |p1|)) p1 + A
"""

from __future__ import annotations

import math

import numpy as np
import torch

from liquid_ros.models._fast import HAVE_NUMBA, numba

__all__ = ["HAVE_NUMBA", "CfCSequence", "stack_sequence"]
MODE_ID = {"default": 0, "no_gate": 1, "pure": 2}


def _forward(first0, h0, ts, wflat, w_ptr, biases, b_ptr, sizes, in_sizes, mode, w_tau, big_a,
             pre_all, out):
    """Layer l reads layer l-1's new state (in_sizes[l] columns) and its own old state."""
    n_batch, steps, _ = first0.shape
    n = h0.shape[1]
    h = np.empty(n)
    h_new = np.empty(n)
    for b in range(n_batch):
        for j in range(n):
            h[j] = h0[b, j]
        for t in range(steps):
            tsv = ts[b, t]
            start = 0
            prev = 0
            for layer in range(sizes.shape[0]):
                nh = sizes[layer]
                nin = in_sizes[layer]
                cols = nin + nh
                pb = b_ptr[layer]
                wp = w_ptr[layer]
                for r in range(b_ptr[layer + 1] - pb):
                    acc = first0[b, t, r] if layer == 0 else biases[pb + r]
                    row = wp + r * cols
                    for c in range(nin):
                        acc += wflat[row + c] * h_new[prev + c]
                    for c in range(nh):
                        acc += wflat[row + nin + c] * h[start + c]
                    pre_all[b, t, pb + r] = acc
                for j in range(nh):
                    if mode == 2:
                        p1 = pre_all[b, t, pb + j]
                        e = math.exp(-tsv * (abs(w_tau[start + j]) + abs(p1)))
                        h_new[start + j] = -big_a[start + j] * e * p1 + big_a[start + j]
                    else:
                        ff1 = math.tanh(pre_all[b, t, pb + j])
                        ff2 = math.tanh(pre_all[b, t, pb + nh + j])
                        s = 1.0 / (1.0 + math.exp(-(pre_all[b, t, pb + 2 * nh + j] * tsv
                                                    + pre_all[b, t, pb + 3 * nh + j])))
                        if mode == 1:
                            h_new[start + j] = ff1 + s * ff2
                        else:
                            h_new[start + j] = ff1 * (1.0 - s) + s * ff2
                prev = start
                start += nh
            for j in range(n):
                h[j] = h_new[j]
                out[b, t, j] = h_new[j]


def _sign(a):
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)


def _backward(g_out, first0, h0, ts, wflat, w_ptr, biases, b_ptr, sizes, in_sizes, mode, w_tau,
              big_a, pre_all, out, g_first0, g_h0, g_ts, g_w, g_b, g_tau, g_a):
    """Reverse pass; all gradient arrays must be zeroed by the caller."""
    n_batch, steps, _ = first0.shape
    n = h0.shape[1]
    n_layers = sizes.shape[0]
    starts = np.zeros(n_layers + 1, dtype=np.int64)
    for layer in range(n_layers):
        starts[layer + 1] = starts[layer] + sizes[layer]
    d_pre = np.empty(b_ptr[n_layers])
    g = np.empty(n)
    g_carry = np.empty(n)
    for b in range(n_batch):
        for j in range(n):
            g_carry[j] = 0.0
        for t in range(steps - 1, -1, -1):
            tsv = ts[b, t]
            for j in range(n):
                g[j] = g_carry[j] + g_out[b, t, j]
                g_carry[j] = 0.0
            for layer in range(n_layers - 1, -1, -1):
                nh = sizes[layer]
                nin = in_sizes[layer]
                cols = nin + nh
                pb = b_ptr[layer]
                wp = w_ptr[layer]
                start = starts[layer]
                prev = starts[layer - 1] if layer > 0 else 0
                for j in range(nh):
                    go = g[start + j]
                    if mode == 2:
                        p1 = pre_all[b, t, pb + j]
                        amp = big_a[start + j]
                        tau = w_tau[start + j]
                        e = math.exp(-tsv * (abs(tau) + abs(p1)))
                        d_pre[pb + j] = -go * amp * e * (1.0 - tsv * abs(p1))
                        g_a[start + j] += go * (1.0 - e * p1)
                        g_tau[start + j] += go * amp * p1 * e * tsv * _sign(tau)
                        g_ts[b, t] += go * amp * p1 * e * (abs(tau) + abs(p1))
                        continue
                    ff1 = math.tanh(pre_all[b, t, pb + j])
                    ff2 = math.tanh(pre_all[b, t, pb + nh + j])
                    pa = pre_all[b, t, pb + 2 * nh + j]
                    s = 1.0 / (1.0 + math.exp(-(pa * tsv + pre_all[b, t, pb + 3 * nh + j])))
                    if mode == 1:
                        d_ff1 = go
                        d_s = go * ff2
                    else:
                        d_ff1 = go * (1.0 - s)
                        d_s = go * (ff2 - ff1)
                    d_z = d_s * s * (1.0 - s)
                    d_pre[pb + j] = d_ff1 * (1.0 - ff1 * ff1)
                    d_pre[pb + nh + j] = go * s * (1.0 - ff2 * ff2)
                    d_pre[pb + 2 * nh + j] = d_z * tsv
                    d_pre[pb + 3 * nh + j] = d_z
                    g_ts[b, t] += d_z * pa
                for r in range(b_ptr[layer + 1] - pb):
                    d = d_pre[pb + r]
                    if layer == 0:
                        g_first0[b, t, r] = d
                    else:
                        g_b[pb + r] += d
                    row = wp + r * cols
                    for c in range(nin):
                        g_w[row + c] += d * out[b, t, prev + c]
                        g[prev + c] += d * wflat[row + c]
                    for c in range(nh):
                        h_old = out[b, t - 1, start + c] if t > 0 else h0[b, start + c]
                        g_w[row + nin + c] += d * h_old
                        g_carry[start + c] += d * wflat[row + nin + c]
        for j in range(n):
            g_h0[b, j] = g_carry[j]


if HAVE_NUMBA:
    _sign = numba.njit(cache=True, inline="always")(_sign)
    _forward_nb = numba.njit(cache=True, nogil=True)(_forward)
    _backward_nb = numba.njit(cache=True, nogil=True)(_backward)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).contiguous().numpy()


class CfCSequence(torch.autograd.Function):
    """Autograd function: every step and layer of a backbone-free CfC stack (CPU, numba).

    Inputs: first0 (B, T, K0) layer-0 input part with bias; h0 (B, N); ts (B, T) s; wflat:
    per layer the row-major (K_l, in_l + H_l) weights (layer 0: only its H_0 state columns,
    in_0 = 0); biases (sum K_l,) (layer 0's block unused); w_tau, A (N,) (pure mode); the int64
    layout arrays w_ptr, b_ptr, sizes, in_sizes; mode id. Output: states (B, T, N).
    """

    @staticmethod
    def forward(ctx, first0, h0, ts, wflat, biases, w_tau, big_a,  # noqa: D102
                w_ptr, b_ptr, sizes, in_sizes, mode):
        n_batch, steps, _ = first0.shape
        arrays = [_np(t) for t in (first0, h0, ts, wflat, biases, w_tau, big_a)]
        layout = (w_ptr.numpy(), b_ptr.numpy(), sizes.numpy(), in_sizes.numpy())
        pre_all = np.empty((n_batch, steps, int(layout[1][-1])))
        out = np.empty((n_batch, steps, h0.shape[1]))
        f0, h0_np, ts_np, w_np, b_np, tau_np, a_np = arrays
        _forward_nb(f0, h0_np, ts_np, w_np, layout[0], b_np, layout[1], layout[2], layout[3],
                    mode, tau_np, a_np, pre_all, out)
        ctx.numpy = (arrays, layout, mode, pre_all, out)
        ctx.dtypes = [t.dtype for t in (first0, h0, ts, wflat, biases, w_tau, big_a)]
        return torch.from_numpy(out).to(first0.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        arrays, layout, mode, pre_all, out = ctx.numpy
        f0, h0_np, ts_np, w_np, b_np, tau_np, a_np = arrays
        grads = [np.zeros_like(a) for a in arrays]
        _backward_nb(_np(grad_out), f0, h0_np, ts_np, w_np, layout[0], b_np, layout[1],
                     layout[2], layout[3], mode, tau_np, a_np, pre_all, out, *grads)
        result = [torch.from_numpy(g).to(dt) for g, dt in zip(grads, ctx.dtypes, strict=True)]
        return (*result, None, None, None, None, None)


def stack_sequence(cells, mode: str, first0: torch.Tensor, h0: torch.Tensor,
                   ts: torch.Tensor) -> torch.Tensor:
    """States (B, T, N) of a backbone-free CfC layer stack (``cells``: its ``CfCCell`` list).

    Args:
        cells: The layers, each reading the previous layer's new state (layer 0: ``first0``).
        mode: CfC mode shared by the layers.
        first0: (B, T, K0) input part of layer 0's pre-activations, bias included.
        h0: (B, N) initial states of all layers, concatenated.
        ts: (B, T) time steps in s.
    """
    weights, biases, taus, amps = [], [], [], []
    w_ptr, b_ptr, sizes, in_sizes = [0], [0], [], []
    for index, cell in enumerate(cells):
        w_x, w_h, b = cell.first_linear()
        weight = w_h if index == 0 else torch.cat([w_x, w_h], 1)
        weights.append(weight.reshape(-1))
        biases.append(torch.zeros_like(b) if index == 0 else b)
        w_ptr.append(w_ptr[-1] + weight.numel())
        b_ptr.append(b_ptr[-1] + b.numel())
        sizes.append(cell.hidden_size)
        in_sizes.append(0 if index == 0 else w_x.shape[1])
        if mode == "pure":
            taus.append(cell.w_tau.reshape(-1))
            amps.append(cell.A.reshape(-1))
    n = h0.shape[1]
    zeros = h0.new_zeros(n)
    as_long = [torch.tensor(a, dtype=torch.int64) for a in (w_ptr, b_ptr, sizes, in_sizes)]
    return CfCSequence.apply(
        first0, h0, ts, torch.cat(weights), torch.cat(biases),
        torch.cat(taus) if taus else zeros, torch.cat(amps) if amps else zeros,
        *as_long, MODE_ID[mode],
    )
