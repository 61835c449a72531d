"""``liquid-ros collect``: record expert demonstrations in simulation.

The privileged expert flies each episode with exploration noise on its action; episodes are
saved one file per seed as they finish, and running the same command again resumes. The options
are the fields of :class:`~liquid_ros.rollouts.collect.CollectConfig` and the back end.
"""

from __future__ import annotations

import sys
import time

from liquid_ros.cli.options import fail, parse_config

PROG = "liquid-ros collect"


def parse_args(argv: list[str]) -> tuple[object, object]:
    """The CollectConfig and BackendConfig of a ``liquid-ros collect`` command line."""
    from liquid_ros.rollouts.collect import CollectConfig

    return parse_config(CollectConfig, argv, PROG, __doc__, backend="where episodes run")


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros collect``; returns the exit code."""
    from liquid_ros.rollouts.backends import throughput
    from liquid_ros.rollouts.collect import run_collect

    start = time.monotonic()
    try:
        cfg, backend_cfg = parse_args(argv)
        manifest, report = backend_cfg.run(lambda backend: run_collect(cfg, backend))
    except (ValueError, ImportError, ConnectionError) as err:
        return fail("collect", err)
    for f in report.failures:
        print(f"episode seed {f.seed} failed after {f.attempts} attempts: {f.error}",
              file=sys.stderr)
    successes = sum(1 for e in manifest["episodes"] if e.get("success"))
    new = [e for e in manifest["episodes"] if e["seed"] in report.results]
    print(throughput(len(new), sum(float(e["duration_s"]) for e in new),
                     time.monotonic() - start))
    print(f"{manifest['num_episodes']} episodes ({manifest['num_steps']} steps, "
          f"{successes} expert successes) in {cfg.out}; "
          f"{len(report.results)} new in {time.monotonic() - start:.1f} s")
    return 1 if report.failures else 0
