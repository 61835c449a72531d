"""``liquid-ros collect``: record expert demonstrations in simulation.

The privileged expert flies each episode with exploration noise on its action; episodes are
saved one file per seed as they finish, and running the same command again resumes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from liquid_ros.cli import options as o
from liquid_ros.cli.flags import parse
from liquid_ros.rollouts.episodes import ExplorationNoise
from liquid_ros.rollouts.runner import BackendConfig


@dataclass(frozen=True, kw_only=True)
class CollectArgs:
    """Options of ``liquid-ros collect``."""

    task: str = o.task()
    episodes: int = o.episodes()
    out: str = o.out(text="dataset folder (created; resumable)")
    seed: int = o.seed()
    retries: int = 1
    """Extra attempts for a failed episode."""
    noise_accel: float = ExplorationNoise.accel_std
    """Exploration noise std on acceleration (m/s^2); 0 disables."""
    noise_yaw: float = ExplorationNoise.yaw_rate_std
    """Exploration noise std on yaw rate (rad/s)."""
    env_kwargs: dict = o.env_kwargs()
    progress: bool = o.progress()
    backend: BackendConfig = field(default_factory=BackendConfig)


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros collect``; returns the exit code."""
    import sys

    from liquid_ros.rollouts.backends import throughput
    from liquid_ros.rollouts.collect import collect

    try:
        args = parse(CollectArgs, argv, "liquid-ros collect", __doc__.splitlines()[0])
        noise = ExplorationNoise(accel_std=args.noise_accel, yaw_rate_std=args.noise_yaw)
        start = time.monotonic()
        backend = args.backend.make()
        try:
            manifest, report = collect(
                args.task, args.episodes, args.out, seed=args.seed, retries=args.retries,
                noise=noise, env_kwargs=args.env_kwargs, progress=args.progress,
                backend=backend)
        finally:
            backend.close()
    except (ValueError, ImportError, ConnectionError) as err:
        return o.fail("collect", err)
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
