"""Open-loop evaluation of a checkpoint over a rosbag2 recording (``liquid-ros replay``).

The recording is read and synchronised exactly as ``bag-to-dataset`` does (same options). For
each episode the policy starts from a fresh hidden state and is stepped with
``LiquidPolicy.step(image, state, dt)`` at the recorded stamps with the recorded, irregular dt;
its nominal acceleration then goes through stage 1 of the safety filter with the recorded
position and velocity. Reported: the error of the nominal command against the recorded one per
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


def replay_segments(policy: Any, segments: list[Segment], safety: Any,
                    goal_is_leader: bool = False) -> ReplayTrace:
    """Step ``policy`` and the safety filter over synchronised segments (see the module doc).

    With ``goal_is_leader`` the segments' goals feed the filter's leader barrier.
    """
    t0 = segments[0].stamps[0]
    rows: dict[str, list[Any]] = {k: [] for k in (
        "time", "episode", "recorded", "predicted", "filtered", "intervention", "active",
        "fallback")}
    for k, seg in enumerate(segments):
        policy.reset()
        states = seg.states
        for i in range(len(seg.stamps)):
            a = np.asarray(policy.step(seg.images[i], states[i], float(seg.dt[i])), np.float64)
            safe, status = safety.filter_accel(
                seg.odom[i, 0:3], seg.odom[i, 7:10], a[:3],
                leader_pos=seg.goals[i] if goal_is_leader else None,
                gains=getattr(policy, "last_gains", None))
            rows["time"].append((seg.stamps[i] - t0) / 1e9)
            rows["episode"].append(k)
            rows["recorded"].append(seg.actions[i])
            rows["predicted"].append(a)
            rows["filtered"].append(np.concatenate([safe, a[3:]]))
            rows["intervention"].append(status.intervention)
            rows["active"].append(tuple(status.active))
            rows["fallback"].append(bool(status.fallback))
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
    from liquid_ros.rollouts.policy_episode import safety_config_for
    from liquid_ros.safety.config import SafetyConfig
    from liquid_ros.safety.filter import SafetyFilter

    policy = load_policy(checkpoint)
    cfg = policy.config
    read = dataclasses.replace(read or ReadConfig(),
                               image_size=(cfg.image_height, cfg.image_width))
    data = read_bag(bag, topics, read)
    segments, report = synchronise(data.streams, sync or SyncConfig(), str(data.path))
    task = task or (getattr(policy, "checkpoint_metadata", {}) or {}).get("task")
    safety = SafetyFilter(safety_config_for(task) if task else SafetyConfig())
    leader = "goal" in topics and safety.config.leader_distance is not None
    trace = replay_segments(policy, segments, safety, goal_is_leader=leader)
    summary = {"bag": str(data.path), "checkpoint": str(checkpoint),
               "command_topic": topics["command"], "command_type":
               data.streams["command"].msgtype, "safety_task": task, **summarise(trace),
               "sync": report.to_dict(), "warnings": data.warnings}
    if out:
        summary["plot"] = str(plot_replay(trace, Path(out) / "replay.png",
                                          f"replay of {Path(bag).name}"))
        (Path(out) / "replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary, trace
