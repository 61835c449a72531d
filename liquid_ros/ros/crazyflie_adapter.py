"""crazyflie_adapter: policy_node's acceleration setpoints to a Crazyflie under Crazyswarm2.

Subscribes ``cmd_accel`` (geometry_msgs/AccelStamped from policy_node with ``output_type:
accel``: world ENU m/s^2, yaw rate in ``accel.angular.z``) and the vehicle's odometry
(``odom_topic``, nav_msgs/Odometry: pose ENU, twist body FLU per REP-105). Crazyswarm2 has no
acceleration-only command, so each setpoint becomes a FullState on
``/<cf_prefix>/cmd_full_state`` whose position/velocity reference starts at the measured state
and whose acceleration is the setpoint (``liquid_ros.runtime.stacks.crazyflie_full_state``).
Crazyswarm2's world frame is ENU like ours: no frame change.

On stale input (no valid cmd_accel for ``cmd_timeout`` s, or no odometry) it stops sending and
calls ``/<cf_prefix>/notify_setpoints_stop`` once, which hands the Crazyflie back to its
high-level commander (it holds the last setpoint for ``remain_valid_ms``, then the firmware's
own behaviour applies: land or hover, as Crazyswarm2 is set up). The same call is made when the
node shuts down. A non-finite or wrong-frame setpoint is dropped (counted), never sent.
Needs crazyflie_interfaces (``interfaces/README.md``).

Only the acceleration level: ``command_level`` attitude_thrust or rates_thrust is refused at
start with the reason (``liquid_ros.ros.adapter_config.CRAZYFLIE_THRUST_LEVELS_REFUSED``:
Crazyswarm2's cmd_vel_legacy takes uncalibrated PWM thrust and no body rates).
"""

from __future__ import annotations

from typing import Any

from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node

from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import import_types, run_node
from liquid_ros.ros.adapter_config import CrazyflieAdapterConfig
from liquid_ros.ros.params import dataclass_from_parameters, declare_dataclass_parameters
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.runtime import stacks as st
from liquid_ros.runtime.decoding import OdomSample, odometry


class CrazyflieAdapter(Node):
    """FullState setpoints from ``cmd_accel``; NotifySetpointsStop when input stops."""

    def __init__(self, node_name: str = "crazyflie_adapter", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        (self.FullState,) = import_types("crazyflie_interfaces", "msg", ["FullState"])
        (self.Stop,) = import_types("crazyflie_interfaces", "srv", ["NotifySetpointsStop"])
        declare_dataclass_parameters(self, CrazyflieAdapterConfig)  # read once, at start
        cfg = self.cfg = dataclass_from_parameters(self, CrazyflieAdapterConfig)
        cf = "/" + cfg.cf_prefix.strip("/")
        self.pub = self.create_publisher(self.FullState, f"{cf}/cmd_full_state", m.COMMAND_QOS)
        self.stop_client = self.create_client(self.Stop, f"{cf}/notify_setpoints_stop")
        self.create_subscription(AccelStamped, cfg.cmd_topic, self._on_cmd, m.COMMAND_QOS)
        self.create_subscription(Odometry, cfg.odom_topic, self._on_odom, m.SENSOR_QOS)
        self.counters = {"setpoints": 0, "rejected_commands": 0, "rejected_odometry": 0,
                         "stops": 0}
        self.odom: OdomSample | None = None
        self._t_odom = self._t_cmd = 0.0
        self.active = False
        """Whether setpoints are being sent (False after a stop)."""
        self.create_timer(0.05, self.check_stale)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_odom(self, msg: Odometry) -> None:
        try:
            self.odom, self._t_odom = odometry(msg), self._now()
        except ValueError as exc:
            self.counters["rejected_odometry"] += 1
            self.get_logger().warning(f"dropped odometry: {exc}", throttle_duration_sec=2.0)

    def _on_cmd(self, msg: AccelStamped) -> None:
        now = self._now()
        try:
            accel, yaw_rate = st.accel_setpoint(msg)
            if self.odom is None or now - self._t_odom > self.cfg.cmd_timeout:
                raise st.StackConversionError("no fresh odometry to anchor the reference")
            fields = st.crazyflie_full_state(self.odom, accel, yaw_rate, self.cfg.lookahead)
        except st.StackConversionError as exc:
            self.counters["rejected_commands"] += 1
            self.get_logger().warning(f"dropped a setpoint: {exc}", throttle_duration_sec=2.0)
            return
        out = st.fill(self.FullState(), fields)
        out.header.stamp, out.header.frame_id = msg.header.stamp, "world"
        self.pub.publish(out)
        self.counters["setpoints"] += 1
        self._t_cmd = now
        if not self.active:
            self.get_logger().info(f"sending FullState on {self.pub.topic_name}")
        self.active = True

    def check_stale(self) -> None:
        """Hand back (NotifySetpointsStop) once when setpoints have stopped arriving."""
        if self.active and self._now() - self._t_cmd > self.cfg.cmd_timeout:
            self.stop("cmd_accel stale")

    def stop(self, why: str) -> Any:
        """Stop sending and call NotifySetpointsStop; returns the call's future (or None)."""
        self.active = False
        self.counters["stops"] += 1
        self.get_logger().warning(f"{why}: NotifySetpointsStop, the Crazyflie's high-level "
                                  "commander takes over")
        if not self.stop_client.service_is_ready():
            self.get_logger().error(f"{self.stop_client.srv_name} is not available")
            return None
        req = st.fill(self.Stop.Request(), st.crazyflie_notify_stop(self.cfg.remain_valid_ms))
        return self.stop_client.call_async(req)

    def destroy_node(self) -> None:
        """Hand back before going away.

        Waits up to 0.5 s for the reply when not in an executor (as at the end of ``main``).
        """
        if self.active:
            fut = self.stop("shutting down")
            if fut is not None and self.executor is None:
                import rclpy
                rclpy.spin_until_future_complete(self, fut, timeout_sec=0.5)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Console script ``crazyflie_adapter``."""
    if print_help_if_asked(args, "crazyflie_adapter", __doc__):
        return
    raise SystemExit(run_node("crazyflie_adapter", CrazyflieAdapter, args))


if __name__ == "__main__":
    main()
