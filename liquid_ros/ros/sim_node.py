"""sim_node: runs a liquid_ros task env and bridges it to ROS.

Publishes ``/clock`` (sim time), ``camera/image_raw`` (rgb8), ``camera/camera_info``, ``odom``
(frame ``odom``, child ``base_link``: pose in ENU, twist in the FLU body frame), for the leader
task ``leader/odom``, and ``~/metrics`` (std_msgs/String JSON, reliable + transient local: the
running episode summary every second, the final one at episode end and at exit).

Commands, by ``command_level``: ``wrench`` (default) subscribes ``cmd_wrench`` (WrenchStamped,
body frame) and applies it at the physics rate with zero-order hold for at most
``cmd_timeout`` s of sim time, then hovers (see ``SimBridge``). ``acceleration`` subscribes
``cmd_accel`` (geometry_msgs/AccelStamped: accel.linear = world ENU acceleration m/s^2,
accel.angular.z = yaw rate rad/s, header.frame_id "odom" or empty) and sends each setpoint to
the simulated onboard flight controller (every physics substep, on the true state), whose own
failsafe replaces the hover: setpoint timeout -> hold -> land -> disarm, as PX4's offboard
loss does; ``~/metrics`` then reports ``flight_mode`` and ``mode_steps``. A non-finite
setpoint or one in another frame is dropped (counted in ``rejected_commands``).
``attitude_thrust`` and ``rates_thrust`` subscribe ``cmd_attitude`` (mavros_msgs/AttitudeTarget,
ENU/FLU, type_mask 7 or 128, thrust = N / CF2X.max_thrust; needs mavros_msgs) and feed the same
flight controller; one with the wrong type_mask, frame, a NaN or a quaternion off unit norm is
dropped and counted.

Episodes: with ``wait_for_policy`` the world is held at the episode's start (observations keep
coming and /clock keeps running, so nodes on sim time tick) until the policy flies: the first
``mode: policy`` on ``policy_status_topic`` (policy_node's ``~/safety_status``; its first
commands only hold position while it loads), or the first valid command when nothing publishes
there. Each finished episode is logged (success
and metrics). Without ``loop_episodes`` one episode runs; with it, ``max_episodes`` (0: no
limit). After the last one, with ``exit_when_done``, the executable exits with status 0, so a
launch file can end the whole launch on it.

The node itself runs on the wall clock (a ``real_time_factor`` paced loop), never on
``use_sim_time``: it is the source of /clock.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import Any

import numpy as np
import rclpy
from geometry_msgs.msg import AccelStamped, WrenchStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header, String

from liquid_ros import sim
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import MissingMessagePackage
from liquid_ros.ros.config import SIM_NODE_RANGES, SIM_NODE_READ_ONLY, SimNodeConfig
from liquid_ros.ros.image_conversion import rgb_to_image_msg
from liquid_ros.ros.params import (
    dataclass_from_parameters,
    declare_dataclass_parameters,
    validate_update,
)
from liquid_ros.ros.sim_bridge import SimBridge
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.runtime.stacks import StackConversionError, accel_setpoint
from liquid_ros.runtime.thrust_setpoints import attitude_target_setpoint

STATUS_WAIT_S = 120.0
"""Wall seconds after the first command to wait for the policy's mode 'policy' (a cold numba
cache takes about 20 s to compile) before starting anyway."""
METRICS_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


class SimNode(Node):
    """Publishes the simulated drone's sensors and applies received wrenches."""

    def __init__(self, node_name: str = "sim_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        declare_dataclass_parameters(self, SimNodeConfig, ranges=SIM_NODE_RANGES,
                                     read_only=SIM_NODE_READ_ONLY)
        self.add_on_set_parameters_callback(
            lambda ps: SetParametersResult(successful=(r := validate_update(
                self, ps, {"": (SimNodeConfig, None)}, {"": SIM_NODE_RANGES})) is None,
                reason=r or ""))
        cfg = self.cfg = dataclass_from_parameters(self, SimNodeConfig)
        kwargs = sim.env_kwargs_from_strings(cfg.domain_randomization, cfg.env_args, cfg.task)
        if "command_level" in kwargs:
            raise ValueError("env_args: set command_level with the sim_node parameter "
                             "command_level")
        kwargs["command_level"] = None if cfg.command_level == "wrench" else cfg.command_level
        env = sim.make(cfg.task, **{**kwargs, "control_hz": cfg.control_rate_hz})
        self.bridge = SimBridge(env, cfg.cmd_timeout, cfg.seed)
        self.leader = cfg.task == "leader_follow"
        self.pub_clock = self.create_publisher(Clock, "/clock", 10)
        self.pub_image = self.create_publisher(Image, "camera/image_raw", m.SENSOR_QOS)
        self.pub_info = self.create_publisher(CameraInfo, "camera/camera_info", m.SENSOR_QOS)
        self.pub_odom = self.create_publisher(Odometry, "odom", m.SENSOR_QOS)
        self.pub_leader = (self.create_publisher(Odometry, "leader/odom", m.SENSOR_QOS)
                           if self.leader else None)
        self.pub_metrics = self.create_publisher(String, "~/metrics", METRICS_QOS)
        if cfg.command_level == "acceleration":
            self._topic = cfg.cmd_accel_topic
            self.create_subscription(AccelStamped, self._topic, self._on_accel, m.COMMAND_QOS)
        elif cfg.command_level in ("attitude_thrust", "rates_thrust"):
            self._topic = cfg.cmd_attitude_topic
            self.create_subscription(m.attitude_target_type(), self._topic, self._on_attitude,
                                     m.COMMAND_QOS)
        else:
            self._topic = cfg.cmd_topic
            self.create_subscription(WrenchStamped, self._topic, self._on_cmd, m.COMMAND_QOS)
        self._status_topic = cfg.policy_status_topic if cfg.wait_for_policy else ""
        if self._status_topic:
            self.create_subscription(String, self._status_topic, self._on_status, m.STATUS_QOS)
        self._told, self._t_told = False, 0.0
        self._t_offset = 0.0
        """Seconds /clock is ahead of the episode's time (waiting, earlier episodes)."""
        self.camera_info = self._camera_info(env.unwrapped.sim.config.camera)
        self._last_metrics = 0.0
        self._waiting = cfg.wait_for_policy
        self.finished = False
        """True once the last episode is done (``main`` then exits)."""
        self.results: list[dict[str, Any]] = []
        if self._waiting:
            self.get_logger().info(f"waiting for the first command on {self._topic} before "
                                   "starting (wait_for_policy)")
        self._publish_observation()
        self.timer = self.create_timer(self._period(), self._on_timer)

    def _period(self) -> float:
        rtf = self.get_parameter("real_time_factor").value
        return 1e-4 if rtf == 0 else 1.0 / (self.cfg.control_rate_hz * rtf)

    def _on_cmd(self, msg: WrenchStamped) -> None:
        self._take(m.wrench_from_msg(msg))

    def _on_accel(self, msg: AccelStamped) -> None:
        try:
            accel, yaw_rate = accel_setpoint(msg)
        except StackConversionError as exc:  # another frame, or NaN (never reaches the sim)
            self.bridge.stats["rejected_commands"] += 1
            self.get_logger().warning(f"dropped a setpoint: {exc} (cmd_accel is world ENU, "
                                      "frame 'odom')", throttle_duration_sec=2.0)
            return
        self._take(np.append(accel, yaw_rate))

    def _on_attitude(self, msg: Any) -> None:
        try:
            values = attitude_target_setpoint(msg, self.cfg.command_level, CF2X.max_thrust)
        except StackConversionError as exc:  # frame, type_mask, NaN, not a unit quaternion
            self.bridge.stats["rejected_commands"] += 1
            self.get_logger().warning(f"dropped a setpoint: {exc}", throttle_duration_sec=2.0)
            return
        self._take(values)

    def _take(self, values: np.ndarray) -> None:
        if not self.bridge.command(values):
            self.get_logger().warning("dropped a non-finite command", throttle_duration_sec=2.0)
        elif self._waiting:
            if self._status_topic and self.count_publishers(self._status_topic) > 0:
                if not self._told:  # a policy_node: its first commands hold while it loads
                    self._told, self._t_told = True, time.monotonic()
                    self.get_logger().info(f"commands arrive; waiting for {self._status_topic}"
                                           " to report mode 'policy' before starting")
                return
            self._start(f"first command on {self._topic}")

    def _on_status(self, msg: String) -> None:
        if not self._waiting:
            return
        try:
            mode = json.loads(msg.data).get("mode")
        except (ValueError, AttributeError):
            return
        if mode == "policy":
            self._start(f"{self._status_topic} reports mode 'policy'")

    def _start(self, why: str) -> None:
        self._waiting = False
        self.get_logger().info(f"{why}: starting episode {self.bridge.episode}")

    def _on_timer(self) -> None:
        if self._waiting:
            # The world is held at the episode's start, but /clock runs on, so nodes on sim
            # time (the policy loading, then flying) keep ticking: like a drone on the pad.
            self._t_offset += 1.0 / self.cfg.control_rate_hz
            self._publish_observation()
            if self._told and time.monotonic() - self._t_told > STATUS_WAIT_S:
                self._start(f"no mode 'policy' on {self._status_topic} within "
                            f"{STATUS_WAIT_S:.0f} s of the first command")
            return
        if self.finished:
            return
        if self.bridge.done:
            self._finish_episode()
            return
        self.bridge.step()
        self._publish_observation()
        if self.bridge.done or self.bridge.time - self._last_metrics >= 1.0:
            self._last_metrics = self.bridge.time
            self.publish_metrics()

    def _finish_episode(self) -> None:
        result = self.publish_metrics()
        self.results.append(result)
        self.get_logger().info(_episode_line(result))
        limit = self.get_parameter("max_episodes").value
        if not self.get_parameter("loop_episodes").value or (
                limit > 0 and len(self.results) >= limit):
            n_ok = sum(bool(r.get("is_success")) for r in self.results)
            self.get_logger().info(f"done: {n_ok}/{len(self.results)} episodes succeeded")
            self.finished = True
            return
        self.bridge.episode += 1
        self._t_offset += self.bridge.time  # /clock keeps running forward across episodes
        self.bridge.reset()
        self._last_metrics = 0.0
        self._publish_observation()

    def publish_metrics(self) -> dict[str, Any]:
        """Publish (and return) the episode summary on ``~/metrics``."""
        metrics = self.bridge.metrics()
        self.pub_metrics.publish(m.json_msg(metrics))
        return metrics

    def _publish_observation(self) -> None:
        b = self.bridge
        max_t = self.get_parameter("max_episode_time").value
        if max_t > 0 and b.time >= max_t and not b.done:
            b.done = True
            b.final_metrics = b.final_metrics or {"stopped_at_max_episode_time": True}
        stamp = Time(nanoseconds=int(round((b.time + self._t_offset) * 1e9))).to_msg()
        self.pub_clock.publish(Clock(clock=stamp))
        info = b.info
        odom = Odometry()
        measured = info.get("odom_stamp", b.time) + self._t_offset  # when it was measured
        odom.header.stamp = Time(nanoseconds=int(round(measured * 1e9))).to_msg()
        odom.header.frame_id, odom.child_frame_id = "odom", "base_link"
        self.pub_odom.publish(m.odom_to_msg(odom, info["position"], info["quaternion"],
                                            info["velocity"], info["omega"]))
        img = rgb_to_image_msg(b.obs["image"], Image())
        img.header.stamp, img.header.frame_id = stamp, self.cfg.camera_frame
        self.pub_image.publish(img)
        self.camera_info.header.stamp = stamp
        self.pub_info.publish(self.camera_info)
        if self.pub_leader is not None:
            lo = Odometry()
            lo.header.stamp, lo.header.frame_id, lo.child_frame_id = stamp, "odom", "leader"
            self.pub_leader.publish(m.odom_to_msg(lo, info["leader_position"],
                                                  [0.0, 0.0, 0.0, 1.0],
                                                  info["leader_velocity"], [0.0, 0.0, 0.0]))

    def _camera_info(self, cam: Any) -> CameraInfo:
        f = float(cam.focal_px)
        cx, cy = (cam.width - 1) / 2.0, (cam.height - 1) / 2.0
        return CameraInfo(header=Header(frame_id=self.cfg.camera_frame),
                          height=cam.height, width=cam.width, distortion_model="plumb_bob",
                          d=[0.0] * 5, k=[f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0],
                          r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
                          p=[f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0])


def _episode_line(metrics: dict[str, Any]) -> str:
    """One log line with an episode's result: success and the task's headline metrics."""
    env = metrics.get("env_metrics", {})
    ok = "SUCCESS" if metrics.get("is_success") else "FAILURE"
    keys = ("final_distance", "min_distance", "mean_distance_error", "in_view_fraction",
            "collisions", "crashed")
    parts = [f"{k}={env[k]:.3g}" if isinstance(env.get(k), float) else f"{k}={env[k]}"
             for k in keys if k in env]
    return (f"episode {metrics.get('episode', 0)}: {ok} after {metrics.get('sim_time', 0.0):.2f}"
            f" s sim time; {', '.join(parts) or 'no task metrics'}; commands="
            f"{metrics.get('commands', 0)}, fallback_fraction="
            f"{metrics.get('fallback_fraction', 0.0):.3f}")


def main(args: list[str] | None = None) -> None:
    """Console script ``sim_node``; prints the final metrics as JSON at exit.

    Exits (status 0) when the last episode is done and ``exit_when_done`` is set.
    """
    if print_help_if_asked(args, "sim_node", __doc__):
        return
    rclpy.init(args=args)
    try:
        node = SimNode()
    except MissingMessagePackage as exc:  # one line, not a traceback
        print(f"sim_node: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        raise SystemExit(1) from None
    try:
        exit_when_done = node.get_parameter("exit_when_done").value
        while rclpy.ok() and not (exit_when_done and node.finished):
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # Launch forwards SIGINT on top of the terminal's own: ignore repeats while tearing down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        metrics = node.bridge.metrics()
        if rclpy.ok():
            node.publish_metrics()
        print(m.json_msg(metrics).data, flush=True)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
