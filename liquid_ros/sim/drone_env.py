"""Shared Gymnasium plumbing of the drone tasks: spaces, control loop, camera schedule, info."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW, AccelerationController
from liquid_ros.control.rotation import quat_from_euler
from liquid_ros.sim.camera import CameraConfig
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig


def check_number(name: str, value: Any, lo: float, hi: float) -> float:
    """``value`` as a float if it is a finite number in [lo, hi]; else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return float(value)


class DroneEnv(gym.Env):
    """Base class of the drone environments (see the subclasses for the task docs).

    Args:
        render_mode: None or "rgb_array" (``render()`` returns the onboard camera image).
        camera: Render the onboard camera. With False the ``image`` observation is all zeros
            (for fast closed-loop tests of privileged experts).
        image_width: Camera image width (pixels).
        image_height: Camera image height (pixels).
        fov_deg: Vertical field of view (degrees).
        camera_hz: Camera rate (Hz), at most ``control_hz``; between frames the last image is
            repeated. None means ``control_hz``.
        control_hz: Control rate (Hz): one ``step`` holds its command (zero-order hold) over
            the physics substeps of one control period.
        physics_hz: Physics rate (Hz).
        ground_effect: Model extra thrust near the ground.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None, camera: bool = True,
                 image_width: int = 64, image_height: int = 64, fov_deg: float = 90.0,
                 camera_hz: float | None = None, control_hz: float = 50.0,
                 physics_hz: float = 240.0, ground_effect: bool = False) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        for name, flag in (("camera", camera), ("ground_effect", ground_effect)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be a bool, got {flag!r}")
        for name, size in (("image_width", image_width), ("image_height", image_height)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not (
                    8 <= size <= 1024):
                raise ValueError(f"{name} must be an integer in [8, 1024], got {size!r}")
        fov_deg = check_number("fov_deg", fov_deg, 10.0, 170.0)
        physics_hz = check_number("physics_hz", physics_hz, 50.0, 2000.0)
        control_hz = check_number("control_hz", control_hz, 1.0, physics_hz)
        camera_hz = control_hz if camera_hz is None else check_number(
            "camera_hz", camera_hz, 0.1, control_hz)
        self.render_mode = render_mode
        self.use_camera = camera
        self.control_hz = control_hz
        self.camera_hz = camera_hz
        self.metadata = {**self.metadata, "render_fps": control_hz}
        cam = CameraConfig(width=int(image_width), height=int(image_height), fov_deg=fov_deg)
        self.sim = QuadrotorSim(SimConfig(physics_hz=physics_hz, ground_effect=ground_effect,
                                          camera=cam))
        self.controller = AccelerationController(self.sim.params)
        self.observation_space = spaces.Dict({
            "image": spaces.Box(0, 255, (cam.height, cam.width, 3), np.uint8),
            "state": spaces.Box(-np.inf, np.inf, (10,), np.float32),
        })
        self.action_space = spaces.Box(ACTION_LOW, ACTION_HIGH, dtype=np.float32)
        self._image = np.zeros((cam.height, cam.width, 3), np.uint8)
        self._tick = 0
        self._next_frame = 0.0
        self._task_bodies: list[int] = []

    # ----------------------------------------------------------------- hooks for subclasses
    def _reset_task(self) -> tuple[np.ndarray, float]:
        """Set up the task; return the start position (3,) and yaw (rad)."""
        raise NotImplementedError

    def _update_scene(self, t: float) -> None:
        """Move kinematic bodies to time ``t`` (s)."""

    def _score(self, t: float, ground_contact: bool) -> tuple[float, bool, bool, dict]:
        raise NotImplementedError

    def _task_info(self) -> dict:
        return {}

    def _metrics(self) -> dict:
        raise NotImplementedError

    def expert_action(self) -> np.ndarray:
        """Privileged expert's action (4,) float32 for the current state."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[dict, dict]:
        """Start an episode; randomness comes only from ``seed`` (through ``np_random``)."""
        super().reset(seed=seed)
        for body in self._task_bodies:
            self.sim.remove_body(body)
        self._task_bodies = []
        start, yaw = self._reset_task()
        self.sim.reset(start, quat_from_euler(0.0, 0.0, yaw))
        self.controller.reset(yaw)
        self._tick = 0
        self._update_scene(0.0)
        self._next_frame = 0.0
        self._render_if_due(0.0)
        info = self._info({}, self.sim.wrench)
        return self._obs(), info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        """Fly one control period with ``action`` (4,): world acceleration (3) m/s^2, yaw rate.

        Out-of-bound actions are clipped to the action space.

        Raises:
            ValueError: If ``action`` does not have 4 elements or holds NaN or inf.
        """
        a = np.asarray(action, dtype=float).reshape(-1)
        if a.shape != (4,):
            raise ValueError(f"action must have shape (4,), got {np.shape(action)}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action must be finite (no NaN or inf), got {a}")
        a = np.clip(a, ACTION_LOW, ACTION_HIGH)
        n = self._substeps()
        s = self.sim
        wrench = self.controller.compute(s.pos, s.vel, s.quat, s.omega, a[:3], float(a[3]),
                                         n * s.dt)
        return self._advance(wrench, n)

    def step_wrench(self, wrench: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        """Fly one control period holding body ``wrench`` (4,): thrust N, torques N m (FLU).

        Used by the ROS sim_node, whose controller runs in the policy node.

        Raises:
            ValueError: If ``wrench`` is not 4 finite numbers.
        """
        return self._advance(np.asarray(wrench, dtype=float), self._substeps())

    def _substeps(self) -> int:
        # Physics and control rates need not divide (240/50 = 4.8): the tick k ends at the
        # physics step nearest k / control_hz, so the clock never drifts (5, 5, 4, 5, 5, ...).
        rate = self.sim.config.physics_hz / self.control_hz
        return int(round((self._tick + 1) * rate)) - int(round(self._tick * rate))

    def _advance(self, wrench: np.ndarray, n: int) -> tuple[dict, float, bool, bool, dict]:
        achieved = self.sim.set_wrench(wrench)
        self.sim.step(n)
        self._tick += 1
        t = self.sim.time
        self._update_scene(t)
        ground = self.sim.ground in self.sim.contacts()
        reward, terminated, truncated, terms = self._score(t, ground)
        self._render_if_due(t)
        info = self._info(terms, achieved)
        info["dt"] = n * self.sim.dt
        if terminated or truncated:
            metrics = self._metrics()
            info["metrics"] = metrics
            info["is_success"] = bool(metrics["success"])
        return self._obs(), reward, bool(terminated), bool(truncated), info

    def _render_if_due(self, t: float) -> None:
        if self.use_camera and t >= self._next_frame - 1e-9:
            self._image = self.sim.render_camera()
            self._next_frame += 1.0 / self.camera_hz

    def _obs(self) -> dict:
        return {"image": self._image.copy(), "state": self.sim.state_vector()}

    def _info(self, terms: dict, wrench: np.ndarray) -> dict:
        s = self.sim
        info = {"position": s.pos.copy(), "velocity": s.vel.copy(),
                "quaternion": s.quat.copy(), "omega": s.omega.copy(),
                "altitude": float(s.pos[2]), "time": s.time, "wrench": np.array(wrench),
                "reward_terms": {k: v for k, v in terms.items()
                                 if k.endswith(("penalty", "bonus", "progress"))}}
        info.update(self._task_info())
        info.update({k: v for k, v in terms.items() if k not in info["reward_terms"]})
        return info

    def render(self) -> np.ndarray | None:
        """Onboard camera image (H, W, 3) uint8 when ``render_mode == "rgb_array"``."""
        if self.render_mode != "rgb_array":
            return None
        return self._image.copy() if self.use_camera else self.sim.render_camera()

    def close(self) -> None:
        """Disconnect this env's PyBullet client."""
        self.sim.close()
