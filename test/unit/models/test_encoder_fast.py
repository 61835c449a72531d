"""The fast ``PatchEncoder`` and the ``PolicyConfig.encoder`` field.

Shapes, gradients, the folded normalisation, channels-last and bf16 within tolerance of fp32,
the config round trip, and the shipped checkpoints loading with their legacy encoder unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from liquid_ros.models import LiquidPolicy, PolicyConfig
from liquid_ros.models.checkpoint import load_policy, save_policy
from liquid_ros.models.encoder import ConvEncoder, PatchEncoder, make_encoder

CHECKPOINTS = Path(__file__).resolve().parents[3] / "liquid_ros" / "checkpoints"
REFERENCE = {  # last-step actions of the shipped conv-encoder checkpoint on _inputs(); the
    # first ones were pinned by the code before PatchEncoder existed and the code after gave
    # them bit for bit; leader_follow.pt was fine-tuned since (still conv), these are its own
    "leader_follow": [[1.8758687, 1.2078255, 1.7592691, -0.04894252],
                      [0.2824948, 1.5289575, 1.6993442, 0.8001066]],
}


def _inputs(seed: int = 0, batch: int = 2, steps: int = 5, size: int = 64):
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(rng.integers(0, 256, (batch, steps, size, size, 3), np.uint8))
    state = torch.from_numpy(rng.normal(size=(batch, steps, 10)).astype(np.float32))
    dt = torch.full((batch, steps), 0.05)
    return images, state, dt


@pytest.mark.parametrize(("channels", "size", "flat"), [
    ((16, 32, 32, 32), 64, 32 * 4 * 4), ((16, 32, 32), 64, 32 * 8 * 8),
    ((16, 32, 32, 32), 32, 32 * 2 * 2), ((8,), 64, 8 * 16 * 16),
])
def test_output_shape_and_final_map_like_conv_encoder(channels, size, flat):
    patch = PatchEncoder(3, size, size, channels, 24)
    assert patch.fc.in_features == flat
    if len(channels) > 1:  # same final map as the legacy encoder with the same channels
        assert ConvEncoder(3, size, size, channels, 24).fc.in_features == flat
    out = patch(torch.rand(7, 3, size, size))
    assert out.shape == (7, 24) and (out >= 0).all()


def test_gradients_reach_every_parameter():
    encoder = PatchEncoder(3, 64, 64, (16, 32, 32, 32), 32)
    images = torch.rand(4, 3, 64, 64)
    encoder(images, torch.full((3,), 0.5), torch.full((3,), 0.25)).square().sum().backward()
    for name, param in encoder.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_folded_normalisation_equals_normalising_first():
    torch.manual_seed(0)
    encoder = PatchEncoder(3, 64, 64, (16, 32, 32, 32), 32)
    images = torch.rand(6, 64, 64, 3).permute(0, 3, 1, 2)  # NHWC memory, as the policy passes
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    folded = encoder(images, mean, std)
    plain = encoder((images - mean[:, None, None]) / std[:, None, None])
    torch.testing.assert_close(folded, plain, atol=1e-5, rtol=1e-5)


def test_bad_sizes_and_kinds_raise():
    with pytest.raises(ValueError, match="divisible by 4"):
        PatchEncoder(3, 62, 64, (16,), 8)
    with pytest.raises(ValueError, match="encoder must be one of"):
        make_encoder("vit", 3, 64, 64, (16,), 8)
    with pytest.raises(ValueError, match="encoder must be one of"):
        PolicyConfig(encoder="vit")


def test_channels_last_and_bf16_close_to_fp32():
    torch.manual_seed(1)
    encoder = PatchEncoder(3, 64, 64, (16, 32, 32, 32), 32)
    images = torch.rand(8, 3, 64, 64)
    reference = encoder(images)
    last = encoder.to(memory_format=torch.channels_last)(
        images.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(last, reference, atol=1e-5, rtol=1e-5)
    encoder.to(memory_format=torch.contiguous_format)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = encoder(images)
    assert low.dtype == torch.bfloat16
    # bf16 keeps 8 bits of mantissa: a few percent of the features' scale
    scale = reference.abs().max()
    assert (low.float() - reference).abs().max() <= 0.05 * scale


def test_config_field_round_trip_and_legacy_default(tmp_path):
    config = PolicyConfig(cell="cfc", image_height=32, image_width=32)
    assert config.encoder == "patch"
    assert PolicyConfig.from_dict(config.to_dict()) == config
    legacy = config.to_dict()
    del legacy["encoder"]  # a config saved before the field existed
    assert PolicyConfig.from_dict(legacy).encoder == "conv"
    policy = LiquidPolicy(config)
    assert isinstance(policy.encoder, PatchEncoder)
    save_policy(tmp_path / "p.pt", policy.eval(), {})
    loaded = load_policy(tmp_path / "p.pt")
    assert loaded.config == config and isinstance(loaded.encoder, PatchEncoder)
    images, state, dt = _inputs(size=32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(images, state, dt)[0], policy(images, state, dt)[0],
                                   atol=0, rtol=0)


def test_patch_policy_step_equals_forward_and_trains():
    policy = LiquidPolicy(PolicyConfig(cell="cfc", image_height=32, image_width=32))
    images, state, dt = _inputs(size=32)
    with torch.no_grad():
        actions, _, _ = policy(images, state, dt)
    stepped = np.stack([policy.step(images[0, t].numpy(), state[0, t].numpy(), 0.05)
                        for t in range(images.shape[1])])
    np.testing.assert_allclose(stepped, actions[0].numpy(), atol=2e-6, rtol=0)
    policy.train()
    policy(images.float() / 255, state, dt)[0].square().mean().backward()
    assert policy.encoder.patch.weight.grad is not None


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_shipped_checkpoints_keep_the_legacy_encoder_and_actions(name):
    policy = load_policy(CHECKPOINTS / f"{name}.pt")
    assert policy.config.encoder == "conv" and isinstance(policy.encoder, ConvEncoder)
    images, state, dt = _inputs()
    with torch.no_grad():
        actions, _, _ = policy(images, state, dt)
    np.testing.assert_allclose(actions[:, -1].numpy(), np.asarray(REFERENCE[name], np.float32),
                               atol=1e-5, rtol=0)
    assert PolicyConfig.from_dict(policy.config.to_dict()) == policy.config
