"""Launch policy_node + px4_adapter for a real PX4 (or PX4 SITL) over uXRCE-DDS.

The MicroXRCEAgent and the camera driver (camera/image_raw) are started by the user. Arguments:
checkpoint, rate_hz, namespace, px4_namespace, command_level (acceleration, attitude_thrust,
rates_thrust), arm_and_offboard (default false), use_sim_time, log_level. Example: `ros2 launch
liquid_ros px4.launch.py px4_namespace:=px4_1`. Defined in liquid_ros.ros.launch_logic (tested
without launch).
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("px4")
