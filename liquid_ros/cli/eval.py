"""``liquid-ros eval``: closed-loop evaluation of a checkpoint in simulation, safety filter on.

Prints the success rate, the task's mean metrics, safety violations and filter interventions;
``--json`` puts the same numbers as one JSON object on the last line. Writes
``trajectories.png`` (with ``--saliency`` also ``saliency.png`` and ``neuron_activity.png`` of
the first episode) into ``--out``. The options are the fields of
:class:`~liquid_ros.evaluation.evaluate.EvalConfig` and the back end.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from liquid_ros.cli.options import fail, parse_config

PROG = "liquid-ros eval"


def parse_args(argv: list[str]) -> tuple[Any, Any]:
    """The EvalConfig and BackendConfig of a ``liquid-ros eval`` command line."""
    from liquid_ros.evaluation.evaluate import EvalConfig

    return parse_config(EvalConfig, argv, PROG, __doc__, backend="where episodes run")


def summary_text(s: dict[str, Any]) -> str:
    """The human-readable lines of an evaluation summary."""
    lines = [f"task {s['task']}: {s['episodes']} episodes from seed {s['seed']}, safety filter "
             f"{'on' if s['safety'] else 'off'}",
             f"success rate: {100 * s['success_rate']:.1f} %"]
    lines += [f"  mean {k}: {v:.4g}" for k, v in s["metrics"].items()]
    lines.append(f"safety violations: {s['violation_episodes']} episodes "
                 f"({', '.join(f'{k} {v}' for k, v in s['violations'].items())})")
    lines.append(f"filter interventions: {s['filter_interventions']} control ticks "
                 f"({100 * s['filter_intervention_rate']:.1f} % of ticks), mean "
                 f"|a_safe - a_nom| {s['mean_intervention']:.4f} m/s^2, fallbacks "
                 f"{s['filter_fallbacks']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros eval``; returns the exit code."""
    from liquid_ros.evaluation.evaluate import run_eval
    from liquid_ros.rollouts.backends import throughput

    start = time.monotonic()
    try:
        cfg, backend_cfg = parse_args(argv)
        summary, results = backend_cfg.run(lambda backend: run_eval(cfg, backend))
    except (ValueError, ImportError, ConnectionError) as err:
        return fail("eval", err)
    if not cfg.json:
        print(throughput(len(results), sum(float(r.time[-1]) for r in results if len(r.time)),
                         time.monotonic() - start))
    summary["seconds"] = round(time.monotonic() - start, 1)
    print(summary_text(summary))
    if cfg.json:
        print(json.dumps(summary, sort_keys=True))
    if summary["episodes"] == 0:
        print("liquid-ros eval: no episode ran", file=sys.stderr)
        return 1
    return 0
