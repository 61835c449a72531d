"""``liquid-ros record-sim``: fly simulated episodes and record them as rosbag2 (MCAP), no ROS.

One bag folder per episode, ``OUT/episode_<seed>/``; the flyer is the expert (optionally with
exploration noise) or, with ``--checkpoint``, a policy behind the safety filter. Topics and
metadata: see :mod:`liquid_ros.bags.record`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from liquid_ros.bags.writer import STORAGES
from liquid_ros.cli.options import fail, parse_config


@dataclass(frozen=True, kw_only=True)
class RecordSimArgs:
    """Options of ``liquid-ros record-sim``."""

    task: str
    """Task (env name or alias)."""
    episodes: int
    """Number of episodes."""
    out: str
    """Folder of bag folders (created)."""
    seed: int = 0
    """First seed; episodes use seed..seed+N-1."""
    checkpoint: str | None = None
    """Fly this policy instead of the expert."""
    action_repeat: int = 5
    """Control ticks per policy step."""
    storage: str = field(default="mcap", metadata={"cli": {"choices": list(STORAGES)}})
    """rosbag2 storage."""
    noise_accel: float = 0.0
    """Expert exploration noise std (m/s^2)."""
    noise_yaw: float = 0.0
    """Expert exploration noise std (rad/s)."""
    env_kwargs: dict = field(default_factory=dict)
    """Keyword arguments for the environment."""
    progress: bool = True
    """Show a progress bar."""


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros record-sim``; returns the exit code."""
    from liquid_ros.bags.record import record_episodes
    from liquid_ros.rollouts.episodes import ExplorationNoise

    start = time.monotonic()
    try:
        args, _ = parse_config(RecordSimArgs, argv, "liquid-ros record-sim", __doc__,
                               overrides={"checkpoint": {}})
        results = record_episodes(
            args.out, args.task, args.episodes, args.seed, checkpoint=args.checkpoint,
            action_repeat=args.action_repeat,
            noise=ExplorationNoise(accel_std=args.noise_accel, yaw_rate_std=args.noise_yaw),
            env_kwargs=args.env_kwargs, storage=args.storage, progress=args.progress)
    except (ValueError, OSError) as err:
        return fail("record-sim", err)
    wins = sum(r["success"] for r in results)
    print(f"recorded {len(results)} bags ({sum(r['steps'] for r in results)} frames, "
          f"{wins} successes) in {args.out} in {time.monotonic() - start:.1f} s")
    return 0
