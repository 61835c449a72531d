"""Held-out conditions of ``liquid-ros compare`` and the timing options of PolicyEpisode.

The timing shifts are flown for real (PyBullet, torch, the Pilot) with a small untrained
policy: what is checked is the policy's step times, which the condition controls.
"""

from __future__ import annotations

import numpy as np
import pytest

from liquid_ros.evaluation.conditions import (
    CONDITIONS,
    HELD_OUT_TEXTURE,
    PRESET,
    conditions_for,
    flight,
    is_held_out,
)
from liquid_ros.rollouts.policy_episode import PolicyEpisode
from liquid_ros.sim.randomization import PRESETS

TRAINED = {"domain_randomization": "default", "command_level": "acceleration"}


def test_each_task_has_its_conditions_and_names_are_checked():
    ftt = [c.name for c in conditions_for("fly_to_target")]
    lf = [c.name for c in conditions_for("leader_follow")]
    assert ftt[:2] == ["clean", "preset"] and "held_out_family" not in ftt
    assert "held_out_family" in lf and {"scene", "heavy", "wind", "latency", "rate_half",
                                        "rate_double", "jitter"} <= set(lf) & set(ftt)
    assert [c.name for c in conditions_for("fly_to_target", ("jitter", "clean"))] == [
        "jitter", "clean"]
    with pytest.raises(ValueError, match="held_out_family"):
        conditions_for("fly_to_target", ("held_out_family",))
    with pytest.raises(ValueError, match="task"):
        conditions_for("hover")


def test_dynamics_and_scene_shifts_lie_outside_the_training_preset():
    preset = PRESETS["default"]
    by = {c.name: c for c in conditions_for("fly_to_target")}
    assert by["heavy"].env["mass_scale"][0] > preset.mass_scale[1]
    assert by["wind"].env["wind"][0] > preset.wind[1]
    for key in ("odom_latency", "camera_latency", "command_latency"):
        assert by["latency"].env[key][0] > getattr(preset, key)[1]
    assert by["scene"].env["distractor_count"][0] > preset.distractor_count[1]
    assert by["scene"].env["color_jitter"] > preset.color_jitter
    sky = np.array(by["scene"].env["sky_rgb"])
    assert np.max(np.abs(sky - np.array([135, 206, 235]))) > preset.sky_jitter
    # every held-out shift starts from the nominal simulator, so a drop is that axis' doing
    for c in CONDITIONS:
        if c.held_out:
            assert c.env["domain_randomization"] == "none"


def test_the_texture_condition_flies_a_ground_the_compare_preset_never_shows():
    from liquid_ros import sim
    from liquid_ros.sim.assets import GROUND_TEXTURES

    texture = {c.name: c for c in conditions_for("fly_to_target")}["texture"]
    assert HELD_OUT_TEXTURE in GROUND_TEXTURES
    assert HELD_OUT_TEXTURE not in PRESET["ground_textures"]
    assert set(PRESET["ground_textures"]) | {HELD_OUT_TEXTURE} == set(GROUND_TEXTURES)
    seen = set()
    for env_kwargs in (texture.env, PRESET):
        env = sim.make("fly_to_target", **env_kwargs)
        try:
            for seed in range(12):
                _, info = env.reset(seed=seed)
                seen.add((env_kwargs is PRESET, info["conditions"]["ground_texture"]))
        finally:
            env.close()
    assert {t for p, t in seen if not p} == {HELD_OUT_TEXTURE}
    assert HELD_OUT_TEXTURE not in {t for p, t in seen if p} and len(seen) > 3


def test_flight_resolves_rates_to_whole_control_ticks():
    by = {c.name: c for c in conditions_for("leader_follow")}
    clean = flight(by["clean"], TRAINED, 0.1)
    assert clean.env["domain_randomization"] == "none" and clean.policy_period is None
    double = flight(by["rate_double"], TRAINED, 0.1)
    assert double.env["control_hz"] == 100.0 and double.env["camera_hz"] == pytest.approx(20.0)
    assert double.policy_period == pytest.approx(0.05)
    half = flight(by["rate_half"], TRAINED, 0.1)
    assert half.env["control_hz"] == 50.0 and half.env["camera_hz"] == pytest.approx(5.0)
    assert half.policy_period == pytest.approx(0.2)
    jit = flight(by["jitter"], TRAINED, 0.1)
    assert jit.env["camera_hz"] == 50.0 and jit.policy_period is None and jit.jitter == 0.6
    with pytest.raises(ValueError, match="policy period"):
        flight(by["rate_half"], TRAINED, 0.0)
    held = by["held_out_family"]
    assert is_held_out(held, {"family": ["circle", "waypoints"]})
    assert not is_held_out(held, {}) and not is_held_out(held, {"family": "figure_eight"})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from liquid_ros.models import LiquidPolicy, PolicyConfig
    from liquid_ros.models.checkpoint import save_policy

    path = tmp_path_factory.mktemp("ckpt") / "mlp.pt"
    save_policy(path, LiquidPolicy(PolicyConfig(cell="mlp", seed=0)).eval(), {
        "env_kwargs": {**TRAINED, "timeout": 3.0}, "action_repeat": 5})
    return str(path)


def _step_dts(checkpoint, name, seed=7):
    cond = {c.name: c for c in conditions_for("fly_to_target")}[name]
    fl = flight(cond, {**TRAINED, "timeout": 3.0}, 0.1)
    fn = PolicyEpisode("fly_to_target", checkpoint, fl.env, 5, record=True,
                       policy_period=fl.policy_period, period_jitter=fl.jitter)
    return np.asarray(fn(seed).episode.dt[1:], float)  # the first step integrates a period


@pytest.mark.slow
def test_timing_conditions_set_the_policy_step_times(checkpoint):
    assert _step_dts(checkpoint, "clean") == pytest.approx(0.1, abs=1e-6)
    assert _step_dts(checkpoint, "rate_double") == pytest.approx(0.05, abs=1e-6)
    assert _step_dts(checkpoint, "rate_half") == pytest.approx(0.2, abs=1e-6)
    dts = _step_dts(checkpoint, "jitter")
    # control ticks are 4 or 5 physics steps of 1/240 s (50 Hz on average): each period is
    # drawn as 2-8 ticks of 0.02 s; the pilot steps at the first tick at or past the drawn
    # time, so each step is 0.04-0.16 s give or take one tick (1/48 s at most)
    substeps = dts * 240.0
    assert substeps == pytest.approx(np.round(substeps), abs=1e-4)
    assert dts.min() >= 0.04 - 1 / 48 and dts.max() <= 0.16 + 1 / 48 + 1e-6
    assert len(set(substeps.round())) > 3 and abs(dts.mean() - 0.1) < 0.03
    assert _step_dts(checkpoint, "jitter") == pytest.approx(dts)  # seeded
    assert not np.allclose(_step_dts(checkpoint, "jitter", seed=8)[:5], dts[:5])


def test_policy_episode_refuses_bad_timing(checkpoint):
    env = {**TRAINED, "timeout": 0.2}
    with pytest.raises(ValueError, match="period_jitter"):
        PolicyEpisode("fly_to_target", checkpoint, env, 5, period_jitter=1.0)(0)
    with pytest.raises(ValueError, match="policy_period"):
        PolicyEpisode("fly_to_target", checkpoint, env, 5, policy_period=-0.1)(0)
