"""Expert demonstrations: the data of ``liquid-ros collect``.

The privileged expert flies each episode with Ornstein-Uhlenbeck exploration noise on its action
(see :class:`~liquid_ros.rollouts.episodes.ExplorationNoise`), so the data also shows states off
the expert's own path and how it recovers from them, the usual remedy for compounding errors in
imitation learning; the stored label is always the expert's clean action.

Episodes run in parallel local processes and are saved one file per seed as they finish; an
interrupted run is resumed by running the same command again (finished seeds are skipped).
"""

from __future__ import annotations

from pathlib import Path

from liquid_ros.rollouts.episodes import ExpertEpisode, ExplorationNoise
from liquid_ros.rollouts.runner import Backend, LocalBackend, RolloutReport, run_episodes
from liquid_ros.train.dataset import is_complete, save_episode, write_manifest


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
