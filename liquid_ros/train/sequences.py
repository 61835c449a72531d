"""Training sequences cut from episodes, batching, and image augmentation.

Episodes are cut into windows of ``seq_len`` steps (stride ``seq_len // 2``, so every step is
seen in two contexts); the last window of an episode is aligned to its end, and an episode
shorter than ``seq_len`` gives one window padded with a zero mask. Windows start the recurrent
state from zero, as at the start of a flight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from liquid_ros.train.dataset import Episode


@dataclass(frozen=True)
class AugmentConfig:
    """Photometric augmentation, drawn once per sequence (a lighting change lasts)."""

    brightness: float = 0.15
    """Largest additive brightness shift, as a fraction of full scale."""
    contrast: float = 0.2
    """Largest relative contrast change: images scale about their mean by 1 +- this."""
    noise_std: float = 0.02
    """Per-pixel Gaussian noise std, as a fraction of full scale."""
    state_noise_std: float = 0.01
    """Gaussian noise std added to the state vector (its units)."""


@dataclass
class Batch:
    """A batch of B windows of T steps (tensors, batch first)."""

    images: torch.Tensor
    """(B, T, H, W, 3) uint8 in [0, 255], or float32 in [0, 1] after augmentation."""
    states: torch.Tensor
    """(B, T, 10) float32."""
    dt: torch.Tensor
    """(B, T) float32 seconds."""
    actions: torch.Tensor
    """(B, T, 4) float32 labels."""
    mask: torch.Tensor
    """(B, T) float32: 1 on real steps, 0 on padding."""
    positions: torch.Tensor
    """(B, T, 3) float32 privileged position (m), for the barrier layer."""
    velocities: torch.Tensor
    """(B, T, 3) float32 privileged velocity (m/s)."""
    goals: torch.Tensor
    """(B, T, 3) float32 privileged goal position (m)."""


def window_index(episodes: list[Episode], seq_len: int) -> list[tuple[int, int]]:
    """All windows as ``(episode index, start step)``.

    Args:
        episodes: Episodes.
        seq_len: Window length T (>= 1).

    Raises:
        ValueError: If ``seq_len`` < 1.
    """
    if int(seq_len) != seq_len or seq_len < 1:
        raise ValueError(f"seq_len must be an integer >= 1, got {seq_len!r}")
    stride = max(1, seq_len // 2)
    index: list[tuple[int, int]] = []
    for i, ep in enumerate(episodes):
        last = max(0, ep.steps - seq_len)
        starts = list(range(0, last + 1, stride))
        if starts[-1] != last:
            starts.append(last)
        index.extend((i, s) for s in starts)
    return index


def make_batch(
    episodes: list[Episode], windows: list[tuple[int, int]], seq_len: int
) -> Batch:
    """Stack the given windows into a :class:`Batch` (images stay uint8)."""
    b = len(windows)
    first = episodes[windows[0][0]]
    h, w, c = first.images.shape[1:]
    images = np.zeros((b, seq_len, h, w, c), np.uint8)
    states = np.zeros((b, seq_len, first.states.shape[1]), np.float32)
    dt = np.zeros((b, seq_len), np.float32)
    actions = np.zeros((b, seq_len, first.actions.shape[1]), np.float32)
    mask = np.zeros((b, seq_len), np.float32)
    pos = np.zeros((b, seq_len, 3), np.float32)
    vel = np.zeros((b, seq_len, 3), np.float32)
    goals = np.zeros((b, seq_len, 3), np.float32)
    for k, (i, s) in enumerate(windows):
        ep = episodes[i]
        n = min(seq_len, ep.steps - s)
        sl = slice(s, s + n)
        images[k, :n] = ep.images[sl]
        states[k, :n] = ep.states[sl]
        dt[k, :n] = ep.dt[sl]
        # padding keeps a valid dt so the ODE stays well posed on masked steps
        dt[k, n:] = ep.dt[s + n - 1]
        actions[k, :n] = ep.actions[sl]
        mask[k, :n] = 1.0
        pos[k, :n] = ep.positions[sl]
        vel[k, :n] = ep.velocities[sl]
        goals[k, :n] = ep.goals[sl]
    t = torch.from_numpy
    return Batch(t(images), t(states), t(dt), t(actions), t(mask), t(pos), t(vel), t(goals))


def augment(batch: Batch, config: AugmentConfig, generator: torch.Generator) -> Batch:
    """Return a copy of ``batch`` with jittered images (float32 in [0, 1]) and states.

    Each sequence's images x (pixels / 255 for uint8) become
    ``clip((x - mean) * contrast + mean + brightness + noise, 0, 1)``, computed as one affine
    map of the raw pixels written over the noise: a handful of passes over the (B, T, H, W, C)
    images instead of a dozen, which on 2 cores took longer than a training step.
    """
    images = batch.images
    unit = 1.0 / 255.0 if images.dtype == torch.uint8 else 1.0
    shape = (images.shape[0],) + (1,) * (images.dim() - 1)
    bright = (torch.rand(shape, generator=generator) * 2 - 1) * config.brightness
    contrast = 1.0 + (torch.rand(shape, generator=generator) * 2 - 1) * config.contrast
    dims = tuple(range(1, images.dim()))
    mean = images.sum(dim=dims, keepdim=True, dtype=torch.float32) * (unit / images[0].numel())
    offset = mean * (1.0 - contrast) + bright
    img = torch.empty(images.shape)
    if config.noise_std > 0:
        img.normal_(0.0, config.noise_std, generator=generator).add_(offset)
    else:
        img.copy_(offset.expand(images.shape))
    img.addcmul_(images, contrast * unit).clamp_(0.0, 1.0)
    states = batch.states
    if config.state_noise_std > 0:
        states = states + torch.randn(states.shape, generator=generator) * config.state_noise_std
    return Batch(img, states, batch.dt, batch.actions, batch.mask, batch.positions,
                 batch.velocities, batch.goals)


def normalisation_stats(episodes: list[Episode]) -> dict[str, np.ndarray]:
    """Per-dimension mean and std of states and action labels over all steps.

    Returns:
        ``state_mean``, ``state_std`` (S,), ``action_mean``, ``action_std`` (A,), float32; a
        std below 1e-3 is raised to 1e-3 so constant dimensions do not blow up.
    """
    states = np.concatenate([e.states for e in episodes]).astype(np.float64)
    actions = np.concatenate([e.actions for e in episodes]).astype(np.float64)

    def std(x: np.ndarray) -> np.ndarray:
        return np.maximum(x.std(axis=0), 1e-3).astype(np.float32)

    return {"state_mean": states.mean(axis=0).astype(np.float32), "state_std": std(states),
            "action_mean": actions.mean(axis=0).astype(np.float32), "action_std": std(actions)}
