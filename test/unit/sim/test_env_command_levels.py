"""Drone envs with a command level: setpoints through the link to the onboard flight controller."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import liquid_ros.sim as lsim
from liquid_ros.sim.flight_controller import CommandLevel

FAST = {"camera": False}
LEVELS = [level.value for level in CommandLevel]


def _hover_setpoint(level: str, weight: float) -> np.ndarray:
    return np.array({"acceleration": [0.0, 0.0, 0.0, 0.0],
                     "attitude_thrust": [0.0, 0.0, 0.0, 1.0, weight],
                     "rates_thrust": [0.0, 0.0, 0.0, weight],
                     "wrench": [weight, 0.0, 0.0, 0.0]}[level], np.float32)


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_holds_a_hover(level):
    env = lsim.make("fly_to_target", command_level=level, timeout=5.0, **FAST)
    _, info = env.reset(seed=1)
    start = info["true_position"].copy()
    assert info["flight_mode"] == "hold" and info["armed"]  # armed at reset, waiting
    hover = _hover_setpoint(level, env.unwrapped.sim.params.weight)
    assert env.action_space.contains(hover)
    for _ in range(100):  # 2 s
        _, _, term, trunc, info = env.step(hover)
        assert not term
    assert info["flight_mode"] == "offboard"
    assert abs(info["true_position"][2] - start[2]) < 0.05
    assert np.linalg.norm(info["true_velocity"]) < 0.05
    env.close()


def test_acceleration_level_tracks_a_step():
    env = lsim.make("fly_to_target", command_level="acceleration", timeout=5.0, **FAST)
    env.reset(seed=1)
    vx = []
    for _ in range(50):  # 1 s at 1 m/s^2 east
        _, _, _, _, info = env.step(np.array([1.0, 0.0, 0.0, 0.0], np.float32))
        vx.append(info["true_velocity"][0])
    # After the attitude settles (0.4 s) the speed grows at the commanded rate, less the
    # body drag the setpoint does not compensate (about 0.1 m/s^2 at 0.5 m/s), like PX4.
    slope = (vx[49] - vx[24]) / 0.5
    assert 0.8 < slope < 1.05
    assert abs(info["true_velocity"][1]) < 0.02 and abs(info["true_velocity"][2]) < 0.05
    env.close()


def test_default_path_unchanged_and_options_validated():
    env = lsim.make("fly_to_target", **FAST)
    assert env.unwrapped.command_level is None and env.unwrapped.onboard is None
    _, info = env.reset(seed=0)
    assert "flight_mode" not in info
    with pytest.raises(ValueError, match="command_level"):
        env.unwrapped.step_setpoint(np.zeros(4))
    env.close()
    with pytest.raises(ValueError, match="command_level"):
        lsim.make("fly_to_target", command_level="velocity")
    with pytest.raises(ValueError, match="flight_controller"):
        lsim.make("fly_to_target", command_level="acceleration",
                  flight_controller={"hold_tme": 1.0})
    with pytest.raises(ValueError, match="hold_time"):
        lsim.make("fly_to_target", command_level="acceleration",
                  flight_controller={"hold_time": -1.0})
    env = lsim.make("fly_to_target", command_level="attitude_thrust", **FAST)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="5 values"):
        env.unwrapped.step_setpoint(np.zeros(4))
    env.close()


@pytest.mark.parametrize("name", ["fly_to_target", "leader_follow"])
def test_check_env_and_determinism_with_a_command_level(name):
    short = {"timeout": 1.0} if name == "fly_to_target" else {"episode_seconds": 1.0}
    opts = {"command_level": "acceleration", "odom_latency": 0.04, "command_latency": 0.02,
            "image_width": 32, "image_height": 32, **short}
    env = lsim.make(name, **opts)
    check_env(env, skip_render_check=True)
    env.close()

    def rollout() -> list[np.ndarray]:
        e = lsim.make(name, **opts)
        obs, info = e.reset(seed=7)
        out = [obs["image"], obs["state"], info["true_position"]]
        for _ in range(30):
            obs, _, term, trunc, info = e.step(e.unwrapped.expert_action())
            out += [obs["image"], obs["state"], info["true_position"], info["wrench"]]
            if term or trunc:
                break
        e.close()
        return out

    for a, b in zip(rollout(), rollout(), strict=True):
        assert np.array_equal(a, b)


def test_silent_policy_meets_timeout_hold_then_land():
    env = lsim.make("fly_to_target", command_level="acceleration", timeout=30.0,
                    command_latency=0.02,
                    flight_controller={"setpoint_timeout": 0.2, "hold_time": 1.0}, **FAST)
    env.reset(seed=2)
    for _ in range(10):
        _, _, _, _, info = env.step(np.array([0.0, 0.0, 0.5, 0.0], np.float32))
    assert info["flight_mode"] == "offboard"
    modes, z = [], []
    for _ in range(400):
        _, _, term, trunc, info = env.unwrapped.step_setpoint(None)
        modes.append(info["flight_mode"])
        z.append(info["true_position"][2])
        if term or trunc:
            break
    first = {m: modes.index(m) for m in set(modes)}
    assert first["hold"] < first["land"]
    assert 9 <= first["hold"] <= 10  # 0.2 s (10 ticks) after the last one was sent
    hold = z[first["hold"] + 10:first["land"]]
    assert max(hold) - min(hold) < 0.05  # holds its altitude (it was climbing)
    assert z[-1] < min(hold) - 0.3  # then descends


def test_nan_setpoint_is_rejected_and_treated_as_missing():
    env = lsim.make("fly_to_target", command_level="acceleration", timeout=5.0,
                    flight_controller={"setpoint_timeout": 0.1}, **FAST)
    env.reset(seed=0)
    env.step(np.zeros(4, np.float32))
    for _ in range(10):
        _, _, _, _, info = env.unwrapped.step_setpoint(np.array([np.nan, 0.0, 0.0, 0.0]))
    assert info["setpoints_rejected"] == 10
    assert info["flight_mode"] == "hold"
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0.0, 0.0, 0.0], np.float32))
    env.close()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expert_succeeds_at_the_acceleration_level_under_odometry_latency(seed):
    env = lsim.make("fly_to_target", command_level="acceleration", odom_latency=0.04,
                    command_latency=0.02, **FAST)
    env.reset(seed=seed)
    while True:
        _, _, term, trunc, info = env.step(env.unwrapped.expert_action())
        if term or trunc:
            break
    assert info["is_success"] and info["flight_mode"] == "offboard"
    env.close()
