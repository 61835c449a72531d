"""``liquid-ros compare``: every model family on the same data, budget and held-out conditions.

For one task: collect with the recipe (or take ``--data``), train each family once per
``--seeds`` seed for exactly ``--steps`` gradient steps (plus ``--dagger-rounds`` x
``--dagger-steps``), then fly ``--episodes`` held-out seeds per condition (clean, the
training preset, scene, dynamics and timing shifts, and for leader_follow a held-out leader
family). Resumable: finished trainings and evaluations are skipped when the same command runs
again. Writes ``OUT/compare.md``, ``OUT/compare.json`` and ``OUT/compare.png``. The options
are the fields of :class:`~liquid_ros.evaluation.compare.CompareConfig` and the back end.

Example: ``liquid-ros compare --task fly_to_target --out runs/cmp --families cfc ncp lstm
--seeds 0 1 2 --steps 3000 --episodes 50``.
"""

from __future__ import annotations

import time
from typing import Any

from liquid_ros.cli.options import fail, parse_config

PROG = "liquid-ros compare"


def parse_args(argv: list[str]) -> tuple[Any, Any]:
    """The CompareConfig and BackendConfig of a ``liquid-ros compare`` command line."""
    from liquid_ros.evaluation.compare import CompareConfig

    return parse_config(CompareConfig, argv, PROG, __doc__,
                        backend="where collection, DAgger and evaluation episodes run")


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros compare``; returns the exit code."""
    from liquid_ros.evaluation.compare import run
    from liquid_ros.evaluation.compare_report import write_report

    start = time.monotonic()
    try:
        cfg, backend = parse_args(argv)
        results = run(cfg, backend)
    except (ValueError, ImportError, ConnectionError, RuntimeError) as err:
        return fail("compare", err)
    print(write_report(results, time.monotonic() - start, list(argv)))
    return 0
