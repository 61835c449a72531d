"""``liquid-ros eval``: closed-loop evaluation of a checkpoint in simulation, safety filter on.

Prints the success rate, the task's mean metrics, safety violations and filter interventions;
``--json`` puts the same numbers as one JSON object on the last line. Writes
``trajectories.png`` (with ``--saliency`` also ``saliency.png`` and ``neuron_activity.png`` of
the first episode) into ``--out``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from liquid_ros.cli import options as o
from liquid_ros.cli.flags import parse
from liquid_ros.rollouts.runner import BackendConfig


@dataclass(frozen=True, kw_only=True)
class EvalArgs:
    """Options of ``liquid-ros eval``."""

    task: str = o.task()
    checkpoint: str = o.checkpoint()
    episodes: int = o.episodes(50)
    seed: int = o.seed(100_000, "first seed (held out: collect and DAgger use other seeds)")
    json: bool = o.json_flag()
    saliency: bool = False
    """Write saliency and neuron-activity plots of the first episode (needs --out)."""
    out: str | None = o.out(None, "folder for plots (default: no plots)")
    safety: bool = True
    """Fly behind the safety filter (--no-safety: without it)."""
    image_noise: float = 0.0
    """Perturbation: pixel noise std (fraction of full scale)."""
    brightness: float = 0.0
    """Perturbation: brightness shift (fraction of full scale)."""
    env_kwargs: dict = o.env_kwargs()
    progress: bool = o.progress()
    backend: BackendConfig = field(default_factory=BackendConfig)


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
    from liquid_ros.evaluation.evaluate import evaluate, write_plots
    from liquid_ros.rollouts.backends import throughput
    from liquid_ros.rollouts.episodes import Perturbation

    start = time.monotonic()
    try:
        args = parse(EvalArgs, argv, "liquid-ros eval", __doc__.splitlines()[0])
        if args.saliency and not args.out:
            raise ValueError("--saliency needs --out")
        backend = args.backend.make()
        try:
            summary, results = evaluate(
                args.task, args.checkpoint, args.episodes, args.seed, safety=args.safety,
                perturbation=Perturbation(args.image_noise, args.brightness),
                env_kwargs=args.env_kwargs, progress=args.progress, backend=backend)
        finally:
            backend.close()
        if not args.json:
            print(throughput(len(results), sum(float(r.time[-1]) for r in results if len(r.time)),
                             time.monotonic() - start))
        files = write_plots(args.task, args.checkpoint, args.seed, results, summary, args.out,
                            saliency=args.saliency, env_kwargs=args.env_kwargs) \
            if args.out else []
    except (ValueError, ImportError, ConnectionError) as err:
        return o.fail("eval", err)
    summary["files"] = files
    summary["seconds"] = round(time.monotonic() - start, 1)
    print(summary_text(summary))
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    if summary["episodes"] == 0:
        print("liquid-ros eval: no episode ran", file=sys.stderr)
        return 1
    return 0
