"""``liquid-ros demo``: sim_node and policy_node in one process, closed loop over real DDS.

Both nodes run in one executor; they talk only through topics (``/clock``, camera, odometry,
``cmd_wrench``), exactly as when launched separately. The policy follows sim time. At the end
the metrics are printed (with ``--json`` one JSON object on the last line), and
``metrics.json``, ``trajectory.json`` and ``demo.png`` (trajectories, altitude and distance)
are written to the run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from liquid_ros.ros.launch_logic import LEVELS
from liquid_ros.runtime.config import read_parameters, task_config_files
from liquid_ros.runtime.policy_source import shipped_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser``."""
    parser.add_argument("--task", choices=("fly_to_target", "leader_follow"),
                        default="fly_to_target", help="task to fly (default fly_to_target)")
    parser.add_argument("--duration", type=float, default=None,
                        help="sim seconds to fly (default: the task's episode length)")
    parser.add_argument("--checkpoint", default="",
                        help="policy checkpoint (.pt); default: the shipped one, else untrained")
    parser.add_argument("--json", action="store_true",
                        help="print the metrics as one JSON object on the last line")
    parser.add_argument("--out", default=None,
                        help="run folder for metrics and plot (default runs/demo-<task>-<time>)")
    parser.add_argument("--real-time-factor", type=float, default=1.0,
                        help="sim seconds per wall second (default 1; above about 1.5 on a "
                        "busy 2-core machine the policy node starts to miss ticks)")
    parser.add_argument("--rate-hz", type=float, default=50.0, help="policy rate (Hz)")
    parser.add_argument("--seed", type=int, default=0, help="episode seed")
    parser.add_argument("--command-level", choices=tuple(LEVELS), default="acceleration",
                        help="acceleration (default): AccelStamped setpoints to the sim's "
                        "flight controller, as on a real autopilot; attitude_thrust / "
                        "rates_thrust: mavros_msgs/AttitudeTarget (attitude or body rates + "
                        "thrust) to it; wrench: body wrenches, the node closing the attitude "
                        "loop itself")
    parser.add_argument("--stack", choices=("ros", "px4"), default="ros",
                        help="px4: fly through px4_adapter and a simulated PX4 (px4_msgs over "
                        "/fmu/in and /fmu/out) at the command level (wrench: acceleration)")


def run(task: str, duration: float | None, checkpoint: str, real_time_factor: float = 1.0,
        rate_hz: float = 50.0, seed: int = 0, wall_timeout: float | None = None,
        command_level: str = "acceleration", stack: str = "ros") -> dict[str, Any]:
    """Fly one closed-loop episode over DDS; returns metrics and the recorded trajectory.

    Returns:
        ``{"metrics": ..., "policy": ..., "trajectory": [...]}``; ``metrics`` is the sim node's
        episode summary, ``policy`` the policy node's counters and its policy source.
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from liquid_ros.ros.policy_node import PolicyNode
    from liquid_ros.ros.sim_node import SimNode

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    sim = pol = None
    extra: list[Any] = []  # the PX4 path's bridge and adapter
    try:
        sim_params = {"task": task, "real_time_factor": float(real_time_factor),
                      "seed": int(seed), "max_episode_time": float(duration or 0.0),
                      "command_level": command_level}
        sim_args: list[str] = []
        if stack == "px4":  # the sim behind PX4's uXRCE-DDS topics, the node behind px4_adapter
            from liquid_ros.control.quadrotor import CF2X
            from liquid_ros.ros.launch_logic import (
                SIM_ATTITUDE_TOPIC,
                SIM_CMD_TOPIC,
                SIM_ODOM_TOPIC,
            )
            from liquid_ros.ros.px4_adapter import Px4Adapter
            from liquid_ros.ros.px4_sim_bridge import Px4SimBridge

            if command_level == "wrench":
                command_level = "acceleration"  # PX4 offboard takes no body wrench here
            sim_cmd = SIM_CMD_TOPIC if command_level == "acceleration" else SIM_ATTITUDE_TOPIC
            sim_params.update(command_level=command_level, cmd_accel_topic=SIM_CMD_TOPIC,
                              cmd_attitude_topic=SIM_ATTITUDE_TOPIC)
            sim_args = ["--ros-args", "-r", f"odom:={SIM_ODOM_TOPIC}"]
            common = [Parameter("use_sim_time", value=True),
                      Parameter("command_level", value=command_level),
                      Parameter("hover_thrust", value=CF2X.weight / CF2X.max_thrust)]
            extra = [Px4SimBridge(context=context, parameter_overrides=[
                         *common, Parameter("sim_cmd_topic", value=sim_cmd),
                         Parameter("sim_odom_topic", value=SIM_ODOM_TOPIC)]),
                     Px4Adapter(context=context, parameter_overrides=common)]
        sim = SimNode(context=context, cli_args=sim_args or None, parameter_overrides=[
            Parameter(k, value=v) for k, v in sim_params.items()])
        # The task's configuration, as the launch files give it (config/<task>.yaml).
        pol_params: dict[str, Any] = {}
        for path in task_config_files(task):
            pol_params.update(read_parameters(path))
        pol_params.update({"task": task, "checkpoint": checkpoint, "rate_hz": float(rate_hz),
                           "use_sim_time": True, "output_type": LEVELS[command_level][0],
                           "cmd_topic": LEVELS[command_level][1]})
        pol = PolicyNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in pol_params.items()])
        if not pol.autostart():
            raise RuntimeError("policy_node failed to configure/activate (see the log)")
        # The demo's episode is short: let the kernels compile before the sim starts it (on a
        # launched system the node holds position meanwhile, see liquid_ros.ros.warmup).
        pol.startup.wait(120.0)
        for node in (sim, pol, *extra):
            executor.add_node(node)
        episode = duration or 60.0
        limit = wall_timeout or (episode / real_time_factor * 3.0 + 30.0
                                 if real_time_factor > 0 else episode * 2.0 + 30.0)
        end = time.monotonic() + limit
        while not sim.bridge.done and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.01)
        metrics = sim.publish_metrics()
        metrics["wall_timeout"] = not sim.bridge.done
        policy = {"source": pol.get_parameter("checkpoint").value or (
            str(shipped_checkpoint(task)) if shipped_checkpoint(task).is_file()
            else "untrained"), **pol.pilot.counters, **{f"rejected_{k}": v
                                                         for k, v in pol.inputs.rejected.items()}}
        return {"metrics": metrics, "policy": policy, "trajectory": sim.bridge.trajectory}
    finally:
        for node in (pol, sim, *extra):
            if node is not None:
                executor.remove_node(node)
                node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown(context=context)


def plot(result: dict[str, Any], task: str, path: Path) -> None:
    """Write the trajectory (top view), altitude and distance plot to ``path`` (PNG, Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    traj = result["trajectory"]
    t = np.array([r["t"] for r in traj])
    pos = np.array([r["position"] for r in traj]).reshape(-1, 3)
    other_key = "leader_position" if task == "leader_follow" else "target_position"
    other = np.array([r.get(other_key, [np.nan] * 3) for r in traj]).reshape(-1, 3)
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    ax[0].plot(pos[:, 0], pos[:, 1], label="drone")
    ax[0].plot(other[:, 0], other[:, 1], "--" if task == "leader_follow" else "x",
               label=other_key.split("_")[0])
    ax[0].set(xlabel="x (m)", ylabel="y (m)", title="top view (ENU)", aspect="equal")
    ax[0].legend()
    ax[1].plot(t, pos[:, 2], label="drone")
    ax[1].plot(t, other[:, 2], "--", label=other_key.split("_")[0])
    ax[1].set(xlabel="sim time (s)", ylabel="altitude (m)", title="altitude")
    ax[1].legend()
    ax[2].plot(t, [r["distance"] for r in traj])
    ax[2].set(xlabel="sim time (s)", ylabel="distance (m)", title=f"distance to {other_key}")
    fig.suptitle(f"liquid_ros demo: {task} (policy: {result['policy']['source']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros demo``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="liquid-ros demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    a = parser.parse_args(argv)
    if not a.checkpoint and not shipped_checkpoint(a.task).is_file():
        print(f"No checkpoint is shipped for {a.task} yet ({shipped_checkpoint(a.task)}): "
              "flying an UNTRAINED policy. It stays safe (safety filter, hover fallback) but "
              "will not do the task.", flush=True)
    out = Path(a.out or f"runs/demo-{a.task}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    result = run(a.task, a.duration, a.checkpoint, a.real_time_factor, a.rate_hz, a.seed,
                 command_level=a.command_level, stack=a.stack)
    plot(result, a.task, out / "demo.png")
    summary = {"task": a.task, **result["metrics"], "policy": result["policy"],
               "out": str(out)}
    from liquid_ros.ros.messages import json_msg
    text = json_msg(summary).data
    (out / "metrics.json").write_text(text + "\n")
    (out / "trajectory.json").write_text(json.dumps(result["trajectory"]) + "\n")
    m = result["metrics"]
    print(f"task {a.task}: {m['steps']} steps, {m['sim_time']:.2f} s sim time, "
          f"mean distance {m['mean_distance']:.3f} m, min altitude {m['min_altitude']:.3f} m, "
          f"sim hover fallback {m['fallback_fraction']:.1%}, "
          f"policy ticks {result['policy']['policy_ticks']}/{result['policy']['ticks']}, "
          f"success {m.get('is_success', 'n/a')}")
    print(f"wrote {out / 'demo.png'}, {out / 'metrics.json'}")
    if a.json:
        print(text)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
