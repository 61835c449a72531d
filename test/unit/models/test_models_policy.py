"""LiquidPolicy: shapes, step == forward, seeded determinism, baselines, input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_ros.models import LiquidPolicy, PolicyConfig
from liquid_ros.models.policy import CELLS


def episode(batch=2, steps=6, seed=0, size=32):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (batch, steps, size, size, 3), dtype=np.uint8)
    state = rng.normal(size=(batch, steps, 10)).astype(np.float32)
    dt = rng.uniform(0.02, 0.1, (batch, steps)).astype(np.float32)
    return images, state, dt


def small(cell, **kwargs):
    return PolicyConfig(cell=cell, image_height=32, image_width=32, **kwargs)


@pytest.mark.parametrize("cell", CELLS)
def test_shapes_and_step_equals_forward(cell):
    policy = LiquidPolicy(small(cell, n_gains=2))
    policy.set_normalization(action_mean=[0.1, 0.0, 0.0, 0.0], action_scale=[2.0, 2.0, 2.0, 1.0],
                             state_std=np.full(10, 3.0))
    images, state, dt = episode()
    with torch.no_grad():
        actions, gains, hx = policy(torch.from_numpy(images), torch.from_numpy(state),
                                    torch.from_numpy(dt))
    assert actions.shape == (2, 6, 4) and gains.shape == (2, 6, 2)
    assert ((gains > 0) & (gains < policy.config.gain_max)).all()
    policy.reset()
    stepped = np.stack([policy.step(images[1, t], state[1, t], float(dt[1, t])) for t in range(6)])
    assert stepped.dtype == np.float32 and stepped.shape == (6, 4)
    np.testing.assert_allclose(stepped, actions[1].numpy(), atol=2e-6, rtol=0)
    np.testing.assert_allclose(policy.last_gains, gains[1, -1].numpy(), atol=2e-6, rtol=0)
    # Training works through every head.
    policy.train()
    a, g, _ = policy(torch.from_numpy(images), torch.from_numpy(state), torch.from_numpy(dt))
    (a.square().mean() + g.mean()).backward()
    assert policy.encoder.fc.weight.grad is not None
    assert torch.isfinite(policy.encoder.fc.weight.grad).all()


def test_gains_none_without_n_gains_and_float_images():
    policy = LiquidPolicy(small("ltc"))
    images, state, dt = episode()
    with torch.no_grad():
        a_u8, gains, _ = policy(torch.from_numpy(images), torch.from_numpy(state),
                                torch.from_numpy(dt))
        a_f, _, _ = policy(torch.from_numpy(images).float() / 255, torch.from_numpy(state),
                           torch.from_numpy(dt)[..., None])
    assert gains is None
    torch.testing.assert_close(a_u8, a_f)


def test_seed_determinism_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    p1 = LiquidPolicy(small("ltc", seed=7))
    after = torch.rand(1)
    p2 = LiquidPolicy(small("ltc", seed=7))
    p3 = LiquidPolicy(small("ltc", seed=8))
    assert torch.equal(before, after)
    for (name, a), b in zip(p1.state_dict().items(), p2.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not torch.equal(p1.encoder.fc.weight, p3.encoder.fc.weight)
    images, state, dt = episode(batch=1, steps=1)
    assert np.array_equal(p1.step(images[0, 0], state[0, 0], 0.05),
                          p2.step(images[0, 0], state[0, 0], 0.05))


def test_liquid_heads_are_small_compared_with_baselines():
    def head_params(cell):
        return sum(p.numel() for p in LiquidPolicy(small(cell)).head.parameters())
    assert head_params("ltc") < head_params("lstm") / 4
    assert head_params("cfc") < head_params("gru")


def test_invalid_inputs():
    with pytest.raises(ValueError, match="cell"):
        PolicyConfig(cell="transformer")
    with pytest.raises(ValueError, match="units"):
        PolicyConfig(units=6, n_gains=2)
    with pytest.raises(ValueError, match="unknown PolicyConfig"):
        PolicyConfig.from_dict({"bogus": 1})
    policy = LiquidPolicy(small("cfc"))
    images, state, dt = episode(batch=1, steps=1)
    with pytest.raises(ValueError, match="image"):
        policy.step(np.zeros((16, 16, 3), np.uint8), state[0, 0], 0.05)
    with pytest.raises(ValueError, match="state"):
        policy.step(images[0, 0], np.full(10, np.nan), 0.05)
    with pytest.raises(ValueError, match="dt"):
        policy.step(images[0, 0], state[0, 0], 0.0)
    with pytest.raises(ValueError, match="dt"):
        policy(torch.from_numpy(images), torch.from_numpy(state), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="state_std"):
        policy.set_normalization(state_std=np.zeros(10))
    with pytest.raises(ValueError, match="action_mean"):
        policy.set_normalization(action_mean=np.zeros(3))


def test_step_never_returns_nan():
    policy = LiquidPolicy(small("mlp"))
    policy.set_normalization(action_mean=[0.0, 0.0, 0.5, 0.0])
    with torch.no_grad():
        policy.head.net[0].weight.fill_(float("nan"))
    images, state, _ = episode(batch=1, steps=1)
    action = policy.step(images[0, 0], state[0, 0], 0.05)
    np.testing.assert_array_equal(action, [0.0, 0.0, 0.5, 0.0])
