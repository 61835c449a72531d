"""Launch policy_node + mavros_adapter for a PX4 or ArduPilot vehicle behind MAVROS 2.

MAVROS (mavros_node with its fcu_url) and the camera driver are started by the user; the
autopilot is switched to OFFBOARD (PX4) or GUIDED (ArduPilot) and armed by the pilot.
Arguments: checkpoint, rate_hz, namespace, mavros_ns, command_level (acceleration:
setpoint_raw/local; attitude_thrust / rates_thrust: setpoint_raw/attitude), task, use_sim_time,
log_level. Example:
`ros2 launch liquid_ros mavros.launch.py mavros_ns:=/mavros`. Defined in
liquid_ros.ros.launch_logic.
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("mavros")
