"""Gymnasium environment: fly to a red target seen by the onboard camera."""

from __future__ import annotations

import numpy as np

from liquid_ros.control.experts import FlyToTargetExpert
from liquid_ros.sim.drone_env import DroneEnv, check_number
from liquid_ros.sim.task_fly_to_target import TARGET_RGBA, FlyToTargetConfig, FlyToTargetTask


class FlyToTargetEnv(DroneEnv):
    """Fly a Crazyflie 2.x to a red sphere among distractors, from pixels and own state.

    ## Description
    A quadrotor (PyBullet, 240 Hz physics, Crazyflie 2.x parameters) starts hovering at 0.8 to
    1.5 m with a random heading. A red sphere (radius 0.15 m) is placed 2 to 5 m ahead, inside
    60 % of the camera's half field of view; ``n_distractors`` blue, yellow, cyan or purple
    boxes and spheres (no collision) stand elsewhere in view, off the line of sight. The ground
    is a green checkerboard (1 m tiles) under a light-blue sky.

    ## Action Space
    ``Box(ACTION_LOW, ACTION_HIGH, (4,), float32)``: desired world ENU acceleration (3) in
    m/s^2 within +-4 and yaw rate (1) in rad/s within +-2.
    Out-of-bound actions are clipped; NaN or inf raises ValueError. An acceleration controller
    turns it into thrust and body torques, held over the control period.

    ## Observation Space
    ``Dict(image=Box(0, 255, (H, W, 3), uint8), state=Box(-inf, inf, (10,), float32))``:
    the forward camera image (default 64x64, 90 degrees vertical FOV, at ``camera_hz``) and
    the drone's velocity (world ENU, m/s), attitude quaternion (x, y, z, w) and body angular
    rate (FLU, rad/s). The target position is not observed (it is in ``info``).

    ## Rewards
    Per step: metres of distance closed this step, +10 on success, -10 on a crash, -0.01.
    The terms are in ``info["reward_terms"]``.

    ## Starting State
    At rest, level, at the sampled position and heading; the target is inside the first image.

    ## Episode End
    Terminates on success (within ``success_radius`` of the target centre) or a crash (ground
    contact or altitude < 5 cm); truncates at ``timeout`` seconds. The last ``info`` holds
    ``metrics`` and ``is_success``.

    ## Arguments
    ``success_radius`` (m, default 0.3), ``timeout`` (s, default 10), ``n_distractors``
    (default 3), plus those of :class:`~liquid_ros.sim.drone_env.DroneEnv` (``camera``,
    ``image_width``, ``image_height``, ``fov_deg``, ``camera_hz``, ``control_hz``,
    ``physics_hz``, ``ground_effect``, ``motor_tau``, ``render_mode``) and the domain
    randomisation options (``domain_randomization`` preset and single options: timing, noise,
    disturbances, vehicle spread, scene; see :mod:`liquid_ros.sim.randomization`). Under
    randomisation the target radius and colour, the distractor count and colours, ground, sky
    and light may vary per episode; the observation's ``state`` is then the measured odometry
    (see :class:`~liquid_ros.sim.drone_env.DroneEnv`).
    """

    def __init__(self, success_radius: float = 0.3, timeout: float = 10.0,
                 n_distractors: int = 3, **kwargs) -> None:
        success_radius = check_number("success_radius", success_radius, 0.05, 5.0)
        timeout = check_number("timeout", timeout, 0.1, 3600.0)
        if isinstance(n_distractors, bool) or not isinstance(n_distractors, (int, np.integer)):
            raise ValueError(f"n_distractors must be an int, got {n_distractors!r}")
        super().__init__(**kwargs)
        self.task = FlyToTargetTask(
            FlyToTargetConfig(success_radius=success_radius, timeout=timeout,
                              n_distractors=int(n_distractors)), self.sim.camera.config)
        self.expert = FlyToTargetExpert()

    def _default_distractors(self) -> int:
        return self.task.config.n_distractors

    def _reset_task(self) -> tuple[np.ndarray, float]:
        scene = self.conditions.episode.scene
        layout = self.task.reset(self.np_random, n_distractors=scene.n_distractors)
        radius = scene.target_radius or self.task.config.target_radius
        self._task_bodies.append(self.sim.add_sphere(
            layout["target_position"], radius, scene.target_rgba or TARGET_RGBA))
        for i, d in enumerate(layout["distractors"]):
            if scene.distractor_rgba is not None:
                d["rgba"] = scene.distractor_rgba[i]
            if d["shape"] == "sphere":
                body = self.sim.add_sphere(d["position"], d["size"], d["rgba"])
            else:
                body = self.sim.add_box(d["position"], (d["size"],) * 3, d["rgba"])
            self._task_bodies.append(body)
        return layout["start_position"], layout["start_yaw"]

    def _score(self, t: float, ground_contact: bool) -> tuple[float, bool, bool, dict]:
        return self.task.step(self.sim.pos, t, ground_contact)

    def _task_info(self) -> dict:
        target = self.task.target_position
        return {"target_position": target.copy(),
                "distance": float(np.linalg.norm(self.sim.pos - target))}

    def _metrics(self) -> dict:
        return self.task.metrics()

    def expert_action(self) -> np.ndarray:
        """Privileged expert's action (4,) float32 (knows the target position)."""
        s = self.sim
        return self.expert.act(s.pos, s.vel, s.quat, self.task.target_position)
