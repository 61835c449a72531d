"""``liquid-ros record-sim``: fly simulated episodes and record them as rosbag2 (MCAP), no ROS.

One bag folder per episode, ``OUT/episode_<seed>/``, with the topics a real drone stack would
record, stamped with the simulation time (header stamp = receive time):

========================  ===============================  =====================================
topic                     type                             content, rate
========================  ===============================  =====================================
``camera/image_raw``      sensor_msgs/msg/Image (rgb8)     onboard camera, at each policy step
``odom``                  nav_msgs/msg/Odometry            pose (world), twist (body), each tick
``cmd_wrench``            geometry_msgs/msg/WrenchStamped  wrench the sim applied (body FLU),
                                                           stamped when it started, each tick
``action``                geometry_msgs/msg/AccelStamped   the flyer's own command at each
                                                           policy step: world acceleration in
                                                           ``linear``, yaw rate in ``angular.z``
``action_executed``       geometry_msgs/msg/AccelStamped   the action flown at each tick (after
                                                           exploration noise or safety filter)
``goal``                  geometry_msgs/msg/PointStamped   target or leader position, each tick
========================  ===============================  =====================================

The flyer is the privileged expert (optionally with exploration noise), or with
``--checkpoint`` a trained policy stepped through ``LiquidPolicy.step`` with the elapsed time,
behind stage 1 of the safety filter, as it would fly on the robot. ``metadata.yaml`` carries
``custom_data`` (``liquid_ros.task``, ``seed``, ``source``, ``action_repeat``, ``env_kwargs``,
``success``) that ``bag-to-dataset`` copies into the dataset manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.bags import messages as bm
from liquid_ros.bags.writer import STORAGES, BagWriter
from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.rollouts.episodes import (
    ExplorationNoise,
    control_period,
    env_settings,
    goal_of,
    make_env,
)

TOPICS = {"image": "camera/image_raw", "odom": "odom", "wrench": "cmd_wrench",
          "action": "action", "executed": "action_executed", "goal": "goal"}
"""Topic names written by :func:`record_episode`."""


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def bag_name(seed: int) -> str:
    """Folder name of the bag of the episode with this seed."""
    return f"episode_{int(seed):06d}"


def record_episode(path: str | Path, task: str, seed: int, *, checkpoint: str | None = None,
                   action_repeat: int = 5, noise: ExplorationNoise | None = None,
                   env_kwargs: dict[str, Any] | None = None, storage: str = "mcap"
                   ) -> dict[str, Any]:
    """Fly one episode and write it as a bag folder at ``path``.

    Args:
        path: Bag folder to create (must not exist).
        task: Environment name or alias.
        seed: Episode seed (``env.reset(seed=seed)``; noise from the same seed).
        checkpoint: Fly this policy (behind the safety filter) instead of the expert.
        action_repeat: Control ticks per policy step (camera frame and ``action`` message).
        noise: Exploration noise on the expert's action (None: no noise).
        env_kwargs: Keyword arguments for the environment.
        storage: ``"mcap"`` or ``"sqlite3"``.

    Returns:
        Summary: seed, steps (images), success, metrics, duration_s, path.
    """
    policy = sfilter = None
    if checkpoint is not None:
        from liquid_ros.models.checkpoint import load_policy
        from liquid_ros.rollouts.policy_episode import safety_config_for
        from liquid_ros.safety.filter import SafetyFilter

        policy = load_policy(checkpoint)
        policy.reset()
        sfilter = SafetyFilter(safety_config_for(task))
    noise = noise or ExplorationNoise(accel_std=0.0, yaw_rate_std=0.0)
    settings = env_settings(env_kwargs, action_repeat)
    env = make_env(task, settings)
    rng = np.random.default_rng([int(seed), 1])
    std = np.array([noise.accel_std] * 3 + [noise.yaw_rate_std])
    custom = {"liquid_ros.task": task, "liquid_ros.seed": str(int(seed)),
              "liquid_ros.source": "policy" if policy is not None else "expert",
              "liquid_ros.action_repeat": str(int(action_repeat)),
              "liquid_ros.env_kwargs": json.dumps(dict(env_kwargs or {}))}
    try:
        obs, info = env.reset(seed=int(seed))
        period = control_period(env) * action_repeat
        decay = float(np.exp(-period / noise.time_constant))
        ou = rng.normal(0.0, 1.0, 4) * std
        steps, last_t, done = 0, -period, False
        with BagWriter(path, storage, custom) as bag:
            _write_state(bag, info)
            while not done:
                t = float(info["time"])
                if policy is not None:
                    nominal = np.asarray(policy.step(obs["image"], obs["state"], t - last_t))
                else:
                    nominal = np.asarray(env.unwrapped.expert_action(), np.float64)
                action = np.clip(nominal + ou, ACTION_LOW, ACTION_HIGH).astype(np.float64)
                bag.write(TOPICS["image"], _ns(t), bm.image_msg(_ns(t), obs["image"]))
                bag.write(TOPICS["action"], _ns(t), bm.accel_msg(_ns(t), nominal))
                steps, last_t = steps + 1, t
                for _ in range(action_repeat):
                    tick = _ns(float(info["time"]))
                    cmd = action.copy()
                    if sfilter is not None:
                        cmd[:3], _ = sfilter.filter_accel(
                            info["position"], info["velocity"], action[:3],
                            leader_pos=info.get("leader_position"),
                            leader_vel=info.get("leader_velocity"), gains=policy.last_gains)
                    bag.write(TOPICS["executed"], tick, bm.accel_msg(tick, cmd))
                    obs, _, terminated, truncated, info = env.step(cmd.astype(np.float32))
                    bag.write(TOPICS["wrench"], tick, bm.wrench_msg(tick, info["wrench"]))
                    _write_state(bag, info)
                    done = bool(terminated or truncated)
                    if done:
                        break
                ou = decay * ou + np.sqrt(1 - decay**2) * rng.normal(0.0, 1.0, 4) * std
            success = bool(info.get("is_success", False))
            bag.set_custom("liquid_ros.success", json.dumps(success))
    finally:
        env.close()
    return {"seed": int(seed), "steps": steps, "success": success,
            "duration_s": float(info["time"]), "path": str(path),
            "metrics": {k: float(v) for k, v in dict(info.get("metrics", {})).items()
                        if isinstance(v, int | float | np.number)}}


def _write_state(bag: BagWriter, info: dict[str, Any]) -> None:
    t = _ns(float(info["time"]))
    bag.write(TOPICS["odom"], t, bm.odometry_msg(t, info["position"], info["quaternion"],
                                                  info["velocity"], info["omega"]))
    bag.write(TOPICS["goal"], t, bm.point_msg(t, goal_of(info)))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquid-ros record-sim",
                                description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, help="fly_to_target or leader_follow")
    p.add_argument("--episodes", type=int, required=True, help="number of episodes")
    p.add_argument("--out", required=True, help="folder of bag folders (created)")
    p.add_argument("--seed", type=int, default=0, help="first seed; episodes use seed..seed+N-1")
    p.add_argument("--checkpoint", default=None, help="fly this policy instead of the expert")
    p.add_argument("--action-repeat", type=int, default=5, help="control ticks per policy step")
    p.add_argument("--storage", choices=STORAGES, default="mcap", help="rosbag2 storage")
    p.add_argument("--noise-accel", type=float, default=0.0,
                   help="expert exploration noise std (m/s^2)")
    p.add_argument("--noise-yaw", type=float, default=0.0,
                   help="expert exploration noise std (rad/s)")
    p.add_argument("--env-arg", action="append", metavar="KEY=VALUE",
                   help="keyword argument for the environment (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros record-sim``; returns the exit code."""
    from tqdm import tqdm

    from liquid_ros.rollouts.collect import parse_env_kwargs

    args = _parser().parse_args(argv)
    start = time.monotonic()
    try:
        if args.episodes < 1 or args.seed < 0 or args.action_repeat < 1:
            raise ValueError("--episodes and --action-repeat must be >= 1 and --seed >= 0")
        env_kwargs = parse_env_kwargs(args.env_arg)
        noise = ExplorationNoise(accel_std=args.noise_accel, yaw_rate_std=args.noise_yaw)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        results = []
        for seed in tqdm(range(args.seed, args.seed + args.episodes), desc="record-sim",
                         disable=True if args.no_progress else None):
            results.append(record_episode(
                out / bag_name(seed), args.task, seed, checkpoint=args.checkpoint,
                action_repeat=args.action_repeat, noise=noise, env_kwargs=env_kwargs,
                storage=args.storage))
    except (ValueError, OSError) as err:
        print(f"liquid-ros record-sim: {err}", file=sys.stderr)
        return 2
    wins = sum(r["success"] for r in results)
    print(f"recorded {len(results)} bags ({sum(r['steps'] for r in results)} frames, "
          f"{wins} successes) in {args.out} in {time.monotonic() - start:.1f} s")
    return 0
