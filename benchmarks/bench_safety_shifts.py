"""Policies through the node's own chain under model error, one shift at a time.

Each episode is :class:`~liquid_ros.rollouts.policy_episode.PolicyEpisode`: the checkpoint
flown by the one Pilot with the task's ``config/<task>.yaml`` (robust safety filter, the
acceleration level behind the simulated flight controller), exactly as policy_node flies it,
in the full simulation with the camera on. The shifts are the simulator's own options:
``mass-20`` / ``mass+20`` (true mass 0.8 / 1.2 of the model), ``lat40`` (40 ms on odometry,
camera and commands), ``wind05`` (0.05 N constant horizontal wind, random heading), and
``nominal``. Prints per shift the success rate and the episodes with a safety violation
(below the altitude floor, a crash, a leader collision, over the speed limit).

Run from the repository root, e.g. ``PYTHONPATH=. .venv/bin/python
benchmarks/bench_safety_shifts.py --task leader_follow --episodes 20 --workers 2``.
"""

from __future__ import annotations

import argparse
import time

from liquid_ros.rollouts.policy_episode import PolicyEpisode
from liquid_ros.rollouts.runner import LocalBackend, run_episodes
from liquid_ros.runtime.policy_source import shipped_checkpoint

SHIFTS: dict[str, dict[str, object]] = {
    "nominal": {},
    "mass-20": {"mass_scale": [0.8, 0.8]},
    "mass+20": {"mass_scale": [1.2, 1.2]},
    "lat40": {"odom_latency": [0.04, 0.04], "camera_latency": [0.04, 0.04],
              "command_latency": [0.04, 0.04]},
    "wind05": {"wind": [0.05, 0.05]},
}
"""Shift name -> env options (``liquid_ros.sim.randomization.RandomizationConfig`` fields)."""


def main() -> None:
    """Parse options, fly every shift, print one line per shift."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=("fly_to_target", "leader_follow"),
                    default="fly_to_target")
    ap.add_argument("--checkpoint", default=None, help="default: the shipped one")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=100000, help="first (held-out) seed")
    ap.add_argument("--shifts", nargs="+", choices=sorted(SHIFTS), default=list(SHIFTS))
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    checkpoint = args.checkpoint or str(shipped_checkpoint(args.task))
    backend = LocalBackend(args.workers)
    print(f"{args.task}: {checkpoint}, {args.episodes} episodes from seed {args.seed}, "
          "through the node's chain (task config, acceleration level)")
    for name in args.shifts:
        t0 = time.perf_counter()
        fn = PolicyEpisode(args.task, checkpoint, dict(SHIFTS[name]), 5)
        report = run_episodes(fn, range(args.seed, args.seed + args.episodes), backend)
        rows = report.ordered()
        n = max(len(rows), 1)
        kinds = sorted({k for r in rows for k in r.violations})
        bad = {k: sum(r.violations[k] > 0 for r in rows) for k in kinds}
        print(f"  {name:8s} success {100.0 * sum(r.success for r in rows) / n:5.1f} % "
              f"({len(rows)} run, {len(report.failures)} failed to run); violation episodes "
              + ", ".join(f"{k} {v}" for k, v in bad.items())
              + f" ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
