"""mavros_adapter: policy_node's acceleration setpoints to PX4 or ArduPilot through MAVROS 2.

Subscribes ``cmd_accel`` (geometry_msgs/AccelStamped from policy_node with ``output_type:
accel``: world ENU m/s^2, yaw rate in ``accel.angular.z``, frame 'odom' or '') and for each
valid one publishes a mavros_msgs/PositionTarget on ``<mavros_ns>/setpoint_raw/local``:
``coordinate_frame = FRAME_LOCAL_NED``, ``type_mask`` = acceleration + yaw rate (1087), values
in ENU: MAVROS's setpoint_raw plugin turns them into NED (and the yaw rate about up into one
about down) itself (``liquid_ros.runtime.stacks.mavros_position_target``).

At ``command_level`` attitude_thrust or rates_thrust it subscribes ``cmd_attitude``
(mavros_msgs/AttitudeTarget from policy_node with ``output_type`` attitude / rates), checks it
(frame, type_mask 7 / 128 of the level, finite, unit quaternion, thrust in [0, 1]) and sends it
on to ``<mavros_ns>/setpoint_raw/attitude`` (ENU/FLU: MAVROS converts to NED/FRD; thrust is
passed to the autopilot as its normalised thrust).

Odometry: MAVROS 2's ``<mavros_ns>/local_position/odom`` has the pose in ENU (frame 'map') and
the twist, linear and angular, in the FLU body frame 'base_link' (mavros 2.12.0,
``local_position.cpp``), which is REP-105 and what policy_node reads: no frame change. The
adapter still relays it to ``odom`` (frames 'odom'/'base_link', stamp kept), so a non-finite or
non-unit-quaternion sample is dropped here, never reaches the policy, and the adapter knows
whether the vehicle's state is fresh.

Stale input (no valid cmd_accel for ``cmd_timeout`` s, or no valid MAVROS odometry for
``odom_timeout`` s): it stops publishing setpoints (it never sends a hover or zero setpoint in
the autopilot's place) and logs it once; the autopilot's own failsafe acts (PX4: offboard loss,
``COM_OF_LOSS_T`` then ``COM_OBL_RC_ACT``; ArduPilot Copter guided: ``GUID_TIMEOUT``, then it
stops). Streaming resumes with the next valid setpoint. ``<mavros_ns>/state`` (mode, armed) is
logged on change. Needs mavros_msgs (``interfaces/README.md``).
"""

from __future__ import annotations

from typing import Any

from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node

from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import import_types, run_node
from liquid_ros.ros.adapter_config import MavrosAdapterConfig
from liquid_ros.ros.params import dataclass_from_parameters, declare_dataclass_parameters
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.runtime import stacks as st
from liquid_ros.runtime import thrust_setpoints as ts
from liquid_ros.runtime.decoding import odometry


class MavrosAdapter(Node):
    """PositionTarget setpoints from ``cmd_accel``; MAVROS odometry relayed to ``odom``."""

    def __init__(self, node_name: str = "mavros_adapter", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.PositionTarget, self.State = import_types("mavros_msgs", "msg",
                                                       ["PositionTarget", "State"])
        declare_dataclass_parameters(self, MavrosAdapterConfig)
        cfg = self.cfg = dataclass_from_parameters(self, MavrosAdapterConfig)
        p = cfg.mavros_ns.strip().strip("/")
        ns = f"/{p}" if p else ""  # absolute: MAVROS's namespace, not this node's
        # MAVROS subscribes setpoints and publishes odometry with sensor-data QoS (best
        # effort); its state is reliable, transient local.
        self.level = cfg.command_level
        if self.level == "acceleration":
            self.pub = self.create_publisher(self.PositionTarget, f"{ns}/setpoint_raw/local",
                                             m.SENSOR_QOS)
            self.create_subscription(AccelStamped, cfg.cmd_topic, self._on_cmd, m.COMMAND_QOS)
            self.cmd_topic = cfg.cmd_topic
        else:
            self.Attitude = m.attitude_target_type()
            self.pub = self.create_publisher(self.Attitude, f"{ns}/setpoint_raw/attitude",
                                             m.SENSOR_QOS)
            self.create_subscription(self.Attitude, cfg.cmd_attitude_topic, self._on_attitude,
                                     m.COMMAND_QOS)
            self.cmd_topic = cfg.cmd_attitude_topic
        self.odom_pub = self.create_publisher(Odometry, cfg.odom_topic, m.SENSOR_QOS)
        self.create_subscription(Odometry, f"{ns}/local_position/odom", self._on_odom,
                                 m.SENSOR_QOS)
        self.create_subscription(self.State, f"{ns}/state", self._on_state, m.STATUS_QOS)
        self.counters = {"setpoints": 0, "rejected_commands": 0, "rejected_odometry": 0,
                         "odometry": 0, "stops": 0}
        self._t_odom = self._t_cmd = -1e9
        self.active = False
        """Whether setpoints are streaming (False once input went stale)."""
        self.mode: tuple[str, bool] | None = None
        self.create_timer(0.05, self.check_stale)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_odom(self, msg: Odometry) -> None:
        try:
            s = odometry(msg)
        except ValueError as exc:
            self.counters["rejected_odometry"] += 1
            self.get_logger().warning(f"dropped MAVROS odometry: {exc}",
                                      throttle_duration_sec=2.0)
            return
        out = m.odom_to_msg(Odometry(), s.position, s.quaternion, s.velocity,
                            s.angular_velocity)
        out.header.stamp = msg.header.stamp
        out.header.frame_id, out.child_frame_id = "odom", "base_link"
        self.odom_pub.publish(out)
        self.counters["odometry"] += 1
        self._t_odom = self._now()

    def _on_state(self, msg: Any) -> None:
        mode = (str(msg.mode), bool(msg.armed))
        if mode != self.mode:
            self.get_logger().info(f"autopilot mode {mode[0]!r}, armed {mode[1]}, "
                                   f"connected {bool(msg.connected)}")
        self.mode = mode

    def _on_cmd(self, msg: AccelStamped) -> None:
        self._forward(msg, lambda: st.mavros_position_target(*st.accel_setpoint(msg)),
                      self.PositionTarget)

    def _on_attitude(self, msg: Any) -> None:
        # Checked (frame, type_mask, finite, unit quaternion, thrust in [0, 1]), then sent on
        # unchanged: AttitudeTarget is what MAVROS takes, ENU/FLU, thrust normalised.
        self._forward(msg, lambda: ts.attitude_target_fields(
            self.level, ts.attitude_target_setpoint(msg, self.level, 1.0), 1.0), self.Attitude)

    def _forward(self, msg: Any, convert: Any, out_type: type) -> None:
        now = self._now()
        try:
            fields = convert()
            if now - self._t_odom > self.cfg.odom_timeout:
                raise st.StackConversionError("MAVROS odometry is stale")
        except st.StackConversionError as exc:
            self.counters["rejected_commands"] += 1
            self.get_logger().warning(f"dropped a setpoint: {exc}", throttle_duration_sec=2.0)
            return
        out = st.fill(out_type(), fields)
        out.header.stamp, out.header.frame_id = msg.header.stamp, "map"
        self.pub.publish(out)
        self.counters["setpoints"] += 1
        self._t_cmd = now
        if not self.active:
            self.get_logger().info(f"sending {out_type.__name__} on {self.pub.topic_name}")
        self.active = True

    def check_stale(self) -> None:
        """Log once when setpoints stop (stale cmd_accel or odometry)."""
        if not self.active:
            return
        now = self._now()
        why = (self.cmd_topic if now - self._t_cmd > self.cfg.cmd_timeout else
               "MAVROS odometry" if now - self._t_odom > self.cfg.odom_timeout else None)
        if why is not None:
            self.active = False
            self.counters["stops"] += 1
            self.get_logger().warning(f"{why} stale: setpoints stopped, the autopilot's own "
                                      "failsafe takes over")


def main(args: list[str] | None = None) -> None:
    """Console script ``mavros_adapter``."""
    if print_help_if_asked(args, "mavros_adapter", __doc__):
        return
    raise SystemExit(run_node("mavros_adapter", MavrosAdapter, args))


if __name__ == "__main__":
    main()
