"""Launch the whole PX4 path in simulation: sim_node behind PX4's /fmu topics, policy_node.

sim_node (the simulated flight controller) <-> px4_sim_bridge (plays PX4's uXRCE-DDS side:
/fmu/in/offboard_control_mode, /fmu/in/trajectory_setpoint or vehicle_attitude_setpoint or
vehicle_rates_setpoint, /fmu/out/vehicle_odometry, /fmu/out/vehicle_status) <-> px4_adapter <->
policy_node (AccelStamped on cmd_accel, or AttitudeTarget on cmd_attitude; odometry on odom), all
at ``command_level`` (acceleration, attitude_thrust or rates_thrust). Arguments: checkpoint,
rate_hz, namespace, real_time_factor, seed, px4_namespace, command_level, log_level, ... Example:
`ros2 launch liquid_ros px4_sim.launch.py seed:=3`. Defined in liquid_ros.ros.launch_logic (tested
without launch).
"""

from liquid_ros.ros.launch_description import generate


def generate_launch_description():  # noqa: D103
    return generate("px4_sim")
