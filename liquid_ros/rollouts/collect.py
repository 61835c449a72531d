"""``liquid-ros collect``: record expert demonstrations.

The privileged expert flies each episode with Ornstein-Uhlenbeck exploration noise on its action
(see :class:`~liquid_ros.rollouts.episodes.ExplorationNoise`), so the data also shows states off
the expert's own path and how it recovers from them, the usual remedy for compounding errors in
imitation learning; the stored label is always the expert's clean action.

Episodes run in parallel local processes and are saved one file per seed as they finish; an
interrupted run is resumed by running the same command again (finished seeds are skipped).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from liquid_ros.rollouts.backends import add_backend_arguments, backend_from_args, throughput
from liquid_ros.rollouts.episodes import ExpertEpisode, ExplorationNoise
from liquid_ros.rollouts.runner import Backend, LocalBackend, RolloutReport, run_episodes
from liquid_ros.train.dataset import is_complete, save_episode, write_manifest


def parse_env_kwargs(items: list[str] | None) -> dict[str, object]:
    """Parse ``KEY=VALUE`` items (VALUE as JSON when it parses, else a string)."""
    out: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--env-arg must look like KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquid-ros collect", description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, help="fly_to_target or leader_follow")
    p.add_argument("--episodes", type=int, required=True, help="number of episodes")
    p.add_argument("--out", required=True, help="dataset folder (created; resumable)")
    add_backend_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="first seed; episodes use seed..seed+N-1")
    p.add_argument("--retries", type=int, default=1, help="extra attempts for a failed episode")
    p.add_argument("--noise-accel", type=float, default=ExplorationNoise.accel_std,
                   help="exploration noise std on acceleration (m/s^2); 0 disables")
    p.add_argument("--noise-yaw", type=float, default=ExplorationNoise.yaw_rate_std,
                   help="exploration noise std on yaw rate (rad/s)")
    p.add_argument("--env-arg", action="append", metavar="KEY=VALUE",
                   help="keyword argument for the environment (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


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


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros collect``; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        env_kwargs = parse_env_kwargs(args.env_arg)
        noise = ExplorationNoise(accel_std=args.noise_accel, yaw_rate_std=args.noise_yaw)
        start = time.monotonic()
        backend = backend_from_args(args)
        try:
            manifest, report = collect(
                args.task, args.episodes, args.out, seed=args.seed, retries=args.retries,
                noise=noise, env_kwargs=env_kwargs, progress=not args.no_progress,
                backend=backend)
        finally:
            backend.close()
    except (ValueError, ImportError, ConnectionError) as err:
        print(f"liquid-ros collect: {err}", file=sys.stderr)
        return 2
    for f in report.failures:
        print(f"episode seed {f.seed} failed after {f.attempts} attempts: {f.error}",
              file=sys.stderr)
    successes = sum(1 for e in manifest["episodes"] if e.get("success"))
    new = [e for e in manifest["episodes"] if e["seed"] in report.results]
    print(throughput(len(new), sum(float(e["duration_s"]) for e in new),
                     time.monotonic() - start))
    print(f"{manifest['num_episodes']} episodes ({manifest['num_steps']} steps, "
          f"{successes} expert successes) in {args.out}; "
          f"{len(report.results)} new in {time.monotonic() - start:.1f} s")
    return 1 if report.failures else 0
