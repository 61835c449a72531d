"""``liquid-ros train --recipe``: the whole recipe end to end on the tiny budget, and resuming."""

from __future__ import annotations

import json

from liquid_ros.cli.main import main


def test_tiny_recipe_runs_every_stage_and_resumes_after_an_interruption(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--task", "fly_to_target", "--recipe", "tiny", "--out", str(out),
            "--workers", "1", "--no-progress"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    stages = ["collect_clean", "collect_preset", "stage_1", "stage_2", "eval_clean",
              "eval_preset"]
    for name in stages:
        assert f"recipe: {name} finished" in first
        assert (out / "stages" / f"{name}.json").is_file()
    report = json.loads((out / "recipe.json").read_text())
    assert report["clean"]["episodes"] == 2 and report["preset"]["episodes"] == 2
    assert set(report["stage_seconds"]) == set(stages)
    assert (out / "policy.pt").is_file()
    # the learner's DAgger episodes flew at the acceleration level under the preset
    manifest = json.loads((out / "stage_2" / "dagger" / "round_1" / "manifest.json")
                          .read_text())
    assert manifest["rollout_env_kwargs"]["command_level"] == "acceleration"
    assert manifest["rollout_env_kwargs"]["domain_randomization"] == "default"
    # interrupted during the last evaluation: only that stage runs again
    (out / "stages" / "eval_preset.json").unlink()
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert "recipe: eval_preset finished" in second
    for name in stages[:-1]:
        assert f"recipe: {name} done before" in second
    # a recipe that does not exist is one clear error
    assert main(["train", "--task", "fly_to_target", "--recipe", "huge", "--out",
                 str(out)]) == 2
    assert "recipe must be one of" in capsys.readouterr().err
