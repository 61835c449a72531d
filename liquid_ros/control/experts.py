"""Privileged experts: fly each task from true state (target or leader pose), numpy only.

They output the policy's action, (desired world acceleration (3) m/s^2, yaw rate (1) rad/s),
clipped to ``ACTION_LOW``/``ACTION_HIGH``, and are the teachers for imitation learning and
DAgger relabelling.

Gains' origin: the velocity loop (3 1/s) and the follow PD (wn = 2 rad/s, damping 1) are hand
set to stay several times slower than the attitude loop (14 rad/s) at a 50 Hz control rate;
the yaw gain (3 1/s) turns the camera onto its subject within about a second. Checked by
``test/closed_loop/test_experts.py`` (>= 95 % success). Re-checked after the drag correction
(Forster's model, about 10x weaker than the old linearisation) with the 0.069 s motor lag:
40 of 40 episodes per task succeed, with and without the ``"default"`` randomisation preset,
so the gains were kept.
"""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.control.rotation import wrap_angle, yaw_from_quat


def _yaw_rate_towards(quat: np.ndarray, rel: np.ndarray, gain: float, ff: float = 0.0) -> float:
    if math.hypot(rel[0], rel[1]) < 0.2:
        return 0.0  # nearly overhead: the bearing is ill-defined, hold heading
    err = wrap_angle(math.atan2(rel[1], rel[0]) - yaw_from_quat(quat))
    return gain * err + ff


def _action(accel: np.ndarray, yaw_rate: float) -> np.ndarray:
    act = np.array([accel[0], accel[1], accel[2], yaw_rate], dtype=np.float32)
    return np.clip(act, ACTION_LOW, ACTION_HIGH)


class FlyToTargetExpert:
    """Flies straight at the target, with a speed that shrinks near it, facing it.

    Args:
        max_speed: Cruise speed (m/s).
        approach_gain: Speed per metre of remaining distance (1/s) near the target.
        velocity_gain: Velocity-loop gain (1/s).
        yaw_gain: Heading gain (1/s).
    """

    def __init__(self, max_speed: float = 1.5, approach_gain: float = 1.2,
                 velocity_gain: float = 3.0, yaw_gain: float = 3.0) -> None:
        self.max_speed = max_speed
        self.approach_gain = approach_gain
        self.velocity_gain = velocity_gain
        self.yaw_gain = yaw_gain

    def act(self, pos: np.ndarray, vel: np.ndarray, quat: np.ndarray,
            target: np.ndarray) -> np.ndarray:
        """Action (4,) float32 from position (3,), velocity (3,), quat (4,), target (3,)."""
        rel = np.asarray(target, float) - np.asarray(pos, float)
        dist = float(np.linalg.norm(rel))
        speed = min(self.max_speed, self.approach_gain * dist)
        v_des = rel / dist * speed if dist > 1e-6 else np.zeros(3)
        accel = self.velocity_gain * (v_des - np.asarray(vel, float))
        return _action(accel, _yaw_rate_towards(quat, rel, self.yaw_gain))


class LeaderFollowExpert:
    """Holds the follow distance behind the leader along the line of sight, facing it.

    The set point is the leader's position minus ``follow_distance`` along the horizontal
    bearing to the leader, at the leader's altitude; the leader's velocity and acceleration are
    fed forward.

    Args:
        kp: Position gain (1/s^2).
        kd: Velocity gain (1/s).
        yaw_gain: Heading gain (1/s).
    """

    def __init__(self, kp: float = 4.0, kd: float = 4.0, yaw_gain: float = 3.0) -> None:
        self.kp = kp
        self.kd = kd
        self.yaw_gain = yaw_gain

    def act(self, pos: np.ndarray, vel: np.ndarray, quat: np.ndarray, leader_pos: np.ndarray,
            leader_vel: np.ndarray, leader_acc: np.ndarray,
            follow_distance: float) -> np.ndarray:
        """Action (4,) float32 from the follower's and the leader's states (world ENU, SI)."""
        pos, vel = np.asarray(pos, float), np.asarray(vel, float)
        lead, lead_vel = np.asarray(leader_pos, float), np.asarray(leader_vel, float)
        rel = lead - pos
        horiz = math.hypot(rel[0], rel[1])
        u = np.array([rel[0], rel[1], 0.0]) / max(horiz, 1e-6)
        p_des = lead - follow_distance * u
        accel = (self.kp * (p_des - pos) + self.kd * (lead_vel - vel)
                 + np.asarray(leader_acc, float))
        rel_vel = lead_vel - vel
        bearing_rate = (u[0] * rel_vel[1] - u[1] * rel_vel[0]) / max(horiz, 0.3)
        return _action(accel, _yaw_rate_towards(quat, rel, self.yaw_gain, bearing_rate))
