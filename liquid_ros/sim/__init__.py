"""liquid_ros.sim: PyBullet quadrotor, onboard camera, tasks and Gymnasium environments.

Environments are registered with Gymnasium as ``liquid_ros/FlyToTarget-v0`` and
``liquid_ros/LeaderFollow-v0`` when this package is imported; :func:`make` also accepts the
aliases ``fly_to_target`` and ``leader_follow``.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym

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
    names: set[str] = set()
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


__all__ = ["ALIASES", "ENV_IDS", "make"]
