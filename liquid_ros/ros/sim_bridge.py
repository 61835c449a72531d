"""The sim node's logic without ROS: command hold, failsafe, running episode metrics.

Two ways in, set by the env (``liquid_ros.sim.make(..., command_level=...)``):

* Direct (the env has no ``command_level``): body wrenches, held with zero-order hold for at
  most ``cmd_timeout``; then the bridge's own controller holds position (a silent policy never
  drops the drone).
* Setpoints (the env has a ``command_level``): each received setpoint is sent once, stamped
  with the sim time it arrived, to the env's simulated onboard flight controller, which holds
  it and applies its own failsafe as PX4 does: setpoint timeout -> hold -> land -> disarm.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from liquid_ros.control.controller import AccelerationController, hover_accel
from liquid_ros.control.rotation import yaw_from_quat
from liquid_ros.sim.flight_controller import SETPOINT_SIZE


class SimBridge:
    """Drives a task env with commands received asynchronously (see the module docstring).

    Args:
        env: A task env (``liquid_ros.sim.make``): ``env.unwrapped.step_wrench`` is used, or
            ``step_setpoint`` when the env has a ``command_level``.
        cmd_timeout: Longest hold of one wrench (s, sim time); unused at setpoint levels.
        seed: Seed of the first episode.
    """

    def __init__(self, env: Any, cmd_timeout: float, seed: int = 0) -> None:
        self.env, self.base = env, env.unwrapped
        self.level = getattr(self.base, "command_level", None)
        """The env's CommandLevel, or None for direct wrenches."""
        self.size = 4 if self.level is None else SETPOINT_SIZE[self.level]
        self.cmd_timeout = float(cmd_timeout)
        self.controller = AccelerationController(self.base.sim.params)
        self.seed = seed
        self.episode = 0
        self.reset()

    def reset(self) -> None:
        """Start a new episode (seed ``seed + episode``)."""
        self.obs, self.info = self.env.reset(seed=self.seed + self.episode)
        self.controller.reset(yaw_from_quat(self.info["quaternion"]))
        self.cmd: np.ndarray | None = None
        self.t_cmd = -math.inf
        self.fresh = False
        self.hold: np.ndarray | None = None
        self.done = False
        self.final_metrics: dict[str, Any] | None = None
        self.stats = {"steps": 0, "fallback_steps": 0, "commands": 0, "rejected_commands": 0,
                      "distance_sum": 0.0, "distance_min": math.inf, "altitude_min": math.inf}
        self.mode_steps: dict[str, int] = {}
        """Control ticks ending in each flight mode (setpoint levels)."""
        self.trajectory: list[dict[str, Any]] = []

    @property
    def time(self) -> float:
        """Sim time (s)."""
        return float(self.info.get("time", self.base.sim.time))

    def command(self, values: np.ndarray) -> bool:
        """Store a command received now: a wrench (4,) or a setpoint of the env's level.

        Non-finite ones or ones of the wrong size are dropped (returns False), so the last
        valid command (or the failsafe) stays in charge.
        """
        v = np.asarray(values, float).reshape(-1)
        if v.shape != (self.size,) or not np.all(np.isfinite(v)):
            self.stats["rejected_commands"] += 1
            return False
        self.cmd, self.t_cmd, self.fresh = v, self.time, True
        self.stats["commands"] += 1
        return True

    def step(self, record: bool = True) -> dict[str, Any]:
        """Advance one control period; returns the env ``info`` (with ``metrics`` at the end)."""
        if self.level is not None:
            # Sent once: the flight controller holds it and times it out itself.
            self.obs, _, term, trunc, self.info = self.base.step_setpoint(
                self.cmd if self.fresh else None)
            self.fresh = False
            mode = str(self.info["flight_mode"])
            self.mode_steps[mode] = self.mode_steps.get(mode, 0) + 1
            fallback = mode != "offboard"
        else:
            term, trunc, fallback = self._step_wrench()
        st = self.stats
        # Counted together, after the step succeeded: the fraction can never exceed 1.
        st["steps"] += 1
        st["fallback_steps"] += int(fallback)
        d = float(self.info.get("distance", math.nan))
        if math.isfinite(d):
            st["distance_sum"] += d
            st["distance_min"] = min(st["distance_min"], d)
        st["altitude_min"] = min(st["altitude_min"], float(self.info["altitude"]))
        if record:
            true_pos = self.info.get("true_position", self.info["position"])
            row = {"t": self.time, "position": np.asarray(true_pos).tolist(), "distance": d}
            for key in ("target_position", "leader_position"):
                if key in self.info:
                    row[key] = np.asarray(self.info[key]).tolist()
            self.trajectory.append(row)
        if term or trunc:
            self.done = True
            self.final_metrics = dict(self.info.get("metrics", {}))
        return self.info

    def _step_wrench(self) -> tuple[bool, bool, bool]:
        """One period with the held wrench or the hover fallback: (term, trunc, fallback)."""
        s = self.base.sim
        fallback = not (self.cmd is not None and self.time - self.t_cmd <= self.cmd_timeout)
        if not fallback:
            wrench, self.hold = self.cmd, None
        else:
            if self.hold is None:
                self.hold = s.pos.copy()
            acc = hover_accel(s.pos, s.vel, self.hold)
            wrench = self.controller.compute(s.pos, s.vel, s.quat, s.omega, acc, 0.0,
                                             1.0 / self.base.control_hz)
        self.obs, _, term, trunc, self.info = self.base.step_wrench(wrench)
        return term, trunc, fallback

    def metrics(self) -> dict[str, Any]:
        """Running summary of the episode, merged with the env's metrics once it ended."""
        st = self.stats
        n = max(st["steps"], 1)
        out = {"episode": self.episode, "sim_time": self.time, "steps": st["steps"],
               "done": self.done, "commands": st["commands"],
               "rejected_commands": st["rejected_commands"],
               "fallback_fraction": st["fallback_steps"] / n,
               "mean_distance": st["distance_sum"] / n if st["steps"] else math.nan,
               "min_distance": st["distance_min"], "min_altitude": st["altitude_min"]}
        if self.level is not None:
            out["command_level"] = self.level.value
            out["flight_mode"] = self.info.get("flight_mode")
            out["mode_steps"] = dict(self.mode_steps)
        if self.final_metrics is not None:
            out["env_metrics"] = self.final_metrics
            out["is_success"] = bool(self.info.get("is_success", False))
        return out

