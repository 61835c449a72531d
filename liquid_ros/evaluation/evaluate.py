"""Closed-loop evaluation of a checkpoint, safety filter on (``liquid-ros eval``).

Prints the success rate, the task's mean metrics, safety violations (altitude floor breached,
ground crash, leader collision) and filter interventions; ``--json`` puts the same numbers as
one JSON object on the last line. Writes ``trajectories.png`` (and with ``--saliency``,
``saliency.png`` and ``neuron_activity.png`` of the first episode) into ``--out``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.evaluation.plots import plot_neuron_activity, plot_saliency, plot_trajectories
from liquid_ros.rollouts.episodes import Perturbation
from liquid_ros.rollouts.policy_episode import PolicyEpisode, PolicyResult, load_cached
from liquid_ros.rollouts.runner import Backend, LocalBackend, run_episodes


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """One evaluation: what ``liquid-ros eval`` parses (its flags are these fields)."""

    task: str
    """Task (env name or alias)."""
    checkpoint: str
    """Policy checkpoint (.pt)."""
    episodes: int = 50
    """Number of episodes."""
    seed: int = 100_000
    """First seed (held out: collect and DAgger use other seeds)."""
    json: bool = False
    """Print a JSON summary as the last line."""
    saliency: bool = False
    """Write saliency and neuron-activity plots of the first episode (needs --out)."""
    out: str | None = None
    """Folder for plots (default: no plots)."""
    safety: bool = True
    """Fly behind the safety filter (--no-safety: without it)."""
    image_noise: float = 0.0
    """Perturbation: pixel noise std (fraction of full scale)."""
    brightness: float = 0.0
    """Perturbation: brightness shift (fraction of full scale)."""
    env_kwargs: dict = field(default_factory=dict)
    """Environment settings over the checkpoint's (e.g. family="figure_eight")."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming the flag)."""
        if self.saliency and not self.out:
            raise ValueError("--saliency needs --out")


def run_eval(cfg: EvalConfig, backend: Backend | None = None
             ) -> tuple[dict[str, Any], list[PolicyResult]]:
    """:func:`evaluate` as ``cfg`` says, then the plots when ``cfg.out`` is set.

    Returns:
        The summary (with ``files``, the plots written) and the per-episode results.
    """
    summary, results = evaluate(
        cfg.task, cfg.checkpoint, cfg.episodes, cfg.seed, safety=cfg.safety,
        perturbation=Perturbation(cfg.image_noise, cfg.brightness), env_kwargs=cfg.env_kwargs,
        progress=cfg.progress, backend=backend)
    summary["files"] = write_plots(cfg.task, cfg.checkpoint, cfg.seed, results, summary, cfg.out,
                                   saliency=cfg.saliency, env_kwargs=cfg.env_kwargs) \
        if cfg.out else []
    return summary, results


def summarise(results: list[PolicyResult], failures: int = 0) -> dict[str, Any]:
    """Aggregate episode results into one flat JSON-ready summary."""
    n = len(results)
    keys = sorted({k for r in results for k in r.metrics})
    metrics = {k: float(np.mean([r.metrics[k] for r in results if k in r.metrics]))
               for k in keys}
    kinds = sorted({k for r in results for k in r.violations})
    return {
        "episodes": n, "failed_to_run": failures,
        "success_rate": float(np.mean([r.success for r in results])) if n else 0.0,
        "metrics": metrics,
        "violation_episodes": int(sum(r.violated for r in results)),
        "violations": {k: int(sum(r.violations.get(k, 0) > 0 for r in results))
                       for k in kinds},
        "filter_intervention_rate": float(np.mean(
            [r.interventions / max(r.control_ticks, 1) for r in results])) if n else 0.0,
        "filter_interventions": int(sum(r.interventions for r in results)),
        "mean_intervention": float(np.mean([r.mean_intervention for r in results]))
        if n else 0.0,
        "filter_fallbacks": int(sum(r.fallbacks for r in results)),
        "seeds_failed": [r.seed for r in results if not r.success],
    }


def evaluate(task: str, checkpoint: str, episodes: int, seed: int, *, workers: int = 1,
             safety: bool = True, perturbation: Perturbation | None = None,
             env_kwargs: dict[str, Any] | None = None, progress: bool = False,
             backend: Backend | None = None) -> tuple[dict[str, Any], list[PolicyResult]]:
    """Fly ``episodes`` seeded episodes; returns the summary and the per-episode results.

    Environment settings and the policy rate come from the checkpoint's metadata (as trained),
    updated by ``env_kwargs``. Episodes run on ``backend`` (default: ``LocalBackend(workers)``).

    Raises:
        ValueError: If ``episodes`` < 1 or the checkpoint cannot be read.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    perturbation = Perturbation() if perturbation is None else perturbation
    from liquid_ros.models.checkpoint import load_policy
    from liquid_ros.rollouts.policy_episode import pilot_settings
    from liquid_ros.runtime.policy_source import check_fit

    # Build the policy once here: a bad checkpoint, or a configuration that does not fit it
    # (image size, policy period), is one clear error, not one per episode.
    policy = load_policy(checkpoint)
    meta = dict(policy.checkpoint_metadata or {})
    kwargs = {**dict(meta.get("env_kwargs", {})), **dict(env_kwargs or {})}
    settings, _ = pilot_settings(task, kwargs)
    mismatch = check_fit(policy, settings, (int(kwargs.get("image_height", 64)),
                                            int(kwargs.get("image_width", 64))))
    if mismatch:
        print(f"warning: {mismatch}", file=sys.stderr)
    fn = PolicyEpisode(task, str(checkpoint), kwargs, int(meta.get("action_repeat", 5)),
                       safety=safety, perturbation=perturbation)
    report = run_episodes(fn, range(seed, seed + episodes), backend or LocalBackend(workers),
                          progress=progress, desc=f"eval {task}")
    for f in report.failures:
        print(f"episode seed {f.seed} failed to run: {f.error}", file=sys.stderr)
    results = report.ordered()
    summary = summarise(results, len(report.failures))
    summary.update(task=task, checkpoint=str(checkpoint), seed=seed, safety=safety,
                   perturbation={"image_noise_std": perturbation.image_noise_std,
                                 "brightness": perturbation.brightness}, env_kwargs=kwargs)
    return summary, results


def checkpoint_metadata(path: str) -> dict[str, Any]:
    """The ``metadata`` dict of a checkpoint (raises ValueError naming the file if bad)."""
    from liquid_ros.models.checkpoint import load_checkpoint

    return dict(load_checkpoint(path).get("metadata") or {})


def interpretability(task: str, checkpoint: str, seed: int, out: Path,
                     env_kwargs: dict[str, Any] | None = None, frames: int = 6
                     ) -> list[Path]:
    """Saliency frames and neuron activity of one episode (seed ``seed``); returns the PNGs."""
    from liquid_ros.models.saliency import saliency_maps

    meta = checkpoint_metadata(checkpoint)
    kwargs = {**dict(meta.get("env_kwargs", {})), **dict(env_kwargs or {})}
    res = PolicyEpisode(task, checkpoint, kwargs, int(meta.get("action_repeat", 5)),
                        record=True, record_hidden=True)(seed)
    ep = res.episode
    policy = load_cached(checkpoint)
    maps = saliency_maps(policy, ep.images, ep.states, ep.dt)
    pick = np.unique(np.linspace(0, ep.steps - 1, min(frames, ep.steps)).astype(int))
    paths = [plot_saliency(ep.images[pick], maps[pick], out / "saliency.png",
                           title=f"gradient x input saliency, seed {seed}, "
                                 f"t = {', '.join(f'{ep.timestamps[i]:.1f}' for i in pick)} s")]
    if res.hidden is not None:
        paths.append(plot_neuron_activity(res.time, res.hidden, out / "neuron_activity.png",
                                          title=f"recurrent state over episode {seed}"))
    return paths


def write_plots(task: str, checkpoint: str, seed: int, results: list[PolicyResult],
                summary: dict[str, Any], out: str | Path, *, saliency: bool = False,
                env_kwargs: dict[str, Any] | None = None) -> list[str]:
    """Write the plots of an evaluation into ``out``; returns the files written.

    ``trajectories.png`` shows the first ten episodes; with ``saliency``, the saliency and
    neuron-activity plots of episode ``seed`` are added.
    """
    out = Path(out)
    eps = [{"positions": r.positions, "goals": r.goals, "time": r.time, "success": r.success}
           for r in results[:10]]
    files = [str(plot_trajectories(
        eps, out / "trajectories.png",
        title=f"{task}: success {100 * summary['success_rate']:.0f} %"))]
    if saliency:
        files += [str(p) for p in interpretability(task, checkpoint, seed, out, env_kwargs)]
    return files
