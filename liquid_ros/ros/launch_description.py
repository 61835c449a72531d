"""Build a ``LaunchDescription`` from ``launch_logic`` (needs the ``launch`` packages)."""

from __future__ import annotations

from typing import Any

from liquid_ros.ros.launch_logic import launch_arguments, node_specs


def generate(kind: str) -> Any:
    """LaunchDescription for ``kind``: one DeclareLaunchArgument per argument, then the nodes.

    Raises:
        ImportError: ``launch`` or ``launch_ros`` is not installed.
    """
    from launch.actions import (
        DeclareLaunchArgument,
        EmitEvent,
        LogInfo,
        OpaqueFunction,
        RegisterEventHandler,
    )
    from launch.event_handlers import OnProcessExit
    from launch.events import Shutdown
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    def nodes(context: Any) -> list[Any]:
        values = {name: LaunchConfiguration(name).perform(context)
                  for name, _, _ in launch_arguments(kind)}
        actions: list[Any] = []
        for spec in node_specs(kind, values):
            node = Node(**spec.launch_kwargs())
            actions.append(node)
            if spec.ends_launch:  # the sim's last episode is done: end the launch, status 0
                actions.append(RegisterEventHandler(OnProcessExit(
                    target_action=node, on_exit=[
                        LogInfo(msg=f"{spec.name} finished its episodes; shutting down"),
                        EmitEvent(event=Shutdown(reason="episodes done"))])))
        return actions

    args = [DeclareLaunchArgument(name, default_value=default, description=desc)
            for name, default, desc in launch_arguments(kind)]
    return LaunchDescription([*args, OpaqueFunction(function=nodes)])
