"""``liquid-ros compare``: train every model family on the same data and evaluate side by side.

For each task and model: train (or reuse ``OUT/TASK/MODEL/policy.pt`` when it exists), then fly
held-out seeded episodes clean and under perturbations. Writes ``OUT/compare.md`` (a Markdown
table) and ``OUT/compare.json``. The options are the fields of
:class:`~liquid_ros.evaluation.compare.CompareConfig` and the back end.
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
                        backend="where DAgger and evaluation episodes run")


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros compare``; returns the exit code."""
    from liquid_ros.evaluation.compare import run, write_report

    start = time.monotonic()
    try:
        cfg, backend = parse_args(argv)
        rows = run(cfg, backend)
    except (ValueError, ImportError, ConnectionError) as err:
        return fail("compare", err)
    print(write_report(rows, cfg, time.monotonic() - start, list(argv)))
    return 0
