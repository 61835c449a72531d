"""``liquid-ros train``: imitation learning (BPTT), optional DAgger rounds and BarrierNet.

Writes into ``--out``: ``policy.pt`` (``save_policy``, with normalisation from the data and the
training facts in its metadata), ``loss.png`` (loss per epoch), ``train_log.json``, and with
DAgger the relabelled episodes under ``dagger/round_K/`` (dataset format).

DAgger (Ross et al., AISTATS 2011): the learner flies (behind the safety filter, as deployed),
the privileged expert labels every visited state through ``expert_action()``, the new episodes
join the data and training continues.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from liquid_ros.evaluation.plots import plot_loss
from liquid_ros.models.encoder import ENCODERS
from liquid_ros.rollouts.backends import add_backend_arguments, backend_from_args
from liquid_ros.rollouts.collect import parse_env_kwargs
from liquid_ros.rollouts.policy_episode import PolicyEpisode, safety_config_for
from liquid_ros.rollouts.runner import run_episodes
from liquid_ros.train.dataset import load_dataset, read_manifest, save_episode, write_manifest
from liquid_ros.train.sequences import AugmentConfig
from liquid_ros.train.trainer import TrainConfig, Trainer

MODELS = {"ncp": "ltc", "ltc": "ltc", "cfc": "cfc", "lstm": "lstm", "gru": "gru",
          "ctrnn": "ctrnn", "mlp": "mlp"}
"""CLI model name -> ``PolicyConfig.cell`` (ncp and cfc heads are NCP-wired)."""
DAGGER_SEED_BASE = 1_000_000
"""DAgger episodes use seeds from here (round K: base + 10,000 K + i), away from data and eval."""
N_GAINS = 2
"""BarrierNet gains (p1, p2), shared by all barrier rows."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liquid-ros train", description=__doc__.splitlines()[0])
    d = TrainConfig()
    p.add_argument("--task", required=True, help="fly_to_target or leader_follow")
    p.add_argument("--model", default="ncp", choices=sorted(MODELS), help="recurrent head")
    p.add_argument("--data", required=True, nargs="+", help="dataset folder(s) from collect")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--epochs", type=int, default=d.epochs, help="epochs (also per DAgger round)")
    p.add_argument("--seq-len", type=int, default=d.seq_len, help="BPTT sequence length")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="sequences per step")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument("--max-steps", type=int, default=None, help="cap on gradient steps")
    p.add_argument("--seed", type=int, default=0, help="seed of init, shuffling, augmentation")
    p.add_argument("--units", type=int, default=19, help="NCP neurons (ncp/cfc)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units of baselines")
    p.add_argument("--encoder", default=None, choices=ENCODERS,
                   help="image encoder of a new policy (default: PolicyConfig's, 'patch'; "
                        "'conv' is the first checkpoints' slower one; --init keeps its own)")
    p.add_argument("--dagger-rounds", type=int, default=0, help="DAgger rounds after training")
    p.add_argument("--dagger-episodes", type=int, default=20, help="episodes per DAgger round")
    p.add_argument("--dagger-epochs", type=int, default=None,
                   help="epochs after each DAgger round (default: --epochs)")
    p.add_argument("--dagger-seed", type=int, default=DAGGER_SEED_BASE,
                   help="first DAgger seed (round K flies seed + 10,000 K + i); change it to "
                        "draw fresh episodes when continuing an earlier run")
    p.add_argument("--dagger-env-arg", action="append", metavar="KEY=VALUE",
                   help="environment setting for the DAgger rollouts only (repeatable; VALUE "
                        "as JSON), e.g. speed_range=[0.7,1.0] to mine the fast leaders; the "
                        "checkpoint keeps the dataset's settings")
    p.add_argument("--init", default=None,
                   help="start from this checkpoint (weights and normalisation) and fine-tune")
    p.add_argument("--barriernet", action="store_true",
                   help="train through the differentiable safety layer with network gains")
    p.add_argument("--no-augment", action="store_true", help="disable augmentation")
    add_backend_arguments(p)
    p.add_argument("--threads", type=int, default=1, help="torch threads for training")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def build_policy(model: str, episodes: list[Any], seed: int, units: int = 19,
                 hidden: int = 64, barriernet: bool = False,
                 encoder: str | None = None) -> torch.nn.Module:
    """A fresh ``LiquidPolicy`` sized for the data's images (``encoder`` None: the default).

    Raises:
        ValueError: If ``model`` is unknown.
    """
    from liquid_ros.models.policy import LiquidPolicy, PolicyConfig

    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    h, w, c = episodes[0].images.shape[1:]
    config = PolicyConfig(image_height=int(h), image_width=int(w), image_channels=int(c),
                          state_dim=int(episodes[0].states.shape[1]),
                          action_dim=int(episodes[0].actions.shape[1]), cell=MODELS[model],
                          units=units, seed=seed, n_gains=N_GAINS if barriernet else 0,
                          baseline_hidden=hidden)
    if encoder is not None:
        config = dataclasses.replace(config, encoder=encoder)
    return LiquidPolicy(config)


def _dataset_facts(data: list[str]) -> tuple[dict[str, Any], int]:
    manifest = read_manifest(data[0])
    return dict(manifest.get("env_kwargs", {})), int(manifest.get("action_repeat", 5))


def train(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Run training as parsed from the command line; returns the training log."""
    torch.set_num_threads(max(1, args.threads))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    episodes = load_dataset(args.data)
    env_kwargs, action_repeat = _dataset_facts(args.data)
    dagger_kwargs = {**env_kwargs, **parse_env_kwargs(args.dagger_env_arg)}
    if args.init:
        from liquid_ros.models.checkpoint import load_policy

        policy = load_policy(args.init)
        if policy.add_cfc_readout():
            print(f"{args.init}: added the cfc motor readout (identity at start; see "
                  "PolicyConfig.cfc_readout)", file=sys.stderr)
    else:
        policy = build_policy(args.model, episodes, args.seed, args.units, args.hidden,
                              args.barriernet, args.encoder)
    config = TrainConfig(
        epochs=args.epochs, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
        max_steps=args.max_steps, seed=args.seed, barriernet=args.barriernet,
        augment=AugmentConfig(0.0, 0.0, 0.0, 0.0) if args.no_augment else AugmentConfig())
    trainer = Trainer(policy, config, safety_config_for(args.task))
    if args.init:
        trainer.keep_normalisation()
    ckpt = out / "policy.pt"
    rounds: list[dict[str, Any]] = []

    def metadata() -> dict[str, Any]:
        h = trainer.history
        return {"task": args.task, "model": args.model, "data": [str(d) for d in args.data],
                "episodes": len(episodes), "seed": args.seed, "seq_len": args.seq_len,
                "epochs": args.epochs, "action_repeat": action_repeat, "init": args.init,
                "env_kwargs": env_kwargs, "dagger_env_kwargs": dagger_kwargs,
                "barriernet": bool(args.barriernet), "encoder": policy.config.encoder,
                "dagger_rounds": rounds, "train_loss": h.train, "val_loss": h.val,
                "steps": h.steps, "train_seconds": round(time.monotonic() - start, 1),
                "command": "liquid-ros train " + " ".join(argv)}

    if args.epochs > 0:
        trainer.fit(episodes, progress=not args.no_progress, desc=f"train {args.model}")
    save_policy_file(ckpt, policy, metadata())
    for k in range(1, args.dagger_rounds + 1):
        seeds = [args.dagger_seed + 10_000 * k + i for i in range(args.dagger_episodes)]
        fn = PolicyEpisode(args.task, str(ckpt), dagger_kwargs, action_repeat, record=True)
        backend = backend_from_args(args)
        try:
            report = run_episodes(fn, seeds, backend, progress=not args.no_progress,
                                  desc=f"DAgger round {k}")
        finally:
            backend.close()
        for f in report.failures:
            print(f"DAgger episode seed {f.seed} failed to run: {f.error}", file=sys.stderr)
        results = report.ordered()
        if not results:
            raise ValueError(f"DAgger round {k}: no episode ran (first error: "
                             f"{report.failures[0].error if report.failures else 'none'})")
        folder = out / "dagger" / f"round_{k}"
        for res in results:
            save_episode(folder, res.episode)
        write_manifest(folder, {"task": args.task, "env_kwargs": env_kwargs,
                                "rollout_env_kwargs": dagger_kwargs,
                                "action_repeat": action_repeat, "source": "dagger"})
        new = [r.episode for r in results]
        success = sum(r.success for r in results) / len(results)
        rounds.append({"round": k, "episodes": len(new), "learner_success": success,
                       "failures": [f"{f.seed}: {f.error}" for f in report.failures]})
        episodes = episodes + new
        trainer.fit(episodes, epochs=args.dagger_epochs or args.epochs,
                    progress=not args.no_progress, desc=f"train round {k}")
        save_policy_file(ckpt, policy, metadata())
        # DAgger's closed-loop success moves a few points from round to round: keep every
        # round's weights so the best one can be picked on a validation seed range.
        save_policy_file(out / f"policy_round_{k}.pt", policy, metadata())
    log = metadata()
    plot_loss(trainer.history.train, trainer.history.val, out / "loss.png",
              title=f"{args.task} {args.model}")
    (out / "train_log.json").write_text(json.dumps(log, indent=2) + "\n")
    return log


def save_policy_file(path: Path, policy: torch.nn.Module, metadata: dict[str, Any]) -> None:
    """Save through ``save_policy`` in eval mode (so buffers and weights are final)."""
    from liquid_ros.models.checkpoint import save_policy

    policy.eval()
    save_policy(path, policy, metadata)
    policy.train()


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros train``; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        log = train(args, argv)
    except ValueError as err:
        print(f"liquid-ros train: {err}", file=sys.stderr)
        return 2
    val = f"{log['val_loss'][-1]:.4f}" if log["val_loss"] else "none"
    print(f"trained {args.model} on {log['episodes']} episodes: {log['steps']} steps in "
          f"{log['train_seconds']} s, final train loss {log['train_loss'][-1]:.4f}, "
          f"validation {val}; wrote {Path(args.out) / 'policy.pt'}")
    return 0
