"""Privileged experts fly both tasks in closed loop (camera off: geometry only)."""

from __future__ import annotations

import numpy as np
import pytest

import liquid_ros.sim as lsim

EPISODES = 40


def run_expert(name: str, episodes: int, **kwargs) -> list[dict]:
    env = lsim.make(name, camera=False, **kwargs)
    results = []
    for seed in range(episodes):
        env.reset(seed=1000 + seed)
        while True:
            _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
            if terminated or truncated:
                break
        results.append(info["metrics"])
    env.close()
    return results


@pytest.mark.slow
def test_fly_to_target_expert_succeeds():
    results = run_expert("liquid_ros/FlyToTarget-v0", EPISODES)
    rate = np.mean([r["success"] for r in results])
    assert rate >= 0.95, f"success rate {rate:.2f}"
    assert not any(r["crashed"] for r in results)


@pytest.mark.slow
@pytest.mark.parametrize("family", [None, "circle", "figure_eight", "waypoints"])
def test_leader_follow_expert_succeeds(family):
    n = EPISODES if family is None else 10
    results = run_expert("liquid_ros/LeaderFollow-v0", n, family=family)
    rate = np.mean([r["success"] for r in results])
    assert rate >= 0.95, f"success rate {rate:.2f}"
    assert sum(r["collisions"] for r in results) == 0
    assert np.mean([r["in_view_fraction"] for r in results]) > 0.95
