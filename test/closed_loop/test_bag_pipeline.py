"""The robot-free bag path: record sim episodes as MCAP, convert, train, replay."""

from __future__ import annotations

import json

import numpy as np
import pytest

from liquid_ros.cli import bag_to_dataset, record_sim, replay, train
from liquid_ros.train.dataset import load_dataset, read_manifest


@pytest.mark.slow
def test_record_convert_train_replay(tmp_path, capsys):
    rec, data, run = tmp_path / "bags", tmp_path / "data", tmp_path / "run"
    assert record_sim.main(["--task", "fly_to_target", "--episodes", "2", "--out", str(rec),
                            "--seed", "3", "--no-progress"]) == 0
    bag_dirs = sorted(rec.iterdir())
    assert [p.name for p in bag_dirs] == ["episode_000003", "episode_000004"]
    assert all(next(p.glob("*.mcap")).stat().st_size > 10_000 for p in bag_dirs)

    assert bag_to_dataset.main([*map(str, bag_dirs), "--out", str(data), "--no-progress"]) == 0
    manifest = read_manifest(data)
    assert manifest["task"] == "fly_to_target" and manifest["action_repeat"] == 5
    assert manifest["num_episodes"] == 2
    episodes = load_dataset(data)
    for ep in episodes:
        np.testing.assert_allclose(ep.dt, 0.1, atol=1e-6)  # 10 Hz policy rate of the sim
        assert ep.meta["success"] is True and ep.meta["task"] == "fly_to_target"
        assert np.all(np.abs(ep.goals).sum(axis=1) == 0)  # no --goal-topic given
    with_goal = tmp_path / "data_goal"
    assert bag_to_dataset.main([str(bag_dirs[0]), "--out", str(with_goal), "--goal-topic", "goal",
                                "--command-topic", "cmd_wrench", "--no-progress"]) == 0
    ep_w = load_dataset(with_goal)[0]
    assert np.all(np.abs(ep_w.goals).sum(axis=1) > 0)
    # The wrench the sim applied, mapped through the drag model, tracks the expert's action.
    assert np.median(np.abs(ep_w.actions - episodes[0].actions)) < 0.2

    assert train.main(["--task", "fly_to_target", "--data", str(data), "--out", str(run),
                       "--epochs", "3", "--seq-len", "8", "--max-steps", "2",
                       "--no-progress"]) == 0
    ckpt = run / "policy.pt"
    assert ckpt.is_file() and json.loads((run / "train_log.json").read_text())["steps"] == 2

    # A closed-loop episode flown by that policy, its own commands recorded, replays exactly.
    pol = tmp_path / "policy_bags"
    assert record_sim.main(["--task", "fly_to_target", "--episodes", "1", "--out", str(pol),
                            "--seed", "7", "--checkpoint", str(ckpt), "--no-progress"]) == 0
    capsys.readouterr()
    assert replay.main(["--checkpoint", str(ckpt), "--bag", str(pol / "episode_000007"),
                        "--json", "--out", str(tmp_path / "replay"), "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["samples"] > 10 and summary["max_abs_error"] < 1e-5
    assert summary["safety_task"] == "fly_to_target"
    assert (tmp_path / "replay" / "replay.png").stat().st_size > 5_000
    assert json.loads((tmp_path / "replay" / "replay.json").read_text())["samples"] == \
        summary["samples"]
    # Against the expert's recording the same policy is far off: the check can fail.
    assert replay.main(["--checkpoint", str(ckpt), "--bag", str(bag_dirs[0]), "--json",
                        "--no-progress"]) == 0
    other = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert other["max_abs_error"] > 1e-3
