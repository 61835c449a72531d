"""Options shared by several commands, each defined once.

:data:`COMMON` gives the fields that many configs share (``task``, ``env_kwargs`` as
``--env-arg``, ``progress``...) one flag and one help text everywhere; :class:`StreamTopics`
and :data:`STREAM_OVERRIDES` are the recording options of ``bag-to-dataset`` and ``replay``;
the rollout back end group is the library's
:class:`~liquid_ros.rollouts.runner.BackendConfig`. :func:`parse_config` parses a command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from liquid_ros.cli.flags import Overrides, add_dataclass, from_namespace
from liquid_ros.rollouts.runner import BackendConfig

T = TypeVar("T")

COMMON: Overrides = {
    "task": {"help": "fly_to_target or leader_follow"},
    "checkpoint": {"help": "policy checkpoint (.pt)"},
    "env_kwargs": {"flag": "--env-arg",
                   "help": "environment setting KEY=VALUE, VALUE as JSON when it parses, e.g. "
                           "family=\"figure_eight\" (repeatable)"},
    "progress": {"help": "show progress bars"},
    "json": {"help": "print a JSON summary as the last line"},
    "threads": {"help": "torch threads for training"},
}
"""Flag and help of fields that many commands share (a command's own overrides win)."""


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
}
"""Flag names and choices of the bag reading (``ReadConfig``) and synchronisation
(``SyncConfig``) fields, shared by ``bag-to-dataset`` and ``replay``."""


def parser(cls: type, prog: str, doc: str | None, *, overrides: Overrides | None = None,
           backend: str | None = None) -> argparse.ArgumentParser:
    """The parser of a command: the fields of ``cls``, then the rollout back end group.

    ``backend`` is the group's text (which episodes it places); None leaves the group out.
    """
    over = {**COMMON, **(overrides or {})}
    p = argparse.ArgumentParser(
        prog=prog, description=doc.splitlines()[0].replace("``", "") if doc else None)
    add_dataclass(p, cls, overrides=over)
    if backend is not None:
        add_dataclass(p, BackendConfig, overrides=over,
                      group=p.add_argument_group("Rollout back end", backend))
    return p


def parse_config(cls: type[T], argv: Sequence[str], prog: str, doc: str | None, *,
                 overrides: Overrides | None = None, backend: str | None = None
                 ) -> tuple[T, BackendConfig]:
    """Parse a command line into ``cls`` and the back end (defaults when ``backend`` is None).

    Bad syntax exits with argparse's usage message (status 2); a value a dataclass rejects
    raises its ValueError.
    """
    ns = parser(cls, prog, doc, overrides=overrides, backend=backend).parse_args(list(argv))
    over = {**COMMON, **(overrides or {})}
    return (from_namespace(cls, ns, overrides=over),
            from_namespace(BackendConfig, ns) if backend is not None else BackendConfig())


def fail(command: str, err: BaseException) -> int:
    """Print ``liquid-ros COMMAND: error`` to stderr; returns exit code 2."""
    print(f"liquid-ros {command}: {err}", file=sys.stderr)
    return 2
