"""Dataset storage: round trip, atomic writes, resume check, manifest order, windows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from liquid_ros.train.dataset import (
    MANIFEST,
    Episode,
    episode_filename,
    is_complete,
    load_dataset,
    load_episode,
    read_manifest,
    save_episode,
    write_manifest,
)
from liquid_ros.train.sequences import (
    AugmentConfig,
    augment,
    make_batch,
    normalisation_stats,
    window_index,
)


def fake_episode(seed: int, steps: int = 7, size: int = 8) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        seed=seed,
        images=rng.integers(0, 256, (steps, size, size, 3), dtype=np.uint8),
        states=rng.normal(size=(steps, 10)).astype(np.float32),
        actions=rng.normal(size=(steps, 4)).astype(np.float32),
        actions_executed=rng.normal(size=(steps, 4)).astype(np.float32),
        dt=np.full(steps, 0.05, np.float32),
        timestamps=np.arange(steps) * 0.05,
        positions=rng.normal(size=(steps, 3)).astype(np.float32),
        velocities=rng.normal(size=(steps, 3)).astype(np.float32),
        goals=rng.normal(size=(steps, 3)).astype(np.float32),
        meta={"task": "fly_to_target", "success": seed % 2 == 0, "metrics": {"err": 0.5}},
    )


def test_round_trip_is_exact(tmp_path):
    ep = fake_episode(42)
    path = save_episode(tmp_path, ep)
    assert path.name == episode_filename(42) == "episode_000042.npz"
    back = load_episode(path)
    assert back.seed == 42 and back.meta == ep.meta
    for name in ("images", "states", "actions", "dt", "timestamps", "goals"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ep, name))
    assert back.images.dtype == np.uint8
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def test_mismatched_lengths_rejected():
    ep = fake_episode(1)
    with pytest.raises(ValueError, match="actions"):
        Episode(**{**ep.__dict__, "actions": ep.actions[:-1]})


def test_truncated_file_is_not_complete_and_load_raises(tmp_path):
    path = save_episode(tmp_path, fake_episode(3))
    assert is_complete(tmp_path, 3)
    assert not is_complete(tmp_path, 4)
    path.write_bytes(path.read_bytes()[:100])
    assert not is_complete(tmp_path, 3)
    with pytest.raises(ValueError, match="episode_000003"):
        load_episode(path)


def test_manifest_canonical_order_and_load(tmp_path):
    for seed in (9, 2, 5):
        save_episode(tmp_path, fake_episode(seed, steps=4 + seed))
    manifest = write_manifest(tmp_path, {"task": "fly_to_target"})
    assert [e["seed"] for e in manifest["episodes"]] == [2, 5, 9]
    assert manifest["num_steps"] == 6 + 9 + 13
    assert read_manifest(tmp_path) == json.loads((tmp_path / MANIFEST).read_text())
    eps = load_dataset(tmp_path)
    assert [e.seed for e in eps] == [2, 5, 9]


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="manifest"):
        load_dataset(tmp_path)


def test_windows_cover_every_step_and_pad_short_episodes():
    eps = [fake_episode(0, steps=10), fake_episode(1, steps=3)]
    idx = window_index(eps, 4)
    assert idx == [(0, 0), (0, 2), (0, 4), (0, 6), (1, 0)]
    batch = make_batch(eps, idx, 4)
    assert batch.images.shape == (5, 4, 8, 8, 3) and batch.images.dtype == torch.uint8
    assert batch.mask[4].tolist() == [1, 1, 1, 0]
    assert batch.dt[4, 3] == pytest.approx(0.05)  # padding keeps a valid dt
    np.testing.assert_array_equal(batch.actions[1].numpy(), eps[0].actions[2:6])
    with pytest.raises(ValueError, match="seq_len"):
        window_index(eps, 0)


def test_augment_is_seeded_and_bounded():
    eps = [fake_episode(0)]
    batch = make_batch(eps, window_index(eps, 4), 4)
    a = augment(batch, AugmentConfig(), torch.Generator().manual_seed(1))
    b = augment(batch, AugmentConfig(), torch.Generator().manual_seed(1))
    assert torch.equal(a.images, b.images)
    assert a.images.dtype == torch.float32
    assert 0.0 <= a.images.min() and a.images.max() <= 1.0
    assert not torch.equal(a.images, batch.images.float() / 255.0)
    assert torch.equal(a.actions, batch.actions)


def test_normalisation_stats():
    eps = [fake_episode(0), fake_episode(1)]
    stats = normalisation_stats(eps)
    all_actions = np.concatenate([e.actions for e in eps])
    np.testing.assert_allclose(stats["action_mean"], all_actions.mean(0), rtol=1e-5)
    assert stats["state_std"].shape == (10,) and np.all(stats["state_std"] >= 1e-3)
