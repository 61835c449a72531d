"""Every model family on the same data, budget and conditions: ``liquid-ros compare``.

For one task: the recipe's collection (its clean and preset expert episodes at the
acceleration level; the preset without the held-out grass ground, and for leader_follow
without figure-eight leaders), or given datasets;
then for each family and training seed the same training (:func:`liquid_ros.train.imitation.
train` with the recipe's learning rate, sequence length and batch, only ``model`` and
``seed`` differ): ``steps`` gradient steps of behaviour cloning, then ``dagger_rounds`` DAgger
rounds of ``dagger_steps`` steps each, so every family gets exactly the same number of
gradient steps. Each checkpoint then flies the same held-out seeds in every condition of
:mod:`liquid_ros.evaluation.conditions` through the one Pilot, safety filter on.

Everything is a stage with one JSON file under ``OUT/stages`` (``collect_clean``,
``train_<family>_s<seed>``, ``eval_<family>_s<seed>_<condition>``): running the same command
again skips what finished, and an evaluation whose checkpoint changed since is flown again.
Episodes run on the rollout back end (local processes or Ray). Writes ``OUT/compare.json``,
``OUT/compare.md`` and ``OUT/compare.png`` (:mod:`liquid_ros.evaluation.compare_report`);
``report_only`` writes them from whatever finished (commands run in parallel on one ``out``
with different families or seeds) and runs nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liquid_ros.evaluation.conditions import (
    CLEAN,
    PRESET,
    TASKS,
    TRAIN_FAMILIES,
    Condition,
    conditions_for,
    flight,
    is_held_out,
)
from liquid_ros.evaluation.stats import rate
from liquid_ros.rollouts.runner import BackendConfig
from liquid_ros.train import imitation
from liquid_ros.train.recipe import RECIPES, Stages

FAMILIES = ("ncp", "cfc", "lstm", "gru", "ctrnn", "mlp")
"""ncp = LTC on the AutoNCP wiring, cfc = CfC on the same wiring, then the baselines."""


@dataclass(frozen=True, kw_only=True)
class CompareConfig:
    """One comparison: what ``liquid-ros compare`` parses (its flags are these fields)."""

    task: str = field(metadata={"cli": {"choices": list(TASKS)}})
    """fly_to_target or leader_follow."""
    out: str
    """Output folder (data_clean/, data_preset/, runs/, stages/, compare.md, .json, .png)."""
    recipe: str = "default"
    """Recipe whose collection, learning rates, sequence length and batch are used."""
    data: tuple[str, ...] = ()
    """Dataset folder(s) to train on instead of collecting (e.g. a recipe's OUT/data)."""
    clean_episodes: int | None = None
    """Expert episodes to collect on the nominal simulator (default: the recipe's)."""
    preset_episodes: int | None = None
    """Expert episodes to collect under the preset (default: the recipe's)."""
    families: tuple[str, ...] = field(default=FAMILIES,
                                      metadata={"cli": {"choices": list(FAMILIES)}})
    """Model families."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds (each family is trained once per seed)."""
    steps: int = 3000
    """Behaviour-cloning gradient steps, the same for every family."""
    dagger_rounds: int = 0
    """DAgger rounds after behaviour cloning (each the learner's own rollouts)."""
    dagger_steps: int = 500
    """Gradient steps after each DAgger round."""
    dagger_episodes: int | None = None
    """Learner episodes per DAgger round (default: the recipe's)."""
    lr: float | None = None
    """Learning rate of behaviour cloning (default: the recipe's first stage's; DAgger
    rounds use the recipe's first DAgger stage's)."""
    episodes: int = 50
    """Held-out episodes per (family, seed, condition)."""
    conditions: tuple[str, ...] = ()
    """Conditions to fly (default: all of the task's)."""
    eval_seed: int = 100_000
    """First evaluation seed (the same seeds for every family and condition)."""
    threads: int = 1
    """Torch threads for training."""
    report_only: bool = False
    """Run nothing: write the report of every finished training and evaluation of these
    families, seeds and conditions (e.g. after parallel commands on the same ``out``)."""
    progress: bool = False
    """Show progress bars."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming them)."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {list(TASKS)}, got {self.task!r}")
        if self.recipe not in RECIPES[self.task]:
            raise ValueError(f"recipe must be one of {sorted(RECIPES[self.task])}, got "
                             f"{self.recipe!r}")
        bad = sorted(set(self.families) - set(FAMILIES))
        if bad or not self.families:
            raise ValueError(f"families must be some of {list(FAMILIES)}, got {bad}")
        if not self.seeds or any(s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be one or more integers >= 0, got {self.seeds}")
        for name in ("steps", "episodes", "dagger_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.dagger_rounds < 0:
            raise ValueError(f"dagger_rounds must be >= 0, got {self.dagger_rounds}")
        conditions_for(self.task, self.conditions or None)

    def training(self) -> dict[str, Any]:
        """The settings every training of this OUT must share (checked on resume)."""
        keys = ("task", "recipe", "data", "clean_episodes", "preset_episodes", "steps",
                "dagger_rounds",
                "dagger_steps", "dagger_episodes", "lr")
        return {k: json.loads(json.dumps(getattr(self, k))) for k in keys}


def sha1(path: Path) -> str:
    """SHA-1 of a file (identifies the checkpoint an evaluation flew)."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def param_counts(checkpoint: str | Path) -> dict[str, int]:
    """Parameters of a checkpoint: ``head`` (recurrent head and readout) and ``total``."""
    from liquid_ros.models.checkpoint import load_policy

    policy = load_policy(checkpoint)
    head = sum(p.numel() for m in (policy.head, policy.readout) for p in m.parameters())
    return {"head": int(head), "total": int(sum(p.numel() for p in policy.parameters()))}


def check_settings(cfg: CompareConfig, out: Path) -> None:
    """Record the training settings of a new ``out``; refuse others on resume.

    Raises:
        ValueError: Naming each setting that differs from the one ``out`` was started with.
    """
    path = out / "compare_settings.json"
    mine = cfg.training()
    if path.is_file():
        old = json.loads(path.read_text())
        diff = sorted(k for k in mine if old.get(k) != mine[k])
        if diff:
            raise ValueError(f"{out} was started with other training settings ("
                             + ", ".join(f"{k}: {old.get(k)!r} there, {mine[k]!r} now"
                                         for k in diff) + "); use another --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mine, indent=2) + "\n")


def collect_env(task: str, base: dict[str, Any] = PRESET) -> dict[str, Any]:
    """Env settings of compare's collection: ``base``; leader_follow without figure-eight."""
    env = dict(base)
    if task == "leader_follow":
        env["family"] = list(TRAIN_FAMILIES)
    return env


def _collect(cfg: CompareConfig, stages: Stages, runner: Any, log: Any) -> list[str]:
    """The recipe's collection (clean episodes from seed 0, preset ones from 20000)."""
    if cfg.data:
        return list(cfg.data)
    out = Path(cfg.out)
    if stages.done("collect") is not None:  # a run started before the two-part collection
        return [str(out / "data")]
    from liquid_ros.rollouts.collect import collect

    recipe = RECIPES[cfg.task][cfg.recipe]
    sets = []
    for name, n, seed, base in (
            ("clean", cfg.clean_episodes or recipe.clean_episodes, 0, CLEAN),
            ("preset", cfg.preset_episodes or recipe.preset_episodes, 20_000, PRESET)):
        data, env = out / f"data_{name}", collect_env(cfg.task, base)

        def work(n: int = n, data: Path = data, seed: int = seed, env: dict = env
                 ) -> dict[str, Any]:
            _, report = collect(cfg.task, n, data, seed=seed, env_kwargs=env,
                                progress=cfg.progress, backend=runner)
            if report.failures:
                raise RuntimeError(f"collect: {len(report.failures)} episodes failed (first: "
                                   f"{report.failures[0].error})")
            return {"episodes": n, "env": env}

        if n > 0:
            stages.run(f"collect_{name}", work, log)
            sets.append(str(data))
    return sets


def _rates(recipe: Any) -> tuple[float, float, int]:
    """(behaviour-cloning lr, DAgger lr, DAgger episodes) of a recipe's stages."""
    dagger = [s for s in recipe.stages if s.dagger_episodes > 0]
    first = recipe.stages[0]
    return (first.lr, dagger[0].lr if dagger else first.lr,
            dagger[0].dagger_episodes if dagger else 40)


def run_folder(cfg: CompareConfig, family: str, seed: int) -> Path:
    """Where (family, seed) trains: ``OUT/runs/<family>/seed_<seed>``."""
    return Path(cfg.out) / "runs" / family / f"seed_{seed}"


def bc_config(cfg: CompareConfig, data: list[str], family: str, seed: int
              ) -> imitation.ImitationConfig:
    """The behaviour-cloning run of (family, seed).

    Only ``model``, ``seed`` and ``out`` differ between runs; ``epochs`` is ``steps`` so that
    ``max_steps`` always ends the run (every epoch has at least one step).
    """
    from liquid_ros.train.trainer import TrainConfig

    recipe = RECIPES[cfg.task][cfg.recipe]
    tc = TrainConfig(epochs=cfg.steps, max_steps=cfg.steps, lr=cfg.lr or _rates(recipe)[0],
                     seq_len=recipe.seq_len, batch_size=recipe.batch_size, seed=seed)
    return imitation.ImitationConfig(
        task=cfg.task, data=tuple(data), out=str(run_folder(cfg, family, seed) / "bc"),
        model=family, train=tc, threads=cfg.threads, progress=cfg.progress)


def train_one(cfg: CompareConfig, data: list[str], family: str, seed: int,
              backend: BackendConfig) -> dict[str, Any]:
    """Train ``family`` with training seed ``seed`` (behaviour cloning, then DAgger rounds).

    Returns the stage result: checkpoint, its SHA-1, gradient steps, losses, parameters.
    """
    recipe = RECIPES[cfg.task][cfg.recipe]
    folder = run_folder(cfg, family, seed)
    if folder.exists():  # an unfinished training starts over
        shutil.rmtree(folder)
    command = f"liquid-ros compare --task {cfg.task} --out {cfg.out}: {family} seed {seed}"
    sets = list(data)
    icfg = bc_config(cfg, sets, family, seed)
    tc = icfg.train
    logs = [imitation.train(icfg, backend, command=command)]
    ckpt = folder / "bc" / "policy.pt"
    for k in range(1, cfg.dagger_rounds + 1):
        round_dir = folder / f"dagger_{k}"
        rtc = dataclasses.replace(tc, epochs=0, max_steps=cfg.dagger_steps,
                                  lr=_rates(recipe)[1])
        rcfg = dataclasses.replace(
            icfg, data=tuple(sets), out=str(round_dir), train=rtc, init=str(ckpt),
            dagger_rounds=1, dagger_epochs=cfg.dagger_steps,
            dagger_episodes=cfg.dagger_episodes or _rates(recipe)[2],
            dagger_seed=imitation.DAGGER_SEED_BASE * (seed + 1) + 100_000 * k,
            dagger_env_kwargs=collect_env(cfg.task, PRESET))  # the learner flies the preset
        logs.append(imitation.train(rcfg, backend, command=f"{command} (DAgger round {k})"))
        ckpt = round_dir / "policy.pt"
        sets.append(str(round_dir / "dagger" / "round_1"))
    final = folder / "policy.pt"
    shutil.copyfile(ckpt, final)
    return {"family": family, "seed": seed, "checkpoint": str(final), "sha1": sha1(final),
            "steps": int(sum(lg["steps"] for lg in logs)),
            "stage_steps": [int(lg["steps"]) for lg in logs],
            "val_loss": logs[0]["val_loss"], "train_loss_last": logs[-1]["train_loss"][-1:],
            "val_loss_last": logs[-1]["val_loss"][-1:],
            "dagger": [r for lg in logs[1:] for r in lg["dagger_rounds"]],
            "params": param_counts(final)}


def evaluate_one(cfg: CompareConfig, trained: dict[str, Any], cond: Condition,
                 runner: Any) -> dict[str, Any]:
    """Fly ``cfg.episodes`` held-out seeds of ``cond`` with one trained checkpoint."""
    from liquid_ros.evaluation.evaluate import summarise
    from liquid_ros.rollouts.policy_episode import PolicyEpisode, load_cached
    from liquid_ros.rollouts.runner import run_episodes
    from liquid_ros.runtime.policy_source import policy_period

    ckpt = trained["checkpoint"]
    meta = dict(load_cached(ckpt).checkpoint_metadata or {})
    fl = flight(cond, dict(meta.get("env_kwargs", {})), policy_period(load_cached(ckpt)))
    fn = PolicyEpisode(cfg.task, ckpt, fl.env, int(meta.get("action_repeat", 5)),
                       policy_period=fl.policy_period, period_jitter=fl.jitter)
    seeds = range(cfg.eval_seed, cfg.eval_seed + cfg.episodes)
    report = run_episodes(fn, seeds, runner, progress=cfg.progress,
                          desc=f"{trained['family']} s{trained['seed']} {cond.name}")
    s = summarise(report.ordered(), len(report.failures))
    k = int(round(s["success_rate"] * s["episodes"]))
    return {"family": trained["family"], "seed": trained["seed"], "condition": cond.name,
            "checkpoint_sha1": trained["sha1"], "eval_seed": cfg.eval_seed,
            "episodes": cfg.episodes, "rate": rate(k, s["episodes"]).as_dict(),
            "failed_to_run": s["failed_to_run"], "violation_episodes": s["violation_episodes"],
            "metrics": s["metrics"], "seeds_failed": s["seeds_failed"],
            "env": fl.env, "policy_period": fl.policy_period, "jitter": fl.jitter,
            "errors": [f"{f.seed}: {f.error}" for f in report.failures[:3]]}


def eval_is_current(old: dict[str, Any] | None, trained: dict[str, Any],
                    cfg: CompareConfig) -> bool:
    """Whether a finished evaluation ``old`` flew this checkpoint, episodes and seeds."""
    return old is not None and old.get("checkpoint_sha1") == trained["sha1"] and (
        old.get("episodes"), old.get("eval_seed")) == (cfg.episodes, cfg.eval_seed)


def run(cfg: CompareConfig, backend: BackendConfig | None = None, log: Any = print
        ) -> dict[str, Any]:
    """Collect (or take the data), train every (family, seed), fly every condition.

    Finished stages are skipped (see the module docstring). Returns the results that
    :func:`liquid_ros.evaluation.compare_report.write_report` writes.

    Raises:
        ValueError: On settings that differ from those ``cfg.out`` was started with.
        RuntimeError: When collection fails.
    """
    from liquid_ros.train.dataset import read_manifest

    backend = backend or BackendConfig()
    out = Path(cfg.out)
    check_settings(cfg, out)
    stages = Stages(out)
    say = log

    def log(line: str) -> None:  # the stages are the recipe's; the lines are compare's
        say(line.replace("recipe: ", "compare: ", 1))

    if cfg.report_only:
        data, trained, evals = _finished(cfg, stages)
        conds = conditions_for(cfg.task, cfg.conditions or None)
    else:
        data, trained, evals, conds = _run_stages(cfg, stages, backend, log)
    data_env = dict(read_manifest(data[0]).get("env_kwargs", {}))
    seconds = {p.stem: json.loads(p.read_text()).get("seconds", 0.0)
               for p in sorted(stages.dir.glob("*.json"))}
    return {"task": cfg.task, "config": dataclasses.asdict(cfg), "data": data,
            "data_env": data_env, "conditions": [
                {**dataclasses.asdict(c), "held_out": is_held_out(c, data_env)} for c in conds],
            "trained": trained, "evals": evals, "stage_seconds": seconds}


def _run_stages(cfg: CompareConfig, stages: Stages, backend: BackendConfig, log: Any
                ) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """Collect, train and evaluate what has not finished; (data, trained, evals, conds)."""
    runner = backend.make()  # one for all collection and evaluation (Ray starts once)
    try:
        data = _collect(cfg, stages, runner, log)
        conds = conditions_for(cfg.task, cfg.conditions or None)
        trained, evals = [], []
        for family in cfg.families:
            for seed in cfg.seeds:
                name = f"train_{family}_s{seed}"
                t = stages.run(name, lambda f=family, s=seed: train_one(cfg, data, f, s,
                                                                        backend), log)
                trained.append(t)
                for cond in conds:
                    ename = f"eval_{family}_s{seed}_{cond.name}"
                    old = stages.done(ename)
                    if old is not None and not eval_is_current(old, t, cfg):
                        (stages.dir / f"{ename}.json").unlink()  # another checkpoint flew it
                    evals.append(stages.run(ename, lambda t=t, c=cond: evaluate_one(
                        cfg, t, c, runner), log))
    finally:
        runner.close()
    return data, trained, evals, conds


def _finished(cfg: CompareConfig, stages: Stages
              ) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """(data, trained, evals) of the finished stages of ``cfg``'s families, seeds, conditions.

    Raises:
        ValueError: When no training of these families and seeds has finished.
    """
    out = Path(cfg.out)
    data = list(cfg.data) or ([str(out / "data")] if stages.done("collect") else [
        str(out / f"data_{n}") for n in ("clean", "preset") if stages.done(f"collect_{n}")])
    conds = conditions_for(cfg.task, cfg.conditions or None)
    trained, evals = [], []
    for family in cfg.families:
        for seed in cfg.seeds:
            t = stages.done(f"train_{family}_s{seed}")
            if t is None:
                continue
            trained.append(t)
            for cond in conds:
                e = stages.done(f"eval_{family}_s{seed}_{cond.name}")
                if eval_is_current(e, t, cfg):
                    evals.append(e)
    if not trained or not data:
        raise ValueError(f"--report-only: nothing of these families and seeds has finished "
                         f"in {out}")
    return data, trained, evals
