"""Imitation learning by backpropagation through time over fixed-length sequences.

One :class:`Trainer` holds the policy, the optimiser and the data; :meth:`Trainer.fit` runs
epochs over shuffled windows (seeded), with photometric augmentation, a masked MSE on
normalised actions (each action dimension divided by its data std, so m/s^2 and rad/s weigh
alike), gradient clipping, and a validation split of whole episodes. With ``barriernet`` the
nominal acceleration goes through the differentiable safety layer with the network's class-K
gains before the loss (Xiao et al., BarrierNet, T-RO 2023).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from liquid_ros.train.dataset import Episode
from liquid_ros.train.sequences import (
    AugmentConfig,
    Batch,
    augment,
    make_batch,
    normalisation_stats,
    window_index,
)


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of imitation training."""

    epochs: int = 30
    """Passes over the training windows (per DAgger round, the same again)."""
    seq_len: int = 64
    """BPTT window length T (policy steps)."""
    batch_size: int = 16
    """Windows per gradient step."""
    lr: float = 3e-3
    """Adam learning rate (cosine-decayed to 10 % over the run)."""
    weight_decay: float = 1e-5
    """Adam weight decay."""
    grad_clip: float = 1.0
    """Global gradient-norm clip."""
    val_fraction: float = 0.1
    """Fraction of episodes held out for validation (at least one when there are >= 5)."""
    max_steps: int | None = None
    """Stop after this many gradient steps in total (tiny smoke runs), or None."""
    seed: int = 0
    """Seed of initialisation, shuffling and augmentation."""
    augment: AugmentConfig = AugmentConfig()
    """Image and state augmentation."""
    barriernet: bool = False
    """Train through the differentiable safety layer with network-produced gains."""
    readout_lr_scale: float = 10.0
    """Learning-rate multiplier for a cfc policy's motor readout (``MotorReadout``): its gains
    start at 1 and must grow to several data stds to reach the large expert actions."""
    ltc_lr_scale: float = 5.0
    """Learning-rate multiplier for the head of an "ltc" policy: a step of the LTC's
    conductance-based synapse parameters moves its outputs far less than the same step of
    the CNN's weights (on fly_to_target, 5 took 200 steps from 0.96 to 0.70 validation loss)."""


@dataclass
class History:
    """Loss per epoch and timing."""

    train: list[float] = field(default_factory=list)
    """Mean training loss per epoch."""
    val: list[float] = field(default_factory=list)
    """Validation loss per epoch (empty without a validation split)."""
    steps: int = 0
    """Gradient steps taken."""
    seconds: float = 0.0
    """Wall time spent in :meth:`Trainer.fit`."""


def split_episodes(episodes: list[Episode], val_fraction: float, seed: int
                   ) -> tuple[list[Episode], list[Episode]]:
    """Seeded split of whole episodes into (train, validation)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    n_val = int(round(len(episodes) * val_fraction)) if len(episodes) >= 5 else 0
    if val_fraction > 0 and len(episodes) >= 5:
        n_val = max(1, n_val)
    order = np.random.default_rng(seed).permutation(len(episodes))
    val = [episodes[i] for i in sorted(order[:n_val])]
    train = [episodes[i] for i in sorted(order[n_val:])]
    return train, val


class Trainer:
    """BPTT imitation trainer for a ``LiquidPolicy``.

    Args:
        policy: The policy (its normalisation buffers are set from the data by :meth:`fit`).
        config: Hyperparameters.
        safety_config: Barrier set of the BarrierNet layer (only with ``config.barriernet``).
    """

    def __init__(self, policy: torch.nn.Module, config: TrainConfig,
                 safety_config: Any = None) -> None:
        self.policy = policy
        self.config = config
        self.gen = torch.Generator().manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.history = History()
        self.layer = None
        if config.barriernet:
            from liquid_ros.safety.layer import BarrierLayer

            self.layer = BarrierLayer(safety_config) if safety_config else BarrierLayer()
        self.action_std = torch.ones(4)
        self._normalised = False
        self.opt = torch.optim.Adam(_param_groups(policy, config), lr=config.lr,
                                    weight_decay=config.weight_decay)

    def keep_normalisation(self) -> None:
        """Keep the policy's normalisation (a fine-tuned checkpoint) instead of the data's."""
        self.action_std = self.policy.action_scale.detach().clone()
        self._normalised = True

    def loss(self, batch: Batch) -> torch.Tensor:
        """Masked MSE of normalised actions for one batch (B, T)."""
        actions, gains, _ = self.policy(batch.images, batch.states, batch.dt)
        if self.layer is not None:
            if gains is None:
                raise ValueError("barriernet needs a policy with n_gains > 0")
            g = gains.reshape(*gains.shape[:2], -1, 2) if gains.shape[-1] > 2 else gains
            leader = batch.goals if "leader_distance" in self.layer.names else None
            safe = self.layer(batch.positions.double(), batch.velocities.double(),
                              actions[..., :3].double(), g.double(),
                              None if leader is None else leader.double())
            actions = torch.cat([safe.to(actions.dtype), actions[..., 3:]], dim=-1)
        err = ((actions - batch.actions) / self.action_std) ** 2
        mask = batch.mask[..., None]
        return (err * mask).sum() / (mask.sum() * err.shape[-1]).clamp_min(1.0)

    def train_step(self, batch: Batch) -> float:
        """One gradient step on ``batch``: forward, loss, backward, clipping, Adam.

        Returns:
            The batch's loss before the step.
        """
        loss = self.loss(batch)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.config.grad_clip)
        self.opt.step()
        return float(loss.detach())

    def _evaluate(self, episodes: list[Episode]) -> float:
        if not episodes:
            return float("nan")
        windows = window_index(episodes, self.config.seq_len)
        total, count = 0.0, 0
        self.policy.eval()
        with torch.no_grad():
            for i in range(0, len(windows), self.config.batch_size):
                chunk = windows[i:i + self.config.batch_size]
                total += float(self.loss(make_batch(episodes, chunk, self.config.seq_len))
                               ) * len(chunk)
                count += len(chunk)
        self.policy.train()
        return total / count

    def fit(self, episodes: list[Episode], epochs: int | None = None,
            progress: bool = True, desc: str = "train") -> History:
        """Train on ``episodes`` for ``epochs`` (default ``config.epochs``).

        Normalisation (state mean/std, action mean/std) is computed from all given episodes and
        stored in the policy before the very first step; later calls (DAgger rounds) keep it, so
        what the network has learnt keeps its meaning.

        Raises:
            ValueError: If there are no episodes.
        """
        if not episodes:
            raise ValueError("episodes must not be empty")
        cfg = self.config
        epochs = cfg.epochs if epochs is None else int(epochs)
        if not self._normalised:
            stats = normalisation_stats(episodes)
            set_normalisation(self.policy, stats)
            self.action_std = torch.from_numpy(stats["action_std"])
            self._normalised = True
        train, val = split_episodes(episodes, cfg.val_fraction, cfg.seed)
        windows = window_index(train, cfg.seq_len)
        per_epoch = math.ceil(len(windows) / cfg.batch_size)
        total = epochs * per_epoch
        if cfg.max_steps is not None:
            total = min(total, cfg.max_steps - self.history.steps)
        sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s / max(
                total, 1), 1.0))))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=max(total, 0), desc=desc, unit="step", dynamic_ncols=True)
        start = time.monotonic()
        done = 0
        self.policy.train()
        try:
            for _ in range(epochs):
                if done >= total:
                    break
                order = self.rng.permutation(len(windows))
                losses = []
                for i in range(0, len(order), cfg.batch_size):
                    if done >= total:
                        break
                    chunk = [windows[j] for j in order[i:i + cfg.batch_size]]
                    batch = augment(make_batch(train, chunk, cfg.seq_len), cfg.augment,
                                    self.gen)
                    losses.append(self.train_step(batch))
                    sched.step()
                    done += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{losses[-1]:.4f}")
                self.history.train.append(float(np.mean(losses)) if losses else float("nan"))
                if val:
                    self.history.val.append(self._evaluate(val))
                    if bar is not None:
                        bar.set_postfix(loss=f"{self.history.train[-1]:.4f}",
                                        val=f"{self.history.val[-1]:.4f}")
        finally:
            if bar is not None:
                bar.close()
        self.history.steps += done
        self.history.seconds += time.monotonic() - start
        return self.history


def _param_groups(policy: torch.nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """Optimiser groups, each with its learning rate.

    An LTC head gets ``ltc_lr_scale`` and a motor readout ``readout_lr_scale`` times the
    learning rate; everything else the learning rate itself.
    """
    cell = getattr(getattr(policy, "config", None), "cell", None)
    scaled: list[tuple[list[torch.nn.Parameter], float]] = []
    head, readout = getattr(policy, "head", None), getattr(policy, "readout", None)
    if cell == "ltc" and head is not None and config.ltc_lr_scale != 1.0:
        scaled.append((list(head.parameters()), config.ltc_lr_scale))
    if readout is not None and config.readout_lr_scale != 1.0:
        scaled.append((list(readout.parameters()), config.readout_lr_scale))
    taken = {id(p) for params, _ in scaled for p in params}
    groups = [{"params": [p for p in policy.parameters() if id(p) not in taken]}]
    groups += [{"params": params, "lr": config.lr * scale} for params, scale in scaled if params]
    return groups


def set_normalisation(policy: torch.nn.Module, stats: dict[str, np.ndarray]) -> None:
    """Store data statistics in the policy's normalisation buffers."""
    policy.set_normalization(state_mean=stats["state_mean"], state_std=stats["state_std"],
                             action_mean=stats["action_mean"], action_scale=stats["action_std"])
