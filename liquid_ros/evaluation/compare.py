"""Train every model family on the same data and evaluate side by side (``liquid-ros compare``).

For each task and model: train (or reuse ``OUT/TASK/MODEL/policy.pt`` when it exists), then fly
held-out seeded episodes clean and under perturbations (pixel noise, a brightness change, and
for the leader task a trajectory family held out of its training data). Writes
``OUT/compare.md`` (a Markdown table) and ``OUT/compare.json``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liquid_ros.evaluation.evaluate import evaluate
from liquid_ros.rollouts.episodes import Perturbation
from liquid_ros.rollouts.runner import BackendConfig
from liquid_ros.train import imitation
from liquid_ros.train.trainer import TrainConfig

TASK_DATA_FIELDS = {"fly_to_target": "data_fly_to_target", "leader_follow": "data_leader_follow"}
"""Task -> the CompareConfig field holding its dataset folder."""


@dataclass(frozen=True, kw_only=True)
class CompareConfig:
    """One comparison: what ``liquid-ros compare`` parses (its flags are these fields)."""

    data_fly_to_target: str | None = None
    """Dataset folder for fly_to_target."""
    data_leader_follow: str | None = None
    """Dataset folder for leader_follow."""
    models: tuple[str, ...] = field(default=("ncp", "cfc", "lstm", "gru", "ctrnn", "mlp"),
                                    metadata={"cli": {"choices": sorted(imitation.MODELS)}})
    """Model families."""
    out: str
    """Output folder (OUT/TASK/MODEL/policy.pt, compare.md, compare.json)."""
    epochs: int = 20
    """Training epochs per model."""
    seq_len: int = 64
    """BPTT sequence length."""
    max_steps: int | None = None
    """Cap on gradient steps."""
    episodes: int = 20
    """Evaluation episodes per condition."""
    seed: int = 0
    """Training seed."""
    lr: float | None = None
    """Adam learning rate (default: train's)."""
    threads: int = 1
    """Torch threads for training."""
    dagger_rounds: int = 0
    """DAgger rounds per model after its epochs (the same for every family)."""
    dagger_episodes: int = 20
    """Episodes per DAgger round."""
    dagger_epochs: int | None = None
    """Epochs after each DAgger round (default: --epochs)."""
    eval_seed: int = 100_000
    """First evaluation seed."""
    image_noise: float = 0.05
    """Pixel noise std of the noise condition."""
    brightness: float = -0.25
    """Brightness shift of the brightness condition."""
    held_out_family: str = "figure_eight"
    """Leader family for the held-out test (train data should exclude it)."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming them)."""
        if not (self.data_fly_to_target or self.data_leader_follow):
            raise ValueError("give --data-fly-to-target and/or --data-leader-follow")
        bad = sorted(set(self.models) - set(imitation.MODELS))
        if bad or not self.models:
            raise ValueError(f"models must be some of {sorted(imitation.MODELS)}, got {bad}")


def _head_params(checkpoint: Path) -> int:
    from liquid_ros.models.checkpoint import load_policy

    policy = load_policy(checkpoint)
    return sum(p.numel() for m in (policy.head, policy.readout) for p in m.parameters())


def run(cfg: CompareConfig, backend: BackendConfig | None = None) -> list[dict[str, Any]]:
    """Train and evaluate every (task, model); returns one row per pair.

    A pair whose ``OUT/TASK/MODEL/policy.pt`` exists is not trained again. Episodes (DAgger and
    evaluation) run on ``backend`` (default: local processes on every core).
    """
    backend = backend or BackendConfig()
    runner = backend.make()  # one for all evaluations (Ray starts once)
    try:
        return _run(cfg, backend, runner)
    finally:
        runner.close()


def train_config(cfg: CompareConfig, task: str, model: str, data: str,
                 folder: Path) -> imitation.ImitationConfig:
    """The training run of one (task, model) pair: the same for every family."""
    tc = TrainConfig(epochs=cfg.epochs, seq_len=cfg.seq_len, seed=cfg.seed,
                     max_steps=cfg.max_steps or None)
    if cfg.lr is not None:
        tc = dataclasses.replace(tc, lr=cfg.lr)
    return imitation.ImitationConfig(
        task=task, model=model, data=(data,), out=str(folder), train=tc, threads=cfg.threads,
        progress=False, dagger_rounds=cfg.dagger_rounds, dagger_episodes=cfg.dagger_episodes,
        dagger_epochs=cfg.dagger_epochs)


def _run(cfg: CompareConfig, backend: BackendConfig, runner: Any) -> list[dict[str, Any]]:
    rows = []
    out = Path(cfg.out)
    for task, name in TASK_DATA_FIELDS.items():
        data = getattr(cfg, name)
        if not data:
            continue
        for model in cfg.models:
            folder = out / task / model
            ckpt = folder / "policy.pt"
            if not ckpt.exists():
                run_cfg = train_config(cfg, task, model, data, folder)
                imitation.train(run_cfg, backend, command=f"liquid-ros compare: {task} {model}")
            row: dict[str, Any] = {"task": task, "model": model,
                                   "head_params": _head_params(ckpt)}
            conditions = {"clean": ({}, Perturbation()),
                          "noise": ({}, Perturbation(image_noise_std=cfg.image_noise)),
                          "brightness": ({}, Perturbation(brightness=cfg.brightness))}
            if task == "leader_follow":
                conditions["held_out_family"] = ({"family": cfg.held_out_family},
                                                 Perturbation())
            for name_, (kw, pert) in conditions.items():
                s, _ = evaluate(task, str(ckpt), cfg.episodes, cfg.eval_seed,
                                perturbation=pert, env_kwargs=kw, backend=runner)
                err = s["metrics"].get("mean_distance_error", s["metrics"].get("final_distance"))
                row[name_] = {"success_rate": s["success_rate"], "error": err,
                              "violations": s["violation_episodes"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def markdown(rows: list[dict[str, Any]], episodes: int) -> str:
    """The comparison as a Markdown table."""
    lines = [f"Success rate over {episodes} held-out episodes per condition (safety filter on); "
             "error = mean |distance - 1 m| to the leader (leader_follow) or final distance "
             "to the target (fly_to_target), in m; violations = episodes breaching a limit.",
             "",
             "| task | model | head params | clean | error | noise | brightness | "
             "held-out family | violations |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        def pct(key: str, row: dict[str, Any] = r) -> str:
            return f"{100 * row[key]['success_rate']:.0f} %" if key in row else "-"
        viol = sum(v["violations"] for k, v in r.items() if isinstance(v, dict))
        lines.append(f"| {r['task']} | {r['model']} | {r['head_params']:,} | {pct('clean')} | "
                     f"{r['clean']['error']:.3f} | {pct('noise')} | {pct('brightness')} | "
                     f"{pct('held_out_family')} | {viol} |")
    return "\n".join(lines) + "\n"


def write_report(rows: list[dict[str, Any]], cfg: CompareConfig, seconds: float,
                 command: list[str]) -> str:
    """Write ``OUT/compare.md`` and ``OUT/compare.json``; returns the Markdown table."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, cfg.episodes)
    (out / "compare.md").write_text(table)
    (out / "compare.json").write_text(json.dumps(
        {"rows": rows, "seconds": round(seconds, 1), "argv": command}, indent=2) + "\n")
    return table
