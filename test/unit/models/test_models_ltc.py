"""LTC cell and sequence wrapper: shapes, per-sample time steps, stepping, gradients."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from liquid_ros.models import LTC, AutoNCP, LTCCell, Random, _fast


def make(seed=0, **kwargs):
    torch.manual_seed(seed)
    return LTC(6, AutoNCP(12, 3, seed=seed), **kwargs)


def test_shapes_and_options():
    model = make()
    x = torch.randn(4, 7, 6)
    y, h = model(x)
    assert y.shape == (4, 7, 3) and h.shape == (4, 12)
    y_last, _ = make(return_sequences=False)(x)
    assert y_last.shape == (4, 3)
    torch.testing.assert_close(y_last, y[:, -1])
    model_tf = make(batch_first=False)
    y_tf, h_tf = model_tf(x.transpose(0, 1))
    torch.testing.assert_close(y_tf.transpose(0, 1), y)
    y_unbatched, h_unbatched = model(x[1])
    torch.testing.assert_close(y_unbatched, y[1])
    torch.testing.assert_close(h_unbatched, h[1])
    mixed = make(mixed_memory=True)
    y_m, (h_m, c_m) = mixed(x)
    assert y_m.shape == (4, 7, 3) and c_m.shape == (4, 12)
    fc = LTC(6, 5, input_mapping="none", output_mapping="linear")
    assert fc(x)[0].shape == (4, 7, 5)


def test_per_sample_timespans_match_batch_one_runs():
    model = make(1)
    x = torch.randn(5, 20, 6)
    for ts in (torch.rand(5, 20) * 0.5 + 0.01, torch.rand(5, 20, 1) * 2 + 0.01):
        y, h = model(x, timespans=ts)
        for b in range(5):
            y_b, h_b = model(x[b: b + 1], timespans=ts[b: b + 1])
            torch.testing.assert_close(y[b: b + 1], y_b, rtol=0, atol=1e-6)
            torch.testing.assert_close(h[b: b + 1], h_b, rtol=0, atol=1e-6)
    # Different time steps must matter (the test would pass trivially otherwise).
    y1, _ = model(x, timespans=torch.full((5, 20), 0.1))
    y2, _ = model(x, timespans=torch.full((5, 20), 1.0))
    assert (y1 - y2).abs().max() > 1e-3


def test_cell_matches_wrapper_and_accepts_per_sample_dt():
    model = make(2)
    x = torch.randn(3, 4, 6)
    ts = torch.rand(3, 4) + 0.1
    y, _ = model(x, timespans=ts)
    h = torch.zeros(3, 12)
    for t in range(4):
        y_t, h = model.rnn_cell(x[:, t], h, ts[:, t])
        torch.testing.assert_close(y_t, y[:, t])


@pytest.mark.parametrize("fast", [True, False])
def test_step_equals_sequence(fast):
    model = make(3, fast_step=fast)
    x = torch.randn(1, 30, 6)
    ts = torch.rand(1, 30) * 0.3 + 0.02
    with torch.no_grad():
        y_seq, h_seq = model(x, timespans=ts)
        model.reset()
        outs = [model.step(x[0, t], dt=float(ts[0, t]))[0] for t in range(30)]
    torch.testing.assert_close(torch.stack(outs)[None], y_seq, rtol=0, atol=2e-6)
    torch.testing.assert_close(model._hx, h_seq, rtol=0, atol=2e-6)
    model.reset()
    assert model._hx is None


def test_step_batched_and_explicit_state():
    model = make(4)
    x = torch.randn(3, 2, 6)
    ts = torch.rand(3, 2) + 0.1
    with torch.no_grad():
        y_seq, _ = model(x, timespans=ts)
        y0, h = model.step(x[:, 0], torch.zeros(3, 12), ts[:, 0])
        y1, h = model.step(x[:, 1], h, ts[:, 1])
    torch.testing.assert_close(y1, y_seq[:, 1])


@pytest.mark.skipif(not _fast.HAVE_NUMBA, reason="numba not installed")
def test_fast_step_follows_weight_changes():
    model = make(5).eval()
    x = torch.randn(1, 6)
    with torch.no_grad():
        y_fast, _ = model.step(x, torch.zeros(1, 12), 0.1)
        model.rnn_cell.sigma.mul_(0.5)  # an optimiser-like in-place update
        y_fast2, _ = model.step(x, torch.zeros(1, 12), 0.1)
        y_ref, _ = model.rnn_cell(x, torch.zeros(1, 12), 0.1)
    assert (y_fast - y_fast2).abs().max() > 1e-4
    torch.testing.assert_close(y_fast2, y_ref, rtol=0, atol=1e-6)
    clone = copy.deepcopy(model)
    with torch.no_grad():
        torch.testing.assert_close(clone.step(x, torch.zeros(1, 12), 0.1)[0], y_ref)


def test_bad_inputs_raise():
    model = make()
    with pytest.raises(ValueError, match="timespans"):
        model(torch.randn(2, 3, 6), timespans=torch.ones(2, 4))
    with pytest.raises(ValueError, match="timespans"):
        model(torch.randn(2, 3, 6), timespans=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="x must be"):
        model(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="hx"):
        model(torch.randn(2, 3, 6), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="dt"):
        model.step(torch.randn(6), dt=0.0)
    with pytest.raises(ValueError, match="dt"):
        model.step(torch.randn(6), dt=float("nan"))
    with pytest.raises(ValueError, match="ode_unfolds"):
        LTCCell(AutoNCP(12, 3), 6, ode_unfolds=0)
    with pytest.raises(ValueError, match="input_mapping"):
        LTCCell(AutoNCP(12, 3), 6, input_mapping="cubic")
    with pytest.raises(ValueError, match="in_features"):
        LTCCell(AutoNCP(12, 3))


def test_gradcheck_float64():
    torch.manual_seed(0)
    cell = LTCCell(Random(4, 2, 0.3, 1), 3, ode_unfolds=3).double()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    dt = torch.tensor([0.3, 1.1], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: cell(a, b, c), (x, h, dt))
    params = [cell.w, cell.sigma, cell.cm, cell.sensory_mu]

    def fn(*ps):
        names = ["w", "sigma", "cm", "sensory_mu"]
        return torch.func.functional_call(cell, dict(zip(names, ps, strict=True)), (x, h, dt))
    assert torch.autograd.gradcheck(fn, tuple(p.detach().requires_grad_() for p in params))


def test_no_implicit_constraints_clip():
    model = LTC(6, AutoNCP(12, 3), implicit_param_constraints=False)
    with torch.no_grad():
        model.rnn_cell.w.fill_(-1.0)
    model.rnn_cell.apply_weight_constraints()
    assert float(model.rnn_cell.w.detach().min()) == 0.0


def test_package_works_without_numba():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import torch\n"
        "from liquid_ros.models import LTC, CfC, AutoNCP, _fast\n"
        "assert not _fast.HAVE_NUMBA\n"
        "for m in (LTC(4, AutoNCP(8, 2)), CfC(4, AutoNCP(8, 2))):\n"
        "    assert not m.fast_step\n"
        "    with torch.inference_mode():\n"
        "        y, h = m.step(torch.ones(4), dt=0.1)\n"
        "    assert y.shape == (2,) and torch.isfinite(y).all()\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


@pytest.mark.slow
def test_compiled_training_path_matches_eager():
    eager = make(6)
    compiled = make(6, compile_ode=True)
    x = torch.randn(4, 10, 6)
    ts = torch.rand(4, 10) + 0.1
    results = []
    for model in (eager, compiled):
        y, _ = model(x, timespans=ts)
        y.square().sum().backward()
        results.append((y.detach(), model.rnn_cell.sigma.grad.clone()))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-4, atol=1e-6)
