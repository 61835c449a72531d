"""Build a ``LaunchDescription`` from ``launch_logic`` (needs the ``launch`` packages)."""

from __future__ import annotations

from typing import Any

from liquid_ros.ros.launch_logic import LAUNCH_ARGUMENTS, node_specs


def generate(kind: str) -> Any:
    """LaunchDescription for ``kind``: one DeclareLaunchArgument per argument, then the nodes.

    Raises:
        ImportError: ``launch`` or ``launch_ros`` is not installed.
    """
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    def nodes(context: Any) -> list[Any]:
        values = {name: LaunchConfiguration(name).perform(context)
                  for name, _, _ in LAUNCH_ARGUMENTS[kind]}
        return [Node(**spec.launch_kwargs()) for spec in node_specs(kind, values)]

    args = [DeclareLaunchArgument(name, default_value=default, description=desc)
            for name, default, desc in LAUNCH_ARGUMENTS[kind]]
    return LaunchDescription([*args, OpaqueFunction(function=nodes)])
