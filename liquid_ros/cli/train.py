"""``liquid-ros train``: imitation learning (BPTT), optional DAgger rounds and BarrierNet.

The options are the fields of :class:`~liquid_ros.train.imitation.ImitationConfig` (the
trainer's :class:`~liquid_ros.train.trainer.TrainConfig` among them) and the rollout back end of
the DAgger rounds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from liquid_ros.cli import options as o
from liquid_ros.cli.flags import add_dataclass, from_namespace
from liquid_ros.rollouts.runner import BackendConfig

PROG = "liquid-ros train"


def parser() -> argparse.ArgumentParser:
    """The parser of ``liquid-ros train`` (ImitationConfig, then the back end)."""
    from liquid_ros.train.imitation import ImitationConfig

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].replace("``", ""))
    add_dataclass(p, ImitationConfig)
    add_dataclass(p, BackendConfig, group=p.add_argument_group("Rollout back end",
                                                                "where DAgger episodes run"))
    return p


def parse_args(argv: list[str]) -> tuple[object, BackendConfig]:
    """The ImitationConfig and BackendConfig of a ``liquid-ros train`` command line."""
    from liquid_ros.train.imitation import ImitationConfig

    ns = parser().parse_args(argv)
    return from_namespace(ImitationConfig, ns), from_namespace(BackendConfig, ns)


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros train``; returns the exit code."""
    from liquid_ros.train.imitation import train

    try:
        cfg, backend = parse_args(argv)
        log = train(cfg, backend, command=" ".join([PROG, *argv]))
    except ValueError as err:
        return o.fail("train", err)
    val = f"{log['val_loss'][-1]:.4f}" if log["val_loss"] else "none"
    print(f"trained {cfg.model} on {log['episodes']} episodes: {log['steps']} steps in "
          f"{log['train_seconds']} s, final train loss {log['train_loss'][-1]:.4f}, "
          f"validation {val}; wrote {Path(cfg.out) / 'policy.pt'}")
    return 0
