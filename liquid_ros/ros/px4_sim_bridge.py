"""px4_sim_bridge: the simulated drone (sim_node) behind PX4's uXRCE-DDS topics.

Plays PX4's side of offboard control for ``launch/px4_sim.launch.py``, so the whole PX4 path
(policy_node -> px4_adapter -> /fmu/in -> flight controller, /fmu/out -> px4_adapter ->
policy_node) flies over real DDS without PX4. sim_node runs with ``command_level:
acceleration``; its simulated flight controller plays PX4's position/attitude/rate loops and
its setpoint-loss failsafe (timeout -> hold -> land).

Subscribes ``<px4_namespace>/fmu/in/offboard_control_mode`` and ``.../trajectory_setpoint``.
Each TrajectorySetpoint is forwarded to sim_node as AccelStamped on ``sim_cmd_topic`` (ENU,
frame 'odom') only while the heartbeat is fresh (``heartbeat_timeout``, PX4's > 2 Hz rule) and
asks for acceleration control; otherwise nothing is forwarded (logged), so the simulated flight
controller times out and fails safe, as PX4 would. Setpoints with position or velocity set, or
without acceleration, are rejected (this PX4 stand-in follows acceleration setpoints only).
At ``command_level`` attitude_thrust / rates_thrust it takes ``.../vehicle_attitude_setpoint``
/ ``.../vehicle_rates_setpoint`` instead (heartbeat ``attitude`` / ``body_rate``), converts
them back to ENU/FLU and newtons with the same hover-thrust model as px4_adapter, and sends
sim_node (``command_level`` the same) a mavros_msgs/AttitudeTarget on ``sim_cmd_topic``.

Publishes ``.../fmu/out/vehicle_odometry`` (NED/FRD from sim_node's odometry on
``sim_odom_topic``) and ``.../fmu/out/vehicle_status`` (armed; nav_state OFFBOARD while
forwarding, else AUTO_LOITER) with PX4's QoS (best effort, transient local).
"""

from __future__ import annotations

from typing import Any

from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node

from liquid_ros.control.frames import seconds_to_us
from liquid_ros.control.quadrotor import GRAVITY
from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import (
    PX4_IN_QOS,
    PX4_OUT_QOS,
    import_types,
    px4_topic,
    run_node,
)
from liquid_ros.ros.adapter_config import Px4SimBridgeConfig
from liquid_ros.ros.params import dataclass_from_parameters, declare_dataclass_parameters
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.runtime import stacks as st
from liquid_ros.runtime import thrust_setpoints as ts
from liquid_ros.runtime.decoding import odometry


class Px4SimBridge(Node):
    """PX4's ``/fmu`` topics on one side, sim_node's ``cmd_accel`` / ``odom`` on the other."""

    def __init__(self, node_name: str = "px4_sim_bridge", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.Mode, self.Setpoint, self.VOdom, self.VStatus = import_types("px4_msgs", "msg", [
            "OffboardControlMode", "TrajectorySetpoint", "VehicleOdometry", "VehicleStatus"])
        declare_dataclass_parameters(self, Px4SimBridgeConfig)  # read once, at start
        cfg = self.cfg = dataclass_from_parameters(self, Px4SimBridgeConfig)
        ns, self.level = cfg.px4_namespace, cfg.command_level
        self.create_subscription(self.Mode, px4_topic(ns, "in/offboard_control_mode"),
                                 self._on_mode, PX4_OUT_QOS)
        if self.level == "acceleration":
            topic, cmd_type = "in/trajectory_setpoint", AccelStamped
        else:  # the inverse of px4_adapter's; sim_node takes AttitudeTarget (mavros_msgs)
            att = self.level == "attitude_thrust"
            (self.Setpoint,) = import_types("px4_msgs", "msg", [
                "VehicleAttitudeSetpoint" if att else "VehicleRatesSetpoint"])
            topic = "in/vehicle_attitude_setpoint" if att else "in/vehicle_rates_setpoint"
            cmd_type = m.attitude_target_type()
        self._mode_flag = st.PX4_MODE_FIELDS[self.level]
        self.create_subscription(self.Setpoint, px4_topic(ns, topic), self._on_setpoint,
                                 PX4_OUT_QOS)
        self.create_subscription(Odometry, cfg.sim_odom_topic, self._on_odom, m.SENSOR_QOS)
        self.pub_cmd = self.create_publisher(cmd_type, cfg.sim_cmd_topic, m.COMMAND_QOS)
        self.pub_odom = self.create_publisher(self.VOdom, px4_topic(ns, "out/vehicle_odometry"),
                                              PX4_IN_QOS)
        self.pub_status = self.create_publisher(
            self.VStatus, px4_topic(ns, "out/vehicle_status"), PX4_IN_QOS)
        self.counters = {"forwarded": 0, "rejected_setpoints": 0, "no_heartbeat": 0,
                         "odometry": 0, "rejected_odometry": 0}
        self._t_mode: float | None = None
        self._accel_mode = False
        self.forwarding = False
        """Whether the last setpoint was forwarded (PX4 would be in offboard)."""
        self.create_timer(1.0 / cfg.status_hz, self._publish_status)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_mode(self, msg: Any) -> None:
        self._t_mode, self._accel_mode = self._now(), bool(getattr(msg, self._mode_flag))

    def heartbeat_fresh(self) -> bool:
        """Whether an OffboardControlMode arrived within ``heartbeat_timeout``."""
        return (self._t_mode is not None
                and self._now() - self._t_mode <= self.cfg.heartbeat_timeout)

    def _on_setpoint(self, msg: Any) -> None:
        if not (self.heartbeat_fresh() and self._accel_mode):
            self.counters["no_heartbeat"] += 1
            self._set_forwarding(False, f"no fresh OffboardControlMode with {self._mode_flag}")
            return
        stamp = self.get_clock().now().to_msg()
        try:
            if self.level == "acceleration":
                accel, yaw_rate = st.px4_trajectory_to_accel(msg)
                cmd = AccelStamped()
                cmd.header.stamp, cmd.header.frame_id = stamp, "odom"
                lin = cmd.accel.linear
                lin.x, lin.y, lin.z = (float(v) for v in accel)
                cmd.accel.angular.z = float(yaw_rate)
            else:
                cfg = self.cfg
                values = ts.px4_thrust_setpoint_values(msg, self.level, cfg.hover_thrust,
                                                       cfg.vehicle_mass * GRAVITY)
                cmd = m.attitude_target_msg(self.level, stamp, values)
        except st.StackConversionError as exc:
            self.counters["rejected_setpoints"] += 1
            self.get_logger().warning(f"rejected a setpoint: {exc}", throttle_duration_sec=2.0)
            return
        self.pub_cmd.publish(cmd)
        self.counters["forwarded"] += 1
        self._set_forwarding(True, f"offboard: forwarding {self.level} setpoints")

    def _set_forwarding(self, on: bool, why: str) -> None:
        if on and not self.forwarding:
            self.get_logger().info(why)
        elif self.forwarding and not on:
            self.get_logger().warning(f"stopped forwarding ({why}): the simulated flight "
                                      "controller fails safe (hold, then land)")
        self.forwarding = on

    def _publish_status(self) -> None:
        if self.forwarding and not self.heartbeat_fresh():
            self._set_forwarding(False, "OffboardControlMode heartbeat lost")
        nav = st.PX4_NAV_STATE_OFFBOARD if self.forwarding else st.PX4_NAV_STATE_AUTO_LOITER
        us = seconds_to_us(max(self._now(), 0.0))
        self.pub_status.publish(st.fill(self.VStatus(), st.px4_status_fields(us, True, nav)))

    def _on_odom(self, msg: Odometry) -> None:
        try:
            sample = odometry(msg)
        except ValueError as exc:
            self.counters["rejected_odometry"] += 1
            self.get_logger().warning(f"dropped sim odometry: {exc}", throttle_duration_sec=2.0)
            return
        us = seconds_to_us(max(self._now(), 0.0))
        self.pub_odom.publish(st.fill(self.VOdom(), st.px4_odometry_fields(sample, us)))
        self.counters["odometry"] += 1


def main(args: list[str] | None = None) -> None:
    """Console script ``px4_sim_bridge``."""
    if print_help_if_asked(args, "px4_sim_bridge", __doc__):
        return
    raise SystemExit(run_node("px4_sim_bridge", Px4SimBridge, args))


if __name__ == "__main__":
    main()
