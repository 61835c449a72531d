"""Open-loop evaluation of a checkpoint over a rosbag2 recording (``liquid-ros replay``).

The recording is read and synchronised exactly as ``bag-to-dataset`` does (same options). Each
episode is flown, from a fresh hidden state, by the same :class:`~liquid_ros.runtime.pilot.Pilot`
policy_node flies (the task's ``config/<task>.yaml``), one tick per recorded sample: the policy
steps with the recorded, irregular dt, and its action goes through stage 1 of the safety filter
on the recorded state. Reported: the error of the nominal command against the recorded one per
axis (RMSE, mean and max absolute), how often and how much the filter intervened, and which
constraints were active. With ``--goal-topic`` (the leader's position) the leader barrier
is active too. The recording does not react to the policy (open loop), so this checks
the policy's reading of real data before it ever drives the robot, not its closed-loop flight.

Writes into ``--out``: ``replay.png`` (recorded, predicted and filtered commands over time) and
``replay.json`` (the summary). ``--json`` prints the summary as one JSON object on the last line.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.bags.reader import ReadConfig, read_bag
from liquid_ros.bags.sync import Segment, SyncConfig, synchronise

AXES = ("ax", "ay", "az", "yaw_rate")
"""Action components: world acceleration (m/s^2) per axis and yaw rate (rad/s)."""


@dataclass
class ReplayTrace:
    """Per-sample results of one replay, all episodes concatenated (N samples)."""

    time: np.ndarray
    """(N,) seconds since the first sample of the bag."""
    episode: np.ndarray
    """(N,) episode index of each sample."""
    recorded: np.ndarray
    """(N, 4) recorded commands mapped to actions."""
    predicted: np.ndarray
    """(N, 4) the policy's nominal actions."""
    filtered: np.ndarray
    """(N, 4) after the safety filter (yaw rate unchanged)."""
    intervention: np.ndarray
    """(N,) |a_safe - a_nominal| (m/s^2)."""
    active: list[tuple[str, ...]]
    """Constraints active at each sample."""
    fallback: np.ndarray
    """(N,) bool: the filter fell back to braking."""


def replay_segments(pilot: Any, segments: list[Segment],
                    goal_is_leader: bool = False) -> ReplayTrace:
    """Fly ``pilot`` over synchronised segments, open loop (see the module doc).

    Each recorded sample is one pilot tick at its stamp: image and odometry in, the policy
    stepped with the recorded dt (build the pilot with ``policy_period=0``), stage 1 of the
    safety filter on the recorded state. With ``goal_is_leader`` the segments' goals are the
    leader's position for the leader barrier.
    """
    from liquid_ros.runtime.decoding import OdomSample

    t0 = segments[0].stamps[0]
    rows: dict[str, list[Any]] = {k: [] for k in (
        "time", "episode", "recorded", "predicted", "filtered", "intervention", "active",
        "fallback")}
    for k, seg in enumerate(segments):
        pilot.reset()
        for i in range(len(seg.stamps)):
            now, o = (seg.stamps[i] - t0) / 1e9, seg.odom[i]
            pilot.set_image(seg.images[i], now)
            pilot.set_odom(OdomSample(o[0:3], o[7:10], o[3:7], o[10:13]), now)
            if goal_is_leader:
                pilot.set_leader(OdomSample(np.asarray(seg.goals[i], float), np.zeros(3),
                                            np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3)), now)
            cmd = pilot.tick(now)
            if cmd.step is None:
                raise ValueError(f"the pilot did not step the policy at sample {i} "
                                 f"(mode {cmd.mode}: {cmd.reason})")
            s1 = cmd.status.get("stage1") or {}
            rows["time"].append(now)
            rows["episode"].append(k)
            rows["recorded"].append(seg.actions[i])
            rows["predicted"].append(cmd.step.action)
            rows["filtered"].append(np.append(cmd.accel, cmd.yaw_rate))
            rows["intervention"].append(float(s1.get("intervention", 0.0)))
            rows["active"].append(tuple(s1.get("active", ())))
            rows["fallback"].append(bool(s1.get("fallback", False)))
    arr = {k: np.asarray(v) for k, v in rows.items() if k != "active"}
    return ReplayTrace(arr["time"], arr["episode"], arr["recorded"].astype(np.float64),
                       arr["predicted"], arr["filtered"], arr["intervention"], rows["active"],
                       arr["fallback"])


def summarise(trace: ReplayTrace, threshold: float = 1e-6) -> dict[str, Any]:
    """Errors per axis and filter statistics of a replay."""
    err = trace.predicted - trace.recorded
    per_axis = {name: {"rmse": float(np.sqrt(np.mean(err[:, j] ** 2))),
                       "mae": float(np.mean(np.abs(err[:, j]))),
                       "max_abs": float(np.max(np.abs(err[:, j])))}
                for j, name in enumerate(AXES)}
    hits = trace.intervention > threshold
    active = Counter(name for names in trace.active for name in names)
    return {"samples": int(len(trace.time)), "episodes": int(trace.episode.max() + 1),
            "duration_s": float(trace.time[-1] - trace.time[0]), "error": per_axis,
            "max_abs_error": float(np.max(np.abs(err))),
            "interventions": int(np.count_nonzero(hits)),
            "intervention_rate": float(np.mean(hits)),
            "mean_intervention": float(np.mean(trace.intervention)),
            "max_intervention": float(np.max(trace.intervention)),
            "fallbacks": int(np.count_nonzero(trace.fallback)),
            "active_constraints": dict(sorted(active.items()))}


def plot_replay(trace: ReplayTrace, path: str | Path, title: str = "replay") -> Path:
    """Recorded, predicted and filtered commands over time, one panel per axis (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = ("m/s^2", "m/s^2", "m/s^2", "rad/s")
    fig, axes = plt.subplots(4, 1, figsize=(9, 8), sharex=True)
    for j, ax in enumerate(axes):
        for k in np.unique(trace.episode):
            m = trace.episode == k
            first = k == trace.episode[0]
            ax.plot(trace.time[m], trace.recorded[m, j], color="k", lw=1.2,
                    label="recorded" if first else None)
            ax.plot(trace.time[m], trace.predicted[m, j], color="tab:blue", lw=1.0,
                    label="policy" if first else None)
            if j < 3:
                ax.plot(trace.time[m], trace.filtered[m, j], color="tab:red", lw=0.8, ls="--",
                        label="after safety filter" if first else None)
        ax.set_ylabel(f"{AXES[j]} ({units[j]})")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title(title)
    axes[-1].set_xlabel("time since first sample (s)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def replay(checkpoint: str, bag: str, topics: dict[str, str], *,
           read: ReadConfig | None = None, sync: SyncConfig | None = None,
           task: str | None = None, out: str | None = None
           ) -> tuple[dict[str, Any], ReplayTrace]:
    """Replay a recording through a checkpoint, open loop; returns the summary and the trace.

    Args:
        checkpoint: Policy checkpoint (.pt).
        bag: Bag folder or .mcap/.db3 file.
        topics: Role (image, odom, command, optional goal) -> topic.
        read: How the bag is read (its image size is replaced by the policy's).
        sync: How streams are matched.
        task: Safety settings of this task (default: the checkpoint's task).
        out: Folder for ``replay.png`` and ``replay.json`` (None: write nothing).

    Raises:
        ValueError: On a bad checkpoint or bag (``BagError`` is a ValueError).
    """
    from liquid_ros.models.checkpoint import load_policy
    from liquid_ros.rollouts.policy_episode import task_name
    from liquid_ros.runtime.config import PilotSettings, load_settings
    from liquid_ros.runtime.policy_source import make_pilot, policy_period

    policy = load_policy(checkpoint).eval()
    cfg = policy.config
    read = dataclasses.replace(read or ReadConfig(),
                               image_size=(cfg.image_height, cfg.image_width))
    data = read_bag(bag, topics, read)
    segments, report = synchronise(data.streams, sync or SyncConfig(), str(data.path))
    task = task or (getattr(policy, "checkpoint_metadata", {}) or {}).get("task")
    # The task's own configuration (what policy_node flies), at the acceleration level, one
    # tick per recorded frame: the policy steps with each recorded dt, however irregular.
    settings = load_settings(task_name(task)) if task else PilotSettings()
    leader = "goal" in topics and settings.safety.leader_distance is not None
    # The first step integrates one trained period (as the node's does); later ones the
    # recorded intervals: one policy step per sample (policy_period 0).
    period = policy_period(policy) or float(np.median(
        [d for seg in segments for d in np.ravel(seg.dt)]))
    settings = settings.replace(output_type="accel", use_leader=leader, max_dt=1.0,
                                rate_hz=1.0 / period, input_timeout=60.0, land_timeout=600.0)
    pilot = make_pilot(settings, policy=policy).pilot
    pilot.policy_period = 0.0
    trace = replay_segments(pilot, segments, goal_is_leader=leader)
    summary = {"bag": str(data.path), "checkpoint": str(checkpoint),
               "command_topic": topics["command"], "command_type":
               data.streams["command"].msgtype, "safety_task": task, **summarise(trace),
               "sync": report.to_dict(), "warnings": data.warnings}
    if out:
        summary["plot"] = str(plot_replay(trace, Path(out) / "replay.png",
                                          f"replay of {Path(bag).name}"))
        (Path(out) / "replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary, trace
