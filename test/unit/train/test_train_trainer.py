"""Imitation trainer on small synthetic episodes: seeded, learns, BarrierNet path, saliency."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_ros.models.saliency import saliency_maps
from liquid_ros.train.dataset import Episode
from liquid_ros.train.imitation import build_policy
from liquid_ros.train.sequences import AugmentConfig, make_batch, window_index
from liquid_ros.train.trainer import TrainConfig, Trainer, split_episodes


def synthetic(seed: int, steps: int = 12, size: int = 32) -> Episode:
    """The label is a function of the image's mean red level and of the state: learnable."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(0, 1, steps)
    images = np.zeros((steps, size, size, 3), np.uint8)
    images[..., 0] = (level * 255).astype(np.uint8)[:, None, None]
    states = rng.normal(size=(steps, 10)).astype(np.float32)
    actions = np.stack([2 * level - 1, states[:, 0], -level, 0.5 * states[:, 1]], 1)
    z = np.zeros((steps, 3), np.float32)
    z[:, 2] = 1.0
    return Episode(seed=seed, images=images, states=states, actions=actions.astype(np.float32),
                   actions_executed=actions.astype(np.float32), dt=np.full(steps, 0.1, np.float32),
                   timestamps=np.arange(steps) * 0.1, positions=z, velocities=z * 0,
                   goals=z + 1, meta={})


def quiet(**kw) -> TrainConfig:
    return TrainConfig(augment=AugmentConfig(0.0, 0.0, 0.0, 0.0), val_fraction=0.0, **kw)


def test_same_seed_same_weights():
    eps = [synthetic(i) for i in range(4)]
    weights = []
    for _ in range(2):
        policy = build_policy("ncp", eps, seed=3)
        Trainer(policy, TrainConfig(seq_len=8, max_steps=3, seed=5)).fit(eps, progress=False)
        weights.append(torch.cat([p.detach().flatten() for p in policy.parameters()]))
    assert torch.equal(weights[0], weights[1])


@pytest.mark.parametrize("model", ["gru", "mlp"])
def test_loss_decreases_and_normalisation_set(model):
    torch.set_num_threads(1)
    eps = [synthetic(i) for i in range(6)]
    policy = build_policy(model, eps, seed=0)
    trainer = Trainer(policy, quiet(seq_len=12, batch_size=6, epochs=40, lr=1e-2))
    batch = make_batch(eps, window_index(eps, 12), 12)
    trainer.fit(eps, epochs=0, progress=False)  # sets the normalisation only
    with torch.no_grad():
        before = float(trainer.loss(batch))
    hist = trainer.fit(eps, progress=False)
    with torch.no_grad():
        after = float(trainer.loss(batch))
    assert hist.steps == 40 and len(hist.train) == 40
    assert after < 0.5 * before
    acts = np.concatenate([e.actions for e in eps])
    np.testing.assert_allclose(policy.action_mean.numpy(), acts.mean(0), rtol=1e-4, atol=1e-6)


def test_barriernet_gradients_reach_gains():
    eps = [synthetic(i) for i in range(2)]
    policy = build_policy("ncp", eps, seed=0, barriernet=True)
    trainer = Trainer(policy, quiet(seq_len=6, barriernet=True))
    batch = make_batch(eps, window_index(eps, 6), 6)
    # fly low and fast downwards so the altitude barrier binds and the gains matter
    batch.positions[..., 2] = 0.3
    batch.velocities[..., 2] = -2.0
    loss = trainer.loss(batch)
    loss.backward()
    assert torch.isfinite(loss)
    motor = policy.head.parameters()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in motor)


def test_split_is_seeded_and_disjoint():
    eps = [synthetic(i, steps=3) for i in range(10)]
    a_train, a_val = split_episodes(eps, 0.2, seed=1)
    b_train, b_val = split_episodes(eps, 0.2, seed=1)
    assert [e.seed for e in a_val] == [e.seed for e in b_val] and len(a_val) == 2
    assert not {e.seed for e in a_val} & {e.seed for e in a_train}
    with pytest.raises(ValueError, match="val_fraction"):
        split_episodes(eps, 1.0, seed=0)


def test_unknown_model_rejected():
    with pytest.raises(ValueError, match="model"):
        build_policy("transformer", [synthetic(0)], seed=0)


def test_saliency_shape_range_and_weights_untouched():
    eps = [synthetic(0, steps=4)]
    policy = build_policy("ncp", eps, seed=0)
    before = [p.detach().clone() for p in policy.parameters()]
    maps = saliency_maps(policy, eps[0].images, eps[0].states, eps[0].dt)
    assert maps.shape == (4, 32, 32) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() == pytest.approx(1.0)
    assert all(torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
    with pytest.raises(ValueError, match="same T"):
        saliency_maps(policy, eps[0].images, eps[0].states[:2])
