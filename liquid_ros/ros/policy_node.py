"""policy_node: a managed (lifecycle) node flying a policy through the one Pilot.

Subscribes ``camera/image_raw`` (or CompressedImage), ``odom`` and optionally ``leader/odom``
(sensor-data QoS); publishes the command (``output_type``: ``accel`` = AccelStamped setpoints
for a flight controller, ``wrench`` = body wrench), ``~/action_nominal``, ``~/safety_status``
(JSON) and ``/diagnostics`` (:mod:`liquid_ros.ros.pilot_io`). Services ``~/pause`` (hover) and
``~/emergency_stop`` (land, thrust cut on the ground; latched until deactivate + activate).
All flying is :class:`liquid_ros.runtime.pilot.Pilot`, the one ``liquid-ros eval`` and DAgger
fly from the same ``config/<task>.yaml``. Configure loads it in the background, holding
position meanwhile (:mod:`liquid_ros.ros.warmup`); activate starts the control timer (node
clock: ``use_sim_time`` works); deactivate sends one hover command; ``autostart`` does both.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from std_srvs.srv import SetBool, Trigger

from liquid_ros.control.controller import AccelerationController, ControllerConfig
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.ros.adapter_common import run_node
from liquid_ros.ros.params import (
    dataclass_from_parameters,
    declare_dataclass_parameters,
    validate_update,
)
from liquid_ros.ros.pilot_io import PilotInputs, PilotOutputs
from liquid_ros.ros.usage import print_help_if_asked
from liquid_ros.ros.warmup import PilotStartup
from liquid_ros.runtime.config import (
    POLICY_NODE_RANGES,
    POLICY_NODE_READ_ONLY,
    PilotSettings,
    PolicyNodeConfig,
)
from liquid_ros.safety.config import SafetyConfig

OK = TransitionCallbackReturn.SUCCESS


class PolicyNode(LifecycleNode):
    """Lifecycle node around the Pilot; see the module docstring for its interface."""

    def __init__(self, node_name: str = "policy_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.groups = {"": (PolicyNodeConfig, None), "safety": (SafetyConfig, None),
                       "controller": (ControllerConfig, None)}
        for prefix, (cls, _) in self.groups.items():
            declare_dataclass_parameters(self, cls, prefix, **(
                {"ranges": POLICY_NODE_RANGES, "read_only": POLICY_NODE_READ_ONLY}
                if not prefix else {}))
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.cfg: PolicyNodeConfig = dataclass_from_parameters(self, PolicyNodeConfig)
        self.pilot, self.startup, self.outputs, self.saliency = None, None, None, None
        self.inputs = PilotInputs(self.cfg, self.get_logger())
        self.commands_sent, self._last_status, self._mode = 0, {}, "inactive"
        self.timer, self.diag_timer, self.subs = None, None, []
        self.tick_log: deque[tuple[float, float]] = deque(maxlen=100_000)  # (wall start, compute)
        self.create_service(SetBool, "~/pause", self._on_pause)
        self.create_service(Trigger, "~/emergency_stop", self._on_estop)

    def settings(self) -> PilotSettings:
        """The node's three parameter groups as the pilot's settings."""
        return PilotSettings(*(dataclass_from_parameters(self, cls, prefix)
                               for prefix, (cls, _) in self.groups.items()))

    # lifecycle -------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscriptions and publishers; the policy and kernels load in the background."""
        settings = self.settings()
        cfg = self.cfg = settings.node
        error = f"no file {cfg.checkpoint}" if cfg.checkpoint and not Path(
            cfg.checkpoint).is_file() else ""
        if not error:
            log = self.get_logger()
            self.inputs, self.outputs = PilotInputs(cfg, log), PilotOutputs(self, cfg)
            self.startup = PilotStartup(settings, cfg.warmup_in_background, log.info)
            error = self.startup.error
        if error:
            self.get_logger().error(f"cannot load the policy: {error}")
            self._teardown()
            return TransitionCallbackReturn.FAILURE
        if self.startup.done.is_set():
            self._install()
        self.subs = self.inputs.subscribe(self, cfg, self._now, self._on_odom)
        self.diag_timer = self.create_timer(cfg.diagnostics_period, self._publish_diagnostics)
        return OK

    def _install(self) -> None:
        """Main thread: take the built pilot, feed it what arrived meanwhile."""
        loaded = self.startup.install(self.get_logger())
        self.pilot = loaded.pilot
        self.inputs.install(loaded.pilot, loaded.image_size)
        self.saliency = self.outputs.saliency(loaded.policy, self.get_logger())

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Reset the pilot and start the control timer."""
        if self.pilot is not None:
            self.pilot.reset()
        self.timer = self.create_timer(1.0 / self.cfg.rate_hz, self._on_tick)
        self._mode = "active"
        return OK

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop the control timer after one hover command."""
        self._stop_timer()
        if self.pilot is not None:
            self.pilot.paused = True
            self._publish(self.pilot.tick(self._now()))  # one safe hover command, then silence
            self.pilot.paused = False
        else:
            self._publish(self._hold_tick())
        self._mode = "inactive"
        return OK

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy subscriptions, publishers and timers (also on shutdown)."""
        self._teardown()
        return OK

    on_shutdown = on_cleanup

    def autostart(self) -> bool:
        """Configure and activate when the ``autostart`` parameter is true; True if active."""
        return self.cfg.autostart and self.trigger_configure() == OK \
            and self.trigger_activate() == OK

    # callbacks ---------------------------------------------------------------------------
    def _on_odom(self, msg: Odometry) -> None:
        if self.inputs.odom(msg, self._now()) and self.timer is not None \
                and self.commands_sent == 0:
            self._on_tick()  # the first command goes out with the first state, not a tick later

    def _on_tick(self) -> None:
        start = time.perf_counter()
        if self.pilot is None:
            if not self.startup.done.is_set() or self.startup.error:
                self._publish(self._hold_tick())
                return
            self._install()
        res = self.pilot.tick(self._now())
        self._publish(res)
        self.tick_log.append((start, time.perf_counter() - start))
        if res is None:  # no state yet
            return
        self._last_status = res.status
        if self.saliency is not None:
            self.saliency.update(self.pilot, self.get_clock().now().to_msg())
        self._log_mode(res.mode, res.reason)

    def _log_mode(self, mode: str, reason: str, error: bool = False) -> None:
        if mode != self._mode:  # rclpy fixes a severity per call site: one line each
            log, text = self.get_logger(), f"mode {self._mode} -> {mode}"
            text += f" ({reason})" if reason else ""
            if error:
                log.error(text)
            elif mode in ("policy", "warmup"):
                log.info(text)
            else:
                log.warning(text)
            self._mode = mode

    def _on_pause(self, req: SetBool.Request, resp: SetBool.Response) -> SetBool.Response:
        resp.success = self.pilot is not None  # else not configured, or holding while it starts
        if resp.success:
            self.pilot.paused = bool(req.data)
        resp.message = "paused (hover)" if req.data else "resumed" if resp.success \
            else "not configured"
        return resp

    def _on_estop(self, req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        resp.success = self.pilot is not None or self.startup is not None
        resp.message = "landing; deactivate and activate to clear" if resp.success \
            else "not configured"
        if self.pilot is not None:
            self.pilot.estop = True
        elif self.startup is not None:
            self.startup.hold.landing = True
        if resp.success:
            self.get_logger().error("EMERGENCY STOP: landing, thrust cut on the ground")
        return resp

    def _check_parameters(self, params: list[Any]) -> SetParametersResult:
        reason = validate_update(self, params, self.groups, {"": POLICY_NODE_RANGES})
        return SetParametersResult(successful=reason is None, reason=reason or "")

    def _apply_parameters(self, params: list[Any]) -> None:
        from liquid_ros.safety.filter import SafetyFilter

        settings = self.settings()
        self.cfg = settings.node
        if self.pilot is not None:
            self.pilot.reconfigure(settings.node, SafetyFilter(settings.safety, CF2X),
                                   AccelerationController(CF2X, settings.controller))

    # helpers ---------------------------------------------------------------------------
    def _now(self) -> float:  # the node clock (sim time with use_sim_time), s
        return self.get_clock().now().nanoseconds * 1e-9

    def _hold_tick(self) -> Any:
        """Start-up (or failed start-up) command: hold the first position, or land."""
        res = self.startup.command(self.inputs.first_odom)
        if res is not None:
            self._log_mode(res.mode, res.reason, error=bool(self.startup.error))
        return res

    def _publish(self, res: Any) -> None:
        if res is None:  # no state yet: a command needs one
            return
        self.commands_sent += 1
        if self.commands_sent == 1 and self.startup is not None:
            self.startup.start_now()  # the first hold is out: now the heavy loading
        self.outputs.command(res)

    def _publish_diagnostics(self) -> None:
        self.outputs.diagnostics(self._mode, self.pilot, self.startup.error if self.startup
                                 else "", self._last_status, self.inputs.rejected, self._now())

    def _stop_timer(self, name: str = "timer") -> None:
        if getattr(self, name) is not None:
            self.destroy_timer(getattr(self, name))
            setattr(self, name, None)

    def _teardown(self) -> None:
        self._stop_timer()
        self._stop_timer("diag_timer")
        for sub in self.subs:
            self.destroy_subscription(sub)
        for owner in (o for o in (self.outputs, self.saliency) if o is not None):
            owner.destroy()
        self.subs, self.outputs, self.pilot, self.saliency = [], None, None, None
        self.startup, self._mode = None, "inactive"


def main(args: list[str] | None = None) -> None:
    """Console script ``policy_node``: configure and activate (``autostart``), then spin."""
    if not print_help_if_asked(args, "policy_node", __doc__):
        raise SystemExit(run_node("policy_node", PolicyNode, args, start=PolicyNode.autostart))


if __name__ == "__main__":
    main()
