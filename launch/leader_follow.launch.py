"""Launch sim_node + policy_node on leader-follow, leader-distance barrier on.

Arguments: checkpoint, rate_hz, namespace, real_time_factor, seed, command_level (acceleration,
attitude_thrust, rates_thrust or wrench), log_level. Example: `ros2
launch liquid_ros leader_follow.launch.py namespace:=drone1`. The arguments and nodes are
defined in liquid_ros.ros.launch_logic (tested without launch).
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("leader_follow")
