"""Wirings: ncps-identical seeded circuits, dict round trip, errors, masks as buffers, plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from liquid_ros.models import (
    LTC,
    NCP,
    AutoNCP,
    CfC,
    FullyConnected,
    Random,
    Wiring,
    plot_wiring,
)

ncps_wirings = pytest.importorskip("ncps.wirings")


@pytest.mark.parametrize(
    ("units", "outputs", "sparsity", "seed", "inputs"),
    [(19, 4, 0.5, 22222, 32), (19, 4, 0.5, 1, 32), (32, 6, 0.2, 5, 10), (12, 3, 0.9, 7, 3),
     (50, 8, 0.3, 3, 20), (8, 2, 0.1, 9, 5)],
)
def test_auto_ncp_matches_ncps(units, outputs, sparsity, seed, inputs):
    theirs = ncps_wirings.AutoNCP(units, outputs, sparsity, seed)
    theirs.build(inputs)
    ours = AutoNCP(units, outputs, sparsity, seed).build(inputs)
    np.testing.assert_array_equal(ours.adjacency_matrix, theirs.adjacency_matrix)
    np.testing.assert_array_equal(ours.sensory_adjacency_matrix, theirs.sensory_adjacency_matrix)
    assert ours.layers == [theirs.get_neurons_of_layer(i) for i in range(3)]


def test_ncp_fully_connected_and_random_match_ncps():
    cases = [
        (NCP(6, 4, 2, 3, 2, 3, 2, seed=4), ncps_wirings.NCP(6, 4, 2, 3, 2, 3, 2, seed=4)),
        (FullyConnected(7, 3, 5), ncps_wirings.FullyConnected(7, 3, 5)),
        (Random(7, 3, 0.4, 5), ncps_wirings.Random(7, 3, 0.4, 5)),
    ]
    for ours, theirs in cases:
        ours.build(4)
        theirs.build(4)
        np.testing.assert_array_equal(ours.adjacency_matrix, theirs.adjacency_matrix)
        np.testing.assert_array_equal(
            ours.sensory_adjacency_matrix, theirs.sensory_adjacency_matrix
        )


def test_ncp_structure():
    w = AutoNCP(19, 4, seed=3).build(32)
    inter, command, motor = w.layers
    adj = w.adjacency_matrix
    assert sorted(motor) == [0, 1, 2, 3] and w.neuron_type(0) == "motor"
    assert w.neuron_type(command[0]) == "command" and w.neuron_type(inter[0]) == "inter"
    # Inputs reach only inter neurons; motor neurons only receive from command neurons.
    assert not w.sensory_adjacency_matrix[:, command + motor].any()
    assert not adj[np.ix_(inter, inter + motor)].any()
    assert not adj[np.ix_(motor, list(range(19)))].any()
    assert all(adj[command, m].any() for m in motor)
    assert all(w.sensory_adjacency_matrix[:, i].any() for i in inter)
    assert set(np.unique(adj)) <= {-1, 0, 1}


@pytest.mark.parametrize(
    "wiring",
    [AutoNCP(19, 4, seed=11), NCP(5, 4, 3, 2, 2, 4, 2, seed=2), FullyConnected(6, 2, 9, False),
     Random(9, 3, 0.5, 2), Wiring(3, 1, np.eye(3, dtype=int), layers=[[2], [1], [0]])],
)
def test_dict_round_trip(wiring):
    for built in (False, True):
        if built:
            wiring.build(5)
        data = json.loads(json.dumps(wiring.to_dict()))  # plain data only
        again = Wiring.from_dict(data)
        assert type(again) is type(wiring)
        assert again.to_dict() == wiring.to_dict()
        np.testing.assert_array_equal(again.adjacency_matrix, wiring.adjacency_matrix)
        assert again.layers == wiring.layers


def test_impossible_wirings_raise():
    with pytest.raises(ValueError, match="output_size"):
        AutoNCP(5, 3)
    with pytest.raises(ValueError, match="sparsity_level"):
        AutoNCP(19, 4, sparsity_level=0.05)
    with pytest.raises(ValueError, match="sensory_fanout"):
        NCP(3, 4, 2, 5, 2, 1, 2)
    with pytest.raises(ValueError, match="motor_fanin"):
        NCP(3, 4, 2, 2, 2, 1, 5)
    with pytest.raises(ValueError, match="inter_fanout"):
        NCP(3, 4, 2, 2, 6, 1, 2)
    with pytest.raises(ValueError, match="sparsity_level"):
        Random(5, 2, sparsity_level=1.0)
    with pytest.raises(ValueError, match="units"):
        FullyConnected(0)
    with pytest.raises(ValueError, match="output_dim"):
        FullyConnected(3, 4)
    with pytest.raises(ValueError, match="input_dim"):
        AutoNCP(19, 4).build(8).build(9)
    with pytest.raises(ValueError, match="adjacency_matrix"):
        Wiring(2, 1, np.full((2, 2), 2))
    with pytest.raises(ValueError, match="unknown wiring kind"):
        Wiring.from_dict({"kind": "nope", "params": {}})


def test_masks_are_buffers_not_parameters():
    for model in (LTC(8, AutoNCP(12, 3)), CfC(8, AutoNCP(12, 3))):
        names = [n for n, _ in model.named_parameters()]
        assert not any("mask" in n for n in names)
        buffers = dict(model.named_buffers())
        assert any("mask" in n for n in buffers)
        assert all(not b.requires_grad for b in buffers.values())
    ltc = LTC(8, AutoNCP(12, 3, seed=1))
    mask = ltc.rnn_cell.sparsity_mask
    np.testing.assert_array_equal(mask.numpy(), np.abs(ltc.wiring.adjacency_matrix))
    assert isinstance(mask, torch.Tensor) and not isinstance(mask, torch.nn.Parameter)


def test_plot_wiring_writes_png(tmp_path):
    wiring = AutoNCP(19, 4).build(6)
    fig = plot_wiring(wiring, tmp_path / "ncp.png")
    data = (tmp_path / "ncp.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    n_edges = wiring.synapse_count + wiring.sensory_synapse_count
    assert len(fig.axes[0].patches) == n_edges
    with pytest.raises(ValueError, match="built"):
        plot_wiring(AutoNCP(19, 4))
