"""End to end with tiny budgets: collect 2 episodes, train a few steps, evaluate one episode."""

from __future__ import annotations

import json

import pytest

from liquid_ros.cli import collect, train
from liquid_ros.cli import eval as evaluate
from liquid_ros.train.dataset import read_manifest


@pytest.mark.slow
def test_collect_train_eval_smoke(tmp_path, capsys):
    data, run, plots = tmp_path / "data", tmp_path / "run", tmp_path / "plots"
    assert collect.main(["--task", "fly_to_target", "--episodes", "2", "--out", str(data),
                         "--seed", "3", "--no-progress"]) == 0
    manifest = read_manifest(data)
    assert [e["seed"] for e in manifest["episodes"]] == [3, 4]
    assert all(e["steps"] > 5 for e in manifest["episodes"])
    # Resume: the same command again records nothing new.
    stamp = (data / "episode_000003.npz").stat().st_mtime_ns
    assert collect.main(["--task", "fly_to_target", "--episodes", "2", "--out", str(data),
                         "--seed", "3", "--no-progress"]) == 0
    assert (data / "episode_000003.npz").stat().st_mtime_ns == stamp
    assert "0 new" in capsys.readouterr().out

    assert train.main(["--task", "fly_to_target", "--model", "ncp", "--data", str(data),
                       "--out", str(run), "--epochs", "5", "--seq-len", "16",
                       "--max-steps", "3", "--seed", "1", "--no-progress"]) == 0
    log = json.loads((run / "train_log.json").read_text())
    assert log["steps"] == 3 and (run / "policy.pt").is_file() and (run / "loss.png").is_file()
    assert (run / "policy.pt").stat().st_size < 500_000

    capsys.readouterr()
    assert evaluate.main(["--task", "fly_to_target", "--checkpoint", str(run / "policy.pt"),
                          "--episodes", "1", "--seed", "100000", "--json", "--saliency",
                          "--out", str(plots), "--no-progress"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["episodes"] == 1
    assert 0.0 <= summary["success_rate"] <= 1.0
    assert "final_distance" in summary["metrics"]
    assert summary["violation_episodes"] >= 0 and "altitude_floor" in summary["violations"]
    for name in ("trajectories.png", "saliency.png", "neuron_activity.png"):
        assert (plots / name).stat().st_size > 1000, name


@pytest.mark.slow
def test_dagger_round_flies_its_own_env_settings_and_keeps_each_round(tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    assert collect.main(["--task", "fly_to_target", "--episodes", "1", "--out", str(data),
                         "--seed", "5", "--no-progress"]) == 0
    assert train.main(["--task", "fly_to_target", "--model", "cfc", "--data", str(data),
                       "--out", str(run), "--epochs", "1", "--seq-len", "16",
                       "--max-steps", "2", "--seed", "1", "--dagger-rounds", "1",
                       "--dagger-episodes", "1", "--dagger-seed", "7000000",
                       "--dagger-env-arg", "timeout=1.0", "--workers", "1",
                       "--no-progress"]) == 0
    folder = run / "dagger" / "round_1"
    manifest = read_manifest(folder)
    # The rollouts used the shifted setting; the dataset (and checkpoint) keep the deployment one.
    assert manifest["rollout_env_kwargs"] == {"timeout": 1.0}
    assert manifest["env_kwargs"] == {}
    assert [e["seed"] for e in manifest["episodes"]] == [7_010_000]
    from liquid_ros.train.dataset import load_dataset

    (episode,) = load_dataset([str(folder)])
    assert episode.timestamps[-1] <= 1.0 + 1e-6 and episode.steps <= 11, episode.timestamps[-1]
    log = json.loads((run / "train_log.json").read_text())
    assert log["env_kwargs"] == {} and log["dagger_env_kwargs"] == manifest["rollout_env_kwargs"]
    assert len(log["dagger_rounds"]) == 1
    assert (run / "policy_round_1.pt").is_file() and (run / "policy.pt").is_file()


def test_dagger_round_with_no_episode_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "data"
    assert collect.main(["--task", "fly_to_target", "--episodes", "1", "--out", str(data),
                         "--seed", "5", "--no-progress"]) == 0
    assert train.main(["--task", "fly_to_target", "--model", "mlp", "--data", str(data),
                       "--out", str(tmp_path / "run"), "--epochs", "1", "--seq-len", "8",
                       "--max-steps", "1", "--dagger-rounds", "1", "--dagger-episodes", "1",
                       "--dagger-env-arg", "no_such_setting=1", "--workers", "1",
                       "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "DAgger round 1: no episode ran" in err and "no_such_setting" in err
