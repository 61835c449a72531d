"""Domain randomisation without an env: config validation, delay lines, noise, disturbances."""

from __future__ import annotations

import math

import numpy as np
import pytest

import liquid_ros.sim as lsim
from liquid_ros.cli.flags import parse_env_kwargs
from liquid_ros.sim.disturbances import DisturbanceConfig, Disturbances
from liquid_ros.sim.randomization import PRESETS, RandomizationConfig, make_config
from liquid_ros.sim.sensors import DelayLine, OdometryNoise


def test_presets_and_overrides():
    assert PRESETS["none"].is_default and not PRESETS["default"].is_default
    cfg = make_config("default", odom_latency=0.02, mass_scale=[0.9, 1.1])
    assert cfg.odom_latency == (0.02, 0.02) and cfg.mass_scale == (0.9, 1.1)
    assert cfg.wind == PRESETS["default"].wind
    assert make_config(cfg) == cfg


@pytest.mark.parametrize("kwargs, name", [
    ({"odom_latency": -0.01}, "odom_latency"), ({"camera_latency": (0.0, -1.0)}, "camera_latency"),
    ({"command_latency": (0.05, 0.01)}, "command_latency"), ({"mass_scale": 0.0}, "mass_scale"),
    ({"mass_scale": (-0.5, 1.0)}, "mass_scale"), ({"kf_scale": (0.0, 1.0)}, "kf_scale"),
    ({"odom_hz": 0.0}, "odom_hz"), ({"odom_noise": (0.1, 0.1)}, "odom_noise"),
    ({"wind": -1.0}, "wind"), ({"gust_tau": 0.0}, "gust_tau"),
    ({"ground_textures": ["lava"]}, "ground_textures"), ({"lighting": "yes"}, "lighting"),
    ({"distractor_count": (3, 1)}, "distractor_count"),
    ({"target_rgba": (1, 0, 0)}, "target_rgba"),
    ({"odom_latency": "fast"}, "odom_latency"),
])
def test_bad_option_raises_naming_it(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_config("none", **kwargs)


def test_unknown_preset_and_option():
    with pytest.raises(ValueError, match="domain_randomization"):
        make_config("strong")
    with pytest.raises(ValueError, match="unknown randomization option"):
        make_config("none", latency=0.1)
    with pytest.raises(ValueError, match="domain_randomization"):
        lsim.make("fly_to_target", camera=False, domain_randomization="strong")
    with pytest.raises(ValueError, match="mass_scale"):
        lsim.make("leader_follow", camera=False, mass_scale=-1.0)
    with pytest.raises(ValueError, match="unknown argument"):
        lsim.make("leader_follow", camera=False, latency=0.1)


def test_env_kwargs_from_strings():
    kw = lsim.env_kwargs_from_strings("default", '{"odom_latency": 0.02, "timeout": 5}',
                                      "fly_to_target")
    assert kw == {"odom_latency": 0.02, "timeout": 5, "domain_randomization": "default"}
    assert lsim.env_kwargs_from_strings("", "") == {"domain_randomization": "none"}
    assert lsim.env_kwargs_from_strings("", '{"domain_randomization": "default"}')[
        "domain_randomization"] == "default"
    for preset, text, name in [("bogus", "", "domain_randomization"),
                               ("none", "[1, 2]", "env_args"), ("none", "{bad", "env_args"),
                               ("none", '{"odom_latency": -1}', "odom_latency"),
                               ("none", '{"timeout": 5}', "unknown argument")]:
        with pytest.raises(ValueError, match=name):
            lsim.env_kwargs_from_strings(preset, text, "leader_follow")


def test_env_arg_strings_reach_make():
    kw = parse_env_kwargs(["domain_randomization=default", "odom_latency=[0,0.05]",
                           "mass_scale=0.9", "ground_textures=[\"sand\",\"snow\"]",
                           "lighting=false", "camera=false"])
    assert kw["domain_randomization"] == "default" and kw["odom_latency"] == [0, 0.05]
    env = lsim.make("fly_to_target", **kw)
    cfg = env.unwrapped.randomization
    assert cfg.odom_latency == (0, 0.05) and cfg.mass_scale == (0.9, 0.9)
    assert cfg.ground_textures == ("sand", "snow") and cfg.lighting is False
    env.close()


def test_delay_line_latency_by_hand():
    line = DelayLine(latency=0.03)
    line.reset(-1)
    for k in range(4):
        line.offer(0.02 * k, k)  # sample k taken at 0.02 k, arrives at 0.02 k + 0.03
    seen = [line.read(t) for t in (0.0, 0.02, 0.03, 0.049, 0.05, 0.069, 0.07, 0.2)]
    assert seen == [-1, -1, 0, 0, 1, 1, 2, 3]


def test_delay_line_rate_holds_last_sample():
    line = DelayLine(latency=0.0, rate_hz=25.0)
    line.reset(None)
    taken = [line.offer(0.02 * k, k) for k in range(6)]
    assert taken == [True, False, True, False, True, False]
    assert [line.read(0.02 * k) for k in range(6)] == [0, 0, 2, 2, 4, 4]
    with pytest.raises(ValueError, match="latency"):
        DelayLine(latency=-0.01)


def test_odometry_white_noise_statistics():
    rng = np.random.default_rng(0)
    noise = OdometryNoise((0.01, 0.02, 0.005, 0.03), (0.0, 0.0, 0.0, 0.0), rng)
    state = {"position": np.zeros(3), "velocity": np.ones(3),
             "quaternion": np.array([0.0, 0.0, 0.0, 1.0]), "omega": np.zeros(3)}
    samples = [noise.apply(0.01 * k, state) for k in range(4000)]
    pos = np.array([s["position"] for s in samples])
    vel = np.array([s["velocity"] for s in samples]) - 1.0
    att = 2.0 * np.array([s["quaternion"][:3] for s in samples])  # small-angle rotation vector
    rate = np.array([s["omega"] for s in samples])
    for arr, std in ((pos, 0.01), (vel, 0.02), (att, 0.005), (rate, 0.03)):
        assert np.all(np.abs(arr.mean(axis=0)) < 4 * std / math.sqrt(len(arr)))
        assert np.allclose(arr.std(axis=0), std, rtol=0.06)
    assert np.allclose([np.linalg.norm(s["quaternion"]) for s in samples], 1.0)


def test_odometry_bias_random_walk_grows_with_sqrt_time():
    finals = []
    for seed in range(400):
        noise = OdometryNoise((0, 0, 0, 0), (0.1, 0, 0, 0), np.random.default_rng(seed))
        state = {"position": np.zeros(3), "velocity": np.zeros(3),
                 "quaternion": np.array([0.0, 0.0, 0.0, 1.0]), "omega": np.zeros(3)}
        for k in range(101):
            out = noise.apply(0.04 * k, state)  # 4 s in total
        finals.append(out["position"])
    std = np.array(finals).std(axis=0)
    assert np.allclose(std, 0.1 * math.sqrt(4.0), rtol=0.12)  # sigma_b sqrt(T)


def test_gusts_are_gauss_markov_with_the_set_std_and_correlation():
    dist = Disturbances(DisturbanceConfig(gust_std=0.02, gust_tau=0.5),
                        np.random.default_rng(1))
    dt = 0.02
    g = np.array([dist.update(k * dt, dt)[0] for k in range(20000)])
    assert np.allclose(g.std(axis=0), 0.02, rtol=0.1)
    lag = np.mean([np.corrcoef(g[:-1, i], g[1:, i])[0, 1] for i in range(3)])
    assert lag == pytest.approx(math.exp(-dt / 0.5), abs=0.01)


def test_wind_and_pushes():
    cfg = DisturbanceConfig(wind=(0.03, 0.0, 0.0), push_rate=2.0, push_force=0.1,
                            push_torque=1e-4, push_duration=(0.1, 0.1))
    dist = Disturbances(cfg, np.random.default_rng(2))
    dt = 0.02
    forces, torques = zip(*(dist.update(k * dt, dt) for k in range(5000)), strict=True)
    extra = np.linalg.norm(np.array(forces) - [0.03, 0.0, 0.0], axis=1)
    pushing = extra > 1e-12
    starts = int(np.sum(pushing[1:] & ~pushing[:-1]))
    assert 150 < starts < 230  # about rate x 100 s = 200 (overlaps merge a few)
    assert extra.max() <= 0.1 + 1e-12 and np.linalg.norm(torques, axis=1).max() <= 1e-4
    assert not DisturbanceConfig().active and cfg.active


def test_config_is_frozen_dataclass():
    with pytest.raises(AttributeError):
        RandomizationConfig().wind = (1.0, 1.0)  # type: ignore[misc]
