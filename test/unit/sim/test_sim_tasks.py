"""Task logic and leader trajectories, without physics."""

from __future__ import annotations

import numpy as np
import pytest

from liquid_ros.control.rotation import quat_from_euler
from liquid_ros.sim.camera import CameraConfig
from liquid_ros.sim.task_fly_to_target import FlyToTargetTask
from liquid_ros.sim.task_leader_follow import LeaderFollowConfig, LeaderFollowTask
from liquid_ros.sim.trajectories import FAMILIES, sample_trajectory


@pytest.mark.parametrize("family", FAMILIES)
def test_trajectory_derivatives_match_finite_differences(family):
    rng = np.random.default_rng(7)
    traj = sample_trajectory(family, rng)
    h = 1e-5
    for t in np.linspace(0.1, 20.0, 37):
        pos, vel, acc = traj.state(t)
        p1, v1, _ = traj.state(t + h)
        p0, v0, _ = traj.state(t - h)
        np.testing.assert_allclose((p1 - p0) / (2 * h), vel, atol=1e-4)
        if family != "waypoints" or abs(t / traj.seg_time - round(t / traj.seg_time)) > 1e-3:
            np.testing.assert_allclose((v1 - v0) / (2 * h), acc, atol=1e-3)
        assert pos[2] > 0.5 and np.linalg.norm(vel) < 2.0


def test_target_starts_inside_view_and_within_range():
    task = FlyToTargetTask(camera=CameraConfig())
    rng = np.random.default_rng(0)
    for _ in range(100):
        layout = task.reset(rng)
        quat = quat_from_euler(0, 0, layout["start_yaw"])
        uv = task.camera.project(layout["start_position"], quat, layout["target_position"])
        assert uv is not None and np.all(uv > 0) and np.all(uv < 64)
        d = np.linalg.norm(layout["target_position"] - layout["start_position"])
        assert 1.9 < d < 5.1


def test_fly_to_target_success_and_crash():
    task = FlyToTargetTask()
    task.reset(np.random.default_rng(1))
    _, term, _, terms = task.step(task.target_position + [0.1, 0, 0], 1.0)
    assert term and task.metrics()["success"] and terms["success_bonus"] == 10.0
    task.reset(np.random.default_rng(1))
    r, term, _, _ = task.step(np.array([0.0, 0.0, 0.01]), 1.0)
    assert term and task.metrics()["crashed"] and r < -9.0


def test_leader_follow_metrics_and_success_definition():
    cfg = LeaderFollowConfig(episode_seconds=1.0)
    task = LeaderFollowTask(cfg)
    layout = task.reset(np.random.default_rng(3))
    quat = quat_from_euler(0, 0, layout["start_yaw"])
    for k in range(1, 51):
        t = k / 50
        lead, vel, _ = task.leader_state(t)
        heading = np.arctan2(vel[1], vel[0])
        pos = lead - 1.1 * np.array([np.cos(heading), np.sin(heading), 0.0])
        quat = quat_from_euler(0, 0, heading)
        _, term, trunc, terms = task.step(pos, quat, t)
        assert terms["in_view"] and not terms["collision"]
    m = task.metrics()
    assert trunc and m["success"]
    assert m["mean_distance_error"] == pytest.approx(0.1, abs=1e-9)
    assert m["in_view_fraction"] == 1.0
    # Looking away: not in view, so no success.
    task.reset(np.random.default_rng(3))
    for k in range(1, 51):
        lead, vel, _ = task.leader_state(k / 50)
        heading = np.arctan2(vel[1], vel[0])
        pos = lead - np.array([np.cos(heading), np.sin(heading), 0.0])
        task.step(pos, quat_from_euler(0, 0, heading + np.pi), k / 50)
    assert task.metrics()["in_view_fraction"] == 0.0 and not task.metrics()["success"]


def test_collision_terminates():
    task = LeaderFollowTask()
    task.reset(np.random.default_rng(0))
    lead, _, _ = task.leader_state(0.5)
    _, term, _, terms = task.step(lead + [0.1, 0, 0], np.array([0, 0, 0, 1.0]), 0.5)
    assert term and terms["collision"] and task.metrics()["collisions"] == 1
