"""Saliency over the camera image: which pixels move the policy's action.

Gradient x input (Shrikumar et al., 2016; Ancona et al., ICLR 2018): for each step ``t``, the
gradient of the size of the normalised action, ``sum_i |(a_i - mean_i) / scale_i|``, with
respect to that step's image, times the image, summed over colour channels. The recurrent
state is carried through the sequence but detached between steps, so the map of step ``t``
shows what that frame contributes given the memory so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def saliency_maps(
    policy: Any, images: np.ndarray, states: np.ndarray, dt: np.ndarray | float = 0.1,
    hx: Any = None,
) -> np.ndarray:
    """Gradient-x-input saliency for a sequence of observations.

    Args:
        policy: A ``LiquidPolicy`` (left in its current train/eval mode; weights unchanged).
        images: (T, H, W, 3) uint8 RGB frames.
        states: (T, S) state vectors.
        dt: (T,) elapsed times (s), or one float for all steps.
        hx: Recurrent state before the first step (None: zeros).

    Returns:
        (T, H, W) float32 maps in [0, 1] (each frame scaled by its own maximum; an all-zero
        gradient gives an all-zero map).

    Raises:
        ValueError: If the shapes disagree or dt is not positive.
    """
    images = np.asarray(images)
    states = np.asarray(states, np.float32)
    if images.ndim != 4 or states.ndim != 2 or len(images) != len(states):
        raise ValueError(f"images (T, H, W, C) and states (T, S) must have the same T, got "
                         f"{images.shape} and {states.shape}")
    steps = len(images)
    dts = np.broadcast_to(np.asarray(dt, np.float32), (steps,))
    if not np.all(dts > 0):
        raise ValueError("dt must be positive")
    mean = policy.action_mean.detach()
    scale = policy.action_scale.detach()
    maps = np.zeros(images.shape[:3], np.float32)
    for t in range(steps):
        x = torch.from_numpy(images[t].astype(np.float32) / 255.0)[None, None].requires_grad_()
        s = torch.from_numpy(states[t])[None, None]
        d = torch.tensor([[float(dts[t])]])
        with torch.enable_grad():
            act, _, new_hx = policy(x, s, d, hx)
            out = ((act - mean) / scale).abs().sum()
            (grad,) = torch.autograd.grad(out, x)
        sal = (grad * x).detach()[0, 0].abs().sum(-1).numpy()
        peak = float(sal.max())
        maps[t] = sal / peak if peak > 0 and np.isfinite(peak) else 0.0
        hx = _detach(new_hx)
    return maps


def _detach(hx: Any) -> Any:
    if isinstance(hx, torch.Tensor):
        return hx.detach()
    if isinstance(hx, (tuple, list)):
        return type(hx)(_detach(h) for h in hx)
    return hx
