"""A learned policy flying an episode behind the safety filter (evaluation and DAgger).

The policy acts at the policy rate (every ``action_repeat`` control ticks) on the camera image and
the state; stage 1 of the :class:`~liquid_ros.safety.filter.SafetyFilter` runs at every control
tick on the held nominal acceleration, with the privileged position and velocity standing in for
an onboard estimator (and the leader's for the leader barrier). The expert is queried at every
policy step, so the same run yields DAgger labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liquid_ros.rollouts.episodes import (
    Perturbation,
    Recorder,
    control_period,
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
    """Stage-1 safety settings used in evaluation and BarrierNet training.

    Altitude floor 0.2 m, speed limit 3 m/s, and for the leader task a 0.5 m keep-out sphere
    around the leader (0.6 m with the 0.1 m margin; the task counts a collision below 0.3 m)
    with the gains and leader-acceleration bound of ``LEADER_FOLLOW_BARRIER`` (now
    ``p1 = p2 = 4 /s`` and 3.7 m/s^2, the largest acceleration of the task's own leader
    trajectories; it was 3 /s and 1 m/s^2, below what the waypoint leaders reach).

    Why gains above the default: with the default ``p1 = 1 /s`` a follower at the 1 m follow
    distance closing at only 0.26 m/s is already outside the HOCBF's first set
    ``b' + p1 b >= 0``; from there the barrier only slowed the decay of ``b' + p1 b`` and let a
    learned follower closing
    at 0.5-0.6 m/s reach 0.31 m (seed 100040) while asking for less than 1 m/s^2 of the 4 m/s^2
    available. With ``p1 = 3 /s`` closing speeds up to 0.96 m/s at 1 m lie inside it and the
    least distance over the 50 evaluation episodes became 0.67 m (``checkpoints/README.md``).
    """
    from liquid_ros.safety.config import LEADER_FOLLOW_BARRIER, SafetyConfig

    if "leader" in task.lower():
        return SafetyConfig(altitude_min=0.2, **LEADER_FOLLOW_BARRIER)
    return SafetyConfig(altitude_min=0.2)


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
    """Control ticks breaching each safety limit: ``altitude_floor``, ``crash``, ``collision``."""
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
    return hx.detach().reshape(-1).cpu().numpy().astype(np.float32)


def _gains_for_filter(gains: Any, n_rows: int) -> np.ndarray | None:
    if gains is None:
        return None
    g = gains.detach().reshape(-1).cpu().numpy().astype(np.float64)
    if g.size == 2:
        return g
    if g.size == 2 * n_rows:
        return g.reshape(n_rows, 2)
    return None


@dataclass(frozen=True)
class PolicyEpisode:
    """Fly a checkpoint for one seeded episode; picklable for worker processes."""

    task: str
    """Environment name or alias."""
    checkpoint: str
    """Path of a ``save_policy`` checkpoint."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``liquid_ros.sim.make``."""
    action_repeat: int = 5
    """Control ticks per policy step."""
    safety: bool = True
    """Run the stage-1 safety filter on the policy's acceleration."""
    perturbation: Perturbation = Perturbation()
    """Perturbation of the images the policy sees."""
    record: bool = False
    """Keep observations and expert labels as an :class:`Episode`."""
    record_hidden: bool = False
    """Keep the recurrent state after each step."""

    def __call__(self, seed: int) -> PolicyResult:
        """Run the episode with this seed."""
        import torch

        from liquid_ros.safety.filter import SafetyFilter

        policy = load_cached(self.checkpoint)
        env = make_env(self.task, env_settings(self.env_kwargs, self.action_repeat))
        sfilter = SafetyFilter(safety_config_for(self.task)) if self.safety else None
        floor = sfilter.config.altitude_min if sfilter is not None else 0.2
        rng = np.random.default_rng([int(seed), 2])
        try:
            obs, info = env.reset(seed=int(seed))
            period = control_period(env) * self.action_repeat
            rec = Recorder()
            hidden: list[np.ndarray] = []
            times, pos_log, goal_log = [], [], []
            violations = {"altitude_floor": 0, "crash": 0, "collision": 0}
            interventions, fallbacks, total_int, ticks = 0, 0, 0.0, 0
            min_leader = float("inf")
            hx = None
            last_t = -period
            done = False
            while not done:
                t = float(info.get("time", last_t + period))
                image = self.perturbation.apply(obs["image"], rng)
                with torch.no_grad():
                    act, gains, hx = policy(
                        torch.from_numpy(image)[None, None],
                        torch.from_numpy(np.asarray(obs["state"], np.float32))[None, None],
                        torch.tensor([[t - last_t]], dtype=torch.float32), hx)
                action = act.reshape(-1).cpu().numpy().astype(np.float64)
                if not np.all(np.isfinite(action)):
                    action = np.zeros(4)  # never fly NaN: zero acceleration is a hover
                g = None if sfilter is None else _gains_for_filter(
                    gains, len(sfilter.barrier_names))
                if self.record:
                    rec.add(images=obs["image"], states=obs["state"],
                            actions=env.unwrapped.expert_action(), actions_executed=action,
                            dt=t - last_t, timestamps=t, positions=info["position"],
                            velocities=info["velocity"], goals=goal_of(info))
                if self.record_hidden:
                    hidden.append(_hidden_vector(hx))
                times.append(t)
                pos_log.append(np.asarray(info["position"], np.float32))
                goal_log.append(goal_of(info))
                last_t = t
                for _ in range(self.action_repeat):
                    cmd = action.copy()
                    if sfilter is not None:
                        cmd[:3], status = sfilter.filter_accel(
                            info["position"], info["velocity"], action[:3],
                            leader_pos=info.get("leader_position"),
                            leader_vel=info.get("leader_velocity"), gains=g)
                        interventions += int(status.intervention > 1e-6)
                        fallbacks += int(status.fallback)
                        total_int += status.intervention
                    obs, _, terminated, truncated, info = env.step(cmd.astype(np.float32))
                    ticks += 1
                    violations["altitude_floor"] += int(info["altitude"] < floor)
                    violations["collision"] += int(bool(info.get("collision", False)))
                    if "leader_position" in info:
                        min_leader = min(min_leader, float(np.linalg.norm(
                            np.asarray(info["position"]) - info["leader_position"])))
                    done = bool(terminated or truncated)
                    if done:
                        break
            metrics = json_metrics(info)
            violations["crash"] = int(bool(metrics.get("crashed", 0.0)))
            episode = rec.episode(seed, {"task": self.task, "source": "policy",
                                         "success": bool(info.get("is_success", False)),
                                         "metrics": metrics,
                                         "action_repeat": self.action_repeat}
                                  ) if self.record else None
            return PolicyResult(
                seed=int(seed), success=bool(info.get("is_success", False)), metrics=metrics,
                violations=violations, interventions=interventions,
                mean_intervention=total_int / max(ticks, 1), fallbacks=fallbacks,
                control_ticks=ticks,
                time=np.asarray(times), positions=np.stack(pos_log), goals=np.stack(goal_log),
                episode=episode, hidden=np.stack(hidden) if hidden else None,
                extra={"min_leader_distance": min_leader} if np.isfinite(min_leader) else {})
        finally:
            env.close()
