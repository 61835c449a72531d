"""``liquid-ros compare`` settings: equal training for every family, and what resumes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from liquid_ros.cli import compare, train
from liquid_ros.cli.flags import to_argv
from liquid_ros.evaluation.compare import (
    CompareConfig,
    bc_config,
    check_settings,
    eval_is_current,
)
from liquid_ros.train.recipe import RECIPES


def test_every_family_and_seed_trains_with_the_same_config(tmp_path):
    cfg, backend = compare.parse_args([
        "--task", "leader_follow", "--out", str(tmp_path), "--families", "cfc", "lstm",
        "--seeds", "0", "1", "--steps", "120", "--threads", "2", "--workers", "2"])
    a, b = bc_config(cfg, ["d"], "cfc", 0), bc_config(cfg, ["d"], "lstm", 1)
    assert b == dataclasses.replace(a, model="lstm", out=b.out,
                                    train=dataclasses.replace(a.train, seed=1))
    assert a.out != b.out and a.data == ("d",) and (cfg.threads, backend.workers) == (2, 2)
    recipe = RECIPES["leader_follow"]["default"]
    assert (a.train.max_steps, a.train.lr, a.train.seq_len, a.train.batch_size) == (
        120, recipe.stages[0].lr, recipe.seq_len, recipe.batch_size)
    assert a.train.epochs >= a.train.max_steps  # the step budget, not the epochs, ends it
    again, _ = train.parse_args(to_argv(a))  # the same run as a train command line
    assert again == a


@pytest.mark.parametrize(("argv", "message"), [
    (["--families", "transformer"], "invalid choice"),
    (["--steps", "0"], "steps must be >= 1"),
    (["--conditions", "held_out_family"], "conditions for fly_to_target"),
    (["--seeds", "-1"], "seeds"),
])
def test_bad_settings_are_one_clear_error(tmp_path, capsys, argv, message):
    base = ["--task", "fly_to_target", "--out", str(tmp_path / "o")]
    try:
        code = compare.main(base + argv)
    except SystemExit as stop:  # argparse rejects a bad choice itself
        code = stop.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_resume_refuses_other_training_settings_but_takes_more_families(tmp_path):
    cfg = CompareConfig(task="fly_to_target", out=str(tmp_path), steps=100)
    check_settings(cfg, tmp_path)
    assert json.loads((tmp_path / "compare_settings.json").read_text())["steps"] == 100
    check_settings(dataclasses.replace(cfg, families=("mlp",), seeds=(5,), episodes=3),
                   tmp_path)
    with pytest.raises(ValueError, match=r"steps: 100 there, 200 now"):
        check_settings(dataclasses.replace(cfg, steps=200), tmp_path)
    with pytest.raises(ValueError, match="data"):
        check_settings(dataclasses.replace(cfg, data=("elsewhere",)), tmp_path)


def test_an_evaluation_is_current_only_for_its_checkpoint_episodes_and_seeds(tmp_path):
    cfg = CompareConfig(task="fly_to_target", out=str(tmp_path), episodes=50)
    trained = {"sha1": "abc"}
    done = {"checkpoint_sha1": "abc", "episodes": 50, "eval_seed": cfg.eval_seed}
    assert eval_is_current(done, trained, cfg)
    assert not eval_is_current(None, trained, cfg)
    assert not eval_is_current(done, {"sha1": "retrained"}, cfg)
    assert not eval_is_current(done, trained, dataclasses.replace(cfg, episodes=60))
    assert not eval_is_current(done, trained, dataclasses.replace(cfg, eval_seed=7))
