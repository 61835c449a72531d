"""policy_node: a managed (lifecycle) node flying a LiquidPolicy behind the SafetyFilter.

Topics (relative, remappable): subscribes ``camera/image_raw`` (Image, or CompressedImage with
``compressed``), ``odom`` and optionally ``leader/odom`` with sensor-data QoS; publishes
``cmd_wrench`` (or the ``output_type`` message), ``~/action_nominal`` (Float64MultiArray, the raw
policy action), ``~/safety_status`` (std_msgs/String holding JSON: mode, reason, the stage-1 and
stage-2 SafetyStatus dicts with active constraints, intervention size and infeasible flag) and
``/diagnostics``. Services: ``~/pause`` (SetBool: true pauses, the drone hovers in place) and
``~/emergency_stop`` (Trigger: land, then zero thrust below ``ground_altitude``; latched until
the node is deactivated and activated again).

Lifecycle: configure loads the policy and creates subscriptions and publishers; activate resets
the hidden state and starts the control timer (node clock, so ``use_sim_time`` works); deactivate
stops it after publishing one hover command; cleanup destroys everything. Inactive nodes publish
no commands. ``autostart`` (default true) configures and activates at start.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import SetBool, Trigger

from liquid_ros.control.controller import AccelerationController, ControllerConfig
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.ros import messages as m
from liquid_ros.ros.config import POLICY_NODE_RANGES, POLICY_NODE_READ_ONLY, PolicyNodeConfig
from liquid_ros.ros.image_conversion import compressed_msg_to_rgb, image_msg_to_rgb
from liquid_ros.ros.params import (
    dataclass_from_parameters,
    declare_dataclass_parameters,
    validate_update,
)
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.ros.warmup import HoldPilot, Startup, warm_kernels
from liquid_ros.safety.config import SafetyConfig

if TYPE_CHECKING:
    from liquid_ros.ros.control_loop import PolicyLoop, TickResult
    from liquid_ros.ros.saliency_publisher import SaliencyPublisher
    from liquid_ros.safety.filter import SafetyFilter

OK = TransitionCallbackReturn.SUCCESS


class PolicyNode(LifecycleNode):
    """Lifecycle node wrapping ``PolicyLoop``; see the module docstring for its interface."""

    def __init__(self, node_name: str = "policy_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.groups = {"": (PolicyNodeConfig, None), "safety": (SafetyConfig, None),
                       "controller": (ControllerConfig, None)}
        declare_dataclass_parameters(self, PolicyNodeConfig, ranges=POLICY_NODE_RANGES,
                                     read_only=POLICY_NODE_READ_ONLY)
        declare_dataclass_parameters(self, SafetyConfig, "safety")
        declare_dataclass_parameters(self, ControllerConfig, "controller")
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.cfg: PolicyNodeConfig = dataclass_from_parameters(self, PolicyNodeConfig)
        self.loop: PolicyLoop | None = None
        self.startup: Startup | None = None
        self.hold_pilot: HoldPilot | None = None
        self.commands_sent = 0
        self._staged: dict[str, tuple[Any, float]] = {}  # inputs received before the loop
        self._last_status: dict[str, Any] = {}
        self.saliency: SaliencyPublisher | None = None
        self.timer = self.diag_timer = None
        self.subs: list[Any] = []
        self.pubs: dict[str, Any] = {}
        self.rejected = {"image": 0, "odom": 0, "leader": 0}
        self.tick_log: deque[tuple[float, float]] = deque(maxlen=100_000)  # (wall start, compute)
        self._mode = "inactive"
        self._diag_t = (0.0, 0)
        self.create_service(SetBool, "~/pause", self._on_pause)
        self.create_service(Trigger, "~/emergency_stop", self._on_estop)

    # lifecycle -------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Create subscriptions and publishers; load the policy and kernels in the background.

        A missing checkpoint file fails here. Loading (torch, the checkpoint, compiling the
        numba kernels) runs in a thread so the node commands a position hold within a second
        of its first odometry; with ``warmup_in_background`` false it blocks instead, and a
        checkpoint that cannot be loaded fails the transition.
        """
        cfg = self.cfg = dataclass_from_parameters(self, PolicyNodeConfig)
        if cfg.checkpoint and not Path(cfg.checkpoint).is_file():
            self.get_logger().error(f"cannot load the policy: no file {cfg.checkpoint}")
            return TransitionCallbackReturn.FAILURE
        # Parameters are read here, on the executor's thread; the start-up thread gets values.
        safety_cfg = dataclass_from_parameters(self, SafetyConfig, "safety")
        controller = self._make_controller()
        self.hold_pilot = HoldPilot(CF2X, controller)  # holds with its own copy
        self.startup = Startup(lambda: self._build(cfg, safety_cfg, controller),
                               cfg.warmup_in_background,
                               log=self.get_logger().info, delay=1.0)
        if self.startup.done.is_set():
            if self.startup.error:
                self.get_logger().error(f"cannot load the policy: {self.startup.error}")
                return TransitionCallbackReturn.FAILURE
            self._install()
        img_type = CompressedImage if cfg.compressed else Image
        self.subs = [
            self.create_subscription(img_type, cfg.image_topic, self._on_image, m.SENSOR_QOS),
            self.create_subscription(Odometry, cfg.odom_topic, self._on_odom, m.SENSOR_QOS)]
        if cfg.use_leader:
            self.subs.append(self.create_subscription(
                Odometry, cfg.leader_odom_topic, self._on_leader, m.SENSOR_QOS))
        self.pubs = {
            "cmd": self.create_publisher(m.command_type(cfg.output_type), cfg.cmd_topic,
                                         m.COMMAND_QOS),
            "nominal": self.create_publisher(Float64MultiArray, "~/action_nominal",
                                             m.STATUS_QOS),
            "status": self.create_publisher(String, "~/safety_status", m.STATUS_QOS),
            "diag": self.create_publisher(DiagnosticArray, "/diagnostics", m.STATUS_QOS)}
        self.diag_timer = self.create_timer(cfg.diagnostics_period, self._publish_diagnostics)
        return OK

    def _build(self, cfg: PolicyNodeConfig, safety_cfg: SafetyConfig,
               controller: AccelerationController) -> dict[str, Any]:
        """Start-up work, off the main thread: torch, the policy, its loop, the kernels."""
        import torch

        from liquid_ros.ros.control_loop import PolicyLoop
        from liquid_ros.ros.policy_source import (
            load_or_init_policy,
            policy_image_size,
            policy_period,
        )
        from liquid_ros.safety.filter import SafetyFilter

        torch.set_num_threads(cfg.torch_threads)
        policy, source, warning = load_or_init_policy(cfg.checkpoint, cfg.task)
        size, period = policy_image_size(policy), policy_period(policy)
        loop = PolicyLoop(policy, SafetyFilter(safety_cfg, CF2X), controller, cfg,
                          CF2X, policy_period=period)
        warm_kernels(policy, lambda: SafetyFilter(safety_cfg, CF2X), size)
        return {"loop": loop, "source": source, "warning": warning, "image_size": size,
                "period": period, "torch_policy": hasattr(policy, "head")}

    def _install(self) -> None:
        """Main thread: take the built loop, feed it what arrived meanwhile."""
        b, cfg, log = self.startup.result, self.cfg, self.get_logger()
        if b["warning"]:
            log.warning(b["warning"])
        log.info(f"flying {b['source']} at {cfg.rate_hz} Hz")
        if b["period"] > 1.0 / cfg.rate_hz + 1e-9:
            log.info(f"policy steps every {b['period']:.3f} s as trained; the filter and "
                     "controller run every tick")
        self.image_size, self.loop = b["image_size"], b["loop"]
        self.loop.reset()
        staged, self._staged = self._staged, {}
        for name, (value, t) in staged.items():
            (self._on_image if name == "image" else self._store)(value, t, name)
        from liquid_ros.ros.saliency_publisher import SaliencyPublisher

        saliency = cfg.publish_saliency and b["torch_policy"]
        if cfg.publish_saliency and not saliency:
            log.warning("publish_saliency needs a torch checkpoint (.pt); off")
        self.saliency = SaliencyPublisher(self, cfg.saliency_every) if saliency else None

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Reset the hidden state and start the control timer."""
        if self.loop is not None:
            self.loop.reset()
        self.timer = self.create_timer(1.0 / self.cfg.rate_hz, self._on_tick)
        self._mode = "active"
        return OK

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the control timer after one hover command."""
        self._stop_timer()
        if self.loop is not None:
            self.loop.paused = True
            self._publish(self.loop.tick(self._now()))  # one safe hover command, then silence
            self.loop.paused = False
        else:
            self._publish(self._hold_tick())
        self._mode = "inactive"
        return OK

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy subscriptions, publishers and timers."""
        self._teardown()
        return OK

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything (as cleanup)."""
        self._teardown()
        return OK

    def autostart(self) -> bool:
        """Configure and activate when the ``autostart`` parameter is true; True if active."""
        if not self.cfg.autostart:
            return False
        return self.trigger_configure() == OK and self.trigger_activate() == OK

    # callbacks ---------------------------------------------------------------------------
    def _on_image(self, msg: Any, now: float | None = None, _name: str = "image") -> None:
        now = self._now() if now is None else now
        if self.loop is None:  # size unknown until the policy is loaded: decode it then
            self._staged["image"] = (msg, now)
            return
        h, w = self.image_size
        try:
            conv = compressed_msg_to_rgb if self.cfg.compressed else image_msg_to_rgb
            rgb = conv(msg, h, w, self.cfg.resize_method)
        except ValueError as exc:
            self._reject("image", exc)
            return
        self.loop.set_image(rgb, now)

    def _store(self, sample: Any, now: float, name: str) -> None:
        """Hand an (OdomSample, header stamp s) pair to the loop, or keep it until it exists."""
        if self.loop is None:
            self._staged[name] = (sample, now)
        elif name == "odom":
            self.loop.set_odom(sample[0], now, stamp=sample[1])
        else:
            self.loop.set_leader(sample[0], now, stamp=sample[1])

    @staticmethod
    def _stamped(msg: Odometry) -> tuple[m.OdomSample, float]:
        st = msg.header.stamp  # the loop predicts the state over its age (latency)
        return m.odom_from_msg(msg), st.sec + st.nanosec * 1e-9

    def _on_odom(self, msg: Odometry) -> None:
        try:
            self._store(self._stamped(msg), self._now(), "odom")
        except ValueError as exc:
            self._reject("odom", exc)
            return
        if self.timer is not None and self.commands_sent == 0:
            self._on_tick()  # the first command goes out with the first state, not a tick later

    def _on_leader(self, msg: Odometry) -> None:
        try:
            self._store(self._stamped(msg), self._now(), "leader")
        except ValueError as exc:
            self._reject("leader", exc)

    def _on_tick(self) -> None:
        start = time.perf_counter()
        if self.loop is None:
            if not self.startup.done.is_set() or self.startup.error:
                self._publish(self._hold_tick())
                return
            self._install()
        res = self.loop.tick(self._now())
        self._publish(res)
        self.tick_log.append((start, time.perf_counter() - start))
        if res is None:  # no state yet
            return
        self._last_status = res.status
        if self.saliency is not None:
            self.saliency.update(self.loop, self.get_clock().now().to_msg())
        if res.mode != self._mode:
            text = f"mode {self._mode} -> {res.mode}" + (f" ({res.reason})" if res.reason else "")
            if res.mode == "policy":
                self.get_logger().info(text)
            else:
                self.get_logger().warning(text)
            self._mode = res.mode

    def _on_pause(self, req: SetBool.Request, resp: SetBool.Response) -> SetBool.Response:
        if self.loop is None:  # not configured, or still starting (holding anyway)
            resp.success, resp.message = False, "not configured"
            return resp
        self.loop.paused = bool(req.data)
        resp.success, resp.message = True, "paused (hover)" if req.data else "resumed"
        return resp

    def _on_estop(self, req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        if self.loop is None and self.hold_pilot is None:
            resp.success, resp.message = False, "not configured"
            return resp
        if self.loop is None:
            self.hold_pilot.landing = True
        else:
            self.loop.estop = True
        self.get_logger().error("EMERGENCY STOP: landing, thrust cut on the ground")
        resp.success, resp.message = True, "landing; deactivate and activate to clear"
        return resp

    def _check_parameters(self, params: list[Any]) -> SetParametersResult:
        ranges = {"": POLICY_NODE_RANGES}
        reason = validate_update(self, params, self.groups, ranges)
        return SetParametersResult(successful=reason is None, reason=reason or "")

    def _apply_parameters(self, params: list[Any]) -> None:
        self.cfg = dataclass_from_parameters(self, PolicyNodeConfig)
        if self.loop is not None:
            yaw = self.loop.controller.yaw_des
            self.loop.config, self.loop.safety = self.cfg, self._make_safety()
            self.loop.controller = self._make_controller()
            self.loop.controller.reset(yaw)

    # helpers ---------------------------------------------------------------------------
    def _make_safety(self) -> SafetyFilter:
        from liquid_ros.safety.filter import SafetyFilter

        return SafetyFilter(dataclass_from_parameters(self, SafetyConfig, "safety"), CF2X)

    def _make_controller(self) -> AccelerationController:
        return AccelerationController(
            CF2X, dataclass_from_parameters(self, ControllerConfig, "controller"))

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _reject(self, which: str, exc: Exception) -> None:
        self.rejected[which] += 1
        self.get_logger().warning(f"rejected {which}: {exc}", throttle_duration_sec=2.0)

    def _hold_tick(self) -> TickResult | None:
        """Start-up (or failed start-up) command: hold the first position, or land."""
        from liquid_ros.ros.control_loop import TickResult

        failed = bool(self.startup is not None and self.startup.error)
        self.hold_pilot.landing |= failed
        odom = self._staged.get("odom", ((None, 0.0), 0.0))[0][0]
        dt = 1.0 / self.cfg.rate_hz
        wrench = self.hold_pilot.tick(odom, dt)
        if wrench is None:
            return None
        mode = "land" if self.hold_pilot.landing else "warmup"
        reason = f"start-up failed: {self.startup.error}" if failed else "loading the policy"
        if self._mode != mode:
            log = self.get_logger().error if failed else self.get_logger().info
            log(f"mode {mode}: {reason}")
            self._mode = mode
        return TickResult(wrench, self.hold_pilot.accel.copy(), 0.0, np.zeros(4, np.float32),
                          mode, reason, dt, {"mode": mode, "reason": reason})

    def _publish(self, res: TickResult | None) -> None:
        if res is None or res.wrench is None:  # no state yet: a command needs one
            return
        self.commands_sent += 1
        if self.commands_sent == 1 and self.startup is not None:
            self.startup.start_now()  # the first hold is out: now the heavy loading
        stamp = self.get_clock().now().to_msg()
        self.pubs["cmd"].publish(m.command_msg(self.cfg.output_type, stamp, self.cfg.frame_id,
                                               res.wrench, res.accel, res.yaw_rate))
        self.pubs["nominal"].publish(Float64MultiArray(data=res.action_nominal.astype(float)
                                                       .tolist()))
        self.pubs["status"].publish(m.json_msg(res.status))

    def _publish_diagnostics(self) -> None:
        if self.loop is None:
            failed = bool(self.startup and self.startup.error)
            self.pubs["diag"].publish(m.diagnostics_msg(
                self.get_clock().now().to_msg(), f"{self.get_name()}: control loop",
                self.get_fully_qualified_name(), 2 if failed else 1, self._mode,
                {"mode": self._mode, "startup_error": self.startup.error if failed else ""}))
            return
        now, wall = self._now(), time.monotonic()
        t0, n0 = self._diag_t
        ticks = self.loop.counters["ticks"]
        rate = (ticks - n0) / (wall - t0) if t0 else 0.0
        self._diag_t = (wall, ticks)
        ages = self.loop.ages(now)
        level = 0 if self._mode in ("policy", "active") else (
            1 if self._mode in ("hover", "inactive") else 2)
        status = self._last_status
        violated = list(status.get("violated") or [])
        if violated:  # the state is inside a forbidden set now: an error, whatever the command
            level = 2
        barrier_values = (status.get("stage1") or {}).get("barrier_values") or {}
        values = {"mode": self._mode, "rate_hz_wall": f"{rate:.1f}",
                  "violated": ",".join(violated),
                  **{f"barrier_{k}": f"{v:.3f}" for k, v in barrier_values.items()
                     if isinstance(v, (int, float))},
                  **{f"{k}_age_s": f"{v:.3f}" for k, v in ages.items()},
                  **self.loop.counters, **{f"rejected_{k}": v for k, v in self.rejected.items()},
                  "last_error": self.loop.last_error}
        self.pubs["diag"].publish(m.diagnostics_msg(
            self.get_clock().now().to_msg(), f"{self.get_name()}: control loop",
            self.get_fully_qualified_name(), level, self._mode, values))

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.destroy_timer(self.timer)
            self.timer = None

    def _teardown(self) -> None:
        self._stop_timer()
        if self.diag_timer is not None:
            self.destroy_timer(self.diag_timer)
            self.diag_timer = None
        for sub in self.subs:
            self.destroy_subscription(sub)
        for pub in self.pubs.values():
            self.destroy_publisher(pub)
        if self.saliency is not None:
            self.destroy_publisher(self.saliency.pub)
        self.subs, self.pubs, self.loop, self.saliency = [], {}, None, None
        self.startup, self._staged = None, {}
        self._mode = "inactive"


def main(args: list[str] | None = None) -> None:
    """Console script ``policy_node``."""
    if print_help_if_asked(args, "policy_node", __doc__):
        return
    rclpy.init(args=args)
    node = PolicyNode()
    try:
        node.autostart()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # Launch forwards SIGINT on top of the terminal's own: ignore repeats while tearing down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
