"""Equivalence with ncps 1.0.1: models imported with from_ncps give the same outputs."""

from __future__ import annotations

import pytest
import torch

from liquid_ros.models import LTC, AutoNCP, CfC, from_ncps, model_from_config

ncps_torch = pytest.importorskip("ncps.torch")
ncps_wirings = pytest.importorskip("ncps.wirings")

WIRINGS = [
    ("auto_ncp_19_4", 32, lambda: ncps_wirings.AutoNCP(19, 4)),
    ("auto_ncp_seed7", 16, lambda: ncps_wirings.AutoNCP(24, 5, sparsity_level=0.3, seed=7)),
    ("ncp", 8, lambda: ncps_wirings.NCP(6, 5, 2, 4, 3, 4, 3, seed=11)),
    ("fully_connected", 5, lambda: ncps_wirings.FullyConnected(8, 3, erev_init_seed=2)),
    ("random", 6, lambda: ncps_wirings.Random(10, 4, sparsity_level=0.5, random_seed=3)),
]


def compare(theirs, ours, inputs, batch=3, steps=64):
    torch.manual_seed(5)
    x = torch.randn(batch, steps, inputs)
    ts = torch.rand(batch, steps) * 0.9 + 0.05
    with torch.no_grad():
        y_plain, _ = ours(x)
        y_ts, h_ts = ours(x, timespans=ts)
        for b in range(batch):  # ncps handles per-sample timespans only at batch 1
            ref_plain, _ = theirs(x[b: b + 1])
            ref_ts, ref_h = theirs(x[b: b + 1], timespans=ts[b: b + 1])
            torch.testing.assert_close(y_plain[b: b + 1], ref_plain, rtol=0, atol=1e-5)
            torch.testing.assert_close(y_ts[b: b + 1], ref_ts, rtol=0, atol=1e-5)
            for ours_h, ref in zip(h_ts if isinstance(h_ts, tuple) else (h_ts,),
                                   ref_h if isinstance(ref_h, tuple) else (ref_h,), strict=True):
                torch.testing.assert_close(ours_h[b: b + 1], ref, rtol=0, atol=1e-5)
    assert (y_plain - y_ts).abs().max() > 1e-3


@pytest.mark.parametrize(("name", "inputs", "make"), WIRINGS, ids=[w[0] for w in WIRINGS])
def test_ltc_from_ncps(name, inputs, make):
    torch.manual_seed(hash(name) % 1000)
    theirs = ncps_torch.LTC(inputs, make())
    ours = from_ncps(theirs)
    assert isinstance(ours, LTC)
    compare(theirs, ours, inputs)
    # The config round trip rebuilds the same circuit.
    again = model_from_config(ours.config())
    again.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, inputs)
    torch.testing.assert_close(again(x)[0], ours(x)[0])


@pytest.mark.parametrize(("name", "inputs", "make"), WIRINGS[:3], ids=[w[0] for w in WIRINGS[:3]])
@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
def test_wired_cfc_from_ncps(name, inputs, make, mode):
    torch.manual_seed(1)
    theirs = ncps_torch.CfC(inputs, make(), mode=mode)
    ours = from_ncps(theirs)
    assert isinstance(ours, CfC)
    compare(theirs, ours, inputs, steps=32)


def test_cfc_backbone_and_mixed_from_ncps():
    torch.manual_seed(2)
    for theirs in (
        ncps_torch.CfC(7, 12, proj_size=3, backbone_layers=2, activation="silu"),
        ncps_torch.CfC(7, 9, mode="pure", backbone_layers=1, backbone_units=32),
        ncps_torch.CfC(7, 9, mixed_memory=True),
    ):
        compare(theirs, from_ncps(theirs), 7, batch=2, steps=16)
    theirs = ncps_torch.LTC(7, ncps_wirings.AutoNCP(12, 3), mixed_memory=True)
    compare(theirs, from_ncps(theirs), 7, batch=2, steps=16)


def test_same_seed_same_circuit_as_ncps():
    theirs = ncps_torch.LTC(32, ncps_wirings.AutoNCP(19, 4, seed=22222))
    ours = LTC(32, AutoNCP(19, 4, seed=22222))
    torch.testing.assert_close(ours.rnn_cell.sparsity_mask, theirs.rnn_cell.sparsity_mask)
    torch.testing.assert_close(ours.rnn_cell.erev, theirs.rnn_cell.erev.detach())
    torch.testing.assert_close(
        ours.rnn_cell.sensory_erev, theirs.rnn_cell.sensory_erev.detach()
    )


def test_from_ncps_rejects_other_modules():
    with pytest.raises(ValueError, match="ncps LTC or CfC"):
        from_ncps(torch.nn.Linear(2, 2))
