"""The report of ``liquid-ros compare``: tables, a plot and the JSON of every result.

Per family and condition: the success rate over all training seeds' episodes with its 95 %
Wilson interval (episodes pooled, so the interval covers episode noise) and the range of the
per-seed rates beside it (the spread between training seeds); then every (family, seed,
condition) as successes / episodes, the training facts (gradient steps, validation loss and
how much it still fell over the last fifth of the epochs) and the machine time per stage kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from liquid_ros.evaluation.stats import Rate, pooled, rate, seed_bootstrap, seed_spread


def _by_seed(results: dict[str, Any]) -> dict[tuple[str, str], dict[int, Rate]]:
    """(family, condition) -> {training seed: Rate}."""
    table: dict[tuple[str, str], dict[int, Rate]] = {}
    for e in results["evals"]:
        r = e["rate"]
        table.setdefault((e["family"], e["condition"]), {})[e["seed"]] = rate(
            r["successes"], r["n"])
    return table


def _rates(results: dict[str, Any]) -> dict[tuple[str, str], list[Rate]]:
    """(family, condition) -> one Rate per training seed."""
    return {key: list(seeds.values()) for key, seeds in _by_seed(results).items()}


def summary(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per family and condition: the rates and intervals of the report (JSON-ready).

    Pooled rate and Wilson interval, per-seed range, the mean over seeds with its two-level
    bootstrap interval, and for every condition but ``clean`` the change from ``clean`` (same
    checkpoints) with its bootstrap interval.
    """
    out: dict[str, dict[str, Any]] = {}
    by_seed = _by_seed(results)
    for (family, cond), seeds in by_seed.items():
        rates = list(seeds.values())
        lo, hi = seed_spread(rates)
        mean, blo, bhi = seed_bootstrap([(r, None) for r in rates])
        entry = {**pooled(rates).as_dict(), "seeds": len(rates), "seed_min": lo,
                 "seed_max": hi, "seed_mean": mean, "boot_lo": blo, "boot_hi": bhi}
        clean = by_seed.get((family, "clean"), {})
        paired = [(r, clean[s]) for s, r in seeds.items() if s in clean]
        if cond != "clean" and paired:
            entry["change"] = dict(zip(("mean", "lo", "hi"), seed_bootstrap(paired), strict=True))
            entry["change"]["seeds"] = len(paired)
        out.setdefault(family, {})[cond] = entry
    return out


GRADED = {"fly_to_target": ("final_distance", "distance to the target at the end"),
          "leader_follow": ("mean_distance_error", "mean distance error to the leader's "
                            "offset point")}
"""Per task, a graded episode metric (metres, lower is better) that still separates families
where success rates sit at 0 or 100 %: its key in the evaluation's metrics and its meaning."""


def graded(results: dict[str, Any]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """The task's :data:`GRADED` metric: {family: {condition: (mean over seeds, min, max)}}."""
    key = GRADED[results["task"]][0]
    per: dict[tuple[str, str], list[float]] = {}
    for e in results["evals"]:
        if key in e.get("metrics", {}):
            per.setdefault((e["family"], e["condition"]), []).append(float(e["metrics"][key]))
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for (family, cond), values in per.items():
        out.setdefault(family, {})[cond] = (sum(values) / len(values), min(values), max(values))
    return out


def val_flattening(val: list[float]) -> float | None:
    """Relative fall of the validation loss over the last fifth of the epochs (None: < 5)."""
    if len(val) < 5:
        return None
    k = max(1, len(val) // 5)
    before = val[-k - 1]
    return (before - val[-1]) / before if before else None


def _families(results: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(t["family"] for t in results["trained"]))


def _conds(results: dict[str, Any]) -> list[dict[str, Any]]:
    return results["conditions"]


def markdown(results: dict[str, Any]) -> str:
    """The comparison as Markdown (tables described in the module docstring)."""
    cfg, pooled_ = results["config"], summary(results)
    conds = [c["name"] for c in _conds(results)]
    fams = _families(results)
    steps = sorted({t["steps"] for t in results["trained"]})
    lines = [f"## {results['task']}", "",
             f"Data: {', '.join(results['data'])} (env {json.dumps(results['data_env'])}). "
             f"Budget: {' / '.join(map(str, steps))} gradient steps per run "
             f"({cfg['steps']} behaviour cloning + {cfg['dagger_rounds']} DAgger rounds x "
             f"{cfg['dagger_steps']}); training seeds {list(cfg['seeds'])}; "
             f"{cfg['episodes']} episodes per (family, seed, condition), seeds "
             f"{cfg['eval_seed']}-{cfg['eval_seed'] + cfg['episodes'] - 1}.", "",
             "Success rate, all seeds' episodes pooled, with the 95 % Wilson interval; "
             "below it the range of the per-seed rates and the 95 % two-level bootstrap "
             "interval of the mean over seeds (training seeds and episodes resampled; it "
             "widens when seeds disagree).", "",
             "| family | head params | total params | " + " | ".join(conds) + " |",
             "|---|---:|---:|" + "---:|" * len(conds)]
    params = {t["family"]: t["params"] for t in results["trained"]}
    for f in fams:
        cells = []
        for c in conds:
            p = pooled_.get(f, {}).get(c)
            cells.append("-" if p is None else
                         f"{rate(p['successes'], p['n']).text()}<br>"
                         f"{100 * p['seed_min']:.0f}-{100 * p['seed_max']:.0f} %, "
                         f"[{100 * p['boot_lo']:.0f}, {100 * p['boot_hi']:.0f}]")
        lines.append(f"| {f} | {params[f]['head']:,} | {params[f]['total']:,} | "
                     + " | ".join(cells) + " |")
    shifted = [c for c in conds if c != "clean"]
    if "clean" in conds and shifted:
        lines += ["", "Change from `clean` (points; the same checkpoints and episode seeds), "
                  "mean over training seeds with its 95 % two-level bootstrap interval: "
                  "how much each family loses to each shift.", "",
                  "| family | " + " | ".join(shifted) + " |",
                  "|---|" + "---:|" * len(shifted)]
        for f in fams:
            cells = []
            for c in shifted:
                ch = pooled_.get(f, {}).get(c, {}).get("change")
                cells.append("-" if ch is None else
                             f"{100 * ch['mean']:+.0f} [{100 * ch['lo']:+.0f}, "
                             f"{100 * ch['hi']:+.0f}]")
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
    metric = graded(results)
    if metric:
        key, meaning = GRADED[results["task"]]
        lines += ["", f"`{key}` ({meaning}; m, lower is better), the mean of the per-seed "
                  "means, with the per-seed range: it still separates families where success "
                  "rates are all 0 or 100 %.", "",
                  "| family | " + " | ".join(conds) + " |", "|---|" + "---:|" * len(conds)]
        for f in fams:
            cells = []
            for c in conds:
                m = metric.get(f, {}).get(c)
                cells.append("-" if m is None else f"{m[0]:.2f} ({m[1]:.2f}-{m[2]:.2f})")
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines += ["", "Per training seed: successes / episodes (violation episodes, when any).", "",
              "| family | seed | steps | val loss | val fall, last 1/5 | " + " | ".join(conds)
              + " |", "|---|---:|---:|---:|---:|" + "---:|" * len(conds)]
    by_run = {(e["family"], e["seed"], e["condition"]): e for e in results["evals"]}
    for t in results["trained"]:
        cells = []
        for c in conds:
            e = by_run.get((t["family"], t["seed"], c))
            if e is None:
                cells.append("-")
                continue
            v = f" ({e['violation_episodes']} v)" if e["violation_episodes"] else ""
            cells.append(f"{e['rate']['successes']}/{e['rate']['n']}{v}")
        val = t["val_loss"][-1] if t["val_loss"] else float("nan")
        fall = val_flattening(t["val_loss"])
        lines.append(f"| {t['family']} | {t['seed']} | {t['steps']} | {val:.3f} | "
                     f"{'-' if fall is None else f'{100 * fall:.1f} %'} | "
                     + " | ".join(cells) + " |")
    lines += ["", "Conditions (held out = not in the training distribution):", ""]
    for c in _conds(results):
        lines.append(f"- `{c['name']}`: {c['description']}"
                     f"{' (held out)' if c['held_out'] else ' (in distribution)'}")
    secs = results["stage_seconds"]
    kinds = {k: sum(v for n, v in secs.items() if n.startswith(k))
             for k in ("collect", "train", "eval")}
    lines += ["", "Machine time: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in
                                                kinds.items()) +
              f" (total {sum(kinds.values()) / 60:.1f} min).", ""]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> Path:
    """Grouped bars (families x conditions): pooled rate, Wilson interval, seeds as dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pooled_, rates = summary(results), _rates(results)
    conds = [c["name"] for c in _conds(results)]
    fams = _families(results)
    width = 0.8 / max(len(fams), 1)
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 0.3 * len(conds) * max(1, len(fams)))),
                                    4.5))
    x = np.arange(len(conds))
    for i, f in enumerate(fams):
        pos = x - 0.4 + width * (i + 0.5)
        mid, lo, hi = [], [], []
        for c in conds:
            p = pooled_.get(f, {}).get(c, {"rate": 0.0, "lo": 0.0, "hi": 0.0})
            mid.append(p["rate"])
            lo.append(p["rate"] - p["lo"])
            hi.append(p["hi"] - p["rate"])
        ax.bar(pos, mid, width, yerr=[lo, hi], capsize=2, label=f, alpha=0.8)
        for j, c in enumerate(conds):
            seeds = [r.rate for r in rates.get((f, c), [])]
            ax.plot([pos[j]] * len(seeds), seeds, "k.", markersize=3)
    ax.set_xticks(x, conds, rotation=30, ha="right")
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("success rate (95 % Wilson interval; dots: seeds)")
    ax.set_title(f"{results['task']}: families x conditions")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(results: dict[str, Any], seconds: float, argv: list[str]) -> str:
    """Write ``OUT/compare.json``, ``OUT/compare.md`` and ``OUT/compare.png``; returns the md."""
    out = Path(results["config"]["out"])
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    command = "liquid-ros compare " + " ".join(argv)
    (out / "compare.md").write_text(text + f"\nCommand: `{command}`\n")
    plot(results, out / "compare.png")
    report = {**results, "summary": summary(results), "graded": graded(results),
              "seconds": round(seconds, 1),
              "argv": list(argv)}
    (out / "compare.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return text
