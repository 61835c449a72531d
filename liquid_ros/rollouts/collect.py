"""Expert demonstrations: the data of ``liquid-ros collect``.

The privileged expert flies each episode with Ornstein-Uhlenbeck exploration noise on its action
(see :class:`~liquid_ros.rollouts.episodes.ExplorationNoise`), so the data also shows states off
the expert's own path and how it recovers from them, the usual remedy for compounding errors in
imitation learning; the stored label is always the expert's clean action.

Episodes run in parallel local processes and are saved one file per seed as they finish; an
interrupted run is resumed by running the same command again (finished seeds are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from liquid_ros.rollouts.episodes import ExpertEpisode, ExplorationNoise
from liquid_ros.rollouts.runner import Backend, LocalBackend, RolloutReport, run_episodes
from liquid_ros.train.dataset import is_complete, save_episode, write_manifest


@dataclass(frozen=True, kw_only=True)
class CollectConfig:
    """One expert collection: what ``liquid-ros collect`` parses (its flags are these fields)."""

    task: str
    """Task (env name or alias)."""
    episodes: int
    """Number of episodes."""
    out: str
    """Dataset folder (created; resumable)."""
    seed: int = 0
    """First seed; episodes use seed..seed+N-1."""
    retries: int = 1
    """Extra attempts for a failed episode."""
    noise_accel: float = ExplorationNoise.accel_std
    """Exploration noise std on acceleration (m/s^2); 0 disables."""
    noise_yaw: float = ExplorationNoise.yaw_rate_std
    """Exploration noise std on yaw rate (rad/s)."""
    env_kwargs: dict = field(default_factory=dict)
    """Keyword arguments for the environment."""
    progress: bool = True
    """Show a progress bar."""

    def noise(self) -> ExplorationNoise:
        """The exploration noise of these settings."""
        return ExplorationNoise(accel_std=self.noise_accel, yaw_rate_std=self.noise_yaw)


def run_collect(cfg: CollectConfig, backend: Backend | None = None
                ) -> tuple[dict[str, object], RolloutReport]:
    """:func:`collect` as ``cfg`` says, on ``backend`` (default: inline)."""
    return collect(cfg.task, cfg.episodes, cfg.out, seed=cfg.seed, retries=cfg.retries,
                   noise=cfg.noise(), env_kwargs=cfg.env_kwargs, progress=cfg.progress,
                   backend=backend)


def collect(
    task: str, episodes: int, out: str | Path, *, workers: int = 1, seed: int = 0,
    retries: int = 1, noise: ExplorationNoise | None = None,
    env_kwargs: dict[str, object] | None = None, progress: bool = True,
    backend: Backend | None = None,
) -> tuple[dict[str, object], RolloutReport]:
    """Record ``episodes`` expert episodes (seeds ``seed .. seed + episodes - 1``) into ``out``.

    Episodes run on ``backend`` (default: ``LocalBackend(workers)``).

    Returns:
        The manifest written and the rollout report (with any failures).

    Raises:
        ValueError: If ``episodes`` < 1 or ``seed`` < 0.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    noise = ExplorationNoise() if noise is None else noise
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(seed, seed + episodes))
    todo = [s for s in seeds if not is_complete(out, s)]
    fn = ExpertEpisode(task=task, env_kwargs=dict(env_kwargs or {}), noise=noise)
    report = run_episodes(
        fn, todo, backend or LocalBackend(workers), retries=retries, progress=progress,
        desc=f"collect {task}", on_result=lambda _s, ep: save_episode(out, ep))
    info = {"task": task, "env_kwargs": dict(env_kwargs or {}), "action_repeat": fn.action_repeat,
            "noise": {"accel_std": noise.accel_std, "yaw_rate_std": noise.yaw_rate_std,
                      "time_constant": noise.time_constant}}
    return write_manifest(out, info), report
