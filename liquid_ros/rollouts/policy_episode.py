"""A learned policy flying an episode through the one Pilot (evaluation and DAgger).

Each control tick the env's odometry (``info``: the measured state, with the preset's latency
and noise) and camera image go to a :class:`~liquid_ros.runtime.pilot.Pilot` built exactly as
policy_node builds it (:func:`~liquid_ros.runtime.policy_source.make_pilot`, settings from the
task's ``config/<task>.yaml``: :func:`~liquid_ros.runtime.config.load_settings`), and the
pilot's command goes to the env at its level: acceleration setpoints to the simulated flight
controller (``command_level="acceleration"``), or body wrenches (``step_wrench``). The policy
steps at its trained period inside the pilot; the expert is queried at every policy step, so
the same run yields DAgger labels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liquid_ros.rollouts.episodes import (
    Perturbation,
    Recorder,
    env_settings,
    goal_of,
    json_metrics,
    make_env,
)
from liquid_ros.train.dataset import Episode

_POLICIES: dict[tuple[str, float], Any] = {}


def load_cached(path: str) -> Any:
    """``load_policy(path)`` in eval mode, cached per process (keyed by path and mtime)."""
    import os

    from liquid_ros.models.checkpoint import load_policy

    key = (os.path.abspath(path), os.path.getmtime(path))
    if key not in _POLICIES:
        _POLICIES.clear()
        policy = load_policy(path)
        policy.eval()
        _POLICIES[key] = policy
    return _POLICIES[key]


def safety_config_for(task: str) -> Any:
    """The stage-1 safety settings of ``task``: the ``safety`` group of ``config/<task>.yaml``.

    The same file policy_node gets from the launch files, so evaluation, BarrierNet training
    and the node agree (the leader task's keep-out and gains are documented there and in
    ``liquid_ros.safety.config.LEADER_FOLLOW_BARRIER``).
    """
    return _task_settings(task_name(task)).safety


def task_name(task: str) -> str:
    """The config name of an env id or alias (``liquid_ros/LeaderFollow-v0`` -> leader_follow)."""
    return "leader_follow" if "leader" in task.lower() else "fly_to_target"


def pilot_settings(task: str, env_kwargs: dict[str, Any] | None = None,
                   settings: Any = None) -> tuple[Any, dict[str, Any]]:
    """(PilotSettings, env kwargs) for flying ``task`` in simulation as the node flies it.

    The settings are the task's configuration (or ``settings``), at the env's control rate;
    an env ``command_level`` (``--env-arg``, or a checkpoint trained at it) chooses the
    pilot's level, else the configuration's ``output_type`` does, and the env is set to
    match (its simulated flight controller takes every setpoint level; wrenches bypass it).
    """
    from liquid_ros.control.levels import COMMAND_LEVELS, CommandLevel
    from liquid_ros.runtime.config import LEVEL_OUTPUTS

    settings = settings or _task_settings(task_name(task))
    kwargs = dict(env_kwargs or {})
    level = kwargs.get("command_level")
    if level in COMMAND_LEVELS:
        settings = settings.replace(output_type=LEVEL_OUTPUTS[CommandLevel(level)])
    elif level is not None:
        raise ValueError(f"command_level must be one of {COMMAND_LEVELS}, got {level!r}")
    level = settings.command_level
    # The env's flight controller takes the setpoint levels; wrenches go to it directly.
    kwargs["command_level"] = None if level == CommandLevel.WRENCH else level.value
    settings = settings.replace(rate_hz=float(kwargs.get("control_hz", 50.0)))
    return settings, kwargs


@functools.lru_cache(maxsize=4)
def _task_settings(task: str) -> Any:
    """The task's configuration, read once per process (episodes run by the hundred)."""
    from liquid_ros.runtime.config import load_settings

    return load_settings(task)


class _NoFilter:
    """Both filter stages off (``--no-safety``): commands pass unchanged (still bounded)."""

    barrier_names: tuple[str, ...] = ()

    def filter_action(self, pos: Any, vel: Any, action: np.ndarray, **_: Any) -> Any:
        return np.asarray(action, float), None

    def filter_wrench(self, wrench: np.ndarray) -> Any:
        return np.asarray(wrench, float), None


@dataclass
class PolicyResult:
    """Outcome of one closed-loop episode."""

    seed: int
    """Episode seed."""
    success: bool
    """The env's ``is_success``."""
    metrics: dict[str, float]
    """The env's episode metrics."""
    violations: dict[str, int]
    """Control ticks breaching each safety limit: ``altitude_floor``, ``crash``, ``collision``,
    ``speed`` (true speed over the filter's ``speed_max``)."""
    interventions: int
    """Control ticks where the filter changed the nominal command."""
    mean_intervention: float
    """Mean |a_safe - a_nom| (m/s^2) over all control ticks."""
    fallbacks: int
    """Control ticks where the filter fell back to braking."""
    control_ticks: int
    """Control ticks flown."""
    time: np.ndarray
    """(T,) policy-step times (s)."""
    positions: np.ndarray
    """(T, 3) positions (m) at policy steps."""
    goals: np.ndarray
    """(T, 3) target or leader positions (m)."""
    episode: Episode | None = None
    """Observations with expert labels when recorded (DAgger, saliency)."""
    hidden: np.ndarray | None = None
    """(T, N) recurrent state after each policy step, when recorded."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else (e.g. minimum leader distance)."""

    @property
    def violated(self) -> bool:
        """True when any safety limit was breached."""
        return any(v > 0 for v in self.violations.values())


def _hidden_vector(hx: Any) -> np.ndarray:
    if isinstance(hx, (tuple, list)):
        hx = hx[0]
    if hasattr(hx, "detach"):
        hx = hx.detach().cpu().numpy()
    return np.asarray(hx, np.float32).reshape(-1)


def _odom(info: dict[str, Any], prefix: str = "") -> Any:
    from liquid_ros.runtime.decoding import OdomSample

    if prefix:  # the leader: position and velocity (what the leader barrier uses)
        return OdomSample(np.asarray(info["leader_position"], float),
                          np.asarray(info["leader_velocity"], float),
                          np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3))
    return OdomSample(np.asarray(info["position"], float), np.asarray(info["velocity"], float),
                      np.asarray(info["quaternion"], float), np.asarray(info["omega"], float))


def observe(pilot: Any, obs: dict[str, Any], info: dict[str, Any], image: Any = None) -> Any:
    """Feed the env's observation to ``pilot`` as sim_node publishes it and tick once.

    The camera image (``image`` replaces it, e.g. perturbed), the measured odometry (stamped
    with its measurement time, as sim_node's header stamp) and, in the leader task, the
    leader's odometry, all received now (``info["time"]``).
    """
    now = float(info["time"])
    pilot.set_image(obs["image"] if image is None else image, now)
    pilot.set_odom(_odom(info), now, stamp=info.get("odom_stamp"))
    if "leader_position" in info:
        pilot.set_leader(_odom(info, "leader"), now)
    return pilot.tick(now)


def _period_draw(pilot: Any, period: float | None, jitter: float, tick: float,
                 seed: int) -> Any:
    """Set the pilot's policy period (``period``; None keeps it).

    With ``jitter`` > 0 the first period is drawn now and a seeded draw of the next one is
    returned (whole control ticks of ``tick`` s); otherwise None.
    """
    if period is not None:
        if not math.isfinite(period) or period <= 0.0:
            raise ValueError(f"policy_period must be > 0 s, got {period!r}")
        pilot.policy_period = float(period)
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"period_jitter must be in [0, 1), got {jitter!r}")
    if jitter == 0.0:
        return None
    ticks = pilot.policy_period / tick
    lo = max(1, math.ceil(ticks * (1.0 - jitter) - 1e-9))
    hi = max(lo, math.floor(ticks * (1.0 + jitter) + 1e-9))
    rng = np.random.default_rng([int(seed), 3])

    def draw() -> float:
        return int(rng.integers(lo, hi + 1)) * tick

    pilot.policy_period = draw()
    return draw


@dataclass(frozen=True)
class PolicyEpisode:
    """Fly a checkpoint for one seeded episode through the Pilot; picklable for workers."""

    task: str
    """Environment name or alias."""
    checkpoint: str
    """Path of a ``save_policy`` checkpoint."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``liquid_ros.sim.make``."""
    action_repeat: int = 5
    """Control ticks per policy step (sets the camera rate; the pilot steps the policy at
    the checkpoint's own period)."""
    safety: bool = True
    """Both safety filter stages on (off: commands pass unfiltered, still bounded)."""
    perturbation: Perturbation = Perturbation()
    """Perturbation of the images the policy sees."""
    record: bool = False
    """Keep observations and expert labels as an :class:`Episode`."""
    record_hidden: bool = False
    """Keep the recurrent state after each step."""
    settings: Any = None
    """PilotSettings; None: the task's ``config/<task>.yaml``."""
    policy_period: float | None = None
    """Seconds between policy steps instead of the checkpoint's trained period (timing
    shifts, ``liquid-ros compare``); None keeps the trained period."""
    period_jitter: float = 0.0
    """Irregular policy timing: each step's period is a whole number of control ticks drawn
    uniformly (seeded) within ``policy period * [1 - j, 1 + j]``; 0 keeps it regular."""

    def __call__(self, seed: int) -> PolicyResult:
        """Run the episode with this seed."""
        from liquid_ros.control.levels import CommandLevel
        from liquid_ros.runtime.policy_source import make_pilot

        settings, kwargs = pilot_settings(self.task, self.env_kwargs, self.settings)
        policy = load_cached(self.checkpoint)
        pilot = make_pilot(settings, policy=policy).pilot
        if not self.safety:
            pilot.safety = _NoFilter()
        env = make_env(self.task, env_settings(kwargs, self.action_repeat))
        base, wrench_level = env.unwrapped, pilot.level == CommandLevel.WRENCH
        floor = settings.safety.altitude_min if settings.safety.altitude_min is not None \
            else 0.2
        rng = np.random.default_rng([int(seed), 2])
        try:
            next_period = _period_draw(pilot, self.policy_period, self.period_jitter,
                                       1.0 / float(kwargs.get("control_hz", 50.0)), seed)
            obs, info = env.reset(seed=int(seed))
            pilot.reset()
            rec, hidden, times, pos_log, goal_log = Recorder(), [], [], [], []
            violations = {"altitude_floor": 0, "crash": 0, "collision": 0, "speed": 0}
            speed_max = settings.safety.speed_max
            interventions = fallbacks = ticks = 0
            total_int, min_leader, done = 0.0, float("inf"), False
            leader = "leader_position" in info
            while not done:
                now = float(info["time"])
                cmd = observe(pilot, obs, info, self.perturbation.apply(obs["image"], rng))
                if cmd.step is not None:
                    if next_period is not None:
                        pilot.policy_period = next_period()
                    if self.record:
                        rec.add(images=obs["image"], states=cmd.step.state,
                                actions=base.expert_action(), actions_executed=cmd.step.action,
                                dt=cmd.step.dt, timestamps=now, positions=info["position"],
                                velocities=info["velocity"], goals=goal_of(info))
                    if self.record_hidden:
                        hidden.append(_hidden_vector(policy.hidden_state))
                    times.append(now)
                    pos_log.append(np.asarray(info["true_position"], np.float32))
                    goal_log.append(goal_of(info))
                s1 = cmd.status.get("stage1") or {}
                interventions += int(s1.get("intervention", 0.0) > 1e-6)
                fallbacks += int(bool(s1.get("fallback", False)))
                total_int += float(s1.get("intervention", 0.0))
                obs, _, terminated, truncated, info = (
                    base.step_wrench(cmd.wrench) if wrench_level
                    else base.step_setpoint(cmd.values))
                ticks += 1
                violations["altitude_floor"] += int(info["altitude"] < floor)
                violations["collision"] += int(bool(info.get("collision", False)))
                if speed_max is not None:  # the true speed over the filter's limit
                    violations["speed"] += int(
                        float(np.linalg.norm(info["true_velocity"])) > speed_max)
                if leader:
                    min_leader = min(min_leader, float(np.linalg.norm(
                        np.asarray(info["true_position"]) - info["leader_position"])))
                done = bool(terminated or truncated)
            metrics = json_metrics(info)
            violations["crash"] = int(bool(metrics.get("crashed", 0.0)))
            success = bool(info.get("is_success", False))
            episode = rec.episode(seed, {"task": self.task, "source": "policy",
                                         "success": success, "metrics": metrics,
                                         "action_repeat": self.action_repeat,
                                         "command_level": pilot.level.value}
                                  ) if self.record else None
            return PolicyResult(
                seed=int(seed), success=success, metrics=metrics, violations=violations,
                interventions=interventions, mean_intervention=total_int / max(ticks, 1),
                fallbacks=fallbacks, control_ticks=ticks, time=np.asarray(times),
                positions=np.stack(pos_log), goals=np.stack(goal_log), episode=episode,
                hidden=np.stack(hidden) if hidden else None,
                extra={"min_leader_distance": min_leader} if np.isfinite(min_leader) else {})
        finally:
            env.close()
