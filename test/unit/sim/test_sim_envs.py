"""Gymnasium environments: API compliance, determinism, bad input, info contents."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pybullet as p
import pytest
from gymnasium.utils.env_checker import check_env

import liquid_ros.sim as lsim
from liquid_ros.control.controller import ACTION_HIGH
from liquid_ros.control.quadrotor import CF2X

NAMES = ["liquid_ros/FlyToTarget-v0", "liquid_ros/LeaderFollow-v0"]


@pytest.mark.parametrize("name", NAMES)
def test_check_env_passes(name):
    env = lsim.make(name)
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_make_and_aliases(name):
    env = gym.make(name, camera=False)
    assert env.unwrapped.task is not None
    env.close()
    alias = {v: k for k, v in lsim.ALIASES.items()}[name]
    env = lsim.make(alias, camera=False)
    assert type(env).__name__ in ENTRY_NAMES
    env.close()


ENTRY_NAMES = {"FlyToTargetEnv", "LeaderFollowEnv"}


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_rollout_bit_identical(name):
    def rollout():
        env = lsim.make(name)
        obs, _ = env.reset(seed=123)
        rng = np.random.default_rng(5)
        frames = [obs]
        for _ in range(40):
            action = 0.5 * env.unwrapped.expert_action() + rng.normal(size=4) * 0.3
            obs, *_ = env.step(action)
            frames.append(obs)
        env.close()
        return frames

    a, b = rollout(), rollout()
    for fa, fb in zip(a, b, strict=True):
        assert np.array_equal(fa["image"], fb["image"])
        assert np.array_equal(fa["state"], fb["state"])
    assert not np.array_equal(a[0]["image"], a[-1]["image"])


@pytest.mark.parametrize("name", NAMES)
def test_nan_action_raises_and_out_of_bounds_is_clipped(name):
    env1, env2 = lsim.make(name, camera=False), lsim.make(name, camera=False)
    env1.reset(seed=0)
    env2.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env1.step(np.array([np.nan, 0, 0, 0]))
    with pytest.raises(ValueError, match="shape"):
        env1.step(np.zeros(3))
    big = np.array([100.0, -100.0, 100.0, 100.0])
    o1, *_ = env1.step(big)
    o2, *_ = env2.step(np.clip(big, -ACTION_HIGH, ACTION_HIGH))
    assert np.array_equal(o1["state"], o2["state"])
    env1.close()
    env2.close()


@pytest.mark.parametrize("kwargs, arg", [
    ({"control_hz": 0.0}, "control_hz"), ({"camera": "yes"}, "camera"),
    ({"image_width": 3}, "image_width"), ({"fov_deg": 400.0}, "fov_deg"),
    ({"camera_hz": 500.0}, "camera_hz"), ({"physics_hz": float("nan")}, "physics_hz"),
    ({"bogus": 1}, "bogus"), ({"success_radius": -1.0}, "success_radius"),
    ({"render_mode": "human"}, "render_mode"),
])
def test_bad_kwargs_raise_value_error_naming_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        lsim.make("fly_to_target", **kwargs)


@pytest.mark.parametrize("kwargs, arg", [
    ({"family": "spiral"}, "family"), ({"follow_distance": -1.0}, "follow_distance"),
    ({"speed_range": (2.0, 1.0)}, "speed_range"), ({"episode_seconds": 0}, "episode_seconds"),
])
def test_bad_leader_kwargs(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        lsim.make("leader_follow", **kwargs)


def test_unknown_env_name():
    with pytest.raises(ValueError, match="name"):
        lsim.make("Pendulum-v1")


def test_info_has_privileged_and_safety_quantities():
    env = lsim.make("fly_to_target", camera=False)
    _, info = env.reset(seed=1)
    for key in ("position", "velocity", "quaternion", "target_position", "altitude",
                "distance"):
        assert key in info
    _, _, _, _, info = env.step(env.unwrapped.expert_action())
    assert {"progress", "time_penalty"} <= set(info["reward_terms"])
    assert info["dt"] in (pytest.approx(5 / 240), pytest.approx(4 / 240))
    env.close()
    env = lsim.make("leader_follow", camera=False)
    _, info = env.reset(seed=1)
    assert {"leader_position", "leader_velocity", "distance", "altitude"} <= set(info)
    assert info["distance"] == pytest.approx(1.0, abs=1e-6)
    env.close()


def test_state_observation_is_velocity_quaternion_rate():
    env = lsim.make("leader_follow", camera=False)
    obs, info = env.reset(seed=3)
    for _ in range(10):
        obs, *_, info = env.step(env.unwrapped.expert_action())
    s = obs["state"]
    np.testing.assert_allclose(s[:3], info["velocity"], rtol=1e-6)
    np.testing.assert_allclose(s[3:7], info["quaternion"], rtol=1e-6)
    np.testing.assert_allclose(s[7:], info["omega"], rtol=1e-5, atol=1e-7)
    env.close()


def test_control_clock_does_not_drift():
    env = lsim.make("fly_to_target", camera=False, timeout=30.0)
    env.reset(seed=0)
    for _ in range(50):
        env.step(np.zeros(4))
    assert env.unwrapped.sim.time == pytest.approx(1.0)  # 50 ticks at 50 Hz
    env.close()


def test_camera_rate_repeats_frames():
    env = lsim.make("leader_follow", camera_hz=10.0)
    env.reset(seed=0)
    images = [env.step(env.unwrapped.expert_action())[0]["image"] for _ in range(10)]
    changed = [k + 2 for k in range(9) if not np.array_equal(images[k], images[k + 1])]
    assert changed == [5, 10]  # new frames at ticks 5 and 10 (0.1 s apart)
    env.close()


def test_step_wrench_hovers():
    env = lsim.make("fly_to_target", camera=False)
    _, info0 = env.reset(seed=2)
    for _ in range(50):
        _, _, term, trunc, info = env.unwrapped.step_wrench(np.array([CF2X.weight, 0, 0, 0]))
    np.testing.assert_allclose(info["position"], info0["position"], atol=1e-3)
    with pytest.raises(ValueError, match="wrench"):
        env.unwrapped.step_wrench(np.array([np.inf, 0, 0, 0]))
    env.close()


def test_envs_coexist_and_close_disconnects():
    a, b = lsim.make("fly_to_target"), lsim.make("leader_follow")
    a.reset(seed=0)
    b.reset(seed=0)
    a.step(np.zeros(4))
    b.step(np.zeros(4))
    client = a.unwrapped.sim.client
    a.close()
    assert not p.isConnected(physicsClientId=client)
    b.step(np.zeros(4))
    b.close()


def test_leader_family_can_be_selected():
    env = lsim.make("leader_follow", camera=False, family=("circle", "waypoints"))
    fams = set()
    for seed in range(8):
        _, info = env.reset(seed=seed)
        fams.add(info["family"])
    assert fams == {"circle", "waypoints"}
    env.close()


def test_target_in_first_image():
    env = lsim.make("fly_to_target", n_distractors=0)
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        img = obs["image"].astype(int)
        red = (img[:, :, 0] > 40) & (img[:, :, 0] > 3 * img[:, :, 1]) & (
            img[:, :, 0] > 3 * img[:, :, 2])
        assert red.sum() >= 2
    env.close()
