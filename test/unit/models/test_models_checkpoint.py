"""Checkpoint I/O: round trip, and clear errors on corrupted or foreign files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_ros.models import CheckpointError, LiquidPolicy, PolicyConfig, load_policy, save_policy
from liquid_ros.models.checkpoint import FORMAT, load_checkpoint


@pytest.fixture
def policy():
    p = LiquidPolicy(PolicyConfig(cell="ltc", image_height=32, image_width=32, n_gains=1, seed=3))
    p.set_normalization(state_mean=np.arange(10), state_std=np.full(10, 2.0),
                        action_mean=[0.0, 0.0, 0.2, 0.0], action_scale=[3.0, 3.0, 3.0, 1.0])
    return p


def run(p):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    states = rng.normal(size=(5, 10)).astype(np.float32)
    p.reset()
    return np.stack([p.step(images[t], states[t], 0.05) for t in range(5)])


@pytest.mark.parametrize("cell", ["ltc", "cfc", "gru"])
def test_round_trip_identical_outputs(tmp_path, policy, cell):
    if cell != "ltc":
        policy = LiquidPolicy(PolicyConfig(cell=cell, image_height=32, image_width=32, seed=4))
    path = save_policy(tmp_path / "p.pt", policy, {"epochs": 3, "loss": [0.5, 0.25]})
    loaded = load_policy(path)
    assert loaded.config == policy.config
    assert loaded.checkpoint_metadata == {"epochs": 3, "loss": [0.5, 0.25]}
    np.testing.assert_array_equal(run(loaded), run(policy))
    raw = load_checkpoint(path)
    assert raw["format"] == FORMAT
    torch.testing.assert_close(raw["normalization"]["action_scale"], policy.action_scale)


def test_corrupted_truncated_and_foreign_files(tmp_path, policy):
    good = save_policy(tmp_path / "good.pt", policy)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    corrupted = tmp_path / "corrupted.pt"
    corrupted.write_bytes(b"\x00garbage" * 100)
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": policy.state_dict()}, foreign)
    wrong_version = tmp_path / "wrong_version.pt"
    torch.save({"format": "liquid_ros.policy/999", "config": {}, "state_dict": {}}, wrong_version)
    bad_config = tmp_path / "bad_config.pt"
    torch.save({"format": FORMAT, "config": {"units": -1}, "state_dict": {}}, bad_config)
    bad_weights = tmp_path / "bad_weights.pt"
    torch.save({"format": FORMAT, "config": policy.config.to_dict(), "state_dict": {}},
               bad_weights)
    for path in (truncated, corrupted, foreign, wrong_version, bad_config, bad_weights,
                 tmp_path / "missing.pt"):
        with pytest.raises(CheckpointError, match=path.name) as info:
            load_policy(path)
        assert isinstance(info.value, ValueError)


def test_metadata_must_be_plain(tmp_path, policy):
    with pytest.raises(ValueError, match="metadata"):
        save_policy(tmp_path / "p.pt", policy, {"array": np.zeros(3)})
    assert not (tmp_path / "p.pt").exists()
