"""The policy node's control tick, free of ROS: latest-value inputs, watchdog, fallbacks.

``PolicyLoop`` holds the newest valid image and odometry with their receive times, and on each
``tick(now)`` produces a finite, bounded body wrench:

- ``policy``: inputs fresh -> LiquidPolicy.step (dt = measured elapsed time, clamped to
  ``max_dt``) -> SafetyFilter stage 1 (acceleration barriers) -> AccelerationController ->
  SafetyFilter stage 2 (actuator limits).
- ``hover``: an input older than ``input_timeout``, paused, a bad tick (time went backwards),
  or a failure anywhere in the chain -> hold the position latched on entry (``hover_accel``)
  through the same filter and controller; never a zero wrench.
- ``land``: inputs older than ``land_timeout`` or emergency stop -> ``land_accel`` (stage 1
  is bypassed: its altitude floor would forbid landing); an emergency-stopped drone below
  ``ground_altitude`` gets zero thrust (mode ``grounded``).
- ``inactive``: returns no command (lifecycle node not active).
- no odometry yet: :meth:`PolicyLoop.tick` returns ``None`` (no command) until the first
  odometry arrives: a hover or land command needs a state to hold, and one built from no state
  (the origin at z = 0) would be a guess. The node publishes nothing meanwhile; at the wrench
  level the drone is then still on the ground or held by its own stack.

Latency: everything after the policy (stage 1, hover, controller) works on the state the
command will act on, predicted from the odometry over its age (``now`` minus its header stamp,
or its receive time) under the commands sent since (accelerations and body torques,
:func:`liquid_ros.safety.robust.predict_full_state`). Stage 1 also bounds the yaw rate near the
barriers (``SafetyFilter.filter_action``). The controller is told the thrust stage 2
finally allowed, so its disturbance observer models what was really sent.

Every output is checked finite and clipped to the actuator box last, whatever went before.
The module imports no ROS (odometry samples are duck-typed), so benchmarks fly it directly.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from liquid_ros.control.controller import (
    ACTION_HIGH,
    ACTION_LOW,
    AccelerationController,
    hover_accel,
    land_accel,
)
from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.control.rotation import yaw_from_quat
from liquid_ros.ros.config import PolicyNodeConfig
from liquid_ros.safety.robust import predict_full_state, predict_state

if TYPE_CHECKING:  # messages imports rclpy; the loop itself must not
    from liquid_ros.ros.messages import OdomSample

F32_MAX = float(np.finfo(np.float32).max)
"""Largest float32: raw policy outputs are clipped to it before ``action_nominal`` is cast."""
MAX_PREDICTION = 0.2
"""Longest odometry age (s) the loop predicts over; older samples are stale anyway."""
TORQUE_LAG = 0.069
"""Rotor time constant (s) the prediction assumes: the Crazyflie's rising rotor-speed time
constant (Eschmann et al. 2024), as the simulator models it."""


@dataclass
class TickResult:
    """What one tick produced.

    Attributes:
        wrench: (4,) thrust N, body torques N m (FLU); finite and within actuator limits.
        accel: (3,) world acceleration sent to the controller (after stage 1), m/s^2.
        yaw_rate: Commanded yaw rate (rad/s).
        action_nominal: (4,) raw policy action clipped to the float32 range (a 1e300 output is
            reported as 3.4e38, never inf), or zeros when the policy did not run.
        mode: policy, hover, land, estop or grounded.
        reason: Why the mode is not ``policy`` ('' otherwise).
        dt: Elapsed time given to the policy and controller (s).
        status: JSON-ready safety report: ``stage1`` and ``stage2`` SafetyStatus dicts (stage
            1 holds ``barrier_values``, each barrier's signed value, negative = inside a
            forbidden set), ``violated`` (names of the barriers violated now), mode, reason,
            ``odom_age`` (s) and the ``disturbance`` estimate (m/s^2).
    """

    wrench: np.ndarray
    accel: np.ndarray
    yaw_rate: float
    action_nominal: np.ndarray
    mode: str
    reason: str
    dt: float
    status: dict[str, Any] = field(default_factory=dict)


def _stamp(stamp: float | None, now: float) -> float:
    """A plausible measurement time: ``stamp`` within ``[now - MAX_PREDICTION, now]``, or now."""
    if stamp is None or not math.isfinite(stamp) or not now - MAX_PREDICTION <= stamp <= now:
        return now
    return float(stamp)


def _status_dict(status: Any) -> dict[str, Any]:
    if status is None:
        return {}
    if hasattr(status, "to_dict"):
        return status.to_dict()
    return dict(status)


class PolicyLoop:
    """Latest-value inputs and the per-tick command pipeline.

    Args:
        policy: Object with ``step(image (H,W,3) uint8, state (10,), dt) -> (4,)`` and
            ``reset()`` (a LiquidPolicy).
        safety: A SafetyFilter (``filter_accel``, ``filter_wrench``).
        controller: An AccelerationController.
        config: Node configuration (timeouts, max_dt, ground altitude).
        params: Quadrotor parameters (actuator box for the final check).
        policy_period: Seconds between policy steps (the rate it was trained at, see
            :func:`liquid_ros.ros.policy_source.policy_period`); between them the last action is
            held while the filter and controller run every tick. 0 steps it every tick.
        torque_lag: Rotor time constant (s) used to predict the attitude over the odometry's
            age (0: torques act at once).
    """

    def __init__(self, policy: Any, safety: Any, controller: AccelerationController,
                 config: PolicyNodeConfig, params: QuadrotorParams = CF2X,
                 policy_period: float = 0.0, torque_lag: float = TORQUE_LAG) -> None:
        self.policy, self.safety, self.controller = policy, safety, controller
        self.config, self.params = config, params
        self.max_torque = np.asarray(params.max_torque, float)
        self.image: np.ndarray | None = None
        self.odom: OdomSample | None = None
        self.leader: OdomSample | None = None
        self.t_image = self.t_odom = self.t_leader = -math.inf
        self.stamp_odom = self.stamp_leader = -math.inf  # measurement times (header stamps)
        # (time sent, acceleration, body torque) of recent commands, for the prediction
        self._sent: deque[tuple[float, np.ndarray, np.ndarray]] = deque(maxlen=32)
        self._now = 0.0  # time of the tick being run (s)
        self.paused = False
        self.estop = False
        self.last_policy_input: tuple[Any, ...] | None = None
        self.counters = {"ticks": 0, "policy_ticks": 0, "policy_steps": 0, "fallback_ticks": 0,
                         "dt_clamped": 0, "time_jumps": 0, "interventions": 0, "infeasible": 0,
                         "errors": 0}
        self.last_error = ""
        self._t_last: float | None = None
        self._t_start: float | None = None
        self._hold: np.ndarray | None = None
        self._yaw_synced = False
        self.policy_period = max(0.0, float(policy_period))
        self.torque_lag = max(0.0, float(torque_lag))
        self._action: np.ndarray | None = None  # last policy action, held between steps
        self._since_step = 0.0  # time since the last policy step (s)

    def reset(self) -> None:
        """Forget the hidden state, the hold point and the tick clock (on activate)."""
        self.policy.reset()
        if hasattr(self.safety, "reset"):
            self.safety.reset()
        self._sync_yaw()
        self._t_last, self._hold, self._t_start, self._action = None, None, None, None
        self._sent.clear()
        self.estop = False

    def set_image(self, image: np.ndarray, now: float) -> None:
        """Store an RGB image (H, W, 3) uint8 already at the policy's input size."""
        self.image, self.t_image = image, now

    def set_odom(self, odom: OdomSample, now: float, stamp: float | None = None) -> None:
        """Store a validated odometry sample received at ``now``, measured at ``stamp`` (s).

        ``stamp`` (the message's header stamp, on the node clock) lets stage 1 predict over
        the full input latency. None, or a stamp after ``now`` or more than
        ``MAX_PREDICTION`` before it (an unset stamp or another clock), takes the receive time.
        """
        self.odom, self.t_odom = odom, now
        self.stamp_odom = _stamp(stamp, now)

    def set_leader(self, odom: OdomSample, now: float, stamp: float | None = None) -> None:
        """Store a validated leader odometry sample (``stamp`` as in :meth:`set_odom`)."""
        self.leader, self.t_leader = odom, now
        self.stamp_leader = _stamp(stamp, now)

    def ages(self, now: float) -> dict[str, float]:
        """Seconds since each input was received (inf if never)."""
        return {"image": now - self.t_image, "odom": now - self.t_odom,
                "leader": now - self.t_leader}

    def _stale(self, now: float) -> tuple[float, str]:
        worst, why = 0.0, ""
        names = ("image", "odom", "leader") if self.config.use_leader else ("image", "odom")
        if self._t_start is None:
            self._t_start = now
        for name in names:
            age = self.ages(now)[name]
            if math.isinf(age):  # never received: count from activation, not from -inf
                age = now - self._t_start
            if age < 0.0:  # the clock went backwards (sim reset): the buffer is not current
                age = math.inf
            if age > worst:
                worst, why = age, name
        return worst, why

    def tick(self, now: float) -> TickResult | None:
        """One control step at time ``now`` (s, node clock).

        Returns:
            The command, or None before the first odometry (publish nothing then).
        """
        self.counters["ticks"] += 1
        cfg = self.config
        reason = ""
        if self._t_last is None:
            dt = 1.0 / cfg.rate_hz
        else:
            dt = now - self._t_last
        if not math.isfinite(dt) or dt <= 0.0:
            self.counters["time_jumps"] += 1
            reason, dt = "time jumped backwards", 1.0 / cfg.rate_hz
        elif dt > cfg.max_dt:
            self.counters["dt_clamped"] += 1
            dt = cfg.max_dt
        self._t_last = now
        age, which = self._stale(now)
        if self.odom is None:
            self.counters["fallback_ticks"] += 1
            return None
        self._now = now
        missing = [n for n, v in (("image", self.image), ("odom", self.odom)) if v is None]
        if self.config.use_leader and self.leader is None:
            missing.append("leader odom")
        if self.estop:
            mode, reason = "estop", "emergency stop"
        elif age > cfg.land_timeout:
            mode, reason = "land", f"no valid {which} for {age:.2f} s"
        elif age > cfg.input_timeout:
            mode, reason = "hover", f"no valid {which} for {age:.2f} s"
        elif missing:
            mode, reason = "hover", f"waiting for the first {', '.join(missing)}"
        elif self.paused:
            mode, reason = "hover", "paused"
        elif reason:
            mode = "hover"
        else:
            mode = "policy"
        try:
            return self._run(mode, reason, dt)
        except Exception as exc:  # noqa: BLE001 - a crash here would drop the drone
            self.counters["errors"] += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if mode == "policy":
                try:
                    return self._run("hover", f"policy chain failed: {self.last_error}", dt)
                except Exception as exc2:  # noqa: BLE001
                    self.last_error = f"{type(exc2).__name__}: {exc2}"
            return self._last_resort(dt)

    def _sync_yaw(self) -> None:
        # The controller integrates the yaw-rate command from a yaw setpoint; starting it at
        # 0 instead of the robot's heading would turn the robot (and its camera) on activation.
        self._yaw_synced = self.odom is not None
        self.controller.reset(
            0.0 if self.odom is None else yaw_from_quat(self.odom.quaternion))

    def _predicted(self) -> tuple[tuple[np.ndarray, ...], Any, Any, float]:
        """Own state (pos, vel, quat, omega) and leader state when the command acts; odom age."""
        odom, now = self.odom, self._now
        age = min(max(now - self.stamp_odom, 0.0), MAX_PREDICTION)
        cmds = [(now - t, a, tau) for t, a, tau in self._sent if t < now]
        own = predict_full_state(odom.position, odom.velocity, odom.quaternion,
                                 odom.angular_velocity, age, cmds, self.params.inertia,
                                 MAX_PREDICTION, self.torque_lag)
        leader = self.leader if self.config.use_leader else None
        lp = lv = None
        if leader is not None:
            lp, lv = predict_state(leader.position, leader.velocity,
                                   now - self.stamp_leader, None, MAX_PREDICTION)
        return own, lp, lv, age

    def _run(self, mode: str, reason: str, dt: float) -> TickResult:
        if not self._yaw_synced:
            self._sync_yaw()
        odom = self.odom
        (pos, vel, quat, omega), lp, lv, age = self._predicted()
        nominal = np.zeros(4, np.float32)
        yaw_rate = 0.0
        if mode == "policy":
            self._hold = None
            self._since_step += dt
            if self._action is None or self._since_step >= self.policy_period - 1e-6:
                # The first step after a (re)start integrates one policy period, as in training.
                step_dt = (max(self.policy_period, dt) if self._action is None
                           else self._since_step)
                # What the step saw, and the memory before it, for saliency maps.
                self.last_policy_input = (self.image, odom.state(), step_dt,
                                          getattr(self.policy, "_hx", None))
                self.counters["policy_steps"] += 1
                raw = np.asarray(self.policy.step(self.image, odom.state(), step_dt),
                                 np.float64)
                if raw.shape != (4,) or not np.all(np.isfinite(raw)):
                    self._action = None
                    raise ValueError(f"policy returned a non-finite or misshaped action {raw}")
                self._action, self._since_step = raw, 0.0
            raw = self._action
            nominal = np.clip(raw, -F32_MAX, F32_MAX).astype(np.float32)
            act = np.clip(raw, ACTION_LOW, ACTION_HIGH)
            accel_nom, yaw_rate = act[:3], float(act[3])
            self.counters["policy_ticks"] += 1
        else:
            self._action = None
            self.counters["fallback_ticks"] += 1
            if mode == "hover":
                if self._hold is None:
                    self._hold = pos.copy()
                accel_nom = hover_accel(pos, vel, self._hold)
            else:
                self._hold = None
                accel_nom = land_accel(pos, vel)
        grounded = mode == "estop" and pos[2] < self.config.ground_altitude
        if mode in ("policy", "hover"):
            gains = getattr(self.policy, "last_gains", None) if mode == "policy" else None
            if gains is not None and np.size(gains) != 2:
                gains = None  # per-row gains need the barrier layout; use the config's
            kwargs = {"leader_pos": lp, "leader_vel": lv,
                      "gains": None if gains is None else np.reshape(gains, 2)}
            if hasattr(self.safety, "filter_action"):
                safe, st1 = self.safety.filter_action(
                    pos, vel, np.append(accel_nom, yaw_rate), dt=dt, **kwargs)
                accel, yaw_rate = np.asarray(safe[:3], np.float64), float(safe[3])
            else:
                accel, st1 = self.safety.filter_accel(pos, vel, accel_nom, **kwargs)
        else:
            # Landing must cross the altitude floor barrier; land_accel is already a bounded,
            # vertical, drift-damping command, and stage 2 still bounds the wrench.
            accel, st1 = np.clip(accel_nom, ACTION_LOW[:3], ACTION_HIGH[:3]), None
        accel = np.asarray(accel, np.float64)
        if not np.all(np.isfinite(accel)):
            raise ValueError(f"safety stage 1 returned non-finite acceleration {accel}")
        wrench = self.controller.compute(pos, vel, quat, omega, accel, yaw_rate, dt)
        if grounded:
            mode, wrench = "grounded", np.zeros(4)
        wrench, st2 = self.safety.filter_wrench(wrench)
        s1, s2 = _status_dict(st1), _status_dict(st2)
        if s1.get("intervention", 0.0) > 1e-6 or s2.get("intervention", 0.0) > 1e-6:
            self.counters["interventions"] += 1
        if s1.get("infeasible") or s2.get("infeasible"):
            self.counters["infeasible"] += 1
        wrench = self._bound(np.asarray(wrench, np.float64))
        if grounded:
            wrench = np.zeros(4)
        if hasattr(self.controller, "note_applied"):
            self.controller.note_applied(vel, quat, float(wrench[0]))
        self._sent.append((self._now, accel.copy(), wrench[1:].copy()))
        status = {"mode": mode, "reason": reason, "accel": accel, "stage1": s1, "stage2": s2,
                  "violated": list(s1.get("violated", [])), "odom_age": age,
                  "disturbance": np.asarray(getattr(self.controller, "disturbance",
                                                    np.zeros(3)), float).copy()}
        return TickResult(wrench, accel, yaw_rate, nominal, mode, reason, dt, status)

    def _bound(self, wrench: np.ndarray) -> np.ndarray:
        if wrench.shape != (4,) or not np.all(np.isfinite(wrench)):
            raise ValueError(f"non-finite or misshaped wrench {wrench}")
        out = wrench.copy()
        out[0] = np.clip(out[0], 0.0, self.params.max_thrust)
        out[1:] = np.clip(out[1:], -self.max_torque, self.max_torque)
        return out

    def _last_resort(self, dt: float) -> TickResult:
        """Level hover thrust, no torque: what is left when even the fallback chain fails."""
        wrench = np.array([self.params.weight, 0.0, 0.0, 0.0])
        return TickResult(wrench, np.zeros(3), 0.0, np.zeros(4, np.float32), "hover",
                          f"fallback chain failed: {self.last_error}", dt,
                          {"mode": "hover", "reason": self.last_error})
