"""Fused numba sequence solvers (LTC, CfC): analytic gradients against autograd and gradcheck."""

from __future__ import annotations

import pytest
import torch

from liquid_ros.models import LTC, AutoNCP, CfC, _fast, _fused_cfc, _fused_ltc

pytestmark = pytest.mark.skipif(not _fast.HAVE_NUMBA, reason="numba not installed")


def run(model, x, h0, ts, fused):
    model.fused = fused
    y, h = model(x, h0, timespans=ts)
    return y, h


def assert_same_training_step(model, x, h0, ts, rtol):
    """Outputs and all gradients of the fused path equal the eager autograd reference."""
    inputs = [h0, *model.parameters()] + ([ts] if ts is not None and ts.requires_grad else [])
    results = []
    for fused in (False, True):
        y, h = run(model, x, h0, ts, fused)
        loss = (y * torch.linspace(-1, 1, y.shape[-1], dtype=y.dtype)).square().sum() + h.sum()
        grads = torch.autograd.grad(loss, inputs, allow_unused=True)
        results.append((y.detach(), grads))
    atol = 1e-12 if x.dtype == torch.float64 else 1e-6
    torch.testing.assert_close(results[1][0], results[0][0], rtol=0, atol=atol)
    checked = 0
    for g_ref, g_fused in zip(results[0][1], results[1][1], strict=True):
        if g_ref is None:
            assert g_fused is None or not g_fused.any()
            continue
        scale = float(g_ref.abs().max().clamp_min(1e-12))
        assert float((g_fused - g_ref).abs().max()) <= rtol * scale
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_ltc_fused_matches_autograd(dtype):
    torch.manual_seed(0)
    model = LTC(5, AutoNCP(12, 3, seed=1)).to(dtype)
    x = torch.randn(3, 9, 5, dtype=dtype)
    h0 = torch.randn(3, 12, dtype=dtype, requires_grad=True)
    ts = (torch.rand(3, 9, dtype=dtype) * 0.8 + 0.05).requires_grad_()
    rtol = 1e-6 if dtype == torch.float64 else 1e-4
    for timespans in (None, ts):
        assert_same_training_step(model, x, h0, timespans, rtol)
    # the fused path really ran: its autograd node is in the graph
    y, _ = run(model, x, h0, None, True)
    assert "LTCSequenceBackward" in graph_names(y.grad_fn)


def graph_names(fn, depth=6) -> set[str]:
    names = set()
    if fn is None or depth == 0:
        return names
    names.add(type(fn).__name__)
    for nxt, _ in fn.next_functions:
        names |= graph_names(nxt, depth - 1)
    return names


@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
def test_cfc_fused_matches_autograd(mode):
    torch.manual_seed(1)
    x = torch.randn(3, 8, 5, dtype=torch.float64)
    ts = (torch.rand(3, 8, dtype=torch.float64) + 0.1).requires_grad_()
    for model in (CfC(5, AutoNCP(12, 3, seed=2), mode=mode),
                  CfC(5, 7, mode=mode, backbone_layers=0, proj_size=2)):
        model = model.double()
        h0 = torch.randn(3, model.state_size, dtype=torch.float64, requires_grad=True)
        for timespans in (None, ts):
            assert_same_training_step(model, x, h0, timespans, 1e-6)


def test_ltc_sequence_gradcheck():
    torch.manual_seed(2)
    n, e = 4, 7
    src = torch.tensor([0, 2, 3, 1, 1, 0, 3])
    ptr = torch.tensor([0, 2, 3, 5, 7])
    assert src.shape[0] == e

    def d(*shape, low=-1.0, high=1.0):
        return (torch.rand(*shape, dtype=torch.float64) * (high - low) + low).requires_grad_()

    cm_t = d(2, 3, n, low=0.5, high=2.0)
    args = (d(2, n), d(2, 3, n), d(2, 3, n, low=2.0, high=3.0), cm_t, d(e), d(e, low=1, high=3),
            d(e, low=0.1, high=1.0), d(e))

    def fn(v0, num, den, cm, mu, sig, w, we):
        return _fused_ltc.ltc_sequence(v0, num, den, cm, src, ptr, mu, sig, w, we, 3)

    assert torch.autograd.gradcheck(fn, args)
    model = LTC(3, AutoNCP(7, 2, seed=4)).double()
    assert_params_gradcheck(model, torch.randn(2, 3, 3, dtype=torch.float64),
                            torch.randn(2, 7, dtype=torch.float64),
                            torch.rand(2, 3, dtype=torch.float64) + 0.2)


@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
def test_cfc_sequence_gradcheck(mode):
    torch.manual_seed(3)
    model = CfC(3, AutoNCP(7, 2, seed=3), mode=mode).double()
    first0 = torch.randn(2, 3, model.cells[0].ff1.weight.shape[0] * (1 if mode == "pure" else 4),
                         dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 7, dtype=torch.float64, requires_grad=True)
    ts = (torch.rand(2, 3, dtype=torch.float64) + 0.2).requires_grad_()

    def fn(f0, h, t):
        return _fused_cfc.stack_sequence(model.cells, mode, f0, h, t)

    assert torch.autograd.gradcheck(fn, (first0, h0, ts))
    assert_params_gradcheck(model, torch.randn(2, 3, 3, dtype=torch.float64), h0, ts)


def assert_params_gradcheck(model, x, h0, ts):
    """Run gradcheck on the fused path through the model with respect to all its parameters."""
    model.fused = True
    names = [n for n, _ in model.named_parameters()]
    probe = tuple(p.detach().clone().requires_grad_() for p in model.parameters())

    def by_params(*ps):
        args = (x, h0.detach(), ts.detach())
        return torch.func.functional_call(model, dict(zip(names, ps, strict=True)), args)[0]

    assert torch.autograd.gradcheck(by_params, probe)


def test_fused_is_default_and_falls_back():
    ltc = LTC(4, AutoNCP(8, 2))
    cfc = CfC(4, AutoNCP(8, 2))
    assert ltc.fused and cfc.fused
    x = torch.randn(2, 5, 4)
    assert ltc._use_fused(x) and cfc._use_fused(x)
    assert not LTC(4, AutoNCP(8, 2), mixed_memory=True)._use_fused(x)
    assert not CfC(4, 8, backbone_layers=1)._use_fused(x)
    assert not ltc._use_fused(x.half())
    ltc.compile_ode = True
    assert not ltc._use_fused(x) and ltc.fused
    with torch.no_grad():  # compile applies only with autograd on; no_grad runs fused
        assert ltc._use_fused(x)
