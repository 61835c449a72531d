"""Evaluation conditions of ``liquid-ros compare``: in distribution, and held out of training.

Training (the recipe's collection and DAgger) flies under the domain-randomisation preset
(``liquid_ros.sim.randomization.PRESETS["default"]``): latencies 0-50 ms, mass 0.8-1.2x, wind
up to 0.05 N, sky colour +-40 per channel around the default, 0-6 distractors, target and
leader colours +-0.08, the trained policy rate (10 Hz) with a camera frame at every step.
Each held-out condition starts from the nominal simulator (``domain_randomization="none"``)
and moves one axis beyond those ranges, so a drop from ``clean`` is that axis' doing:

- ``texture``: the nominal simulator over a grass ground, the one texture compare's data
  leaves out of the preset (a fine natural texture; the default checker is a coarse
  pattern of similar greens), everything else as trained: a mild scene
  shift, one factor.
- ``scene``: an orange sky (far outside +-40 of the default), 8-12 distractors (fly_to_target),
  colour jitter 0.2, random lighting: a strong scene shift, several factors at once.
- ``heavy`` (mass 1.25-1.35x), ``wind`` (0.07-0.09 N), ``latency`` (60-80 ms on odometry,
  camera and commands): the dynamics shift, one axis each.
- ``rate_half`` / ``rate_double``: camera and policy at half / double the trained rate (the
  control rate doubles where needed so the period stays whole ticks); ``jitter``: a frame at
  every control tick and each policy period drawn from 0.4-1.6x the trained one (whole
  ticks). Cells that integrate the measured dt (LTC, CfC, CT-RNN) see the true step; LSTM,
  GRU and MLP ignore it.
- ``held_out_family`` (leader_follow): figure-eight leaders, excluded from compare's
  collection (and so from DAgger, which flies the dataset's settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from liquid_ros.sim.assets import GROUND_TEXTURES
from liquid_ros.train.recipe import CLEAN_ENV as CLEAN
from liquid_ros.train.recipe import PRESET_ENV as RECIPE_PRESET

TRAIN_FAMILIES = ("circle", "waypoints")
"""Leader families of compare's leader_follow data (figure-eight is held out)."""
HELD_OUT_TEXTURE = "grass"
"""The ground texture compare's data leaves out of the preset (the ``texture`` condition)."""
PRESET: dict[str, Any] = {**RECIPE_PRESET, "ground_textures": [
    t for t in GROUND_TEXTURES if t != HELD_OUT_TEXTURE]}
"""Compare's preset: the recipe's, less the held-out ground texture."""
TASKS = ("fly_to_target", "leader_follow")


@dataclass(frozen=True)
class Condition:
    """One evaluation condition (see the module docstring)."""

    name: str
    """Short name (a column of the report, part of the result file name)."""
    description: str
    """What changes, for the report."""
    env: dict[str, Any] = field(default_factory=dict)
    """Env settings over the checkpoint's (``liquid_ros.sim.make`` keyword arguments)."""
    rate_scale: float = 1.0
    """Policy and camera rate over the trained rate."""
    jitter: float = 0.0
    """Policy-period jitter (``PolicyEpisode.period_jitter``)."""
    held_out: bool = True
    """False for the in-distribution references (clean, preset)."""
    tasks: tuple[str, ...] = TASKS
    """Tasks the condition applies to."""


_SCENE = {"sky_rgb": (235, 140, 60), "color_jitter": 0.2, "lighting": True}
CONDITIONS: tuple[Condition, ...] = (
    Condition("clean", "nominal simulator", CLEAN, held_out=False),
    Condition("preset", "the training randomisation preset", PRESET, held_out=False),
    Condition("texture", f"{HELD_OUT_TEXTURE} ground (held out of the preset), otherwise nominal",
              {**CLEAN, "ground_textures": HELD_OUT_TEXTURE}),
    Condition("scene", "orange sky, 8-12 distractors, colour jitter 0.2, random light",
              {**CLEAN, **_SCENE, "distractor_count": (8, 12), "distractor_colors": True},
              tasks=("fly_to_target",)),
    Condition("scene", "orange sky, colour jitter 0.2, random light", {**CLEAN, **_SCENE},
              tasks=("leader_follow",)),
    Condition("heavy", "mass 1.25-1.35x (trained 0.8-1.2x)",
              {**CLEAN, "mass_scale": (1.25, 1.35)}),
    Condition("wind", "wind 0.07-0.09 N (trained up to 0.05 N)", {**CLEAN, "wind": (0.07, 0.09)}),
    Condition("latency", "60-80 ms on odometry, camera and commands (trained 0-50 ms)",
              {**CLEAN, "odom_latency": (0.06, 0.08), "camera_latency": (0.06, 0.08),
               "command_latency": (0.06, 0.08)}),
    Condition("rate_half", "camera and policy at half the trained rate", CLEAN,
              rate_scale=0.5),
    Condition("rate_double", "camera and policy at double the trained rate", CLEAN,
              rate_scale=2.0),
    Condition("jitter", "a frame every tick, policy period 0.4-1.6x trained (whole ticks)",
              CLEAN, jitter=0.6),
    Condition("held_out_family", "figure-eight leaders (trained on circle and waypoints)",
              {**CLEAN, "family": "figure_eight"}, tasks=("leader_follow",)),
)
"""Every condition; :func:`conditions_for` picks a task's."""


def conditions_for(task: str, names: tuple[str, ...] | None = None) -> list[Condition]:
    """The conditions of ``task`` (all, or those named, in the given order).

    Raises:
        ValueError: For an unknown task or a name with no condition for the task.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    known = {c.name: c for c in CONDITIONS if task in c.tasks}
    if names is None:
        return list(known.values())
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"conditions for {task} are {list(known)}, got {bad}")
    return [known[n] for n in dict.fromkeys(names)]


@dataclass(frozen=True)
class Flight:
    """How one condition is flown for one checkpoint (``PolicyEpisode`` arguments)."""

    env: dict[str, Any]
    """Env settings: the checkpoint's, then the condition's."""
    policy_period: float | None
    """Policy period override (s), or None for the trained one."""
    jitter: float
    """Policy-period jitter."""


def flight(cond: Condition, trained_env: dict[str, Any], period: float) -> Flight:
    """Resolve ``cond`` for a checkpoint trained with ``trained_env`` at ``period`` s.

    Raises:
        ValueError: If a rate change is asked of a checkpoint without a trained period, or
            no control rate up to 8x the trained one makes both periods whole ticks.
    """
    env = {**trained_env, **cond.env}
    if cond.rate_scale == 1.0 and cond.jitter == 0.0:
        return Flight(env, None, 0.0)
    if period <= 0.0:
        raise ValueError(f"condition {cond.name} needs the checkpoint's policy period")
    control = float(trained_env.get("control_hz", 50.0))
    new = period / cond.rate_scale
    for mult in range(1, 9):
        hz = control * mult
        if all(abs(p * hz - round(p * hz)) < 1e-6 and round(p * hz) >= 1 for p in (period, new)):
            break
    else:
        raise ValueError(f"condition {cond.name}: no control rate fits periods {period} and "
                         f"{new} s")
    env["control_hz"] = hz
    env["camera_hz"] = hz if cond.jitter else min(hz, 1.0 / new)
    return Flight(env, new if cond.rate_scale != 1.0 else None, cond.jitter)


def is_held_out(cond: Condition, data_env: dict[str, Any]) -> bool:
    """Whether ``cond`` is held out of data collected with ``data_env``.

    Only the leader family can be in the data by accident (data collected without compare's
    family restriction); the other shifts are outside the preset by construction.
    """
    if cond.name != "held_out_family":
        return cond.held_out
    family = data_env.get("family")
    trained = (family,) if isinstance(family, str) else tuple(family or ())
    return bool(trained) and cond.env["family"] not in trained
