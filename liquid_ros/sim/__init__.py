"""liquid_ros.sim: PyBullet quadrotor, onboard camera, tasks and Gymnasium environments.

Environments are registered with Gymnasium as ``liquid_ros/FlyToTarget-v0`` and
``liquid_ros/LeaderFollow-v0`` when this package is imported; :func:`make` also accepts the
aliases ``fly_to_target`` and ``leader_follow``. Domain randomisation (latency, noise, wind,
vehicle spread, scenes) is set with env keyword arguments: ``domain_randomization`` (a preset
in :data:`PRESETS`) and the single options in :data:`RANDOMIZATION_OPTIONS`
(:mod:`liquid_ros.sim.randomization`); :func:`env_kwargs_from_strings` builds them from strings.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import gymnasium as gym

from liquid_ros.sim.randomization import FIELDS as RANDOMIZATION_OPTIONS
from liquid_ros.sim.randomization import PRESETS, make_config

ENV_IDS = {
    "liquid_ros/FlyToTarget-v0": "liquid_ros.sim.fly_to_target_env:FlyToTargetEnv",
    "liquid_ros/LeaderFollow-v0": "liquid_ros.sim.leader_follow_env:LeaderFollowEnv",
}
"""Registered environment ids and their entry points."""
ALIASES = {"fly_to_target": "liquid_ros/FlyToTarget-v0",
           "leader_follow": "liquid_ros/LeaderFollow-v0"}
"""Short names accepted by :func:`make`."""

for _env_id, _entry in ENV_IDS.items():
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point=_entry)


def _env_class(env_id: str) -> type:
    module_name, cls_name = ENV_IDS[env_id].split(":")
    module = __import__(module_name, fromlist=[cls_name])
    return getattr(module, cls_name)


def _accepted_kwargs(cls: type) -> set[str]:
    names: set[str] = set(RANDOMIZATION_OPTIONS)  # taken by DroneEnv's **randomization
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            params = inspect.signature(vars(klass)["__init__"]).parameters
            names.update(n for n, prm in params.items()
                         if n != "self" and prm.kind is not prm.VAR_KEYWORD)
    return names


def make(name: str, **kwargs: Any) -> gym.Env:
    """Create a liquid_ros environment (unwrapped; no time-limit or checker wrappers).

    Args:
        name: ``liquid_ros/FlyToTarget-v0``, ``liquid_ros/LeaderFollow-v0``, or an alias.
        **kwargs: Environment arguments (see each environment's docstring).

    Raises:
        ValueError: For an unknown name or keyword argument (naming it) or a bad value.
    """
    env_id = ALIASES.get(name, name)
    if env_id not in ENV_IDS:
        raise ValueError(f"name must be one of {sorted(ENV_IDS) + sorted(ALIASES)}, got "
                         f"{name!r}")
    cls = _env_class(env_id)
    unknown = sorted(set(kwargs) - _accepted_kwargs(cls))
    if unknown:
        raise ValueError(f"unknown argument(s) for {env_id}: {', '.join(unknown)}")
    return cls(**kwargs)


def env_kwargs_from_strings(preset: str = "none", json_str: str = "",
                           task: str | None = None) -> dict[str, Any]:
    """Env keyword arguments from a preset name and a JSON object of extra arguments.

    For nodes whose parameters are strings (sim_node's ``domain_randomization`` and
    ``env_args``). Everything is validated here, so a bad value fails at start-up naming it.

    Args:
        preset: Domain-randomisation preset (``"none"``, ``"default"``); "" means "none".
        json_str: JSON object of env keyword arguments (e.g. ``'{"odom_latency": 0.02}'``);
            "" means none. A ``domain_randomization`` key in it is overridden by ``preset``
            unless ``preset`` is "".
        task: Environment name or alias; when given, unknown argument names are rejected.

    Returns:
        The keyword arguments for :func:`make` (with ``domain_randomization`` set).

    Raises:
        ValueError: For an unknown preset, JSON that is not an object, an unknown argument or
            a bad randomisation value (naming it).
    """
    extra: Any = {}
    if json_str.strip():
        try:
            extra = json.loads(json_str)
        except json.JSONDecodeError as exc:
            raise ValueError(f"env_args must be a JSON object, got {json_str!r}: {exc}") from exc
    if not isinstance(extra, dict):
        raise ValueError(f"env_args must be a JSON object, got {json_str!r}")
    kwargs = dict(extra)
    if preset or "domain_randomization" not in kwargs:
        kwargs["domain_randomization"] = preset or "none"
    options = {k: v for k, v in kwargs.items() if k in RANDOMIZATION_OPTIONS}
    make_config(kwargs["domain_randomization"], **options)  # validates, naming the option
    if task is not None:
        env_id = ALIASES.get(task, task)
        if env_id not in ENV_IDS:
            raise ValueError(f"task must be one of {sorted(ENV_IDS) + sorted(ALIASES)}, got "
                             f"{task!r}")
        unknown = sorted(set(kwargs) - _accepted_kwargs(_env_class(env_id)))
        if unknown:
            raise ValueError(f"unknown argument(s) for {env_id}: {', '.join(unknown)}")
    return kwargs


__all__ = ["ALIASES", "ENV_IDS", "PRESETS", "RANDOMIZATION_OPTIONS", "env_kwargs_from_strings",
           "make"]
