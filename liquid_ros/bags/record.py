"""Fly simulated episodes and record them as rosbag2 (MCAP), no ROS (``liquid-ros record-sim``).

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
``--checkpoint`` a trained policy flown by the same :class:`~liquid_ros.runtime.pilot.Pilot`
as policy_node and ``liquid-ros eval`` (the task's ``config/<task>.yaml``, its command level).
``metadata.yaml`` carries ``custom_data`` (``liquid_ros.task``, ``seed``, ``source``,
``action_repeat``, ``env_kwargs``, ``success``) that ``bag-to-dataset`` copies into the dataset
manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.bags import messages as bm
from liquid_ros.bags.writer import BagWriter
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
    pilot = None
    noise = noise or ExplorationNoise(accel_std=0.0, yaw_rate_std=0.0)
    if checkpoint is not None:
        from liquid_ros.models.checkpoint import load_policy
        from liquid_ros.rollouts.policy_episode import pilot_settings
        from liquid_ros.runtime.policy_source import make_pilot

        settings, env_kwargs = pilot_settings(task, env_kwargs)
        pilot = make_pilot(settings, policy=load_policy(checkpoint).eval()).pilot
    env = make_env(task, env_settings(env_kwargs, action_repeat))
    rng = np.random.default_rng([int(seed), 1])
    std = np.array([noise.accel_std] * 3 + [noise.yaw_rate_std])
    custom = {"liquid_ros.task": task, "liquid_ros.seed": str(int(seed)),
              "liquid_ros.source": "policy" if pilot is not None else "expert",
              "liquid_ros.action_repeat": str(int(action_repeat)),
              "liquid_ros.env_kwargs": json.dumps(
                  {k: v for k, v in dict(env_kwargs or {}).items() if v is not None})}
    try:
        obs, info = env.reset(seed=int(seed))
        if pilot is not None:
            pilot.reset()
        period = control_period(env) * action_repeat
        decay = float(np.exp(-period / noise.time_constant))
        ou = rng.normal(0.0, 1.0, 4) * std
        steps, tick, done, action = 0, 0, False, np.zeros(4)
        with BagWriter(path, storage, custom) as bag:
            _write_state(bag, info)
            while not done:
                t = _ns(float(info["time"]))
                if pilot is not None:  # the node's own chain, fed as sim_node feeds it
                    step, executed, result = _pilot_tick(pilot, env, obs, info)
                    nominal = None if step is None else step.action
                else:  # the expert at the policy rate, held between its steps
                    nominal = None
                    if tick % action_repeat == 0:
                        nominal = np.asarray(env.unwrapped.expert_action(), np.float64)
                        action = np.clip(nominal + ou, ACTION_LOW, ACTION_HIGH)
                        ou = decay * ou + np.sqrt(1 - decay**2) * rng.normal(0.0, 1.0, 4) * std
                    executed = action
                    result = env.step(action.astype(np.float32))
                if nominal is not None:
                    bag.write(TOPICS["image"], t, bm.image_msg(t, obs["image"]))
                    bag.write(TOPICS["action"], t, bm.accel_msg(t, nominal))
                    steps += 1
                bag.write(TOPICS["executed"], t, bm.accel_msg(t, executed))
                obs, _, terminated, truncated, info = result
                bag.write(TOPICS["wrench"], t, bm.wrench_msg(t, info["wrench"]))
                _write_state(bag, info)
                tick, done = tick + 1, bool(terminated or truncated)
            success = bool(info.get("is_success", False))
            bag.set_custom("liquid_ros.success", json.dumps(success))
    finally:
        env.close()
    return {"seed": int(seed), "steps": steps, "success": success,
            "duration_s": float(info["time"]), "path": str(path),
            "metrics": {k: float(v) for k, v in dict(info.get("metrics", {})).items()
                        if isinstance(v, int | float | np.number)}}


def _pilot_tick(pilot: Any, env: Any, obs: dict[str, Any], info: dict[str, Any]
                ) -> tuple[Any, np.ndarray, tuple[Any, ...]]:
    """One tick of the pilot on the env's observation: (policy step or None, action, step)."""
    from liquid_ros.control.levels import CommandLevel
    from liquid_ros.rollouts.policy_episode import observe

    cmd = observe(pilot, obs, info)
    base = env.unwrapped
    result = (base.step_wrench(cmd.wrench) if cmd.level == CommandLevel.WRENCH
              else base.step_setpoint(cmd.values))
    return cmd.step, np.append(cmd.accel, cmd.yaw_rate), result


def _write_state(bag: BagWriter, info: dict[str, Any]) -> None:
    t = _ns(float(info["time"]))
    bag.write(TOPICS["odom"], t, bm.odometry_msg(t, info["position"], info["quaternion"],
                                                  info["velocity"], info["omega"]))
    bag.write(TOPICS["goal"], t, bm.point_msg(t, goal_of(info)))


def record_episodes(out: str | Path, task: str, episodes: int, seed: int = 0, *,
                    checkpoint: str | None = None, action_repeat: int = 5,
                    noise: ExplorationNoise | None = None,
                    env_kwargs: dict[str, Any] | None = None, storage: str = "mcap",
                    progress: bool = True) -> list[dict[str, Any]]:
    """Record seeds ``seed .. seed + episodes - 1`` as bag folders ``out/episode_<seed>``.

    Returns:
        One :func:`record_episode` summary per episode.

    Raises:
        ValueError: If ``episodes`` or ``action_repeat`` < 1 or ``seed`` < 0.
    """
    from tqdm import tqdm

    if episodes < 1 or seed < 0 or action_repeat < 1:
        raise ValueError("--episodes and --action-repeat must be >= 1 and --seed >= 0")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [record_episode(out / bag_name(s), task, s, checkpoint=checkpoint,
                           action_repeat=action_repeat, noise=noise, env_kwargs=env_kwargs,
                           storage=storage)
            for s in tqdm(range(seed, seed + episodes), desc="record-sim",
                          disable=None if progress else True)]
