"""``liquid-ros replay``: open-loop evaluation of a checkpoint over a rosbag2 recording.

The recording is read and synchronised as ``bag-to-dataset`` does (same options); the policy is
stepped at the recorded stamps and its commands go through stage 1 of the safety filter. See
:mod:`liquid_ros.evaluation.replay`. Writes ``replay.png`` and ``replay.json`` into ``--out``;
``--json`` prints the summary as one JSON object on the last line.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from liquid_ros.bags.reader import ReadConfig
from liquid_ros.bags.sync import SyncConfig
from liquid_ros.cli.options import STREAM_OVERRIDES, StreamTopics, fail, parse_config


@dataclass(frozen=True, kw_only=True)
class ReplayArgs:
    """Options of ``liquid-ros replay``."""

    checkpoint: str
    """Policy checkpoint (.pt)."""
    bag: str
    """Bag folder or .mcap/.db3 file."""
    out: str | None = None
    """Folder for replay.png and replay.json."""
    json: bool = False
    """Print the summary as JSON (last line)."""
    task: str | None = None
    """Safety settings of this task (default: the checkpoint's task)."""
    topics: StreamTopics = field(default_factory=StreamTopics)
    read: ReadConfig = field(default_factory=ReadConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)


OVERRIDES = {**STREAM_OVERRIDES, "image_size": None, "task": {}, "json": {}}
"""The policy sets the image size; ``--task`` means the safety settings here."""


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros replay``; returns the exit code."""
    from liquid_ros.evaluation.replay import replay

    try:
        args, _ = parse_config(ReplayArgs, argv, "liquid-ros replay", __doc__,
                               overrides=OVERRIDES)
        summary, _ = replay(args.checkpoint, args.bag, args.topics.as_dict(), read=args.read,
                            sync=args.sync, task=args.task, out=args.out)
    except (ValueError, OSError) as err:
        return fail("replay", err)
    for w in summary["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    errs = ", ".join(f"{k} {v['rmse']:.4f}" for k, v in summary["error"].items())
    print(f"replayed {summary['samples']} samples ({summary['episodes']} episodes, "
          f"{summary['duration_s']:.1f} s): RMSE {errs}; safety filter intervened on "
          f"{summary['interventions']} samples (mean {summary['mean_intervention']:.4f} m/s^2)"
          + (f"; plot {summary['plot']}" if "plot" in summary else ""))
    if args.json:
        print(json.dumps(summary))
    return 0
