"""``--help`` for node executables, which otherwise hand every argument to rclpy."""

from __future__ import annotations

import sys

from rclpy.utilities import remove_ros_args


def print_help_if_asked(args: list[str] | None, prog: str, doc: str | None) -> bool:
    """Print ``prog``'s usage and return True when ``-h``/``--help`` is among the non-ROS args.

    Args:
        args: The node's command line (``sys.argv`` when None), program name first.
        prog: Executable name, e.g. ``policy_node``.
        doc: The node module's docstring (topics, services, lifecycle).
    """
    argv = remove_ros_args(sys.argv if args is None else args)
    if not any(a in ("-h", "--help") for a in argv[1:]):
        return False
    print(f"usage: ros2 run liquid_ros {prog} [--ros-args ...]\n")
    print((doc or "").strip())
    print("\nParameters: `ros2 param list` on the running node, or config/*.yaml in the "
          "package share directory.")
    return True
