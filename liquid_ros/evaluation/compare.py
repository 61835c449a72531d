"""``liquid-ros compare``: train every model family on the same data and evaluate side by side.

For each task and model: train (or reuse ``OUT/TASK/MODEL/policy.pt`` when it exists), then fly
held-out seeded episodes clean and under perturbations (pixel noise, a brightness change, and
for the leader task a trajectory family held out of its training data). Writes
``OUT/compare.md`` (a Markdown table) and ``OUT/compare.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from liquid_ros.evaluation.evaluate import evaluate
from liquid_ros.rollouts.backends import add_backend_arguments, backend_from_args
from liquid_ros.rollouts.episodes import Perturbation
from liquid_ros.train import imitation

TASK_DATA_FLAGS = {"fly_to_target": "data_fly_to_target", "leader_follow": "data_leader_follow"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquid-ros compare", description=__doc__.splitlines()[0])
    p.add_argument("--data-fly-to-target", help="dataset folder for fly_to_target")
    p.add_argument("--data-leader-follow", help="dataset folder for leader_follow")
    p.add_argument("--models", nargs="+", default=["ncp", "cfc", "lstm", "gru", "ctrnn", "mlp"],
                   choices=sorted(imitation.MODELS), help="model families")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--epochs", type=int, default=20, help="training epochs per model")
    p.add_argument("--seq-len", type=int, default=64, help="BPTT sequence length")
    p.add_argument("--max-steps", type=int, default=None, help="cap on gradient steps")
    p.add_argument("--episodes", type=int, default=20, help="evaluation episodes per condition")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: train's)")
    p.add_argument("--threads", type=int, default=1, help="torch threads for training")
    p.add_argument("--dagger-rounds", type=int, default=0,
                   help="DAgger rounds per model after its epochs (the same for every family)")
    p.add_argument("--dagger-episodes", type=int, default=20, help="episodes per DAgger round")
    p.add_argument("--dagger-epochs", type=int, default=None,
                   help="epochs after each DAgger round (default: --epochs)")
    p.add_argument("--eval-seed", type=int, default=100_000, help="first evaluation seed")
    p.add_argument("--image-noise", type=float, default=0.05, help="pixel noise std")
    p.add_argument("--brightness", type=float, default=-0.25, help="brightness shift")
    p.add_argument("--held-out-family", default="figure_eight",
                   help="leader family for the held-out test (train data should exclude it)")
    add_backend_arguments(p)
    return p


def _head_params(checkpoint: Path) -> int:
    from liquid_ros.models.checkpoint import load_policy

    policy = load_policy(checkpoint)
    return sum(p.numel() for m in (policy.head, policy.readout) for p in m.parameters())


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Train and evaluate every (task, model); returns one row per pair."""
    backend = backend_from_args(args)  # one for all evaluations (Ray starts once)
    try:
        return _run(args, backend)
    finally:
        backend.close()


def train_argv(args: argparse.Namespace, task: str, model: str, data: str,
               folder: Path) -> list[str]:
    """The ``liquid-ros train`` arguments of one (task, model) pair: the same for every family."""
    argv = ["--task", task, "--model", model, "--data", data, "--out", str(folder),
            "--epochs", str(args.epochs), "--seq-len", str(args.seq_len),
            "--seed", str(args.seed), "--threads", str(args.threads), "--no-progress"]
    if args.lr is not None:
        argv += ["--lr", str(args.lr)]
    if args.max_steps:
        argv += ["--max-steps", str(args.max_steps)]
    if args.dagger_rounds:
        argv += ["--dagger-rounds", str(args.dagger_rounds),
                 "--dagger-episodes", str(args.dagger_episodes)]
        if args.dagger_epochs is not None:
            argv += ["--dagger-epochs", str(args.dagger_epochs)]
        if args.workers is not None:
            argv += ["--workers", str(args.workers)]
        if args.ray:
            argv += ["--ray", args.ray]
    return argv


def _run(args: argparse.Namespace, backend: Any) -> list[dict[str, Any]]:
    rows = []
    out = Path(args.out)
    for task, flag in TASK_DATA_FLAGS.items():
        data = getattr(args, flag)
        if not data:
            continue
        for model in args.models:
            folder = out / task / model
            ckpt = folder / "policy.pt"
            if not ckpt.exists():
                argv = train_argv(args, task, model, data, folder)
                if imitation.main(argv) != 0:
                    raise ValueError(f"training {model} on {task} failed")
            row: dict[str, Any] = {"task": task, "model": model,
                                   "head_params": _head_params(ckpt)}
            conditions = {"clean": ({}, Perturbation()),
                          "noise": ({}, Perturbation(image_noise_std=args.image_noise)),
                          "brightness": ({}, Perturbation(brightness=args.brightness))}
            if task == "leader_follow":
                conditions["held_out_family"] = ({"family": args.held_out_family},
                                                 Perturbation())
            for name, (kw, pert) in conditions.items():
                s, _ = evaluate(task, str(ckpt), args.episodes, args.eval_seed,
                                perturbation=pert, env_kwargs=kw, backend=backend)
                err = s["metrics"].get("mean_distance_error", s["metrics"].get("final_distance"))
                row[name] = {"success_rate": s["success_rate"], "error": err,
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


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros compare``; returns the exit code."""
    args = _parser().parse_args(argv)
    if not (args.data_fly_to_target or args.data_leader_follow):
        print("liquid-ros compare: give --data-fly-to-target and/or --data-leader-follow",
              file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        rows = run(args)
    except (ValueError, ImportError, ConnectionError) as err:
        print(f"liquid-ros compare: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, args.episodes)
    (out / "compare.md").write_text(table)
    (out / "compare.json").write_text(json.dumps(
        {"rows": rows, "seconds": round(time.monotonic() - start, 1), "argv": argv},
        indent=2) + "\n")
    print(table)
    return 0
