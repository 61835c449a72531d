"""``liquid-ros compare`` end to end on a tiny budget, then resumed.

Real collection, training, and episodes through the Pilot (PyBullet, torch): two families,
one training seed, one episode per condition, 1.5-second episodes.
"""

from __future__ import annotations

import json

import pytest

from liquid_ros.cli.main import main
from liquid_ros.evaluation.conditions import PRESET
from liquid_ros.rollouts.collect import collect


@pytest.mark.slow
def test_compare_trains_evaluates_reports_and_resumes(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "cmp"
    collect("fly_to_target", 2, data, env_kwargs={**PRESET, "timeout": 1.5}, progress=False)
    argv = ["compare", "--task", "fly_to_target", "--out", str(out), "--data", str(data),
            "--recipe", "tiny", "--families", "cfc", "mlp", "--seeds", "0", "--steps", "2",
            "--episodes", "1", "--conditions", "clean", "jitter", "--workers", "1"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    report = json.loads((out / "compare.json").read_text())
    trained = {t["family"]: t for t in report["trained"]}
    assert set(trained) == {"cfc", "mlp"}
    assert [t["steps"] for t in trained.values()] == [2, 2]  # the same budget
    for t in trained.values():
        assert 0 < t["params"]["head"] < t["params"]["total"]
    evals = {(e["family"], e["condition"]): e for e in report["evals"]}
    assert set(evals) == {(f, c) for f in ("cfc", "mlp") for c in ("clean", "jitter")}
    for e in evals.values():
        r = e["rate"]
        assert r["n"] == 1 and r["successes"] in (0, 1) and 0.0 <= r["lo"] < r["hi"] <= 1.0
    assert evals[("cfc", "jitter")]["jitter"] == 0.6
    assert evals[("cfc", "jitter")]["env"]["camera_hz"] == 50.0
    assert set(report["summary"]["cfc"]) == {"clean", "jitter"}
    change = report["summary"]["cfc"]["jitter"]["change"]  # jitter minus clean, same seeds
    clean_rate = report["summary"]["cfc"]["clean"]["rate"]
    assert change["mean"] == report["summary"]["cfc"]["jitter"]["rate"] - clean_rate
    assert change["lo"] <= change["mean"] <= change["hi"] and change["seeds"] == 1
    assert "change" not in report["summary"]["cfc"]["clean"]
    table = (out / "compare.md").read_text()
    assert "| cfc | 2,440 |" in table and "jitter" in table and "Command: `liquid-ros" in table
    assert "Change from `clean`" in table and "`final_distance`" in table
    mean, lo, hi = report["graded"]["mlp"]["clean"]  # one seed: its mean is the range
    assert mean == lo == hi == evals[("mlp", "clean")]["metrics"]["final_distance"] >= 0.0
    assert (out / "compare.png").stat().st_size > 5_000
    assert first.count("finished") == 6  # 2 trainings, 4 evaluations
    # the same command again: nothing runs
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert "finished" not in again and again.count("done before") == 6
    # an evaluation interrupted (its file missing) is flown again, alone
    (out / "stages" / "eval_mlp_s0_jitter.json").unlink()
    assert main(argv) == 0
    third = capsys.readouterr().out
    assert third.count("finished") == 1 and "eval_mlp_s0_jitter finished" in third
    assert json.loads((out / "compare.json").read_text())["summary"] == report["summary"]
    # --report-only runs nothing and reports what finished (gru never ran, rate_half neither)
    assert main([*argv, "--families", "cfc", "mlp", "gru", "--conditions", "clean", "jitter",
                 "rate_half", "--report-only"]) == 0
    assert "finished" not in capsys.readouterr().out
    joint = json.loads((out / "compare.json").read_text())
    assert [t["family"] for t in joint["trained"]] == ["cfc", "mlp"]
    assert len(joint["evals"]) == 4 and joint["summary"] == report["summary"]
    assert main([*argv, "--families", "gru", "--report-only"]) == 2
    assert "nothing of these families" in capsys.readouterr().err
    # another budget in the same folder would mix runs: refused
    assert main([*argv, "--steps", "3"]) == 2
    assert "steps: 2 there, 3 now" in capsys.readouterr().err
