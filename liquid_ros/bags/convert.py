"""``liquid-ros bag-to-dataset``: convert rosbag2 recordings into a training dataset.

Reads MCAP or sqlite3 bags without ROS (:mod:`~liquid_ros.bags.reader`), synchronises
images, odometry and commands by timestamp (:mod:`~liquid_ros.bags.sync`, which states the
method, tolerances and the command-to-action mapping) and writes the dataset format of
``liquid-ros collect`` (:mod:`~liquid_ros.train.dataset`), so ``liquid-ros train`` takes either.
Each bag gives one episode per continuous stretch of samples; episodes are numbered from
``--first-seed`` in bag order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.bags.reader import BagError, ReadConfig, read_bag
from liquid_ros.bags.sync import Segment, SyncConfig, SyncReport, synchronise
from liquid_ros.train.dataset import Episode, save_episode, write_manifest

__all__ = ["BagError", "bag_to_dataset", "main", "segment_episode"]


def segment_episode(seg: Segment, seed: int, meta: dict[str, Any]) -> Episode:
    """A dataset :class:`Episode` from a synchronised segment (timestamps from 0 s)."""
    t = (seg.stamps - seg.stamps[0]).astype(np.float64) / 1e9
    return Episode(
        seed=seed, images=seg.images, states=seg.states, actions=seg.actions,
        actions_executed=seg.actions.copy(), dt=seg.dt, timestamps=t,
        positions=seg.odom[:, 0:3].astype(np.float32),
        velocities=seg.odom[:, 7:10].astype(np.float32), goals=seg.goals,
        meta={**meta, "start_time_ns": int(seg.stamps[0])})


def _topics(image: str, odom: str, command: str, goal: str | None) -> dict[str, str]:
    topics = {"image": image, "odom": odom, "command": command}
    if goal:
        topics["goal"] = goal
    return topics


def _custom_facts(custom: dict[str, str]) -> dict[str, Any]:
    """Facts ``liquid-ros record-sim`` leaves in the bag metadata (task, action_repeat...)."""
    out: dict[str, Any] = {}
    for key, value in custom.items():
        if key.startswith("liquid_ros."):
            try:
                out[key[len("liquid_ros."):]] = json.loads(value)
            except json.JSONDecodeError:
                out[key[len("liquid_ros."):]] = value
    return out


def bag_to_dataset(
    bags: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
    image_topic: str = "camera/image_raw", odom_topic: str = "odom",
    command_topic: str = "action", goal_topic: str | None = None,
    read: ReadConfig | None = None, sync: SyncConfig | None = None, first_seed: int = 0,
    overwrite: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Convert bags into a dataset folder.

    Args:
        bags: Bag folders or ``.mcap`` / ``.db3`` files.
        out: Dataset folder (created).
        image_topic: Image or CompressedImage topic.
        odom_topic: Odometry topic.
        command_topic: WrenchStamped, TwistStamped or AccelStamped topic (the label).
        goal_topic: Optional PointStamped or Odometry topic of the goal (else goals are 0).
        read: Reading options (None: defaults).
        sync: Synchronisation options (None: defaults).
        first_seed: Seed (file number) of the first episode.
        overwrite: Replace the episodes of an existing dataset in ``out``.

    Returns:
        The manifest written and one report dict per bag.

    Raises:
        BagError: A bag cannot be used (naming file, topic and time).
        ValueError: ``out`` already holds a dataset and ``overwrite`` is False.
    """
    if not bags:
        raise ValueError("bags: give at least one recording")
    read = ReadConfig() if read is None else read
    sync = SyncConfig() if sync is None else sync
    out = Path(out)
    existing = sorted(out.glob("episode_*.npz")) if out.is_dir() else []
    if existing and not overwrite:
        raise ValueError(f"out: {out} already holds {len(existing)} episodes; "
                         "pass --overwrite to replace them")
    topics = _topics(image_topic, odom_topic, command_topic, goal_topic)
    seed = int(first_seed)
    loaded: list[tuple[list[Episode], dict[str, Any], dict[str, Any]]] = []
    for bag in bags:
        data = read_bag(bag, topics, read)
        segments, report = synchronise(data.streams, sync, str(data.path))
        facts = _custom_facts(data.custom)
        meta = {"source": "rosbag2", "bag": str(data.path), "task": facts.get("task"),
                "success": facts.get("success")}
        episodes = []
        for seg in segments:
            episodes.append(segment_episode(seg, seed, meta))
            seed += 1
        loaded.append((episodes, _bag_report(data, report), facts))
    for path in existing:
        path.unlink()
    for episodes, _, _ in loaded:
        for ep in episodes:
            save_episode(out, ep)
    facts = loaded[0][2]
    info = {"source": "rosbag2", "bags": [str(b) for b in bags], "topics": topics,
            "read": {k: v for k, v in vars(read).items() if k != "progress"},
            "sync": sync.to_dict(), "reports": [r for _, r, _ in loaded]}
    for key in ("task", "env_kwargs", "action_repeat"):
        if key in facts:
            info[key] = facts[key]
    return write_manifest(out, info), [r for _, r, _ in loaded]


def _bag_report(data: Any, report: SyncReport) -> dict[str, Any]:
    streams = {role: {"topic": s.topic, "type": s.msgtype, "stamps": s.stamp_source,
                      **s.counts} for role, s in data.streams.items()}
    return {"bag": str(data.path), **report.to_dict(), "streams": streams,
            "warnings": list(data.warnings)}


def add_stream_arguments(p: argparse.ArgumentParser, command_default: str = "action") -> None:
    """Topic, reading and synchronisation options shared with ``liquid-ros replay``."""
    s, r = SyncConfig(), ReadConfig()
    p.add_argument("--image-topic", default="camera/image_raw",
                   help="sensor_msgs/Image or CompressedImage topic")
    p.add_argument("--odom-topic", default="odom", help="nav_msgs/Odometry topic")
    p.add_argument("--command-topic", default=command_default,
                   help="WrenchStamped, TwistStamped or AccelStamped topic")
    p.add_argument("--goal-topic", default=None, help="optional PointStamped/Odometry goal")
    p.add_argument("--odom-tolerance", type=float, default=s.odom_tolerance,
                   help="nearest odometry within this many s of the image")
    p.add_argument("--command-tolerance", type=float, default=s.command_tolerance,
                   help="command within this many s of the image")
    p.add_argument("--command-align", choices=("after", "before"), default=s.command_align,
                   help="command at or after the image (its response) or at or before it")
    p.add_argument("--max-gap", type=float, default=s.max_gap,
                   help="a longer gap (s) between samples starts a new episode")
    p.add_argument("--min-steps", type=int, default=s.min_steps, help="shortest episode")
    p.add_argument("--mass", type=float, default=s.mass, help="kg, for WrenchStamped commands")
    p.add_argument("--drag", type=float, nargs=3, default=s.drag_coeff, metavar=("DX", "DY", "DZ"),
                   help="N s/m body drag, for WrenchStamped commands")
    p.add_argument("--twist-mode", choices=("velocity", "acceleration"), default=s.twist_mode,
                   help="meaning of TwistStamped linear")
    p.add_argument("--twist-frame", choices=("body", "world"), default=s.twist_frame,
                   help="frame of a velocity TwistStamped")
    p.add_argument("--twist-gain", type=float, default=s.twist_gain,
                   help="1/s, velocity command -> acceleration")
    p.add_argument("--stamps", choices=("header", "receive"), default=r.stamps,
                   help="header stamps (receive time where all are zero) or receive time")
    p.add_argument("--max-backjump", type=float, default=r.max_backjump,
                   help="larger backwards time steps (s) are an error")
    p.add_argument("--resize", choices=("area", "nearest"), default=r.resize,
                   help="image resizing, as the policy node's resize_method (default area)")
    p.add_argument("--strict", action="store_true", help="error instead of skipping")
    p.add_argument("--keep-truncated", action="store_true",
                   help="use the messages before damage in a truncated file")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def configs_from_args(args: argparse.Namespace, image_size: tuple[int, int]
                      ) -> tuple[ReadConfig, SyncConfig]:
    """The reading and synchronisation configs of parsed stream arguments."""
    read = ReadConfig(stamps=args.stamps, max_backjump=args.max_backjump, strict=args.strict,
                      keep_truncated=args.keep_truncated, image_size=image_size,
                      resize=args.resize, progress=not args.no_progress)
    sync = SyncConfig(odom_tolerance=args.odom_tolerance,
                      command_tolerance=args.command_tolerance,
                      command_align=args.command_align, max_gap=args.max_gap,
                      min_steps=args.min_steps, mass=args.mass,
                      drag_coeff=tuple(args.drag), twist_mode=args.twist_mode,
                      twist_frame=args.twist_frame, twist_gain=args.twist_gain)
    return read, sync


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquid-ros bag-to-dataset",
                                description=__doc__.splitlines()[0])
    p.add_argument("bags", nargs="+", metavar="BAG", help="bag folder(s) or .mcap/.db3 files")
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--image-size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"),
                   help="resize images to H W pixels")
    p.add_argument("--first-seed", type=int, default=0, help="number of the first episode")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    add_stream_arguments(p)
    return p


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros bag-to-dataset``; returns the exit code."""
    args = _parser().parse_args(argv)
    start = time.monotonic()
    try:
        read, sync = configs_from_args(args, (args.image_size[0], args.image_size[1]))
        manifest, reports = bag_to_dataset(
            args.bags, args.out, image_topic=args.image_topic, odom_topic=args.odom_topic,
            command_topic=args.command_topic, goal_topic=args.goal_topic, read=read, sync=sync,
            first_seed=args.first_seed, overwrite=args.overwrite)
    except (ValueError, OSError) as err:
        print(f"liquid-ros bag-to-dataset: {err}", file=sys.stderr)
        return 2
    for r in reports:
        for w in r["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
        skipped = {f"{role}.{k}": v for role, s in r["streams"].items()
                   for k, v in s.items() if k in ("corrupt", "invalid", "duplicate") and v}
        reordered = {role: s["reordered"] for role, s in r["streams"].items() if s["reordered"]}
        print(f"{r['bag']}: {r['images']} images -> {r['samples']} samples in {r['episodes']} "
              f"episodes; dropped {json.dumps(r['dropped'])}; skipped messages "
              f"{json.dumps(skipped)}; reordered {json.dumps(reordered)}; clipped actions "
              f"{r['clipped_actions']}")
    print(f"wrote {manifest['num_episodes']} episodes ({manifest['num_steps']} steps) to "
          f"{args.out} in {time.monotonic() - start:.1f} s")
    return 0
