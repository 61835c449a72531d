"""One command from nothing to an evaluated checkpoint: ``liquid-ros train --recipe default``.

A recipe is the whole training of a shipped checkpoint as data: expert collection, BPTT
epochs, DAgger rounds and the final evaluation, each a stage that writes its result to
``OUT/stages/<stage>.json`` when it finishes. Running the same command again skips finished
stages, so an interrupted recipe resumes from its last finished stage (a stage in progress
starts over; collection also resumes per episode). Everything flies as the robot will:
collection, DAgger and evaluation run the simulator with the task's domain-randomisation
preset at the ``acceleration`` command level behind the simulated flight controller, and
the learner flies through the one :class:`~liquid_ros.runtime.pilot.Pilot` with the task's
``config/<task>.yaml`` (robust safety filter on).

Stages: ``collect`` (expert demonstrations with exploration noise) -> ``train`` (BPTT from
scratch) -> ``dagger_1`` ... ``dagger_K`` (the learner flies, the expert relabels, training
continues on all data) -> ``eval_clean`` and ``eval_preset`` (held-out seeds 100000-...,
reported separately) -> ``OUT/policy.pt`` and ``OUT/recipe.json``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRESET_ENV: dict[str, Any] = {"domain_randomization": "default",
                              "command_level": "acceleration"}
"""Env settings of every rollout of a recipe: the randomisation preset (latency 0-50 ms, mass
+-20 %, wind up to 0.05 N, scenes) at the acceleration level (simulated flight controller)."""
CLEAN_ENV: dict[str, Any] = {"domain_randomization": "none", "command_level": "acceleration"}
"""The nominal simulator at the same level, for the clean evaluation."""


@dataclass(frozen=True)
class Recipe:
    """The numbers of one recipe (see :data:`RECIPES`)."""

    collect_episodes: int
    """Expert episodes (seeds 0..N-1)."""
    model: str = "cfc"
    """Recurrent head (``liquid-ros train --model``)."""
    epochs: int = 30
    """BPTT epochs on the expert data."""
    lr: float = 5e-3
    """Learning rate of the first training; DAgger rounds use ``dagger_lr``."""
    seq_len: int = 32
    """Training sequence length (policy steps)."""
    batch_size: int = 16
    """Sequences per batch."""
    dagger_rounds: int = 2
    """DAgger rounds, each a stage."""
    dagger_episodes: int = 40
    """Learner episodes per round."""
    dagger_epochs: int = 5
    """Epochs on all data after each round."""
    dagger_lr: float = 2e-3
    """Learning rate of the DAgger rounds."""
    eval_episodes: int = 50
    """Held-out episodes per evaluation (seeds 100000..)."""
    env: dict[str, Any] = field(default_factory=lambda: dict(PRESET_ENV))
    """Env settings of collection and DAgger."""
    dagger_env: dict[str, Any] = field(default_factory=dict)
    """Extra env settings for the DAgger rollouts only (e.g. fast leaders)."""


RECIPES: dict[str, dict[str, Recipe]] = {
    "fly_to_target": {
        "default": Recipe(collect_episodes=300, epochs=30, seq_len=32, dagger_rounds=2,
                          dagger_episodes=60, dagger_epochs=8),
        "tiny": Recipe(collect_episodes=4, epochs=1, seq_len=16, dagger_rounds=1,
                       dagger_episodes=2, dagger_epochs=1, eval_episodes=2),
    },
    "leader_follow": {
        "default": Recipe(collect_episodes=160, epochs=30, seq_len=64, dagger_rounds=3,
                          dagger_episodes=40, dagger_epochs=5),
        "tiny": Recipe(collect_episodes=2, epochs=1, seq_len=16, dagger_rounds=1,
                       dagger_episodes=1, dagger_epochs=1, eval_episodes=1),
    },
}
"""Recipes per task. ``default`` reproduces the shipped checkpoint; ``tiny`` is a smoke test."""
EVAL_SEED = 100_000
"""First held-out evaluation seed (never used for collection, DAgger or choices)."""


@dataclass(frozen=True, kw_only=True)
class RecipeConfig:
    """What ``liquid-ros train --recipe NAME`` parses."""

    task: str
    """fly_to_target or leader_follow."""
    recipe: str = "default"
    """Recipe name (default, tiny)."""
    out: str
    """Output folder: data/, stages/, round folders, policy.pt, recipe.json (resumable)."""
    seed: int = 0
    """Training seed."""
    threads: int = 1
    """Torch threads for training."""
    progress: bool = True
    """Show progress bars."""

    def __post_init__(self) -> None:
        """Validate the task and recipe name (ValueError naming the known ones)."""
        if self.task not in RECIPES:
            raise ValueError(f"task must be one of {sorted(RECIPES)}, got {self.task!r}")
        if self.recipe not in RECIPES[self.task]:
            raise ValueError(f"recipe must be one of {sorted(RECIPES[self.task])} for "
                             f"{self.task}, got {self.recipe!r}")


class Stages:
    """Finished stages of a recipe run, one JSON file each under ``OUT/stages``."""

    def __init__(self, out: Path) -> None:
        self.dir = out / "stages"
        self.dir.mkdir(parents=True, exist_ok=True)

    def done(self, name: str) -> dict[str, Any] | None:
        """The result of a finished stage, or None."""
        path = self.dir / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def run(self, name: str, work: Any, log: Any = print) -> dict[str, Any]:
        """Run ``work()`` unless ``name`` finished before; record its result and time."""
        old = self.done(name)
        if old is not None:
            log(f"recipe: {name} done before ({old.get('seconds', 0):.0f} s), skipped")
            return old
        log(f"recipe: {name} ...")
        start = time.monotonic()
        result = dict(work())
        result["seconds"] = round(time.monotonic() - start, 1)
        tmp = self.dir / f"{name}.json.tmp"
        tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
        tmp.replace(self.dir / f"{name}.json")  # atomic: a stage is done or not
        log(f"recipe: {name} finished in {result['seconds']:.0f} s")
        return result


def run_recipe(cfg: RecipeConfig, backend: Any = None, log: Any = print) -> dict[str, Any]:
    """Run (or resume) the recipe ``cfg`` names; returns the report also in recipe.json.

    Args:
        cfg: Task, recipe, output folder.
        backend: A ``BackendConfig`` for collection, DAgger and evaluation (default: local
            processes on every core).
        log: Line logger.
    """
    from liquid_ros.evaluation.evaluate import evaluate
    from liquid_ros.rollouts.collect import collect
    from liquid_ros.rollouts.runner import BackendConfig
    from liquid_ros.train.imitation import ImitationConfig, train
    from liquid_ros.train.trainer import TrainConfig

    recipe = RECIPES[cfg.task][cfg.recipe]
    backend = backend or BackendConfig()
    out = Path(cfg.out)
    stages = Stages(out)
    data = out / "data"

    def do_collect() -> dict[str, Any]:
        runner = backend.make()
        try:
            manifest, report = collect(cfg.task, recipe.collect_episodes, data, seed=0,
                                       env_kwargs=recipe.env, progress=cfg.progress,
                                       backend=runner)
        finally:
            runner.close()
        if report.failures:
            raise RuntimeError(f"collect: {len(report.failures)} episodes failed "
                               f"(first: {report.failures[0].error})")
        return {"episodes": recipe.collect_episodes, "manifest": manifest}

    stages.run("collect", do_collect, log)
    sets, ckpt = [str(data)], ""

    def do_train(name: str, init: str | None, rounds: int, epochs: int, lr: float,
                 dagger_seed: int) -> dict[str, Any]:
        folder = out / name
        if folder.exists():  # a stage that did not finish starts over
            shutil.rmtree(folder)
        tc = TrainConfig(epochs=epochs, lr=lr, seq_len=recipe.seq_len,
                         batch_size=recipe.batch_size, seed=cfg.seed)
        icfg = ImitationConfig(task=cfg.task, data=tuple(sets), out=str(folder),
                               model=recipe.model, train=tc, init=init,
                               dagger_rounds=rounds, dagger_episodes=recipe.dagger_episodes,
                               dagger_epochs=recipe.dagger_epochs, dagger_seed=dagger_seed,
                               dagger_env_kwargs=dict(recipe.dagger_env), threads=cfg.threads,
                               progress=cfg.progress)
        log_ = train(icfg, backend, command=f"liquid-ros train --task {cfg.task} --recipe "
                                           f"{cfg.recipe} --out {cfg.out} (stage {name})")
        return {"checkpoint": str(folder / "policy.pt"), "steps": log_["steps"],
                "train_loss": log_["train_loss"][-1:], "val_loss": log_["val_loss"][-1:],
                "dagger": log_["dagger_rounds"]}

    res = stages.run("train", lambda: do_train("train", None, 0, recipe.epochs, recipe.lr, 0),
                     log)
    ckpt = res["checkpoint"]
    for k in range(1, recipe.dagger_rounds + 1):
        name = f"dagger_{k}"
        # round K of its own run: fresh seeds per round, from the previous round's weights
        res = stages.run(name, lambda k=k, name=name, init=ckpt: do_train(
            name, init, 1, 0, recipe.dagger_lr, 1_000_000 * (cfg.seed + 1) + 100_000 * k),
            log)
        ckpt = res["checkpoint"]
        sets.append(str(out / name / "dagger" / "round_1"))

    def do_eval(env: dict[str, Any]) -> dict[str, Any]:
        runner = backend.make()
        try:
            summary, _ = evaluate(cfg.task, ckpt, recipe.eval_episodes, EVAL_SEED,
                                  env_kwargs=env, progress=cfg.progress, backend=runner)
        finally:
            runner.close()
        return summary

    clean = stages.run("eval_clean", lambda: do_eval(CLEAN_ENV), log)
    preset = stages.run("eval_preset", lambda: do_eval(PRESET_ENV), log)
    shutil.copyfile(ckpt, out / "policy.pt")
    times = {p.stem: json.loads(p.read_text()).get("seconds", 0.0)
             for p in sorted(stages.dir.glob("*.json"))}
    report = {"task": cfg.task, "recipe": cfg.recipe, "config": dataclasses.asdict(recipe),
              "checkpoint": str(out / "policy.pt"), "stage_seconds": times,
              "total_seconds": round(sum(times.values()), 1),
              "clean": _brief(clean), "preset": _brief(preset)}
    (out / "recipe.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"recipe {cfg.recipe} for {cfg.task}: {report['total_seconds'] / 60:.1f} min; "
        f"clean {100 * clean['success_rate']:.0f} % ({clean['violation_episodes']} with "
        f"violations), preset {100 * preset['success_rate']:.0f} % "
        f"({preset['violation_episodes']} with violations); wrote {out / 'policy.pt'}")
    return report


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("episodes", "success_rate", "violation_episodes", "violations", "seeds_failed",
            "filter_intervention_rate")
    return {k: summary[k] for k in keys if k in summary}
