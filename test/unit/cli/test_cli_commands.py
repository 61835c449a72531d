"""Every ``liquid-ros`` command keeps the flags the docs use; help is fast and complete."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from liquid_ros.cli import SUBCOMMANDS

STREAM = ("--image-topic --odom-topic --command-topic --goal-topic --odom-tolerance "
          "--command-tolerance --command-align --max-gap --min-steps --mass --drag --twist-mode "
          "--twist-frame --twist-gain --stamps --max-backjump --resize --strict "
          "--keep-truncated --no-progress")
BACKEND = "--workers --ray --episode-timeout"
FLAGS = {
    "collect": f"--task --episodes --out --seed --retries --noise-accel --noise-yaw --env-arg "
               f"--no-progress {BACKEND}",
    "train": f"--task --model --data --out --epochs --seq-len --batch-size --lr --max-steps "
             f"--seed --units --hidden --encoder --dagger-rounds --dagger-episodes "
             f"--dagger-epochs --dagger-seed --dagger-env-arg --init --barriernet --no-augment "
             f"--threads --no-progress {BACKEND}",
    "eval": f"--task --checkpoint --episodes --seed --json --saliency --out --no-safety "
            f"--image-noise --brightness --env-arg --no-progress {BACKEND}",
    # issue 19 replaced compare's options (one task, seeds, step budget, conditions)
    "compare": f"--task --out --recipe --data --clean-episodes --preset-episodes --families "
               f"--seeds --steps --dagger-rounds --dagger-steps --dagger-episodes --lr "
               f"--episodes --conditions --eval-seed --threads --no-progress {BACKEND}",
    "bag-to-dataset": f"--out --image-size --first-seed --overwrite {STREAM}",
    "replay": f"--checkpoint --bag --out --json --task {STREAM}",
    "record-sim": "--task --episodes --out --seed --checkpoint --action-repeat --storage "
                  "--noise-accel --noise-yaw --env-arg --no-progress",
    "export": "--checkpoint --format --out --dynamo --no-check",
}
"""The flags each command had before its options moved to dataclasses (README, docs, tests)."""


def _help(name: str, capsys) -> str:
    module = importlib.import_module(SUBCOMMANDS[name][0])
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_every_documented_flag_is_kept(name, capsys):
    text = _help(name, capsys)
    missing = [f for f in FLAGS[name].split() if not re.search(re.escape(f) + r"(?![\w-])", text)]
    assert not missing, f"liquid-ros {name} lost {missing}"
    assert f"usage: liquid-ros {name}" in text


def test_cli_modules_cover_every_subcommand():
    cli = {n for n, (m, _) in SUBCOMMANDS.items() if m.startswith("liquid_ros.cli.")}
    assert cli == set(FLAGS)
    assert {SUBCOMMANDS[n][0] for n in set(SUBCOMMANDS) - cli} == {
        "liquid_ros.ros.demo", "liquid_ros.ros.warmup"}


def test_defaults_are_unchanged():
    from liquid_ros.cli import collect, eval, record_sim, train
    from liquid_ros.cli.options import parse_config

    ev, backend = eval.parse_args(["--task", "t", "--checkpoint", "c"])
    assert (ev.episodes, ev.seed, ev.safety, ev.out, ev.env_kwargs) == (50, 100_000, True, None,
                                                                       {})
    assert backend.workers is None and backend.ray is None
    assert backend.episode_timeout == pytest.approx(600.0)
    co, _ = collect.parse_args(["--task", "t", "--episodes", "1", "--out", "o"])
    assert (co.seed, co.retries, co.noise_accel, co.noise_yaw) == (0, 1, 0.6, 0.2)
    rs, _ = parse_config(record_sim.RecordSimArgs, ["--task", "t", "--episodes", "1", "--out",
                                                    "o"], "record-sim", None)
    assert (rs.action_repeat, rs.storage, rs.noise_accel, rs.checkpoint) == (5, "mcap", 0.0, None)
    tr, backend = train.parse_args(["--task", "t", "--data", "a", "b", "--out", "o", "--ray"])
    assert (tr.model, tr.train.epochs, tr.train.seq_len, tr.train.batch_size, tr.units,
            tr.dagger_episodes, tr.threads, tr.augment) == ("ncp", 30, 64, 16, 19, 20, 1, True)
    assert tr.data == ("a", "b") and backend.ray == "local"


def test_shared_flags_have_one_help_text(capsys):
    texts = {name: " ".join(_help(name, capsys).split()) for name in ("collect", "eval")}
    for text in texts.values():
        assert "--task TASK fly_to_target or leader_follow" in text
        assert "--env-arg KEY=VALUE environment setting KEY=VALUE" in text
        assert "--workers WORKERS Parallel episodes" in text


def test_top_level_help_is_fast_and_lists_commands():
    code = ("import sys\nfrom liquid_ros.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit as e:\n    rc = e.code\n"
            "heavy = sorted(m for m in ('torch', 'pybullet', 'numpy') if m in sys.modules)\n"
            "print('HEAVY', heavy)\nsys.exit(rc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    for name in SUBCOMMANDS:
        assert name in out.stdout


def test_bad_value_is_exit_code_2(tmp_path, capsys):
    from liquid_ros.cli import bag_to_dataset, record_sim

    assert record_sim.main(["--task", "fly_to_target", "--episodes", "0",
                            "--out", str(tmp_path)]) == 2
    assert "--episodes" in capsys.readouterr().err
    assert bag_to_dataset.main([str(tmp_path), "--out", str(tmp_path / "d"),
                                "--odom-tolerance", "-1"]) == 2
    assert "odom_tolerance" in capsys.readouterr().err
