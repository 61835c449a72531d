"""``liquid-ros bag-to-dataset``: convert rosbag2 recordings into a training dataset.

Reads MCAP or sqlite3 bags without ROS, synchronises images, odometry and commands by timestamp
and writes the dataset format of ``liquid-ros collect``; see :mod:`liquid_ros.bags.convert`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field

from liquid_ros.bags.reader import ReadConfig
from liquid_ros.bags.sync import SyncConfig
from liquid_ros.cli.options import STREAM_OVERRIDES, StreamTopics, fail, parse_config


@dataclass(frozen=True, kw_only=True)
class BagToDatasetArgs:
    """Options of ``liquid-ros bag-to-dataset``."""

    bags: tuple[str, ...] = field(metadata={"cli": {"positional": True, "metavar": "BAG"}})
    """Bag folder(s) or .mcap/.db3 files."""
    out: str
    """Dataset folder."""
    first_seed: int = 0
    """Number of the first episode."""
    overwrite: bool = False
    """Replace an existing dataset."""
    topics: StreamTopics = field(default_factory=StreamTopics)
    read: ReadConfig = field(default_factory=ReadConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)


def report_lines(reports: list[dict]) -> list[str]:
    """One line per converted bag: samples, episodes and what was dropped or skipped."""
    lines = []
    for r in reports:
        skipped = {f"{role}.{k}": v for role, s in r["streams"].items()
                   for k, v in s.items() if k in ("corrupt", "invalid", "duplicate") and v}
        reordered = {role: s["reordered"] for role, s in r["streams"].items() if s["reordered"]}
        lines.append(f"{r['bag']}: {r['images']} images -> {r['samples']} samples in "
                     f"{r['episodes']} episodes; dropped {json.dumps(r['dropped'])}; skipped "
                     f"messages {json.dumps(skipped)}; reordered {json.dumps(reordered)}; "
                     f"clipped actions {r['clipped_actions']}")
    return lines


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros bag-to-dataset``; returns the exit code."""
    from liquid_ros.bags.convert import bag_to_dataset

    start = time.monotonic()
    try:
        args, _ = parse_config(BagToDatasetArgs, argv, "liquid-ros bag-to-dataset", __doc__,
                               overrides=STREAM_OVERRIDES)
        t = args.topics
        manifest, reports = bag_to_dataset(
            args.bags, args.out, image_topic=t.image_topic, odom_topic=t.odom_topic,
            command_topic=t.command_topic, goal_topic=t.goal_topic, read=args.read,
            sync=args.sync, first_seed=args.first_seed, overwrite=args.overwrite)
    except (ValueError, OSError) as err:
        return fail("bag-to-dataset", err)
    for r in reports:
        for w in r["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
    print("\n".join(report_lines(reports)))
    print(f"wrote {manifest['num_episodes']} episodes ({manifest['num_steps']} steps) to "
          f"{args.out} in {time.monotonic() - start:.1f} s")
    return 0
