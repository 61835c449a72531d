"""Gymnasium environment: follow a scripted leader drone, keeping it in view."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pybullet as p

from liquid_ros.control.experts import LeaderFollowExpert
from liquid_ros.control.rotation import quat_from_euler
from liquid_ros.sim.drone_env import DroneEnv, check_number
from liquid_ros.sim.task_leader_follow import LEADER_RGBA, LeaderFollowConfig, LeaderFollowTask
from liquid_ros.sim.trajectories import FAMILIES

LEADER_HALF_EXTENTS = (0.12, 0.12, 0.04)
"""Half size (m) of the leader's body: larger than a Crazyflie so it shows at 64x64."""


class LeaderFollowEnv(DroneEnv):
    """Follow a magenta leader drone at a set distance, from pixels and own state.

    ## Description
    A kinematic leader (a 0.24 x 0.24 x 0.08 m magenta box, moved every control tick, no
    collision shape) flies a scripted loop: a circle, a figure-eight or a closed spline through
    random waypoints, with random size (1.5 to 3 m), speed (0.4 to 1 m/s), altitude (1 to 2 m)
    and heading. The follower, a simulated Crazyflie 2.x, must stay ``follow_distance`` from
    it and keep it in its forward camera's view.

    ## Action Space
    Desired world ENU acceleration (3) m/s^2 within +-4 and yaw rate (1) rad/s within +-2;
    clipped when out of bounds, ValueError on NaN or inf.

    ## Observation Space
    ``Dict(image=Box(0, 255, (H, W, 3), uint8), state=Box(-inf, inf, (10,), float32))``:
    camera image and velocity (world), quaternion (x, y, z, w), body angular rate. The leader's
    position is not observed (``info["leader_position"]``, ``info["leader_velocity"]``).

    ## Rewards
    Per step: -|distance - follow_distance| (m) + 0.5 when the leader's centre projects inside
    the image, -10 on a collision (centres closer than 0.3 m) or a crash.

    ## Starting State
    At rest, level, ``follow_distance`` behind the leader along its direction of travel and
    facing it.

    ## Episode End
    Terminates on a collision or a crash; truncates after ``episode_seconds``. Success: the
    full episode with no collision or crash, mean distance error <= 0.3 m and the leader in view
    on >= 90 % of steps. The last ``info`` holds ``metrics`` (``mean_distance_error``,
    ``in_view_fraction``, ``collisions``, ``crashed``, ``success``) and ``is_success``.

    ## Arguments
    ``family`` (None for all of ``circle``, ``figure_eight``, ``waypoints``, or one name, or a
    sequence of names: hold one out for generalisation tests), ``follow_distance`` (m, default
    1.0), ``episode_seconds`` (default 15), ``speed_range`` (m/s, default (0.4, 1.0)), plus those
    of :class:`~liquid_ros.sim.drone_env.DroneEnv`, domain randomisation included (under it
    the leader's colour, ground, sky and light may vary per episode).
    """

    def __init__(self, family: str | Sequence[str] | None = None, follow_distance: float = 1.0,
                 episode_seconds: float = 15.0, speed_range: tuple[float, float] = (0.4, 1.0),
                 **kwargs) -> None:
        if family is None:
            families = FAMILIES
        elif isinstance(family, str):
            families = (family,)
        else:
            families = tuple(family)
        if not families or any(f not in FAMILIES for f in families):
            raise ValueError(f"family must be None or among {FAMILIES}, got {family!r}")
        follow_distance = check_number("follow_distance", follow_distance, 0.4, 10.0)
        episode_seconds = check_number("episode_seconds", episode_seconds, 0.1, 3600.0)
        try:
            lo, hi = (float(v) for v in speed_range)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"speed_range must be two numbers, got {speed_range!r}") from exc
        if not 0.0 < lo <= hi <= 3.0:
            raise ValueError(f"speed_range must satisfy 0 < lo <= hi <= 3, got {speed_range!r}")
        super().__init__(**kwargs)
        self.task = LeaderFollowTask(
            LeaderFollowConfig(follow_distance=follow_distance, episode_seconds=episode_seconds,
                               families=families, speed_range=(lo, hi)),
            self.sim.camera.config)
        self.expert = LeaderFollowExpert()
        self.leader = self.sim.add_box([0.0, 0.0, -5.0], LEADER_HALF_EXTENTS, LEADER_RGBA)
        self._leader_rgba = LEADER_RGBA

    def _reset_task(self) -> tuple[np.ndarray, float]:
        layout = self.task.reset(self.np_random)
        self.family = layout["family"]
        rgba = self.conditions.episode.scene.leader_rgba
        if rgba is not None or self._leader_rgba != LEADER_RGBA:
            self._leader_rgba = rgba or LEADER_RGBA
            p.changeVisualShape(self.leader, -1, rgbaColor=list(self._leader_rgba),
                                physicsClientId=self.sim.client)
        return layout["start_position"], layout["start_yaw"]

    def _update_scene(self, t: float) -> None:
        pos, vel, _ = self.task.leader_state(t)
        yaw = math.atan2(vel[1], vel[0])
        self.sim.move_body(self.leader, pos, quat_from_euler(0.0, 0.0, yaw))

    def _score(self, t: float, ground_contact: bool) -> tuple[float, bool, bool, dict]:
        return self.task.step(self.sim.pos, self.sim.quat, t, ground_contact)

    def _task_info(self) -> dict:
        pos, vel, _ = self.task.leader_state(self.sim.time)
        return {"leader_position": pos, "leader_velocity": vel, "family": self.family,
                "distance": float(np.linalg.norm(self.sim.pos - pos))}

    def _metrics(self) -> dict:
        return self.task.metrics()

    def expert_action(self) -> np.ndarray:
        """Privileged expert's action (4,) float32 (knows the leader's state)."""
        s = self.sim
        pos, vel, acc = self.task.leader_state(s.time)
        return self.expert.act(s.pos, s.vel, s.quat, pos, vel, acc,
                               self.task.config.follow_distance)
