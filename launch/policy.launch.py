"""Launch policy_node alone (a real robot or an external sim).

Arguments: checkpoint, rate_hz, namespace, task, use_sim_time, use_leader, command_level
(wrench, acceleration, attitude_thrust, rates_thrust: the message and topic), log_level. Example:
`ros2 launch liquid_ros policy.launch.py namespace:=drone1`. The arguments and nodes are
defined in liquid_ros.ros.launch_logic (tested without launch).
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("policy")
