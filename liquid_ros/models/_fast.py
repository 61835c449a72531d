"""Compiled batch-1 step kernels (numba) for control loops, with a numba-free fallback flag.

A batch-1 step in eager torch is dominated by per-op dispatch (about 100 us for an LTC step),
while the arithmetic is a few thousand sigmoids. These loops visit only existing synapses
(sparse, CSR by destination neuron) and run in float64. Without numba, ``HAVE_NUMBA`` is False
and the models keep using torch.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is optional: any import problem just disables the fast path
    import numba

    HAVE_NUMBA = True
except Exception:  # noqa: BLE001
    numba = None
    HAVE_NUMBA = False


def csr_by_destination(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Synapse list of a (src, dest) mask grouped by destination.

    Returns:
        (sources (E,) int64, pointers (N + 1,) int64): synapses into dest j are
        ``sources[pointers[j]:pointers[j + 1]]``.
    """
    dest, src = np.nonzero(np.asarray(mask).T)
    pointers = np.zeros(mask.shape[1] + 1, dtype=np.int64)
    np.add.at(pointers, dest + 1, 1)
    return src.astype(np.int64), np.cumsum(pointers).astype(np.int64)


def _ltc_step(
    x2, h2, dt, y2, h2_out, in_w, in_b, s_src, s_ptr, s_mu, s_sig, s_w, s_we,
    r_src, r_ptr, r_mu, r_sig, r_w, r_we, gleak, glvl, cm, unfolds, eps, out_w, out_b,
):  # pragma: no cover - compiled
    """One LTC step at batch 1; x2 (1, S), h2 (1, N) in, y2 (1, M), h2_out (1, N) out."""
    x, h, y_out, h_out = x2[0], h2[0], y2[0], h2_out[0]
    n_in = x.shape[0]
    n = h.shape[0]
    xm = np.empty(n_in)
    for i in range(n_in):
        xm[i] = x[i] * in_w[i] + in_b[i]
    num_s = np.empty(n)
    den_s = np.empty(n)
    for j in range(n):
        a = 0.0
        b = 0.0
        for k in range(s_ptr[j], s_ptr[j + 1]):
            act = 1.0 / (1.0 + math.exp(-s_sig[k] * (xm[s_src[k]] - s_mu[k])))
            a += s_we[k] * act
            b += s_w[k] * act
        num_s[j] = a + glvl[j]
        den_s[j] = b + gleak[j] + eps
    cm_t = np.empty(n)
    v = np.empty(n)
    for j in range(n):
        cm_t[j] = cm[j] * unfolds / dt
        v[j] = h[j]
    v_new = np.empty(n)
    for _ in range(unfolds):
        for j in range(n):
            a = 0.0
            b = 0.0
            for k in range(r_ptr[j], r_ptr[j + 1]):
                act = 1.0 / (1.0 + math.exp(-r_sig[k] * (v[r_src[k]] - r_mu[k])))
                a += r_we[k] * act
                b += r_w[k] * act
            v_new[j] = (cm_t[j] * v[j] + num_s[j] + a) / (cm_t[j] + den_s[j] + b)
        v, v_new = v_new, v
    for j in range(n):
        h_out[j] = v[j]
    for j in range(y_out.shape[0]):
        y_out[j] = v[j] * out_w[j] + out_b[j]


def _cfc_layer(x, h, ts, weight, bias, mode, w_tau, big_a, h_out):  # pragma: no cover
    """One backbone-free CfC layer; weight rows are [ff1, ff2, time_a, time_b] (H each)."""
    n_x = x.shape[0]
    n_h = h.shape[0]
    pre = np.empty(weight.shape[0])
    for r in range(weight.shape[0]):
        acc = bias[r]
        for c in range(n_x):
            acc += weight[r, c] * x[c]
        for c in range(n_h):
            acc += weight[r, n_x + c] * h[c]
        pre[r] = acc
    for j in range(n_h):
        if mode == 2:  # pure: the direct solution approximation
            ff1 = pre[j]
            h_out[j] = -big_a[j] * math.exp(-ts * (abs(w_tau[j]) + abs(ff1))) * ff1 + big_a[j]
        else:
            ff1 = math.tanh(pre[j])
            ff2 = math.tanh(pre[n_h + j])
            t_interp = 1.0 / (1.0 + math.exp(-(pre[2 * n_h + j] * ts + pre[3 * n_h + j])))
            if mode == 1:  # no_gate
                h_out[j] = ff1 + t_interp * ff2
            else:
                h_out[j] = ff1 * (1.0 - t_interp) + t_interp * ff2


if HAVE_NUMBA:
    ltc_step = numba.njit(cache=True, nogil=True)(_ltc_step)
    cfc_layer = numba.njit(cache=True, nogil=True)(_cfc_layer)
else:
    ltc_step = None
    cfc_layer = None


def _cfc_stack(x2, h2, ts, weights, biases, w_ptr, b_ptr, sizes, modes, w_tau, big_a, h2_out):
    """All backbone-free CfC layers of a (wired) cell in one call; parameters flattened.

    Batch 1: x2 (1, S), h2 (1, N) in, h2_out (1, N) out. Layer l reads the previous layer's
    new state (x for l = 0) and its own old state; its weight matrix is
    ``weights[w_ptr[l]:w_ptr[l + 1]]`` reshaped to (rows, in + H).
    """  # pragma: no cover - compiled
    x, h, h_out = x2[0], h2[0], h2_out[0]
    start = 0
    n_in = x.shape[0]
    inputs = x.copy()
    for layer in range(sizes.shape[0]):
        n_h = sizes[layer]
        rows = b_ptr[layer + 1] - b_ptr[layer]
        weight = weights[w_ptr[layer]: w_ptr[layer + 1]].reshape(rows, n_in + n_h)
        _cfc_layer_impl(inputs, h[start: start + n_h], ts, weight,
                        biases[b_ptr[layer]: b_ptr[layer + 1]], modes[layer],
                        w_tau[start: start + n_h], big_a[start: start + n_h],
                        h_out[start: start + n_h])
        inputs = h_out[start: start + n_h].copy()
        n_in = n_h
        start += n_h


if HAVE_NUMBA:
    _cfc_layer_impl = cfc_layer
    cfc_stack = numba.njit(cache=True, nogil=True)(_cfc_stack)
else:
    cfc_stack = None
