"""Episode functions: the expert flying (collection) and a policy flying (DAgger, evaluation).

Both are picklable dataclasses called as ``fn(seed)``, so :func:`~liquid_ros.rollouts.runner.
run_episodes` can run them in worker processes. Every random draw comes from the seed: the env
through ``reset(seed=seed)``, exploration noise and image perturbations through a NumPy
generator seeded with ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.train.dataset import Episode


@dataclass(frozen=True)
class ExplorationNoise:
    """Ornstein-Uhlenbeck noise added to the expert's action while collecting.

    Temporally correlated noise pushes the drone off the expert's path for long enough that the
    recording shows how the expert recovers (white noise of the same size would average out
    within a few control ticks); the label stays the expert's clean action.
    """

    accel_std: float = 0.6
    """Stationary std of the acceleration noise (m/s^2) per axis."""
    yaw_rate_std: float = 0.2
    """Stationary std of the yaw-rate noise (rad/s)."""
    time_constant: float = 0.5
    """Correlation time of the noise (s)."""


@dataclass(frozen=True)
class Perturbation:
    """Observation perturbations for robustness tests (applied to what the policy sees)."""

    image_noise_std: float = 0.0
    """Per-pixel Gaussian noise std, fraction of full scale."""
    brightness: float = 0.0
    """Additive brightness shift, fraction of full scale (negative darkens)."""

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Perturbed copy of ``image`` (H, W, 3) uint8."""
        if self.image_noise_std == 0.0 and self.brightness == 0.0:
            return image
        img = image.astype(np.float32) + self.brightness * 255.0
        if self.image_noise_std > 0:
            img += rng.normal(0.0, self.image_noise_std * 255.0, img.shape).astype(np.float32)
        return np.clip(img, 0.0, 255.0).astype(np.uint8)


def make_env(task: str, env_kwargs: dict[str, Any] | None = None) -> Any:
    """Build the task's environment through ``liquid_ros.sim.make``."""
    from liquid_ros import sim

    return sim.make(task, **(env_kwargs or {}))


def control_period(env: Any) -> float:
    """Control period (s) of an env (one ``step`` call)."""
    base = env.unwrapped
    for name in ("control_dt", "dt", "control_period"):
        value = getattr(base, name, None)
        if value is not None:
            return float(value)
    hz = getattr(base, "control_hz", None)
    if hz:
        return 1.0 / float(hz)
    raise ValueError(f"cannot find the control period of {type(base).__name__}")


def goal_of(info: dict[str, Any]) -> np.ndarray:
    """Privileged goal position (3,): the target, or the leader."""
    for key in ("target_position", "leader_position"):
        if key in info:
            return np.asarray(info[key], np.float32)
    raise ValueError(f"info has neither target_position nor leader_position: {sorted(info)}")


class Recorder:
    """Accumulates per-step arrays of one episode."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in (
            "images", "states", "actions", "actions_executed", "dt", "timestamps", "positions",
            "velocities", "goals")}

    def add(self, **values: Any) -> None:
        """Append one step's values (keyword per array)."""
        for k, v in values.items():
            self.cols[k].append(np.asarray(v))

    def episode(self, seed: int, meta: dict[str, Any]) -> Episode:
        """The recorded steps as an :class:`Episode`."""
        types = {"images": np.uint8, "timestamps": np.float64}
        arrays = {k: np.stack(v).astype(types.get(k, np.float32)) for k, v in self.cols.items()}
        return Episode(seed=seed, meta=meta, **arrays)


def json_metrics(info: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of ``info["metrics"]`` as floats (JSON-safe)."""
    out = {}
    for k, v in dict(info.get("metrics", {})).items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def env_settings(env_kwargs: dict[str, Any] | None, action_repeat: int) -> dict[str, Any]:
    """Env keyword arguments with the camera slowed to the policy rate.

    The policy acts every ``action_repeat`` control ticks, so frames in between are never used;
    rendering only those saves most of the simulation time.

    Raises:
        ValueError: If ``action_repeat`` < 1.
    """
    if int(action_repeat) != action_repeat or action_repeat < 1:
        raise ValueError(f"action_repeat must be an integer >= 1, got {action_repeat!r}")
    kwargs = dict(env_kwargs or {})
    control_hz = float(kwargs.get("control_hz", 50.0))
    kwargs.setdefault("camera_hz", control_hz / int(action_repeat))
    return kwargs


def setpoint_observer(env: Any) -> Any:
    """The pilot's disturbance observer for an env flown at the acceleration level, else None.

    Expert demonstrations fly the way the pilot will: at the acceleration level the setpoint
    sent is the expert's acceleration less the disturbance the flight controller leaves
    (:class:`~liquid_ros.runtime.levels.SetpointObserver`, same settings), while the label
    stays the expert's own acceleration, the one the policy learns and the pilot corrects.
    """
    from liquid_ros.control.levels import CommandLevel
    from liquid_ros.runtime.levels import SetpointObserver

    level = getattr(env.unwrapped, "command_level", None)
    return SetpointObserver() if level == CommandLevel.ACCELERATION else None


def compensated(observer: Any, action: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    """``action`` (4,) with the observer's disturbance estimate taken off its acceleration."""
    if observer is None:
        return action
    now = float(info["time"])
    observer.update(float(info.get("odom_stamp", now)), info["velocity"])
    out = np.array(action, dtype=np.float64)
    out[:3] = np.clip(out[:3] - observer.estimate, ACTION_LOW[:3], ACTION_HIGH[:3])
    observer.sent(now, out[:3])
    return out.astype(np.float32)


@dataclass(frozen=True)
class ExpertEpisode:
    """Fly the privileged expert with exploration noise; record an :class:`Episode`.

    The expert is queried at the policy rate (every ``action_repeat`` control ticks) and its
    noisy action held in between, exactly as a learned policy will fly.
    """

    task: str
    """Environment name or alias (e.g. ``"fly_to_target"``)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``liquid_ros.sim.make``."""
    noise: ExplorationNoise = ExplorationNoise()
    """Exploration noise on the executed action."""
    action_repeat: int = 5
    """Control ticks per policy step (5 at the 50 Hz control rate: a 10 Hz policy)."""

    def __call__(self, seed: int) -> Episode:
        """Run the episode with this seed."""
        env = make_env(self.task, env_settings(self.env_kwargs, self.action_repeat))
        try:
            rng = np.random.default_rng([int(seed), 1])
            obs, info = env.reset(seed=int(seed))
            period = control_period(env) * self.action_repeat
            decay = float(np.exp(-period / self.noise.time_constant))
            std = np.array([self.noise.accel_std] * 3 + [self.noise.yaw_rate_std])
            ou = rng.normal(0.0, 1.0, 4) * std
            rec = Recorder()
            last_t = -period
            done = False
            observer = setpoint_observer(env)
            while not done:
                t = float(info.get("time", last_t + period))
                label = np.asarray(env.unwrapped.expert_action(), np.float32)
                executed = np.clip(label + ou, ACTION_LOW, ACTION_HIGH).astype(np.float32)
                rec.add(images=obs["image"], states=obs["state"], actions=label,
                        actions_executed=executed, dt=t - last_t, timestamps=t,
                        positions=info["position"], velocities=info["velocity"],
                        goals=goal_of(info))
                last_t = t
                for _ in range(self.action_repeat):
                    obs, _, terminated, truncated, info = env.step(
                        compensated(observer, executed, info))
                    done = bool(terminated or truncated)
                    if done:
                        break
                ou = decay * ou + np.sqrt(1 - decay**2) * rng.normal(0.0, 1.0, 4) * std
            meta = {"task": self.task, "source": "expert", "success": bool(info.get(
                "is_success", False)), "metrics": json_metrics(info),
                "action_repeat": self.action_repeat,
                "noise": {"accel_std": self.noise.accel_std,
                          "yaw_rate_std": self.noise.yaw_rate_std,
                          "time_constant": self.noise.time_constant}}
            return rec.episode(seed, meta)
        finally:
            env.close()
