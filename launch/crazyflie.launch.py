"""Launch policy_node + crazyflie_adapter for a Crazyflie under Crazyswarm2.

Crazyswarm2's crazyflie_server (with the odom logging topic on) and the camera driver are started
by the user. policy_node reads /<cf_prefix>/odom. Arguments: checkpoint, rate_hz, namespace,
cf_prefix, use_sim_time, log_level. Acceleration level only (FullState). Example: `ros2 launch
liquid_ros crazyflie.launch.py cf_prefix:=cf231`. Defined in liquid_ros.ros.launch_logic.
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("crazyflie")
