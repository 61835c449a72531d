"""CfC: modes, backbone, wired variant, per-sample time steps, stepping."""

from __future__ import annotations

import pytest
import torch

from liquid_ros.models import AutoNCP, CfC


def models(mode):
    torch.manual_seed(0)
    return [
        CfC(6, AutoNCP(12, 3, seed=2), mode=mode),
        CfC(6, 10, mode=mode, proj_size=3),
        CfC(6, 10, mode=mode, backbone_layers=2, backbone_units=16, activation="silu"),
        CfC(6, 10, mode=mode, backbone_layers=0),
    ]


@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
def test_shapes_timespans_and_step(mode):
    x = torch.randn(4, 12, 6)
    ts = torch.rand(4, 12) * 0.5 + 0.01
    for model in models(mode):
        with torch.no_grad():
            y, h = model(x, timespans=ts)
            assert y.shape == (4, 12, model.output_size) and h.shape == (4, model.state_size)
            for b in (0, 3):
                y_b, h_b = model(x[b: b + 1], timespans=ts[b: b + 1, :, None])
                torch.testing.assert_close(y[b: b + 1], y_b, rtol=0, atol=1e-6)
            model.reset()
            outs = [model.step(x[2, t], dt=float(ts[2, t]))[0] for t in range(12)]
            torch.testing.assert_close(torch.stack(outs), y[2], rtol=0, atol=2e-6)
            y_other, _ = model(x, timespans=ts * 5)
        assert (y - y_other).abs().max() > 1e-4


def test_wired_cfc_structure():
    wiring = AutoNCP(12, 3, seed=2)
    model = CfC(6, wiring)
    assert model.layer_sizes == [len(layer) for layer in wiring.layers]
    assert model.output_size == 3
    layer0 = model.rnn_cell.layer_0
    # Masked weights: an absent sensory synapse has no effect on the inter neuron.
    mask = layer0.sparsity_mask
    assert mask.shape == layer0.ff1.weight.shape and (mask == 0).any()
    with pytest.raises(ValueError, match="backbone_units"):
        CfC(6, AutoNCP(12, 3), backbone_units=8)
    with pytest.raises(ValueError, match="mode"):
        CfC(6, 8, mode="fast")
    with pytest.raises(ValueError, match="units"):
        CfC(6, 0)


def test_mixed_memory():
    torch.manual_seed(1)
    model = CfC(6, AutoNCP(12, 3), mixed_memory=True)
    x = torch.randn(2, 5, 6)
    y, (h, c) = model(x)
    assert y.shape == (2, 5, 3) and c.shape == (2, 12)
    with torch.no_grad():
        model.reset()
        outs = [model.step(x[:, t])[0] for t in range(5)]
    torch.testing.assert_close(torch.stack(outs, 1), y.detach())


def test_gradients_flow_through_wired_cfc():
    torch.manual_seed(2)
    model = CfC(6, AutoNCP(12, 3))
    y, _ = model(torch.randn(2, 5, 6), timespans=torch.rand(2, 5) + 0.1)
    y.square().sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.slow
def test_compiled_training_path_matches_eager():
    torch.manual_seed(3)
    eager = CfC(6, AutoNCP(12, 3, seed=1))
    compiled = CfC(6, AutoNCP(12, 3, seed=1), compile_step=True)
    compiled.load_state_dict(eager.state_dict())
    x = torch.randn(4, 10, 6)
    ts = torch.rand(4, 10) + 0.1
    results = []
    for model in (eager, compiled):
        y, _ = model(x, timespans=ts)
        y.square().sum().backward()
        results.append((y.detach(), model.rnn_cell.layer_1.ff1.weight.grad.clone()))
    assert compiled.compile_step
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-4, atol=1e-6)
