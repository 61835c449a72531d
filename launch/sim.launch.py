"""Launch sim_node alone.

Arguments: task, namespace, real_time_factor, seed, command_level, log_level. Example: `ros2 launch
liquid_ros sim.launch.py namespace:=drone1`. The arguments and nodes are defined in
liquid_ros.ros.launch_logic (tested without launch).
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("sim")
