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


def test_ltc_head_conditioning_defaults():
    policy = LiquidPolicy(small("ltc"))
    assert isinstance(policy.feature_norm, torch.nn.LayerNorm)
    cm = torch.nn.functional.softplus(policy.head.rnn.rnn_cell.cm)
    # ncps draws cm from softplus(U(0.4, 0.6)); scaled by ltc_init_dt / 1 s
    low, high = (0.1 * float(torch.nn.functional.softplus(torch.tensor(v))) for v in (0.4, 0.6))
    assert bool(((cm > low - 1e-6) & (cm < high + 1e-6)).all())
    legacy = LiquidPolicy(small("ltc", ltc_feature_norm=False, ltc_init_dt=None))
    assert isinstance(legacy.feature_norm, torch.nn.Identity)
    assert float(torch.nn.functional.softplus(legacy.head.rnn.rnn_cell.cm).min()) > 0.9
    # the flags change nothing else: same seed, same encoder and synapse weights
    for name, value in legacy.state_dict().items():
        if not name.endswith(".cm"):
            assert torch.equal(value, policy.state_dict()[name]), name


def test_ltc_feature_norm_makes_image_features_visible():
    policy = LiquidPolicy(small("ltc"))
    images, state, _ = episode(batch=4, steps=3)
    x = policy._inputs(torch.from_numpy(images), torch.from_numpy(state))
    features = x[..., :policy.config.feature_dim]
    # raw ReLU features are about 0.01-0.1 at init; normalised, about unit spread
    np.testing.assert_allclose(features.std(-1, unbiased=False).detach().numpy(), 1.0,
                               atol=0.02)


@pytest.mark.parametrize("cell", ["cfc", "lstm"])
def test_ltc_fields_do_not_touch_other_heads(cell):
    with_flags = LiquidPolicy(small(cell))
    without = LiquidPolicy(small(cell, ltc_feature_norm=False, ltc_init_dt=None))
    assert with_flags.state_dict().keys() == without.state_dict().keys()
    for name, value in without.state_dict().items():
        assert torch.equal(value, with_flags.state_dict()[name]), name


def test_config_from_old_dict_rebuilds_old_architecture():
    data = small("ltc").to_dict()
    for key in ("ltc_feature_norm", "ltc_init_dt"):
        del data[key]
    old = PolicyConfig.from_dict(data)
    assert old.ltc_feature_norm is False and old.ltc_init_dt is None
    assert not any(k.startswith("feature_norm") for k in LiquidPolicy(old).state_dict())
    assert PolicyConfig.from_dict(small("ltc").to_dict()) == small("ltc")
    for bad in (0.0, -0.1, float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match="ltc_init_dt"):
            small("ltc", ltc_init_dt=bad)
    with pytest.raises(ValueError, match="ltc_feature_norm"):
        small("ltc", ltc_feature_norm=1)


def test_trainer_gives_the_ltc_head_its_own_learning_rate():
    from liquid_ros.train.trainer import TrainConfig, Trainer

    policy = LiquidPolicy(small("ltc"))
    groups = Trainer(policy, TrainConfig(lr=2e-3)).opt.param_groups
    assert [g["lr"] for g in groups] == [2e-3, 2e-3 * TrainConfig().ltc_lr_scale]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in policy.head.parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(policy.parameters()))
    cfc = LiquidPolicy(small("cfc"))
    cfc_groups = Trainer(cfc, TrainConfig(lr=2e-3)).opt.param_groups
    assert [g["lr"] for g in cfc_groups] == [2e-3, 2e-3 * TrainConfig().readout_lr_scale]
    assert {id(p) for p in cfc_groups[1]["params"]} == {id(p) for p in cfc.readout.parameters()}
    assert sum(len(g["params"]) for g in cfc_groups) == len(list(cfc.parameters()))
    lstm_groups = Trainer(LiquidPolicy(small("lstm")), TrainConfig(lr=2e-3)).opt.param_groups
    assert [g["lr"] for g in lstm_groups] == [2e-3]


def test_cfc_readout_reaches_actions_beyond_one_std():
    """The CfC's motor neurons are tanh-bounded; the readout lets actions leave mean +- scale."""
    from liquid_ros.train.trainer import TrainConfig, _param_groups

    images, state, dt = (torch.from_numpy(a) for a in episode(batch=4, steps=5))
    target = torch.full((4, 5, 4), 3.0)  # three action_scale units from action_mean

    def fit(readout: bool) -> float:
        policy = LiquidPolicy(small("cfc", cfc_readout=readout))
        opt = torch.optim.Adam(_param_groups(policy, TrainConfig(lr=1e-2)), lr=1e-2)
        for _ in range(150):
            actions, _, _ = policy(images, state, dt)
            loss = ((actions - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss)

    assert fit(False) >= (3.0 - 1.0) ** 2 - 1e-4  # |tanh| < 1: the best it can do
    assert fit(True) < 0.5


def test_old_cfc_checkpoint_gets_an_identity_readout(tmp_path):
    from liquid_ros.models.checkpoint import load_policy, save_policy

    data = small("cfc").to_dict()
    del data["cfc_readout"]
    old = LiquidPolicy(PolicyConfig.from_dict(data))
    assert old.config.cfc_readout is False
    assert not any(k.startswith("readout") for k in old.state_dict())
    images, state, dt = episode(batch=1)
    before = np.stack([old.step(images[0, t], state[0, t], float(dt[0, t])) for t in range(6)])
    assert old.add_cfc_readout() and not old.add_cfc_readout()
    old.reset()
    after = np.stack([old.step(images[0, t], state[0, t], float(dt[0, t])) for t in range(6)])
    np.testing.assert_array_equal(before, after)
    save_policy(tmp_path / "p.pt", old, {})
    again = load_policy(tmp_path / "p.pt")
    assert again.config.cfc_readout is True and isinstance(again.readout, torch.nn.Module)
    assert not LiquidPolicy(small("lstm")).add_cfc_readout()
    with pytest.raises(ValueError, match="cfc_readout"):
        small("cfc", cfc_readout=1)
