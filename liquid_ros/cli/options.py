"""Options shared by several commands, each defined once.

Field factories (``task()``, ``checkpoint()``...) give a command's dataclass the same flag with
the same help everywhere; :class:`StreamTopics` is the topic group of the bag commands; the
rollout back end group is the library's own
:class:`~liquid_ros.rollouts.runner.BackendConfig`.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any

from liquid_ros.cli.flags import Overrides

MISSING: Any = dataclasses.MISSING


def _opt(default: Any, text: str, **cli: Any) -> Any:
    """A field with CLI help ``text``; ``default`` dict means an empty dict per instance."""
    meta = {"cli": {"help": text, **cli}}
    if default is dict:
        return dataclasses.field(default_factory=dict, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def task(default: Any = MISSING) -> Any:
    """``--task``: the task (required unless a default is given)."""
    return _opt(default, "fly_to_target or leader_follow")


def checkpoint(default: Any = MISSING, text: str = "policy checkpoint (.pt)") -> Any:
    """``--checkpoint``."""
    return _opt(default, text)


def episodes(default: Any = MISSING) -> Any:
    """``--episodes``."""
    return _opt(default, "number of episodes")


def seed(default: int = 0, text: str = "first seed; episodes use seed..seed+N-1") -> Any:
    """``--seed``."""
    return _opt(default, text)


def out(default: Any = MISSING, text: str = "output folder") -> Any:
    """``--out``."""
    return _opt(default, text)


def env_kwargs(flag: str = "--env-arg",
               text: str = "environment setting KEY=VALUE, VALUE as JSON when it parses, e.g. "
                           "family=\"figure_eight\" (repeatable)") -> Any:
    """``--env-arg KEY=VALUE`` (repeatable), parsed by :func:`~.flags.parse_env_kwargs`."""
    return _opt(dict, text, flag=flag)


def progress() -> Any:
    """``--progress`` / ``--no-progress``."""
    return _opt(True, "show progress bars")


def json_flag() -> Any:
    """``--json``."""
    return _opt(False, "print a JSON summary as the last line")


def threads() -> Any:
    """``--threads``."""
    return _opt(1, "torch threads for training")


@dataclass(frozen=True, kw_only=True)
class StreamTopics:
    """Topics of a recording."""

    image_topic: str = "camera/image_raw"
    """sensor_msgs/Image or CompressedImage topic."""
    odom_topic: str = "odom"
    """nav_msgs/Odometry topic."""
    command_topic: str = "action"
    """WrenchStamped, TwistStamped or AccelStamped topic (the label)."""
    goal_topic: str | None = None
    """Optional PointStamped/Odometry goal (the leader, for the leader barrier)."""

    def as_dict(self) -> dict[str, str]:
        """Role -> topic (``goal`` only when given), as ``read_bag`` takes them."""
        topics = {"image": self.image_topic, "odom": self.odom_topic,
                  "command": self.command_topic}
        if self.goal_topic:
            topics["goal"] = self.goal_topic
        return topics


STREAM_OVERRIDES: Overrides = {
    "drag_coeff": {"flag": "--drag", "metavar": ("DX", "DY", "DZ")},
    "image_size": {"metavar": ("H", "W")},
    "stamps": {"choices": ["header", "receive"]},
    "command_align": {"choices": ["after", "before"]},
    "twist_mode": {"choices": ["velocity", "acceleration"]},
    "twist_frame": {"choices": ["body", "world"]},
    "progress": {"help": "show progress bars"},
}
"""Flag names and choices of the bag reading (``ReadConfig``) and synchronisation
(``SyncConfig``) fields, shared by ``bag-to-dataset`` and ``replay``."""


def fail(command: str, err: BaseException) -> int:
    """Print ``liquid-ros COMMAND: error`` to stderr; returns exit code 2."""
    print(f"liquid-ros {command}: {err}", file=sys.stderr)
    return 2
