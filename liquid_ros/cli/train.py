"""``liquid-ros train``: imitation learning (BPTT), optional DAgger rounds and BarrierNet.

With ``--recipe NAME`` it runs a whole recipe instead (:mod:`liquid_ros.train.recipe`):
``liquid-ros train --task fly_to_target --recipe default --out runs/fly_to_target``.

The options are the fields of :class:`~liquid_ros.train.imitation.ImitationConfig` (the
trainer's :class:`~liquid_ros.train.trainer.TrainConfig` among them) and the rollout back end of
the DAgger rounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liquid_ros.cli.options import fail, parse_config

PROG = "liquid-ros train"


def parse_args(argv: list[str]) -> tuple[Any, Any]:
    """The ImitationConfig and BackendConfig of a ``liquid-ros train`` command line."""
    from liquid_ros.train.imitation import ImitationConfig

    return parse_config(ImitationConfig, argv, PROG, __doc__, backend="where DAgger episodes run")


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros train``; returns the exit code."""
    from liquid_ros.train.imitation import train

    if any(a == "--recipe" or a.startswith("--recipe=") for a in argv):
        return recipe_main(argv)
    try:
        cfg, backend = parse_args(argv)
        log = train(cfg, backend, command=" ".join([PROG, *argv]))
    except ValueError as err:
        return fail("train", err)
    val = f"{log['val_loss'][-1]:.4f}" if log["val_loss"] else "none"
    print(f"trained {cfg.model} on {log['episodes']} episodes: {log['steps']} steps in "
          f"{log['train_seconds']} s, final train loss {log['train_loss'][-1]:.4f}, "
          f"validation {val}; wrote {Path(cfg.out) / 'policy.pt'}")
    return 0


def recipe_main(argv: list[str]) -> int:
    """``liquid-ros train --task T --recipe NAME --out DIR``: a whole recipe, resumable.

    See :mod:`liquid_ros.train.recipe` (collect, train, DAgger rounds, evaluations; finished
    stages are skipped when the same command runs again).
    """
    from liquid_ros.train.recipe import RecipeConfig, run_recipe

    try:
        cfg, backend = parse_config(RecipeConfig, argv, f"{PROG} --recipe", recipe_main.__doc__,
                                    backend="where collection, DAgger and evaluation run")
        run_recipe(cfg, backend)
    except (ValueError, RuntimeError) as err:
        return fail("train", err)
    return 0
