"""Imitation learning (BPTT), optional DAgger rounds and BarrierNet: ``liquid-ros train``.

Writes into ``--out``: ``policy.pt`` (``save_policy``, with normalisation from the data and the
training facts in its metadata), ``loss.png`` (loss per epoch), ``train_log.json``, and with
DAgger the relabelled episodes under ``dagger/round_K/`` (dataset format).

DAgger (Ross et al., AISTATS 2011): the learner flies (behind the safety filter, as deployed),
the privileged expert labels every visited state through ``expert_action()``, the new episodes
join the data and training continues.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from liquid_ros.evaluation.plots import plot_loss
from liquid_ros.models.encoder import ENCODERS
from liquid_ros.rollouts.policy_episode import PolicyEpisode, safety_config_for
from liquid_ros.rollouts.runner import BackendConfig, run_episodes
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


@dataclass(frozen=True, kw_only=True)
class ImitationConfig:
    """One imitation run: what ``liquid-ros train`` parses (its flags are these fields)."""

    task: str
    """Task (env name or alias)."""
    data: tuple[str, ...]
    """Dataset folder(s) from collect or bag-to-dataset."""
    out: str
    """Output folder (policy.pt, loss.png, train_log.json, dagger/)."""
    model: str = field(default="ncp", metadata={"cli": {"choices": sorted(MODELS)}})
    """Recurrent head."""
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: bool = True
    """Augment images and states (--no-augment: train on the data as recorded)."""
    units: int = 19
    """NCP neurons (ncp/cfc)."""
    hidden: int = 64
    """Hidden units of baselines."""
    encoder: str | None = field(default=None, metadata={"cli": {"choices": list(ENCODERS)}})
    """Image encoder of a new policy (default: PolicyConfig's, 'patch'; 'conv' is the first
    checkpoints' slower one; --init keeps its own)."""
    init: str | None = None
    """Start from this checkpoint (weights and normalisation) and fine-tune."""
    dagger_rounds: int = 0
    """DAgger rounds after training."""
    dagger_episodes: int = 20
    """Episodes per DAgger round."""
    dagger_epochs: int | None = None
    """Epochs after each DAgger round (default: --epochs)."""
    dagger_seed: int = DAGGER_SEED_BASE
    """First DAgger seed (round K flies seed + 10,000 K + i); change it to draw fresh episodes
    when continuing an earlier run."""
    dagger_env_kwargs: dict = field(default_factory=dict, metadata={"cli": {
        "flag": "--dagger-env-arg"}})
    """Environment setting for the DAgger rollouts only, KEY=VALUE with VALUE as JSON
    (repeatable), e.g. speed_range=[0.7,1.0] to mine the fast leaders; the checkpoint keeps
    the dataset's settings."""
    threads: int = 1
    """Torch threads for training."""
    progress: bool = True
    """Show progress bars."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming the field)."""
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, got {self.model!r}")

    def train_config(self) -> TrainConfig:
        """The trainer's config (augmentation off without ``augment``)."""
        if self.augment:
            return self.train
        return dataclasses.replace(self.train, augment=AugmentConfig(0.0, 0.0, 0.0, 0.0))


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


def train(cfg: ImitationConfig, backend: BackendConfig | None = None,
          command: str = "") -> dict[str, Any]:
    """Train (and run DAgger rounds) as ``cfg`` says; returns the training log.

    Args:
        cfg: The run.
        backend: Where DAgger episodes run (default: local processes on every core).
        command: The command line, recorded in the checkpoint's metadata.

    Raises:
        ValueError: On bad data, a bad checkpoint or a DAgger round where no episode ran.
    """
    backend = backend or BackendConfig()
    tc = cfg.train_config()
    torch.set_num_threads(max(1, cfg.threads))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    episodes = load_dataset(list(cfg.data))
    env_kwargs, action_repeat = _dataset_facts(list(cfg.data))
    dagger_kwargs = {**env_kwargs, **cfg.dagger_env_kwargs}
    if cfg.init:
        from liquid_ros.models.checkpoint import load_policy

        policy = load_policy(cfg.init)
        if policy.add_cfc_readout():
            print(f"{cfg.init}: added the cfc motor readout (identity at start; see "
                  "PolicyConfig.cfc_readout)", file=sys.stderr)
    else:
        policy = build_policy(cfg.model, episodes, tc.seed, cfg.units, cfg.hidden,
                              tc.barriernet, cfg.encoder)
    trainer = Trainer(policy, tc, safety_config_for(cfg.task))
    if cfg.init:
        trainer.keep_normalisation()
    ckpt = out / "policy.pt"
    rounds: list[dict[str, Any]] = []

    def metadata() -> dict[str, Any]:
        h = trainer.history
        return {"task": cfg.task, "model": cfg.model, "data": [str(d) for d in cfg.data],
                "episodes": len(episodes), "seed": tc.seed, "seq_len": tc.seq_len,
                "epochs": tc.epochs, "action_repeat": action_repeat, "init": cfg.init,
                "env_kwargs": env_kwargs, "dagger_env_kwargs": dagger_kwargs,
                "barriernet": bool(tc.barriernet), "encoder": policy.config.encoder,
                "dagger_rounds": rounds, "train_loss": h.train, "val_loss": h.val,
                "steps": h.steps, "train_seconds": round(time.monotonic() - start, 1),
                "command": command, "config": dataclasses.asdict(cfg)}

    if tc.epochs > 0:
        trainer.fit(episodes, progress=cfg.progress, desc=f"train {cfg.model}")
    save_policy_file(ckpt, policy, metadata())
    for k in range(1, cfg.dagger_rounds + 1):
        seeds = [cfg.dagger_seed + 10_000 * k + i for i in range(cfg.dagger_episodes)]
        fn = PolicyEpisode(cfg.task, str(ckpt), dagger_kwargs, action_repeat, record=True)
        report = backend.run(lambda runner, fn=fn, seeds=seeds, k=k: run_episodes(
            fn, seeds, runner, progress=cfg.progress, desc=f"DAgger round {k}"))
        for f in report.failures:
            print(f"DAgger episode seed {f.seed} failed to run: {f.error}", file=sys.stderr)
        results = report.ordered()
        if not results:
            raise ValueError(f"DAgger round {k}: no episode ran (first error: "
                             f"{report.failures[0].error if report.failures else 'none'})")
        folder = out / "dagger" / f"round_{k}"
        for res in results:
            save_episode(folder, res.episode)
        write_manifest(folder, {"task": cfg.task, "env_kwargs": env_kwargs,
                                "rollout_env_kwargs": dagger_kwargs,
                                "action_repeat": action_repeat, "source": "dagger"})
        new = [r.episode for r in results]
        success = sum(r.success for r in results) / len(results)
        rounds.append({"round": k, "episodes": len(new), "learner_success": success,
                       "failures": [f"{f.seed}: {f.error}" for f in report.failures]})
        episodes = episodes + new
        trainer.fit(episodes, epochs=cfg.dagger_epochs or tc.epochs,
                    progress=cfg.progress, desc=f"train round {k}")
        save_policy_file(ckpt, policy, metadata())
        # DAgger's closed-loop success moves a few points from round to round: keep every
        # round's weights so the best one can be picked on a validation seed range.
        save_policy_file(out / f"policy_round_{k}.pt", policy, metadata())
    log = metadata()
    plot_loss(trainer.history.train, trainer.history.val, out / "loss.png",
              title=f"{cfg.task} {cfg.model}")
    (out / "train_log.json").write_text(json.dumps(log, indent=2) + "\n")
    return log


def save_policy_file(path: Path, policy: torch.nn.Module, metadata: dict[str, Any]) -> None:
    """Save through ``save_policy`` in eval mode (so buffers and weights are final)."""
    from liquid_ros.models.checkpoint import save_policy

    policy.eval()
    save_policy(path, policy, metadata)
    policy.train()
