"""TorchScript export of the stepping policy gives the same actions as the policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_ros.models import LiquidPolicy, PolicyConfig, export_torchscript, flat_state_size
from liquid_ros.models.export import load_torchscript


@pytest.mark.parametrize("cell", ["ltc", "cfc", "lstm", "ctrnn", "mlp"])
def test_torchscript_step_matches_policy(tmp_path, cell):
    policy = LiquidPolicy(PolicyConfig(cell=cell, image_height=32, image_width=32, n_gains=1))
    policy.set_normalization(action_scale=[2.0, 2.0, 2.0, 0.5])
    path = tmp_path / "step.pt"
    export_torchscript(policy, path)
    module = load_torchscript(path)
    rng = np.random.default_rng(0)
    h = torch.zeros(1, flat_state_size(policy))
    policy.reset()
    for _ in range(6):
        image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        state = rng.normal(size=10).astype(np.float32)
        dt = float(rng.uniform(0.02, 0.2))
        expected = policy.step(image, state, dt)
        with torch.no_grad():
            out, h = module(torch.from_numpy(image)[None], torch.from_numpy(state)[None],
                            torch.tensor([[dt]]), h)
        np.testing.assert_allclose(out[0, :4].numpy(), expected, atol=2e-6, rtol=0)
        np.testing.assert_allclose(out[0, 4:].numpy(), policy.last_gains, atol=2e-6, rtol=0)
