"""px4_adapter: policy_node's acceleration setpoints to PX4 offboard control, PX4 state to ROS.

Subscribes ``cmd_accel`` (geometry_msgs/AccelStamped from policy_node with
``output_type: accel``: world ENU m/s^2, yaw rate in ``accel.angular.z``, frame 'odom' or '')
and for each valid one publishes, at once (no resampling: the heartbeat runs at policy_node's
rate, which must exceed PX4's 2 Hz), the OffboardControlMode heartbeat (acceleration) and a
TrajectorySetpoint (acceleration NED, yawspeed about down, everything else NaN) on
``<px4_namespace>/fmu/in/...`` with PX4's QoS. A non-finite or wrong-frame setpoint is dropped
(counted), never sent, and sends no heartbeat.

So on stale input (policy stopped, crashed or partitioned, or only bad setpoints) the heartbeat
stops; after ``cmd_timeout`` the node logs it, and PX4's own offboard-loss failsafe
(``COM_OF_LOSS_T``, then ``COM_OBL_RC_ACT``) takes over. Streaming resumes with the next valid
setpoint. It never sends a hover or zero setpoint in PX4's place.

At ``command_level`` attitude_thrust or rates_thrust it subscribes ``cmd_attitude``
(mavros_msgs/AttitudeTarget from policy_node with ``output_type`` attitude / rates: ENU/FLU,
type_mask 7 / 128, thrust = N / ``max_thrust``; needs mavros_msgs as well) and publishes
VehicleAttitudeSetpoint (``q_d`` FRD in NED, w first) on ``.../fmu/in/vehicle_attitude_setpoint``
or VehicleRatesSetpoint (FRD rates) on ``.../fmu/in/vehicle_rates_setpoint``, both with
``thrust_body = [0, 0, -hover_thrust * thrust / (m g)]``, and the heartbeat with ``attitude``
or ``body_rate`` set (``liquid_ros.runtime.thrust_setpoints``). Invalid ones (frame, type_mask,
NaN, quaternion off unit norm) are dropped like bad accelerations.

Converts ``/fmu/out/vehicle_odometry`` (NED/FRD, quaternion w, x, y, z) to ``odom``
(nav_msgs/Odometry: pose ENU in 'odom', twist FLU in 'base_link', as sim_node publishes) and
reads ``/fmu/out/vehicle_status`` (armed, offboard). With ``arm_and_offboard`` it sends
VehicleCommands (DO_SET_MODE offboard, then arm) once setpoints have streamed for
``offboard_after`` s, retried each second until PX4 reports both. Needs px4_msgs matching the
firmware (``interfaces/README.md``).
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
    PX4_COMMAND_QOS,
    PX4_IN_QOS,
    PX4_OUT_QOS,
    import_types,
    px4_topic,
    run_node,
)
from liquid_ros.ros.adapter_config import Px4AdapterConfig
from liquid_ros.ros.params import dataclass_from_parameters, declare_dataclass_parameters
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.runtime import stacks as st
from liquid_ros.runtime import thrust_setpoints as ts


def _us(now: float) -> int:
    return seconds_to_us(max(now, 0.0))


class Px4Adapter(Node):
    """Bridges policy_node's ``cmd_accel`` / ``odom`` to a PX4 over uXRCE-DDS."""

    def __init__(self, node_name: str = "px4_adapter", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        (self.Mode, self.Setpoint, self.Command, self.VOdom,
         self.VStatus) = import_types("px4_msgs", "msg", [
             "OffboardControlMode", "TrajectorySetpoint", "VehicleCommand", "VehicleOdometry",
             "VehicleStatus"])
        declare_dataclass_parameters(self, Px4AdapterConfig)  # read once, at start
        cfg = self.cfg = dataclass_from_parameters(self, Px4AdapterConfig)
        ns = cfg.px4_namespace
        self.level = cfg.command_level
        self.pub_mode = self.create_publisher(self.Mode, px4_topic(ns, "in/offboard_control_mode"),
                                              PX4_IN_QOS)
        if self.level == "acceleration":
            self.create_subscription(AccelStamped, cfg.cmd_topic, self._on_cmd, m.COMMAND_QOS)
            topic, cmd_topic = "in/trajectory_setpoint", cfg.cmd_topic
        else:  # attitude_thrust / rates_thrust: AttitudeTarget in, needs mavros_msgs too
            att = self.level == "attitude_thrust"
            (self.Setpoint,) = import_types("px4_msgs", "msg", [
                "VehicleAttitudeSetpoint" if att else "VehicleRatesSetpoint"])
            self.create_subscription(m.attitude_target_type(), cfg.cmd_attitude_topic,
                                     self._on_attitude, m.COMMAND_QOS)
            topic = "in/vehicle_attitude_setpoint" if att else "in/vehicle_rates_setpoint"
            cmd_topic = cfg.cmd_attitude_topic
        self.pub_sp = self.create_publisher(self.Setpoint, px4_topic(ns, topic), PX4_IN_QOS)
        self.cmd_topic = cmd_topic
        # Depth 10: the mode and arm commands go out back to back.
        self.pub_cmd = self.create_publisher(self.Command, px4_topic(ns, "in/vehicle_command"),
                                             PX4_COMMAND_QOS)
        self.pub_odom = self.create_publisher(Odometry, cfg.odom_topic, m.SENSOR_QOS)
        self.create_subscription(self.VOdom, px4_topic(ns, "out/vehicle_odometry"),
                                 self._on_odom, PX4_OUT_QOS)
        self.create_subscription(self.VStatus, px4_topic(ns, "out/vehicle_status"),
                                 self._on_status, PX4_OUT_QOS)
        self.counters = {"setpoints": 0, "rejected_commands": 0, "odometry": 0,
                         "rejected_odometry": 0, "vehicle_commands": 0, "heartbeat_stops": 0}
        self.status: st.Px4Status | None = None
        self._t_cmd = 0.0
        self._t_stream: float | None = None  # when the current streaming began
        self._t_vcmd = -1e9
        # Node clock: with use_sim_time a paused /clock pauses the check (nothing flows then).
        self.create_timer(0.05, self._check_stale)
        self.get_logger().info(f"PX4 offboard ({self.level}) on {px4_topic(ns, 'in')}; "
                               f"waiting for {cmd_topic}")

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    @property
    def streaming(self) -> bool:
        """Whether the heartbeat is being sent."""
        return self._t_stream is not None

    def _on_cmd(self, msg: AccelStamped) -> None:
        now = self._now()
        try:
            fields = st.px4_trajectory_setpoint(*st.accel_setpoint(msg), _us(now))
        except st.StackConversionError as exc:
            self._reject(exc)
            return
        self._send(fields, now)

    def _on_attitude(self, msg: Any) -> None:
        """AttitudeTarget (ENU/FLU, thrust / max_thrust) -> PX4 attitude or rates setpoint."""
        now, cfg = self._now(), self.cfg
        try:
            values = ts.attitude_target_setpoint(msg, self.level, cfg.max_thrust)
            fields = ts.px4_thrust_setpoint(self.level, values, cfg.hover_thrust,
                                            cfg.vehicle_mass * GRAVITY, _us(now))
        except st.StackConversionError as exc:
            self._reject(exc)
            return
        self._send(fields, now)

    def _reject(self, exc: Exception) -> None:
        self.counters["rejected_commands"] += 1
        self.get_logger().warning(f"dropped a setpoint: {exc}", throttle_duration_sec=2.0)

    def _check_stale(self) -> None:
        if self.streaming and self._now() - self._t_cmd > self.cfg.cmd_timeout:
            self._t_stream = None
            self.counters["heartbeat_stops"] += 1
            self.get_logger().warning(
                f"{self.cmd_topic} stale (> {self.cfg.cmd_timeout:g} s): the "
                "OffboardControlMode heartbeat stopped; PX4's offboard-loss failsafe takes over")

    def _send(self, fields: dict[str, Any], now: float) -> None:
        self._t_cmd = now
        if not self.streaming:
            self._t_stream = now
            self.get_logger().info(f"streaming OffboardControlMode + {self.Setpoint.__name__}")
        us = fields["timestamp"]
        self.pub_mode.publish(st.fill(self.Mode(), st.px4_offboard_control_mode(us, self.level)))
        self.pub_sp.publish(st.fill(self.Setpoint(), fields))
        self.counters["setpoints"] += 1
        ready = self.status is not None and self.status.armed and self.status.offboard
        if (self.cfg.arm_and_offboard and not ready and now - self._t_stream
                >= self.cfg.offboard_after and now - self._t_vcmd >= 1.0):
            self._t_vcmd = now
            for fields in st.px4_offboard_commands(us, self.cfg.target_system):
                self.pub_cmd.publish(st.fill(self.Command(), fields))
                self.counters["vehicle_commands"] += 1
            self.get_logger().info("sent VehicleCommand: offboard mode, arm")

    def _on_odom(self, msg: Any) -> None:
        try:
            o = st.px4_odometry_to_sample(msg)
        except st.StackConversionError as exc:
            self.counters["rejected_odometry"] += 1
            self.get_logger().warning(f"dropped odometry: {exc}", throttle_duration_sec=2.0)
            return
        out = Odometry()
        out.header.stamp = self.get_clock().now().to_msg()
        out.header.frame_id, out.child_frame_id = "odom", "base_link"
        self.pub_odom.publish(m.odom_to_msg(out, o.position, o.quaternion, o.velocity,
                                            o.angular_velocity))
        self.counters["odometry"] += 1

    def _on_status(self, msg: Any) -> None:
        status = st.px4_status(msg)
        if status != self.status:
            self.get_logger().info(f"PX4: armed={status.armed} offboard={status.offboard} "
                                   f"failsafe={status.failsafe}")
        self.status = status


def main(args: list[str] | None = None) -> None:
    """Console script ``px4_adapter``."""
    if print_help_if_asked(args, "px4_adapter", __doc__):
        return
    raise SystemExit(run_node("px4_adapter", Px4Adapter, args))


if __name__ == "__main__":
    main()
