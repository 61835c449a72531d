"""Parameters of the flight-stack adapters: one frozen dataclass per node (ROS-free).

Each field is one ROS parameter (read once at start, see :mod:`liquid_ros.ros.params`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liquid_ros.control.quadrotor import CF2X

ADAPTER_LEVELS = ("acceleration", "attitude_thrust", "rates_thrust")
"""Command levels the PX4 and MAVROS adapters take from policy_node."""


def _level(obj: Any, allowed: tuple[str, ...] = ADAPTER_LEVELS) -> None:
    level = obj.command_level
    if level not in allowed:
        raise ValueError(f"command_level must be one of {allowed}, got {level!r}")


def _hover(obj: Any) -> None:
    if not 0.0 < obj.hover_thrust < 1.0:
        raise ValueError(f"hover_thrust must be in (0, 1), got {obj.hover_thrust}")
    _positive(obj, "vehicle_mass")


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not value > 0.0:
            raise ValueError(f"{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class Px4AdapterConfig:
    """px4_adapter: policy_node's ``cmd_accel`` to PX4 offboard, PX4 odometry to ``odom``.

    Attributes:
        px4_namespace: PX4 instance prefix of the ``/fmu`` topics: '' for ``/fmu/...``,
            'px4_1' for ``/px4_1/fmu/...`` (PX4's multi-vehicle naming).
        cmd_timeout: Age (s) after which the last cmd_accel is stale: the heartbeat stops and
            PX4's own offboard-loss failsafe takes over.
        arm_and_offboard: Send VehicleCommands to switch to offboard and arm once setpoints
            have streamed for ``offboard_after`` s (off: the pilot switches, e.g. from a
            ground station or RC).
        offboard_after: Streaming time (s) before the mode and arm commands.
        target_system: MAVLink system id of the vehicle (PX4 instance N: N + 1).
        cmd_topic: AccelStamped setpoints from policy_node (world ENU, frame 'odom').
        odom_topic: nav_msgs/Odometry published for policy_node (pose ENU, twist body FLU).
        command_level: acceleration (``cmd_topic`` -> TrajectorySetpoint), attitude_thrust
            (``cmd_attitude_topic`` -> VehicleAttitudeSetpoint) or rates_thrust
            (``cmd_attitude_topic`` -> VehicleRatesSetpoint); the OffboardControlMode
            heartbeat sets acceleration, attitude or body_rate to match.
        cmd_attitude_topic: mavros_msgs/AttitudeTarget from policy_node (``output_type``
            attitude or rates) at the thrust levels.
        max_thrust: Newtons that AttitudeTarget ``thrust = 1`` stands for (policy_node:
            CF2X.max_thrust).
        hover_thrust: PX4's normalised hover thrust (``MPC_THR_HOVER``, or its hover-thrust
            estimate) in (0, 1): ``thrust_body[2] = -hover_thrust * thrust / (m g)``.
        vehicle_mass: Vehicle mass (kg) for that weight.
    """

    px4_namespace: str = ""
    cmd_timeout: float = 0.3
    arm_and_offboard: bool = False
    offboard_after: float = 1.0
    target_system: int = 1
    cmd_topic: str = "cmd_accel"
    odom_topic: str = "odom"
    command_level: str = "acceleration"
    cmd_attitude_topic: str = "cmd_attitude"
    max_thrust: float = CF2X.max_thrust
    hover_thrust: float = 0.5
    vehicle_mass: float = CF2X.mass

    def __post_init__(self) -> None:
        _positive(self, "cmd_timeout", "offboard_after", "max_thrust")
        _level(self)
        _hover(self)
        if self.cmd_timeout >= 0.5:
            raise ValueError("cmd_timeout must be < 0.5 s: PX4 needs the heartbeat above 2 Hz, "
                             f"got {self.cmd_timeout}")


@dataclass(frozen=True)
class Px4SimBridgeConfig:
    """px4_sim_bridge: the simulated drone behind PX4's ``/fmu`` topics.

    Attributes:
        px4_namespace: PX4 instance prefix, as px4_adapter's.
        heartbeat_timeout: OffboardControlMode older than this (s) is lost (PX4: > 2 Hz,
            ``COM_OF_LOSS_T``); setpoints are then not forwarded and the simulated flight
            controller fails safe (hold, then land).
        status_hz: Rate (Hz) of VehicleStatus.
        sim_cmd_topic: To sim_node: AccelStamped (its ``cmd_accel_topic``) at acceleration,
            mavros_msgs/AttitudeTarget (its ``cmd_attitude_topic``) at the thrust levels.
        sim_odom_topic: sim_node's odometry (remap sim_node's ``odom`` here).
        command_level: The level sim_node flies at: acceleration (TrajectorySetpoint),
            attitude_thrust (VehicleAttitudeSetpoint) or rates_thrust (VehicleRatesSetpoint).
        hover_thrust: The simulated PX4's ``MPC_THR_HOVER`` (as px4_adapter's).
        vehicle_mass: Vehicle mass (kg), as px4_adapter's.
    """

    px4_namespace: str = ""
    heartbeat_timeout: float = 0.5
    status_hz: float = 5.0
    sim_cmd_topic: str = "sim/cmd_accel"
    sim_odom_topic: str = "sim/odom"
    command_level: str = "acceleration"
    hover_thrust: float = 0.5
    vehicle_mass: float = CF2X.mass

    def __post_init__(self) -> None:
        _positive(self, "heartbeat_timeout", "status_hz")
        _level(self)
        _hover(self)


CRAZYFLIE_THRUST_LEVELS_REFUSED = (
    "crazyflie_adapter: command_level attitude_thrust / rates_thrust is not supported; use "
    "acceleration (FullState). Crazyswarm2's only attitude command, cmd_vel_legacy "
    "(geometry_msgs/Twist: linear.y roll deg, linear.x pitch deg, angular.z yaw rate deg/s, "
    "linear.z thrust 0-60000), takes thrust in PWM units with no newton calibration (it "
    "depends on motors, propellers and battery voltage), carries no body rates, and is "
    "implemented only in Crazyswarm2's cflib backend (its cpp and sim backends log 'not yet "
    "implemented')")
"""Why the Crazyflie adapter refuses the thrust levels (IMRCLab/crazyswarm2,
``crazyflie/scripts/crazyflie_server.py``, ``_cmd_vel_legacy_changed``)."""


@dataclass(frozen=True)
class CrazyflieAdapterConfig:
    """crazyflie_adapter: policy_node's ``cmd_accel`` to Crazyswarm2 FullState setpoints.

    Attributes:
        cf_prefix: Crazyswarm2 name of the vehicle; topics are ``/<cf_prefix>/cmd_full_state``
            and ``/<cf_prefix>/notify_setpoints_stop``.
        cmd_timeout: Age (s) after which cmd_accel is stale: setpoints stop and
            NotifySetpointsStop hands the Crazyflie back to its high-level commander.
        lookahead: Horizon (s) of the FullState reference built from odometry and the
            acceleration (see ``liquid_ros.runtime.stacks.crazyflie_full_state``).
        remain_valid_ms: NotifySetpointsStop ``remain_valid_millisecs``: how long the last
            setpoint stays valid before the high-level commander takes over.
        cmd_topic: AccelStamped setpoints from policy_node.
        odom_topic: nav_msgs/Odometry of the vehicle (pose ENU, twist body FLU), e.g.
            Crazyswarm2's ``/<cf>/odom``.
        command_level: acceleration only. attitude_thrust and rates_thrust are refused: see
            :data:`CRAZYFLIE_THRUST_LEVELS_REFUSED`.
    """

    cf_prefix: str = "cf231"
    cmd_timeout: float = 0.3
    lookahead: float = 0.02
    remain_valid_ms: int = 100
    cmd_topic: str = "cmd_accel"
    odom_topic: str = "odom"
    command_level: str = "acceleration"

    def __post_init__(self) -> None:
        _positive(self, "cmd_timeout")
        if self.command_level in ("attitude_thrust", "rates_thrust"):
            raise ValueError(CRAZYFLIE_THRUST_LEVELS_REFUSED)
        _level(self, ("acceleration",))
        if self.lookahead < 0.0 or self.remain_valid_ms < 0:
            raise ValueError("lookahead and remain_valid_ms must be >= 0")


@dataclass(frozen=True)
class MavrosAdapterConfig:
    """mavros_adapter parameters (read once at start).

    Attributes:
        mavros_ns: Namespace of the MAVROS node's topics ('/mavros', '/drone1/mavros').
        cmd_timeout: Age (s) after which the last cmd_accel is stale (< 0.5: PX4 wants
            setpoints above 2 Hz).
        odom_timeout: Age (s) after which MAVROS's odometry is stale; setpoints stop.
        cmd_topic: AccelStamped setpoints from policy_node (world ENU, frame 'odom').
        odom_topic: nav_msgs/Odometry published for policy_node (pose ENU, twist body FLU).
        command_level: acceleration (``cmd_topic`` -> ``setpoint_raw/local``) or
            attitude_thrust / rates_thrust (``cmd_attitude_topic``, checked, ->
            ``setpoint_raw/attitude``).
        cmd_attitude_topic: mavros_msgs/AttitudeTarget from policy_node at the thrust levels.
    """

    mavros_ns: str = "/mavros"
    cmd_timeout: float = 0.3
    odom_timeout: float = 0.5
    cmd_topic: str = "cmd_accel"
    odom_topic: str = "odom"
    command_level: str = "acceleration"
    cmd_attitude_topic: str = "cmd_attitude"

    def __post_init__(self) -> None:
        _positive(self, "cmd_timeout", "odom_timeout")
        _level(self)
        if self.cmd_timeout >= 0.5:
            raise ValueError("cmd_timeout must be < 0.5 s: autopilots want setpoints above "
                             f"2 Hz, got {self.cmd_timeout}")
