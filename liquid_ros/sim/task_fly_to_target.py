"""Fly-to-target task logic (placement, reward, success), free of physics and Gymnasium.

A ROS node can reuse it: call :meth:`FlyToTargetTask.reset` for a layout, place bodies, then
:meth:`FlyToTargetTask.step` with the drone's state after each control tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liquid_ros.sim.camera import CameraConfig

TARGET_RGBA = (0.9, 0.05, 0.05, 1.0)
"""Target colour: saturated red, used by nothing else in the scene."""
DISTRACTOR_RGBA = ((0.1, 0.3, 0.9, 1.0), (0.95, 0.85, 0.1, 1.0), (0.1, 0.75, 0.75, 1.0),
                   (0.6, 0.2, 0.8, 1.0))
"""Distractor colours: blue, yellow, cyan, purple."""


@dataclass(frozen=True)
class FlyToTargetConfig:
    """Settings of :class:`FlyToTargetTask`."""

    success_radius: float = 0.3
    """Success when the drone centre is within this distance (m) of the target centre."""
    timeout: float = 10.0
    """Episode time limit (s); reaching it truncates the episode."""
    distance_range: tuple[float, float] = (2.0, 5.0)
    """Range of the start-to-target distance (m)."""
    view_fraction: float = 0.6
    """Target direction lies within this fraction of the camera's half field of view."""
    target_radius: float = 0.15
    """Target sphere radius (m)."""
    n_distractors: int = 3
    """Number of distractor objects (no collision)."""
    start_altitude: tuple[float, float] = (0.8, 1.5)
    """Range of the start altitude (m)."""
    min_target_altitude: float = 0.4
    """Lowest target centre altitude (m)."""
    crash_altitude: float = 0.05
    """Below this altitude (m), or touching the ground, the drone has crashed."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not self.success_radius > 0.0:
            raise ValueError(f"success_radius must be > 0, got {self.success_radius!r}")
        if not self.timeout > 0.0:
            raise ValueError(f"timeout must be > 0, got {self.timeout!r}")
        lo, hi = self.distance_range
        if not 0.5 <= lo <= hi:
            raise ValueError(f"distance_range must satisfy 0.5 <= lo <= hi, got "
                             f"{self.distance_range!r}")
        if not 0.0 <= self.view_fraction <= 1.0:
            raise ValueError(f"view_fraction must be in [0, 1], got {self.view_fraction!r}")
        if not (isinstance(self.n_distractors, int) and 0 <= self.n_distractors <= 20):
            raise ValueError(f"n_distractors must be an int in [0, 20], got "
                             f"{self.n_distractors!r}")


class FlyToTargetTask:
    """Places a red target (and distractors) in view and scores the approach.

    Args:
        config: Task settings.
        camera: Camera settings, used to keep the target inside the initial view (default
            :class:`CameraConfig`).
    """

    def __init__(self, config: FlyToTargetConfig = FlyToTargetConfig(),
                 camera: CameraConfig | None = None) -> None:
        config.validate()
        self.config = config
        self.camera = camera if camera is not None else CameraConfig()
        self.target_position = np.zeros(3)
        self.start_position = np.zeros(3)
        self.start_yaw = 0.0
        self.distractors: list[dict] = []
        self._reset_stats()

    def _reset_stats(self) -> None:
        self.prev_distance = math.inf
        self.min_distance = math.inf
        self.path_length = 0.0
        self.success = False
        self.crashed = False
        self.time = 0.0
        self._last_pos: np.ndarray | None = None

    def _direction(self, rng: np.random.Generator, yaw: float, frac: float) -> np.ndarray:
        cam = self.camera
        half_v = math.atan(0.5 * cam.height / cam.focal_px)
        half_h = math.atan(0.5 * cam.width / cam.focal_px)
        az = yaw + rng.uniform(-1.0, 1.0) * frac * half_h
        el = rng.uniform(-1.0, 1.0) * frac * half_v
        return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])

    def reset(self, rng: np.random.Generator, n_distractors: int | None = None) -> dict:
        """Draw a start pose, a target and distractors.

        Args:
            rng: Random generator.
            n_distractors: Distractors this episode; None: ``config.n_distractors``.

        Returns:
            Dict with ``start_position`` (3,), ``start_yaw`` (rad), ``target_position`` (3,),
            ``distractors`` (list of dicts: ``shape`` "sphere" or "box", ``position`` (3,),
            ``size`` (radius or half side, m), ``rgba``).
        """
        cfg = self.config
        self._reset_stats()
        self.start_yaw = float(rng.uniform(-math.pi, math.pi))
        self.start_position = np.array([0.0, 0.0, rng.uniform(*cfg.start_altitude)])
        eye = self.start_position + np.array(
            [math.cos(self.start_yaw), math.sin(self.start_yaw), 0.0]) * self.camera.offset[0]
        for _ in range(20):
            dist = rng.uniform(*cfg.distance_range)
            target = eye + dist * self._direction(rng, self.start_yaw, cfg.view_fraction)
            if target[2] >= cfg.min_target_altitude:
                break
        target[2] = max(target[2], cfg.min_target_altitude)
        self.target_position = target
        self.distractors = []
        line = target - eye
        for i in range(cfg.n_distractors if n_distractors is None else int(n_distractors)):
            for _ in range(20):
                d = rng.uniform(1.5, cfg.distance_range[1] + 2.0)
                pos = eye + d * self._direction(rng, self.start_yaw, 0.9)
                # Keep distractors off the line of sight so they never hide the target.
                s = np.clip((pos - eye) @ line / (line @ line), 0.0, 1.0)
                if (np.linalg.norm(pos - (eye + s * line)) > 0.6
                        and np.linalg.norm(pos - target) > 1.0):
                    break
            size = float(rng.uniform(0.1, 0.2))
            pos[2] = max(pos[2], size)
            self.distractors.append({
                "shape": "sphere" if i % 2 else "box", "position": pos, "size": size,
                "rgba": DISTRACTOR_RGBA[i % len(DISTRACTOR_RGBA)]})
        self.prev_distance = float(np.linalg.norm(self.start_position - target))
        return {"start_position": self.start_position.copy(), "start_yaw": self.start_yaw,
                "target_position": target.copy(), "distractors": self.distractors}

    def step(self, pos: np.ndarray, t: float, ground_contact: bool = False
             ) -> tuple[float, bool, bool, dict]:
        """Score one control tick.

        Args:
            pos: Drone position (3,) in m.
            t: Time since the episode start (s).
            ground_contact: Whether the drone touches the ground.

        Returns:
            (reward, terminated, truncated, terms): reward = progress (m closed this tick)
            + 10 on success - 10 on a crash - 0.01 per tick; ``terms`` holds each part and
            ``distance`` (m).
        """
        cfg = self.config
        pos = np.asarray(pos, float)
        dist = float(np.linalg.norm(pos - self.target_position))
        if self._last_pos is not None:
            self.path_length += float(np.linalg.norm(pos - self._last_pos))
        self._last_pos = pos.copy()
        progress = self.prev_distance - dist
        self.prev_distance = dist
        self.min_distance = min(self.min_distance, dist)
        self.time = t
        self.success = dist <= cfg.success_radius
        self.crashed = bool(ground_contact or pos[2] < cfg.crash_altitude) and not self.success
        terms = {"progress": progress, "success_bonus": 10.0 * self.success,
                 "crash_penalty": -10.0 * self.crashed, "time_penalty": -0.01}
        reward = float(sum(terms.values()))
        terms["distance"] = dist
        terminated = self.success or self.crashed
        truncated = (not terminated) and t >= cfg.timeout - 1e-9
        return reward, terminated, truncated, terms

    def metrics(self) -> dict:
        """Episode metrics: success, crashed, time (s), final/min distance (m), path length."""
        return {"success": bool(self.success), "crashed": bool(self.crashed),
                "time": float(self.time), "final_distance": float(self.prev_distance),
                "min_distance": float(self.min_distance), "path_length": self.path_length}
