"""Launch sim_node + policy_node on the fly-to-target task (policy on sim time).

Arguments: checkpoint, rate_hz, namespace, real_time_factor, seed, command_level (acceleration,
attitude_thrust, rates_thrust or wrench), log_level. Example: `ros2 launch liquid_ros
fly_to_target.launch.py command_level:=attitude_thrust`. The arguments and nodes are
defined in liquid_ros.ros.launch_logic (tested without launch).
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("fly_to_target")
