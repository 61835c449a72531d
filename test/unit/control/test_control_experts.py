"""Unit tests of the privileged experts (closed-loop success is in test/closed_loop)."""

from __future__ import annotations

import numpy as np

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.control.experts import FlyToTargetExpert, LeaderFollowExpert
from liquid_ros.control.rotation import quat_from_euler

LEVEL = np.array([0.0, 0.0, 0.0, 1.0])


def test_fly_to_target_expert_accelerates_towards_target_and_turns_left():
    act = FlyToTargetExpert().act(np.zeros(3), np.zeros(3), LEVEL, np.array([3.0, 3.0, 0.0]))
    assert act.dtype == np.float32 and act.shape == (4,)
    assert act[0] > 0 and act[1] > 0 and abs(act[2]) < 1e-6
    assert act[3] > 0  # target 45 degrees to the left: positive (CCW) yaw rate


def test_fly_to_target_expert_stays_within_bounds():
    rng = np.random.default_rng(0)
    expert = FlyToTargetExpert()
    for _ in range(200):
        act = expert.act(rng.normal(size=3) * 5, rng.normal(size=3) * 3,
                         quat_from_euler(0, 0, rng.uniform(-3, 3)), rng.normal(size=3) * 5)
        assert np.all(act >= ACTION_LOW) and np.all(act <= ACTION_HIGH)


def test_leader_follow_expert_at_set_point_only_feeds_forward():
    expert = LeaderFollowExpert()
    lead_vel, lead_acc = np.array([0.5, 0.0, 0.0]), np.array([0.0, 0.3, 0.0])
    act = expert.act(np.zeros(3), lead_vel, LEVEL, np.array([1.0, 0.0, 0.0]), lead_vel,
                     lead_acc, 1.0)
    np.testing.assert_allclose(act[:3], lead_acc, atol=1e-6)
    assert abs(act[3]) < 1e-6


def test_leader_follow_expert_closes_distance():
    act = LeaderFollowExpert().act(np.zeros(3), np.zeros(3), LEVEL, np.array([3.0, 0, 0]),
                                   np.zeros(3), np.zeros(3), 1.0)
    assert act[0] > 0
