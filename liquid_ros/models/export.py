"""TorchScript export of a policy's stepping function, for deployment without this package.

The exported module computes one control tick at batch 1:
``(image (1, H, W, C) uint8, state (1, S), dt (1, 1) s, h (1, K)) -> (action (1, A), h')``,
with the head state flattened to K floats (LSTM: [h, c]; MLP: K = 1, unused). Gains, if any,
follow the action in the output: (1, A + G).
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import nn

from liquid_ros.models.baselines import GatedRNNHead, LiquidHead, MLPHead
from liquid_ros.models.policy import LiquidPolicy


def flat_state_size(policy: LiquidPolicy) -> int:
    """Size K of the flattened head state of the exported step."""
    head = policy.head
    if isinstance(head, LiquidHead):
        return head.rnn.state_size * (2 if head.rnn.use_mixed else 1)
    if isinstance(head, GatedRNNHead):
        size = head.rnn.hidden_size
        return 2 * size if isinstance(head.rnn, nn.LSTM) else size
    if isinstance(head, MLPHead):
        return 1
    return head.hidden_size


class PolicyStep(nn.Module):
    """Traceable batch-1 step of a ``LiquidPolicy`` with an explicit flat state."""

    def __init__(self, policy: LiquidPolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(
        self, image: torch.Tensor, state: torch.Tensor, dt: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See the module docstring."""
        policy, head = self.policy, self.policy.head
        x = policy._inputs(image[:, None], state[:, None])[:, 0]
        if isinstance(head, LiquidHead):
            rnn = head.rnn
            n = rnn.state_size
            hx = (h[:, :n], h[:, n:]) if rnn.use_mixed else h
            h0, c0 = (hx if rnn.use_mixed else (hx, None))
            if rnn.use_mixed:
                h0, c0 = rnn.lstm(x, (h0, c0))
            raw, h1 = _cell_step(rnn, x, h0, dt)
            new_h = torch.cat([h1, c0], 1) if rnn.use_mixed else h1
        elif isinstance(head, GatedRNNHead):
            if isinstance(head.rnn, nn.LSTM):
                n = head.rnn.hidden_size
                raw, (h1, c1) = head.step(x, (h[None, :, :n], h[None, :, n:]), 0.0)
                new_h = torch.cat([h1[0], c1[0]], 1)
            else:
                raw, h1 = head.step(x, h[None], 0.0)
                new_h = h1[0]
        elif isinstance(head, MLPHead):
            raw, _ = head.step(x, None, 0.0)
            new_h = h
        else:
            raw, new_h = head.step(x, h, dt)
        actions, gains = policy._outputs(raw)
        out = actions if gains is None else torch.cat([actions, gains], -1)
        return out, new_h


def _cell_step(rnn, x, h, dt):
    if hasattr(rnn, "cells"):  # CfC: the fused per-layer step
        fused = rnn._fused()
        y, h = rnn._layer_step(torch.addmm(fused[0][2], x, fused[0][0].t()), h, None, dt, fused)
        return rnn.fc(y), h
    return rnn.rnn_cell(x, h, dt)


def export_torchscript(
    policy: LiquidPolicy, path: str | os.PathLike | None = None
) -> torch.jit.ScriptModule:
    """Trace the policy's step into TorchScript (and save it when ``path`` is given).

    Returns:
        The traced module; call it with ``(image, state, dt, h)`` as in the module docstring,
        starting from ``h = torch.zeros(1, flat_state_size(policy))``.
    """
    cfg = policy.config
    step = PolicyStep(policy).eval()
    example = (
        torch.zeros(1, cfg.image_height, cfg.image_width, cfg.image_channels, dtype=torch.uint8),
        torch.zeros(1, cfg.state_dim),
        torch.full((1, 1), 0.05),
        torch.zeros(1, flat_state_size(policy)),
    )
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript is deprecated in recent torch but remains the deployable format here;
        # tracer warnings concern nn.LSTM shape checks, constant at batch 1.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(step, example, check_trace=False)
    if path is not None:
        traced.save(str(path))
    return traced


def load_torchscript(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """Load an exported step module (TorchScript deprecation warning silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path))
