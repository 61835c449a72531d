"""Convert rosbag2 recordings into a training dataset (``liquid-ros bag-to-dataset``).

Reads MCAP or sqlite3 bags without ROS (:mod:`~liquid_ros.bags.reader`), synchronises
images, odometry and commands by timestamp (:mod:`~liquid_ros.bags.sync`, which states the
method, tolerances and the command-to-action mapping) and writes the dataset format of
``liquid-ros collect`` (:mod:`~liquid_ros.train.dataset`), so ``liquid-ros train`` takes either.
Each bag gives one episode per continuous stretch of samples; episodes are numbered from
``--first-seed`` in bag order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.bags.reader import BagError, ReadConfig, read_bag
from liquid_ros.bags.sync import Segment, SyncConfig, SyncReport, synchronise
from liquid_ros.train.dataset import Episode, save_episode, write_manifest

__all__ = ["BagError", "bag_to_dataset", "segment_episode"]


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
