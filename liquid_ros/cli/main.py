"""The ``liquid-ros`` command line: one entry point, one subcommand per job.

Subcommand modules are imported only when chosen, so ``liquid-ros --help`` stays fast and a
missing optional dependency (ROS, Ray) only affects the subcommands that need it. Each module
provides ``main(argv: list[str]) -> int``: the ``liquid_ros.cli`` modules parse their options
from dataclasses (:mod:`liquid_ros.cli.flags`); ``demo`` and ``warmup`` live with the nodes they
start.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("liquid_ros.ros.demo", "closed-loop demo: sim_node + policy_node over real DDS"),
    "collect": ("liquid_ros.cli.collect", "record expert demonstrations in simulation"),
    "train": ("liquid_ros.cli.train", "imitation learning (BPTT) on collected data"),
    "eval": ("liquid_ros.cli.eval", "closed-loop evaluation of a checkpoint in simulation"),
    "compare": ("liquid_ros.cli.compare", "train and evaluate model families side by side"),
    "bag-to-dataset": ("liquid_ros.cli.bag_to_dataset",
                       "convert a rosbag2 recording to a dataset"),
    "replay": ("liquid_ros.cli.replay", "open-loop replay of a recording through a policy"),
    "warmup": ("liquid_ros.ros.warmup", "compile numba kernels into the cache (after install)"),
    "record-sim": ("liquid_ros.cli.record_sim", "record simulated episodes as rosbag2 (MCAP)"),
    "export": ("liquid_ros.cli.export", "export a checkpoint's step to ONNX or TorchScript"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liquid-ros",
        description="Liquid neural network policies for ROS 2 robots, behind a safety filter.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``liquid-ros COMMAND [ARGS]``; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not argv or argv[0] not in SUBCOMMANDS:
        args = parser.parse_args(argv)
        if args.version:
            from liquid_ros import __version__

            print(__version__)
            return 0
        parser.print_help()
        return 0 if not argv else 2
    module_name = SUBCOMMANDS[argv[0]][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            print(f"liquid-ros {argv[0]}: not available in this version", file=sys.stderr)
        else:
            print(f"liquid-ros {argv[0]}: missing dependency {err.name!r} ({err})",
                  file=sys.stderr)
        return 2
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
