"""PNG plots for training and evaluation (matplotlib, headless Agg back end)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the back end must be chosen first
import numpy as np  # noqa: E402


def _save(fig: plt.Figure, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_loss(
    train: Sequence[float], val: Sequence[float] | None, path: str | os.PathLike[str],
    title: str = "imitation loss",
) -> Path:
    """Loss per epoch (log scale); ``val`` may be None or empty."""
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="train", marker="o", ms=3)
    if val:
        ax.plot(np.arange(1, len(val) + 1), val, label="validation", marker="s", ms=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked MSE (normalised actions)")
    if min(list(train) + list(val or [])) > 0:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_trajectories(
    episodes: Sequence[dict[str, np.ndarray]], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Top view and altitude of several episodes.

    Args:
        episodes: Each with ``positions`` (T, 3), ``goals`` (T, 3), ``time`` (T,) and a bool
            ``success``.
        path: Output PNG.
        title: Figure title.
    """
    fig, (ax_xy, ax_z) = plt.subplots(1, 2, figsize=(11, 4.5))
    for k, ep in enumerate(episodes):
        p, g = np.asarray(ep["positions"]), np.asarray(ep["goals"])
        color = "tab:green" if ep.get("success") else "tab:red"
        ax_xy.plot(p[:, 0], p[:, 1], color=color, lw=1, alpha=0.8,
                   label="drone (success)" if k == 0 else None)
        ax_xy.plot(g[:, 0], g[:, 1], color="k", lw=0.8, ls="--", alpha=0.6,
                   label="goal / leader" if k == 0 else None)
        ax_xy.plot(p[0, 0], p[0, 1], "o", color=color, ms=3)
        ax_xy.plot(g[-1, 0], g[-1, 1], "kx", ms=5)
        ax_z.plot(ep["time"], p[:, 2], color=color, lw=1, alpha=0.8)
        ax_z.plot(ep["time"], g[:, 2], color="k", lw=0.8, ls="--", alpha=0.6)
    ax_xy.set_xlabel("x east (m)")
    ax_xy.set_ylabel("y north (m)")
    ax_xy.set_aspect("equal", adjustable="datalim")
    ax_xy.grid(True, alpha=0.3)
    ax_xy.set_title("top view (green: success, red: failure)")
    ax_z.set_xlabel("time (s)")
    ax_z.set_ylabel("altitude (m)")
    ax_z.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_neuron_activity(
    time: np.ndarray, activity: np.ndarray, path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Hidden-state traces over an episode: heat map (neurons x time) plus line traces.

    Args:
        time: (T,) seconds.
        activity: (T, N) hidden state per step.
        path: Output PNG.
        title: Figure title.
    """
    activity = np.asarray(activity, dtype=float)
    fig, (ax_map, ax_lines) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    extent = (float(time[0]), float(time[-1]), activity.shape[1] - 0.5, -0.5)
    im = ax_map.imshow(activity.T, aspect="auto", extent=extent, cmap="coolwarm",
                       interpolation="nearest")
    fig.colorbar(im, ax=ax_map, label="state")
    ax_map.set_ylabel("neuron")
    ax_lines.plot(time, activity, lw=0.8)
    ax_lines.set_xlabel("time (s)")
    ax_lines.set_ylabel("state")
    ax_lines.grid(True, alpha=0.3)
    if title:
        ax_map.set_title(title)
    return _save(fig, path)


def plot_saliency(
    images: np.ndarray, maps: np.ndarray, path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Camera frames (top row) and their saliency overlays (bottom row).

    Args:
        images: (K, H, W, 3) uint8 frames.
        maps: (K, H, W) saliency in [0, 1].
        path: Output PNG.
        title: Figure title.
    """
    k = len(images)
    fig, axes = plt.subplots(2, k, figsize=(2.2 * k, 4.6), squeeze=False)
    for j in range(k):
        axes[0, j].imshow(images[j])
        axes[1, j].imshow(images[j])
        axes[1, j].imshow(maps[j], cmap="jet", alpha=0.55, vmin=0.0, vmax=1.0)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return _save(fig, path)
