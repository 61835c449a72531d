"""Drone envs under domain randomisation: API, determinism, link semantics, default images."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import liquid_ros.sim as lsim

NAMES = ["fly_to_target", "leader_follow"]
SHORT = {"fly_to_target": {"timeout": 1.0}, "leader_follow": {"episode_seconds": 1.0}}
ALL_ON = {"domain_randomization": "default", "odom_hz": 100.0, "command_hz": 25.0,
          "image_width": 32, "image_height": 32}
"""Every option on: the full preset plus link rates, small images."""

DEFAULT_IMAGE_SHA256 = {"fly_to_target": "7f2a03d818674c00", "leader_follow": "3f60222d2f181403"}
"""First 16 hex digits of the seed-0 reset image (64x64) before randomisation existed."""


def _rollout(name: str, seed: int, ticks: int, **kwargs) -> list[tuple]:
    env = lsim.make(name, **kwargs)
    obs, info = env.reset(seed=seed)
    out = [(obs["image"], obs["state"], info["true_position"], info["conditions"])]
    for _ in range(ticks):
        obs, _, term, trunc, info = env.step(env.unwrapped.expert_action())
        out.append((obs["image"], obs["state"], info["true_position"], info["conditions"]))
        if term or trunc:
            break
    env.close()
    return out


@pytest.mark.parametrize("name", NAMES)
def test_check_env_with_every_option_on(name):
    env = lsim.make(name, **ALL_ON, **SHORT[name])
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_episode_with_every_option_on(name):
    a = _rollout(name, 7, 30, **ALL_ON)
    b = _rollout(name, 7, 30, **ALL_ON)
    for (ia, sa, pa, ca), (ib, sb, pb, cb) in zip(a, b, strict=True):
        assert np.array_equal(ia, ib) and np.array_equal(sa, sb) and np.array_equal(pa, pb)
        assert ca == cb
    c = _rollout(name, 8, 0, **ALL_ON)
    assert c[0][3] != a[0][3]


@pytest.mark.parametrize("name", NAMES)
def test_default_images_unchanged(name):
    for kwargs in ({}, {"domain_randomization": "none"}, {"command_latency": 0.02}):
        env = lsim.make(name, **kwargs)
        obs, _ = env.reset(seed=0)
        digest = hashlib.sha256(obs["image"].tobytes()).hexdigest()[:16]
        assert digest == DEFAULT_IMAGE_SHA256[name], kwargs
        env.close()


def test_scene_options_change_the_image_and_measured_differs_from_true():
    plain = lsim.make("fly_to_target")
    rand = lsim.make("fly_to_target", domain_randomization="default")
    o1, i1 = plain.reset(seed=3)
    o2, i2 = rand.reset(seed=3)
    assert not np.array_equal(o1["image"], o2["image"])
    assert "true_position" in i1 and np.array_equal(i1["position"], i1["true_position"])
    assert not np.array_equal(i2["position"], i2["true_position"])
    assert np.linalg.norm(i2["position"] - i2["true_position"]) < 0.1
    plain.close()
    rand.close()


def _pair(**kwargs):
    base = {"camera": False, "physics_hz": 250.0, "control_hz": 50.0}
    a, b = lsim.make("leader_follow", **base, **kwargs), lsim.make("leader_follow", **base)
    a.reset(seed=0)
    b.reset(seed=0)
    return a.unwrapped, b.unwrapped


def test_command_latency_switches_mid_tick_by_hand():
    # 250 Hz physics, 50 Hz control: 5 substeps of 4 ms. A wrench sent at t0 with 10 ms of
    # latency arrives at t0 + 10 ms, so it acts from the substep starting at t0 + 12 ms (the
    # 4th); the first three hold the previous command (a hover before any arrived).
    a, b = _pair(command_latency=0.01)
    hover = np.array([b.sim.params.weight, 0.0, 0.0, 0.0])
    wrenches = [hover * 1.1 + [0, 1e-6, 0, 0], hover * 0.9 + [0, 0, -1e-6, 0], hover]
    prev = hover
    for w in wrenches:
        a.step_wrench(w)
        b.sim.set_wrench(prev)
        b.sim.step(3)
        b.sim.set_wrench(w)
        b.sim.step(2)
        prev = w
        assert np.array_equal(a.sim.pos, b.sim.pos) and np.array_equal(a.sim.quat, b.sim.quat)


def test_command_latency_of_one_tick_equals_a_shifted_action_sequence():
    a, b = _pair(command_latency=0.02)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, 4).astype(np.float32) for _ in range(10)]
    b.step(np.zeros(4, np.float32))  # what a applies before its first command arrives
    for act in actions:
        a.step(act)
        b.step(act)
    a.step(np.zeros(4, np.float32))
    assert np.array_equal(a.sim.pos, b.sim.pos) and np.array_equal(a.sim.vel, b.sim.vel)


@pytest.mark.parametrize("latency, lag", [(0.02, 1), (0.03, 2), (0.04, 2)])
def test_odometry_latency_shows_older_samples_by_hand(latency, lag):
    # Odometry sampled at 50 Hz (every tick): the sample of tick j is seen from
    # t_j + latency, i.e. at tick k the newest sample with 0.02 j + latency <= 0.02 k.
    a, b = _pair(odom_latency=latency, odom_hz=50.0)
    truth = [b.sim.pos.copy()]
    for k in range(1, 8):
        act = np.array([0.5, -0.3, 0.2, 0.1], np.float32)
        _, _, _, _, info = a.step(act)
        _, _, _, _, info_b = b.step(act)
        truth.append(info_b["true_position"])
        assert np.array_equal(info["true_position"], info_b["true_position"])
        assert np.array_equal(info["position"], truth[max(k - lag, 0)])


@pytest.mark.parametrize("odom_hz", [None, 250.0])
def test_odometry_latency_between_ticks_by_hand(odom_hz):
    # 4 ms substeps, 30 ms latency: the tick ending at step 5 k sees the sample of step
    # 5 k - ceil(30 / 4) = 5 k - 8, whether the link samples every substep (250 Hz) or only
    # the samples some tick will read (no rate).
    a, b = _pair(odom_latency=0.03, odom_hz=odom_hz)
    wrench = np.array([1.05 * b.sim.params.weight, 0.0, 0.0, 0.0])
    states = [b.sim.pos.copy()]
    for k in range(1, 8):
        _, _, _, _, info = a.step_wrench(wrench)
        b.sim.set_wrench(wrench)
        for _ in range(5):
            b.sim.step(1)
            states.append(b.sim.pos.copy())
        assert np.array_equal(info["position"], states[max(5 * k - 8, 0)])


def test_odometry_needed_samples_only_equals_every_substep_at_240_hz():
    kw = {"camera": False, "odom_latency": 0.037}
    a = lsim.make("fly_to_target", **kw).unwrapped
    b = lsim.make("fly_to_target", odom_hz=240.0, **kw).unwrapped
    a.reset(seed=4)
    b.reset(seed=4)
    for _ in range(40):  # 4.8 substeps a tick: ticks of 5 and 4 substeps
        ia = a.step(a.expert_action())[4]
        ib = b.step(b.expert_action())[4]
        assert np.array_equal(ia["position"], ib["position"])
        assert not np.array_equal(ia["position"], ia["true_position"])


def test_camera_latency_shows_older_frames():
    # 250 Hz physics: ticks exactly 20 ms apart, so a 40 ms old frame is two ticks old.
    a = lsim.make("fly_to_target", camera_latency=0.04, physics_hz=250.0).unwrapped
    b = lsim.make("fly_to_target", physics_hz=250.0).unwrapped
    frames = [b.reset(seed=1)[0]["image"]]
    obs_a = [a.reset(seed=1)[0]["image"]]
    for _ in range(6):
        act = np.array([1.0, 0.0, 0.5, 0.5], np.float32)
        obs_a.append(a.step(act)[0]["image"])
        frames.append(b.step(act)[0]["image"])
    for k, img in enumerate(obs_a):
        assert np.array_equal(img, frames[max(k - 2, 0)])
    assert not np.array_equal(frames[0], frames[-1])
    a.close()
    b.close()


def test_odometry_noise_in_env_matches_the_setting():
    env = lsim.make("fly_to_target", camera=False, odom_noise=(0.01, 0.0, 0.0, 0.0),
                    timeout=30.0)
    env.reset(seed=0)
    err = []
    for _ in range(300):
        _, _, term, _, info = env.step(np.zeros(4, np.float32))
        err.append(info["position"] - info["true_position"])
        assert not term
    assert np.allclose(np.std(err, axis=0), 0.01, rtol=0.2)
    env.close()


@pytest.mark.parametrize("name, kwargs, seeds", [
    ("fly_to_target", {}, 8), ("leader_follow", {"episode_seconds": 5.0}, 3)])
def test_experts_succeed_under_the_default_preset(name, kwargs, seeds):
    # A short version of the 40-seed check in the issue 16 note (80/80 there).
    env = lsim.make(name, camera=False, domain_randomization="default", **kwargs)
    for seed in range(seeds):
        env.reset(seed=seed)
        while True:
            _, _, term, trunc, info = env.step(env.unwrapped.expert_action())
            if term or trunc:
                break
        assert info["is_success"], (seed, info["metrics"], info["conditions"])
    env.close()
