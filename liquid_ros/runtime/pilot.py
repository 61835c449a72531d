"""The one pilot: what flies a policy, in policy_node, evaluation, DAgger, replay and record-sim.

:class:`Pilot` holds the newest valid image and odometry with their receive times, and on each
``tick(now)`` produces one finite, bounded :class:`~liquid_ros.runtime.command.Command` at
its :class:`~liquid_ros.control.levels.CommandLevel`:

- ``policy``: inputs fresh -> the policy, stepped at its trained period with the measured
  elapsed time (its action held between steps) -> SafetyFilter stage 1 (robust acceleration
  barriers, yaw-rate bound) -> the command level: the acceleration setpoint itself
  (``acceleration``, for a flight controller), or AccelerationController -> SafetyFilter
  stage 2 (rotor feasibility) -> body wrench (``wrench``, for a robot without one).
- ``hover``: an input older than ``input_timeout``, paused, a bad tick (time went backwards),
  or a failure anywhere in the chain -> hold the position latched on entry (``hover_accel``)
  through the same filter; never a zero wrench.
- ``land``: inputs older than ``land_timeout`` or emergency stop -> ``land_accel`` (stage 1
  is bypassed: its altitude floor would forbid landing); at the wrench level an emergency-
  stopped drone below ``ground_altitude`` gets zero thrust (mode ``grounded``).
- no odometry yet: :meth:`Pilot.tick` returns ``None``: a command needs a state; one built
  from no state (the origin at z = 0) would be a guess.

Latency: everything after the policy works on the state the command will act on, predicted
from the odometry over its age (``now`` minus its header stamp, or its receive time) under the
commands sent since (:func:`liquid_ros.safety.robust.predict_full_state`). At the wrench level
the controller is told the thrust stage 2 allowed, so its disturbance observer models what was
sent. Every output is checked finite and clipped to its bounds last, whatever went before.
Nothing here imports ROS: odometry samples are :class:`liquid_ros.runtime.decoding.OdomSample`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from liquid_ros.control.controller import (
    ACTION_HIGH,
    ACTION_LOW,
    AccelerationController,
    hover_accel,
    land_accel,
)
from liquid_ros.control.levels import CommandLevel
from liquid_ros.control.quadrotor import CF2X, QuadrotorParams
from liquid_ros.control.rotation import yaw_from_quat
from liquid_ros.runtime.command import Command, Mode, PolicyStep
from liquid_ros.runtime.config import PilotSettings, PolicyNodeConfig
from liquid_ros.runtime.decoding import OdomSample
from liquid_ros.runtime.levels import SetpointObserver, last_resort, level_setpoint
from liquid_ros.safety.robust import predict_full_state, predict_state

F32_MAX = float(np.finfo(np.float32).max)
"""Largest float32: raw policy outputs are clipped to it before ``action_nominal`` is cast."""
MAX_PREDICTION = 0.2
"""Longest odometry age (s) the pilot predicts over; older samples are stale anyway."""
TORQUE_LAG = 0.069
"""Rotor time constant (s) the prediction assumes: the Crazyflie's rising rotor-speed time
constant (Eschmann et al. 2024), as the simulator models it."""


def _stamp(stamp: float | None, now: float) -> float:
    """A plausible measurement time: ``stamp`` within ``[now - MAX_PREDICTION, now]``, or now."""
    if stamp is None or not math.isfinite(stamp) or not now - MAX_PREDICTION <= stamp <= now:
        return now
    return float(stamp)


def _status_dict(status: Any) -> dict[str, Any]:
    if status is None:
        return {}
    return status.to_dict() if hasattr(status, "to_dict") else dict(status)


class Pilot:
    """Latest-value inputs and the per-tick command chain (see the module docstring).

    Args:
        policy: ``step(image (H,W,3) uint8, state (10,), dt) -> (4,)``, ``reset()``,
            ``last_gains`` and ``hidden_state`` (a LiquidPolicy or OnnxPolicy).
        safety: A SafetyFilter (``filter_action``, ``filter_wrench``).
        controller: An AccelerationController (used at the wrench level).
        config: policy_node's configuration (rates, timeouts, ``output_type`` -> level).
        params: Quadrotor parameters (actuator box for the final check).
        policy_period: Seconds between policy steps (its trained period); between them the
            last action is held while the filter runs every tick. 0 steps every tick.
        torque_lag: Rotor time constant (s) used to predict the attitude over the odometry's
            age (0: torques act at once).
    """

    def __init__(self, policy: Any, safety: Any, controller: AccelerationController,
                 config: PolicyNodeConfig, params: QuadrotorParams = CF2X,
                 policy_period: float = 0.0, torque_lag: float = TORQUE_LAG) -> None:
        self.policy, self.safety, self.controller = policy, safety, controller
        self.config, self.params = config, params
        self.level = PilotSettings(node=config).command_level
        self.max_torque = np.asarray(params.max_torque, float)
        self.image: np.ndarray | None = None
        self.odom: OdomSample | None = None
        self.leader: OdomSample | None = None
        self.t_image = self.t_odom = self.t_leader = -math.inf
        self.stamp_odom = self.stamp_leader = -math.inf  # measurement times (header stamps)
        # (time sent, acceleration, body torque) of recent commands, for the prediction
        self._sent: deque[tuple[float, np.ndarray, np.ndarray]] = deque(maxlen=32)
        self._now = 0.0
        self.paused = False
        self.estop = False
        self.last_step: PolicyStep | None = None
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
        cc = getattr(controller, "config", None)
        self.setpoint_observer = SetpointObserver(
            getattr(cc, "observer_time_constant", 0.3), getattr(cc, "observer_limit", 4.0),
            getattr(cc, "disturbance_observer", True) and self.level == CommandLevel.ACCELERATION)
        """Disturbance left by the flight controller at the acceleration level."""
        self._action: np.ndarray | None = None  # last policy action, held between steps
        self._since_step = 0.0

    def reset(self) -> None:
        """Forget the hidden state, the hold point and the tick clock (activation, episode)."""
        self.policy.reset()
        if hasattr(self.safety, "reset"):
            self.safety.reset()
        self._sync_yaw()
        self._t_last, self._hold, self._t_start, self._action = None, None, None, None
        self._sent.clear()
        self.setpoint_observer.reset()
        self.estop = False
        self.last_step = None

    def reconfigure(self, config: PolicyNodeConfig | None = None, safety: Any = None,
                    controller: AccelerationController | None = None) -> None:
        """Swap the configuration, filter or controller at run time (keeping the heading).

        Raises:
            ValueError: A config whose ``output_type`` changes the command level.
        """
        if config is not None:
            level = PilotSettings(node=config).command_level
            if level != self.level:
                raise ValueError(f"the command level is fixed at start-up ({self.level.value}); "
                                 f"output_type {config.output_type!r} would make it "
                                 f"{level.value}")
            self.config = config
        if safety is not None:
            self.safety = safety
        if controller is not None:
            yaw = self.controller.yaw_des
            self.controller = controller
            self.controller.reset(yaw)
            cc, obs = controller.config, self.setpoint_observer
            obs.tau, obs.limit = cc.observer_time_constant, cc.observer_limit
            obs.enabled = cc.disturbance_observer and self.level == CommandLevel.ACCELERATION

    def set_image(self, image: np.ndarray, now: float) -> None:
        """Store an RGB image (H, W, 3) uint8 already at the policy's input size."""
        self.image, self.t_image = image, now

    def set_odom(self, odom: OdomSample, now: float, stamp: float | None = None) -> None:
        """Store a validated odometry sample received at ``now``, measured at ``stamp`` (s).

        ``stamp`` (the header stamp, on the pilot's clock) lets the pilot predict over the
        full input latency. None, or a stamp after ``now`` or more than ``MAX_PREDICTION``
        before it (an unset stamp or another clock), takes the receive time.
        """
        self.odom, self.t_odom = odom, now
        self.stamp_odom = _stamp(stamp, now)

    def set_leader(self, odom: OdomSample, now: float, stamp: float | None = None) -> None:
        """Store a validated leader odometry sample (``stamp`` as in :meth:`set_odom`)."""
        self.leader, self.t_leader = odom, now
        self.stamp_leader = _stamp(stamp, now)

    @property
    def now(self) -> float:
        """Time (s) of the tick being run."""
        return self._now

    def ages(self, now: float) -> dict[str, float]:
        """Seconds since each input was received (inf if never)."""
        return {"image": now - self.t_image, "odom": now - self.t_odom,
                "leader": now - self.t_leader}

    def _stale(self, now: float) -> tuple[float, str]:
        worst, why = 0.0, ""
        names = ("image", "odom", "leader") if self.config.use_leader else ("image", "odom")
        if self._t_start is None:
            self._t_start = now
        ages = self.ages(now)
        for name in names:
            age = ages[name]
            if math.isinf(age):  # never received: count from activation, not from -inf
                age = now - self._t_start
            if age < 0.0:  # the clock went backwards (sim reset): the buffer is not current
                age = math.inf
            if age > worst:
                worst, why = age, name
        return worst, why

    def tick(self, now: float) -> Command | None:
        """One control step at time ``now`` (s, the pilot's clock); None before odometry."""
        self.counters["ticks"] += 1
        cfg, reason = self.config, ""
        dt = 1.0 / cfg.rate_hz if self._t_last is None else now - self._t_last
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
        if cfg.use_leader and self.leader is None:
            missing.append("leader odom")
        mode = Mode.HOVER
        if self.estop:
            mode, reason = Mode.ESTOP, "emergency stop"
        elif age > cfg.land_timeout:
            mode, reason = Mode.LAND, f"no valid {which} for {age:.2f} s"
        elif age > cfg.input_timeout:
            reason = f"no valid {which} for {age:.2f} s"
        elif missing:
            reason = f"waiting for the first {', '.join(missing)}"
        elif self.paused:
            reason = "paused"
        elif not reason:
            mode = Mode.POLICY
        try:
            return self._run(mode, reason, dt)
        except Exception as exc:  # noqa: BLE001 - a crash here would drop the drone
            self.counters["errors"] += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if mode == Mode.POLICY:
                try:
                    return self._run(Mode.HOVER, f"policy chain failed: {self.last_error}", dt)
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
        age = max(now - self.stamp_odom, 0.0)
        # Older than MAX_PREDICTION the odometry is stale (hover or land follows): predicting
        # from it with the pilot's own commands would close a loop on a guess, so hold it.
        age = age if age <= MAX_PREDICTION else 0.0
        cmds = [(now - t, a, tau) for t, a, tau in self._sent if t < now]
        own = predict_full_state(odom.position, odom.velocity, odom.quaternion,
                                 odom.angular_velocity, age, cmds, self.params.inertia,
                                 MAX_PREDICTION, self.torque_lag)
        lp = lv = None
        if self.config.use_leader and self.leader is not None:
            lp, lv = predict_state(self.leader.position, self.leader.velocity,
                                   now - self.stamp_leader, None, MAX_PREDICTION)
        return own, lp, lv, age

    def _policy_action(self, dt: float) -> tuple[np.ndarray, PolicyStep | None]:
        """The policy's action this tick: a new step when its period is up, else the held one."""
        self._since_step += dt
        if self._action is not None and self._since_step < self.policy_period - 1e-6:
            return self._action, None
        # The first step after a (re)start integrates one policy period, as in training.
        step_dt = max(self.policy_period, dt) if self._action is None else self._since_step
        state = self.odom.state()
        hidden = getattr(self.policy, "hidden_state", None)
        self.counters["policy_steps"] += 1
        raw = np.asarray(self.policy.step(self.image, state, step_dt), np.float64)
        if raw.shape != (4,) or not np.all(np.isfinite(raw)):
            self._action = None
            raise ValueError(f"policy returned a non-finite or misshaped action {raw}")
        gains = getattr(self.policy, "last_gains", None)
        step = PolicyStep(self.image, state, step_dt, hidden, raw.copy(),
                          None if gains is None else np.asarray(gains, np.float64).copy())
        self._action, self._since_step, self.last_step = raw, 0.0, step
        return raw, step

    def _run(self, mode: Mode, reason: str, dt: float) -> Command:
        if not self._yaw_synced:
            self._sync_yaw()
        (pos, vel, quat, omega), lp, lv, age = self._predicted()
        self.setpoint_observer.update(self.stamp_odom, self.odom.velocity)
        # The controller's observer learns only from fresh odometry, not from predictions.
        self.controller.learning = self._now - self.t_odom <= self.config.input_timeout
        nominal, yaw_rate, step = np.zeros(4, np.float32), 0.0, None
        gains = None
        if mode == Mode.POLICY:
            self._hold = None
            raw, step = self._policy_action(dt)
            nominal = np.clip(raw, -F32_MAX, F32_MAX).astype(np.float32)
            act = np.clip(raw, ACTION_LOW, ACTION_HIGH)
            accel_nom, yaw_rate = act[:3], float(act[3])
            g = getattr(self.policy, "last_gains", None)
            gains = None if g is None or np.size(g) != 2 else np.reshape(g, 2)
            self.counters["policy_ticks"] += 1
        else:
            self._action = None
            self.counters["fallback_ticks"] += 1
            if mode == Mode.HOVER:
                if self._hold is None:
                    self._hold = pos.copy()
                accel_nom = hover_accel(pos, vel, self._hold)
            else:
                self._hold = None
                accel_nom = land_accel(pos, vel)
        st1 = None
        if mode in (Mode.POLICY, Mode.HOVER):
            safe, st1 = self.safety.filter_action(
                pos, vel, np.append(accel_nom, yaw_rate), dt=dt, leader_pos=lp, leader_vel=lv,
                gains=gains)
            accel, yaw_rate = np.asarray(safe[:3], np.float64), float(safe[3])
        else:
            # Landing must cross the altitude floor barrier; land_accel is already a bounded,
            # vertical, drift-damping command (stage 2 still bounds a wrench).
            accel = np.clip(accel_nom, ACTION_LOW[:3], ACTION_HIGH[:3])
        if not np.all(np.isfinite(accel)) or not math.isfinite(yaw_rate):
            raise ValueError(f"safety stage 1 returned non-finite {accel}, {yaw_rate}")
        accel = np.clip(accel, ACTION_LOW[:3], ACTION_HIGH[:3])
        yaw_rate = float(np.clip(yaw_rate, ACTION_LOW[3], ACTION_HIGH[3]))
        s1 = _status_dict(st1)
        values, wrench, s2, mode = level_setpoint(self, mode, (pos, vel, quat, omega), accel,
                                                  yaw_rate, dt)
        if s1.get("intervention", 0.0) > 1e-6 or s2.get("intervention", 0.0) > 1e-6:
            self.counters["interventions"] += 1
        if s1.get("infeasible") or s2.get("infeasible"):
            self.counters["infeasible"] += 1
        torque = np.zeros(3) if wrench is None else wrench[1:].copy()
        self._sent.append((self._now, accel.copy(), torque))
        status = {"mode": mode, "reason": reason, "accel": accel, "stage1": s1, "stage2": s2,
                  "violated": list(s1.get("violated", [])), "odom_age": age,
                  "disturbance": (self.setpoint_observer.estimate.copy()
                                  if self.setpoint_observer.enabled else
                                  np.asarray(getattr(self.controller, "disturbance",
                                                     np.zeros(3)), float).copy())}
        return Command(self.level, values, wrench, accel, yaw_rate, nominal, mode, reason, dt,
                       step, status)

    def _last_resort(self, dt: float) -> Command:
        """Level hover thrust (or zero acceleration): when even the fallback chain fails."""
        reason = f"fallback chain failed: {self.last_error}"
        values, wrench = last_resort(self)
        return Command(self.level, values, wrench, np.zeros(3), 0.0, np.zeros(4, np.float32),
                       Mode.HOVER, reason, dt, None, {"mode": Mode.HOVER, "reason": reason})
