"""Small pure pieces of the CLIs: argument parsing, env settings, perturbations, summaries."""

from __future__ import annotations

import numpy as np
import pytest

from liquid_ros.cli import collect, train
from liquid_ros.cli import eval as evaluate
from liquid_ros.cli.flags import parse_env_kwargs
from liquid_ros.evaluation.evaluate import summarise
from liquid_ros.rollouts.episodes import Perturbation, env_settings
from liquid_ros.rollouts.policy_episode import PolicyResult


def test_env_kwargs_parse_json_or_string():
    assert parse_env_kwargs(["timeout=5", "family=figure_eight", 'families=["circle"]']) == {
        "timeout": 5, "family": "figure_eight", "families": ["circle"]}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_env_kwargs(["oops"])


def test_camera_slowed_to_policy_rate_unless_given():
    assert env_settings({}, 5)["camera_hz"] == pytest.approx(10.0)
    assert env_settings({"control_hz": 100.0}, 4)["camera_hz"] == pytest.approx(25.0)
    assert env_settings({"camera_hz": 50.0}, 5)["camera_hz"] == 50.0
    with pytest.raises(ValueError, match="action_repeat"):
        env_settings({}, 0)


def test_perturbation_is_seeded_and_clipped():
    img = np.full((4, 4, 3), 250, np.uint8)
    same = Perturbation().apply(img, np.random.default_rng(0))
    assert same is img
    a = Perturbation(image_noise_std=0.1, brightness=0.1).apply(img, np.random.default_rng(1))
    b = Perturbation(image_noise_std=0.1, brightness=0.1).apply(img, np.random.default_rng(1))
    assert np.array_equal(a, b) and a.dtype == np.uint8 and a.max() == 255
    dark = Perturbation(brightness=-0.5).apply(img, np.random.default_rng(0))
    assert int(dark[0, 0, 0]) == 250 - 128 or int(dark[0, 0, 0]) == 250 - 127


def result(seed: int, success: bool, alt: int = 0) -> PolicyResult:
    return PolicyResult(
        seed=seed, success=success, metrics={"final_distance": 0.2 if success else 2.0},
        violations={"altitude_floor": alt, "crash": 0, "collision": 0}, interventions=5,
        mean_intervention=0.1, fallbacks=0, control_ticks=50, time=np.zeros(3),
        positions=np.zeros((3, 3)), goals=np.zeros((3, 3)))


def test_summary_counts():
    s = summarise([result(1, True), result(2, False, alt=3), result(3, True)])
    assert s["success_rate"] == pytest.approx(2 / 3)
    assert s["metrics"]["final_distance"] == pytest.approx(0.8)
    assert s["violation_episodes"] == 1 and s["violations"]["altitude_floor"] == 1
    assert s["filter_intervention_rate"] == pytest.approx(0.1)
    assert s["seeds_failed"] == [2]


def test_bad_cli_input_is_exit_code_2(tmp_path, capsys):
    assert collect.main(["--task", "fly_to_target", "--episodes", "0",
                         "--out", str(tmp_path)]) == 2
    assert "episodes" in capsys.readouterr().err
    assert train.main(["--task", "fly_to_target", "--data", str(tmp_path),
                       "--out", str(tmp_path / "o")]) == 2
    assert "manifest" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert evaluate.main(["--task", "fly_to_target", "--checkpoint", str(bad),
                          "--episodes", "1"]) == 2
    assert "bad.pt" in capsys.readouterr().err
    # Readable, but its config does not build a policy (a newer field): one error, exit 2.
    import torch

    from liquid_ros.models import LiquidPolicy, PolicyConfig
    from liquid_ros.models.checkpoint import save_policy

    future = tmp_path / "future.pt"
    save_policy(future, LiquidPolicy(PolicyConfig(cell="mlp")), {})
    data = torch.load(future, weights_only=True)
    data["config"]["field_from_the_future"] = 1
    torch.save(data, future)
    assert evaluate.main(["--task", "fly_to_target", "--checkpoint", str(future),
                          "--episodes", "2", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "future.pt" in err and "field_from_the_future" in err
    assert "failed to run" not in err
