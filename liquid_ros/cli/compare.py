"""``liquid-ros compare``: train every model family on the same data and evaluate side by side.

For each task and model: train (or reuse ``OUT/TASK/MODEL/policy.pt`` when it exists), then fly
held-out seeded episodes clean and under perturbations. Writes ``OUT/compare.md`` (a Markdown
table) and ``OUT/compare.json``.
"""

from __future__ import annotations

import argparse
import time

from liquid_ros.cli import options as o
from liquid_ros.cli.flags import add_dataclass, from_namespace
from liquid_ros.rollouts.runner import BackendConfig


def parser() -> argparse.ArgumentParser:
    """The parser of ``liquid-ros compare`` (CompareConfig, then the back end)."""
    from liquid_ros.evaluation.compare import CompareConfig

    p = argparse.ArgumentParser(prog="liquid-ros compare",
                                description=__doc__.splitlines()[0].replace("``", ""))
    add_dataclass(p, CompareConfig)
    add_dataclass(p, BackendConfig, group=p.add_argument_group(
        "Rollout back end", "where DAgger and evaluation episodes run"))
    return p


def parse_args(argv: list[str]) -> tuple[object, BackendConfig]:
    """The CompareConfig and BackendConfig of a ``liquid-ros compare`` command line."""
    from liquid_ros.evaluation.compare import CompareConfig

    ns = parser().parse_args(argv)
    return from_namespace(CompareConfig, ns), from_namespace(BackendConfig, ns)


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros compare``; returns the exit code."""
    from liquid_ros.evaluation.compare import run, write_report

    start = time.monotonic()
    try:
        cfg, backend = parse_args(argv)
        rows = run(cfg, backend)
    except (ValueError, ImportError, ConnectionError) as err:
        return o.fail("compare", err)
    print(write_report(rows, cfg, time.monotonic() - start, list(argv)))
    return 0
