"""policy_node's message plumbing: decoded inputs into the pilot, its commands out as messages.

:class:`PilotInputs` decodes camera and odometry messages (:mod:`liquid_ros.runtime.decoding`
rules: image encodings and resize, odometry validated, header stamps kept for the latency
prediction) and hands them to the pilot, keeping the latest of each while the pilot is still
loading. :class:`PilotOutputs` owns the publishers: the command at the configured
``output_type`` (``attitude`` and ``rates``: mavros_msgs/AttitudeTarget, see
:func:`liquid_ros.ros.messages.attitude_target_msg`; without mavros_msgs configure fails with
one error line naming it), the raw action, the safety status and ``/diagnostics``.
"""

from __future__ import annotations

import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Float64MultiArray, String

from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import MissingMessagePackage
from liquid_ros.ros.image_conversion import compressed_msg_to_rgb, image_msg_to_rgb
from liquid_ros.runtime.config import PolicyNodeConfig
from liquid_ros.runtime.health import pilot_health, startup_health
from liquid_ros.runtime.stacks import StackConversionError


class PilotInputs:
    """Latest inputs for a pilot that may not exist yet.

    Args:
        config: The node's configuration (compressed images, resize method).
        log: Logger with ``warning(text, throttle_duration_sec=...)``.
    """

    def __init__(self, config: PolicyNodeConfig, log: Any) -> None:
        self.config, self.log = config, log
        self.pilot: Any = None
        self.image_size = (64, 64)
        self.staged: dict[str, tuple[Any, float]] = {}
        self.rejected = {"image": 0, "odom": 0, "leader": 0}

    def subscribe(self, node: Any, config: PolicyNodeConfig, now: Any, on_odom: Any
                  ) -> list[Any]:
        """Create the node's input subscriptions (sensor-data QoS); returns them.

        ``now()`` gives the receive time; ``on_odom(msg)`` handles the own odometry (the node
        ticks on the first one).
        """
        self.config = config
        img_type = CompressedImage if config.compressed else Image
        subs = [node.create_subscription(img_type, config.image_topic,
                                         lambda msg: self.image(msg, now()), m.SENSOR_QOS),
                node.create_subscription(Odometry, config.odom_topic, on_odom, m.SENSOR_QOS)]
        if config.use_leader:
            subs.append(node.create_subscription(
                Odometry, config.leader_odom_topic,
                lambda msg: self.odom(msg, now(), "leader"), m.SENSOR_QOS))
        return subs

    def install(self, pilot: Any, image_size: tuple[int, int]) -> None:
        """Start feeding ``pilot``, first with what arrived while it loaded."""
        self.pilot, self.image_size = pilot, tuple(image_size)
        staged, self.staged = self.staged, {}
        for name, (value, t) in staged.items():
            (self.image if name == "image" else self._store)(value, t, name)

    @property
    def first_odom(self) -> Any:
        """The newest odometry sample received before the pilot existed, or None."""
        return self.staged.get("odom", ((None, 0.0), 0.0))[0][0]

    def image(self, msg: Any, now: float, _name: str = "image") -> None:
        """A camera message received at ``now`` (decoded once the policy's size is known)."""
        if self.pilot is None:
            self.staged["image"] = (msg, now)
            return
        try:
            conv = compressed_msg_to_rgb if self.config.compressed else image_msg_to_rgb
            self.pilot.set_image(conv(msg, *self.image_size, self.config.resize_method), now)
        except ValueError as exc:
            self.reject("image", exc)

    def odom(self, msg: Any, now: float, name: str = "odom") -> bool:
        """An Odometry message (``odom`` or ``leader``) received at ``now``; False if rejected."""
        try:
            st = msg.header.stamp  # the pilot predicts the state over its age (latency)
            self._store((m.odom_from_msg(msg), st.sec + st.nanosec * 1e-9), now, name)
        except ValueError as exc:
            self.reject(name, exc)
            return False
        return True

    def _store(self, sample: Any, now: float, name: str) -> None:
        if self.pilot is None:
            self.staged[name] = (sample, now)
        else:
            setter = self.pilot.set_odom if name == "odom" else self.pilot.set_leader
            setter(sample[0], now, stamp=sample[1])

    def reject(self, which: str, exc: Exception) -> None:
        """Count and log (throttled) an input that could not be used."""
        self.rejected[which] += 1
        self.log.warning(f"rejected {which}: {exc}", throttle_duration_sec=2.0)


class PilotOutputs:
    """The node's publishers for commands, raw actions, safety status and diagnostics."""

    def __init__(self, node: Any, config: PolicyNodeConfig) -> None:
        self.node, self.config = node, config
        try:  # before any publisher: attitude/rates need mavros_msgs
            cmd_type = m.command_type(config.output_type)
        except MissingMessagePackage as exc:
            node.get_logger().error(f"output_type {config.output_type}: {exc}")
            raise
        self.pubs = {
            "cmd": node.create_publisher(cmd_type, config.cmd_topic, m.COMMAND_QOS),
            "nominal": node.create_publisher(Float64MultiArray, "~/action_nominal",
                                             m.STATUS_QOS),
            "status": node.create_publisher(String, "~/safety_status", m.STATUS_QOS),
            "diag": node.create_publisher(DiagnosticArray, "/diagnostics", m.STATUS_QOS)}
        self._diag_t = (0.0, 0)  # (wall time, tick count) at the last diagnostics

    def command(self, res: Any) -> None:
        """Publish a pilot :class:`~liquid_ros.runtime.command.Command`."""
        stamp, cfg = self.node.get_clock().now().to_msg(), self.config
        try:
            msg = m.command_msg(cfg.output_type, stamp, cfg.frame_id, res.wrench, res.accel,
                                res.yaw_rate, res.values)
        except StackConversionError as exc:  # never publish an invalid setpoint
            self.node.get_logger().error(f"command not sent: {exc}", throttle_duration_sec=2.0)
        else:
            self.pubs["cmd"].publish(msg)
        self.pubs["nominal"].publish(Float64MultiArray(data=res.action_nominal.tolist()))
        self.pubs["status"].publish(m.json_msg(res.status))

    def diagnostics(self, mode: str, pilot: Any, startup_error: str,
                    status: dict[str, Any], rejected: dict[str, int], now: float) -> None:
        """Publish one /diagnostics status of the control loop (:mod:`runtime.health`)."""
        if pilot is None:
            level, values = startup_health(mode, startup_error)
        else:
            wall, (t0, n0) = time.monotonic(), self._diag_t
            ticks = pilot.counters["ticks"]
            self._diag_t = (wall, ticks)
            level, values = pilot_health(mode, status, pilot.counters, pilot.ages(now), rejected,
                                         (ticks - n0) / (wall - t0) if t0 else 0.0,
                                         pilot.last_error)
        node = self.node
        self.pubs["diag"].publish(m.diagnostics_msg(
            node.get_clock().now().to_msg(), f"{node.get_name()}: control loop",
            node.get_fully_qualified_name(), level, mode, values))

    def saliency(self, policy: Any, log: Any) -> Any:
        """A SaliencyPublisher when ``publish_saliency`` is set and the policy is torch's."""
        if not self.config.publish_saliency:
            return None
        if not hasattr(policy, "head"):
            log.warning("publish_saliency needs a torch checkpoint (.pt); off")
            return None
        from liquid_ros.ros.saliency_publisher import SaliencyPublisher

        return SaliencyPublisher(self.node, self.config.saliency_every)

    def destroy(self) -> None:
        """Destroy the publishers."""
        for pub in self.pubs.values():
            self.node.destroy_publisher(pub)
        self.pubs = {}
