"""Parameters of the flight-stack adapters: one frozen dataclass per node (ROS-free).

Each field is one ROS parameter (read once at start, see :mod:`liquid_ros.ros.params`).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """

    px4_namespace: str = ""
    cmd_timeout: float = 0.3
    arm_and_offboard: bool = False
    offboard_after: float = 1.0
    target_system: int = 1
    cmd_topic: str = "cmd_accel"
    odom_topic: str = "odom"

    def __post_init__(self) -> None:
        _positive(self, "cmd_timeout", "offboard_after")
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
        sim_cmd_topic: AccelStamped to sim_node (its ``cmd_accel_topic``).
        sim_odom_topic: sim_node's odometry (remap sim_node's ``odom`` here).
    """

    px4_namespace: str = ""
    heartbeat_timeout: float = 0.5
    status_hz: float = 5.0
    sim_cmd_topic: str = "sim/cmd_accel"
    sim_odom_topic: str = "sim/odom"

    def __post_init__(self) -> None:
        _positive(self, "heartbeat_timeout", "status_hz")


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
    """

    cf_prefix: str = "cf231"
    cmd_timeout: float = 0.3
    lookahead: float = 0.02
    remain_valid_ms: int = 100
    cmd_topic: str = "cmd_accel"
    odom_topic: str = "odom"

    def __post_init__(self) -> None:
        _positive(self, "cmd_timeout")
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
    """

    mavros_ns: str = "/mavros"
    cmd_timeout: float = 0.3
    odom_timeout: float = 0.5
    cmd_topic: str = "cmd_accel"
    odom_topic: str = "odom"

    def __post_init__(self) -> None:
        _positive(self, "cmd_timeout", "odom_timeout")
        if self.cmd_timeout >= 0.5:
            raise ValueError("cmd_timeout must be < 0.5 s: autopilots want setpoints above "
                             f"2 Hz, got {self.cmd_timeout}")
