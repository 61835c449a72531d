"""Leader-follow task logic (leader trajectory, metrics, success), free of physics and Gymnasium.

Success (documented contract): the episode runs to its time limit with no collision and no
crash, the mean |distance - follow_distance| is at most ``success_distance_error`` and the
leader's centre projects inside the image on at least ``success_in_view`` of the ticks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liquid_ros.sim.camera import CameraConfig
from liquid_ros.sim.trajectories import FAMILIES, Trajectory, sample_trajectory

LEADER_RGBA = (0.95, 0.1, 0.75, 1.0)
"""Leader colour: magenta, used by nothing else in the scene."""


@dataclass(frozen=True)
class LeaderFollowConfig:
    """Settings of :class:`LeaderFollowTask`."""

    follow_distance: float = 1.0
    """Desired distance (m) between follower and leader centres."""
    episode_seconds: float = 15.0
    """Episode length (s); reaching it truncates the episode."""
    families: tuple[str, ...] = FAMILIES
    """Trajectory families drawn from (uniformly); hold one out by leaving it here."""
    speed_range: tuple[float, float] = (0.4, 1.0)
    """Leader speed range (m/s)."""
    size_range: tuple[float, float] = (1.5, 3.0)
    """Trajectory radius / half-length range (m)."""
    altitude_range: tuple[float, float] = (1.0, 2.0)
    """Leader mean altitude range (m)."""
    collision_distance: float = 0.3
    """Centre distance (m) below which follower and leader collide."""
    crash_altitude: float = 0.05
    """Below this altitude (m), or touching the ground, the follower has crashed."""
    success_distance_error: float = 0.3
    """Largest mean distance error (m) of a successful episode."""
    success_in_view: float = 0.9
    """Smallest fraction of ticks with the leader in view for success."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not self.follow_distance > self.collision_distance:
            raise ValueError(f"follow_distance must exceed collision_distance, got "
                             f"{self.follow_distance!r}")
        if not self.episode_seconds > 0.0:
            raise ValueError(f"episode_seconds must be > 0, got {self.episode_seconds!r}")
        if not self.families or any(f not in FAMILIES for f in self.families):
            raise ValueError(f"family must be among {FAMILIES}, got {self.families!r}")
        for name in ("speed_range", "size_range", "altitude_range"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi:
                raise ValueError(f"{name} must satisfy 0 < lo <= hi, got {(lo, hi)!r}")


class LeaderFollowTask:
    """Scripts the leader and scores the follower.

    Args:
        config: Task settings.
        camera: Camera settings, used to decide whether the leader is in view (default
            :class:`CameraConfig`).
    """

    def __init__(self, config: LeaderFollowConfig = LeaderFollowConfig(),
                 camera: CameraConfig | None = None) -> None:
        config.validate()
        self.config = config
        self.camera = camera if camera is not None else CameraConfig()
        self.trajectory: Trajectory | None = None
        self._reset_stats()

    def _reset_stats(self) -> None:
        self.ticks = 0
        self.sum_error = 0.0
        self.in_view_ticks = 0
        self.collisions = 0
        self.crashed = False
        self.time = 0.0

    def reset(self, rng: np.random.Generator) -> dict:
        """Draw a trajectory and the follower's start pose behind the leader, facing it.

        Returns:
            Dict with ``family``, ``start_position`` (3,), ``start_yaw`` (rad),
            ``leader_position`` (3,).
        """
        cfg = self.config
        self._reset_stats()
        family = cfg.families[int(rng.integers(len(cfg.families)))]
        self.trajectory = sample_trajectory(family, rng, cfg.speed_range, cfg.size_range,
                                            cfg.altitude_range)
        lead, vel, _ = self.trajectory.state(0.0)
        heading = math.atan2(vel[1], vel[0])
        start = lead - cfg.follow_distance * np.array([math.cos(heading), math.sin(heading), 0])
        return {"family": family, "start_position": start, "start_yaw": heading,
                "leader_position": lead}

    def leader_state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Leader position (3,) m, velocity (3,) m/s, acceleration (3,) m/s^2 at ``t`` (s)."""
        if self.trajectory is None:
            raise RuntimeError("call reset() before leader_state()")
        return self.trajectory.state(t)

    def in_view(self, pos: np.ndarray, quat: np.ndarray, leader_pos: np.ndarray) -> bool:
        """Whether the leader's centre projects inside the follower's image."""
        uv = self.camera.project(pos, quat, leader_pos)
        return bool(uv is not None and 0.0 <= uv[0] <= self.camera.width
                    and 0.0 <= uv[1] <= self.camera.height)

    def step(self, pos: np.ndarray, quat: np.ndarray, t: float, ground_contact: bool = False
             ) -> tuple[float, bool, bool, dict]:
        """Score one control tick (leader taken at time ``t``).

        Returns:
            (reward, terminated, truncated, terms): reward = -|distance error| + 0.5 if the
            leader is in view - 10 on a collision or crash (both terminate); ``terms`` holds each
            part plus ``distance`` (m), ``distance_error`` (m), ``in_view`` (bool) and
            ``collision`` (bool).
        """
        cfg = self.config
        lead, _, _ = self.leader_state(t)
        dist = float(np.linalg.norm(np.asarray(pos, float) - lead))
        err = dist - cfg.follow_distance
        view = self.in_view(pos, quat, lead)
        collision = dist < cfg.collision_distance
        crashed = bool(ground_contact or pos[2] < cfg.crash_altitude)
        self.ticks += 1
        self.sum_error += abs(err)
        self.in_view_ticks += int(view)
        self.collisions += int(collision)
        self.crashed = self.crashed or crashed
        self.time = t
        terms = {"distance_penalty": -abs(err), "view_bonus": 0.5 * view,
                 "collision_penalty": -10.0 * (collision or crashed)}
        reward = float(sum(terms.values()))
        terms.update(distance=dist, distance_error=err, in_view=view, collision=collision)
        terminated = collision or crashed
        truncated = (not terminated) and t >= cfg.episode_seconds - 1e-9
        return reward, terminated, truncated, terms

    def metrics(self) -> dict:
        """Episode metrics (see the module docstring for success).

        Keys: mean_distance_error (m), in_view_fraction, collisions, crashed, success, time (s).
        """
        cfg = self.config
        n = max(self.ticks, 1)
        mean_err = self.sum_error / n
        frac = self.in_view_ticks / n
        finished = self.time >= cfg.episode_seconds - 1e-9
        success = (finished and self.collisions == 0 and not self.crashed
                   and mean_err <= cfg.success_distance_error and frac >= cfg.success_in_view)
        return {"mean_distance_error": mean_err, "in_view_fraction": frac,
                "collisions": self.collisions, "crashed": self.crashed,
                "success": bool(success), "time": self.time}
