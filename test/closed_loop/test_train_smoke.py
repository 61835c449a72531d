"""End to end with tiny budgets: collect 2 episodes, train a few steps, evaluate one episode."""

from __future__ import annotations

import json

import pytest

from liquid_ros.train import collect, evaluate, imitation
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

    assert imitation.main(["--task", "fly_to_target", "--model", "ncp", "--data", str(data),
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
