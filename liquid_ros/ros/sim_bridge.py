"""The sim node's logic without ROS: command hold, hover fallback, running episode metrics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from liquid_ros.control.controller import AccelerationController, hover_accel
from liquid_ros.control.rotation import yaw_from_quat


class SimBridge:
    """Drives a task env with body wrenches received asynchronously.

    Commands are applied with zero-order hold for at most ``cmd_timeout`` seconds of sim time;
    after that (or before the first command) the bridge's own controller holds the position
    where the command was lost, so a silent policy never drops the drone.

    Args:
        env: A task env (``liquid_ros.sim.make``); ``env.unwrapped.step_wrench`` is used.
        cmd_timeout: Longest hold of one command (s, sim time).
        seed: Seed of the first episode.
    """

    def __init__(self, env: Any, cmd_timeout: float, seed: int = 0) -> None:
        self.env, self.base = env, env.unwrapped
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
        self.hold: np.ndarray | None = None
        self.done = False
        self.final_metrics: dict[str, Any] | None = None
        self.stats = {"steps": 0, "fallback_steps": 0, "commands": 0, "rejected_commands": 0,
                      "distance_sum": 0.0, "distance_min": math.inf, "altitude_min": math.inf}
        self.trajectory: list[dict[str, Any]] = []

    @property
    def time(self) -> float:
        """Sim time (s)."""
        return float(self.info.get("time", self.base.sim.time))

    def command(self, wrench: np.ndarray) -> bool:
        """Store a command (4,) received now; non-finite ones are dropped (returns False)."""
        w = np.asarray(wrench, float).reshape(-1)
        if w.shape != (4,) or not np.all(np.isfinite(w)):
            self.stats["rejected_commands"] += 1
            return False
        self.cmd, self.t_cmd = w, self.time
        self.stats["commands"] += 1
        return True

    def step(self, record: bool = True) -> dict[str, Any]:
        """Advance one control period; returns the env ``info`` (with ``metrics`` at the end)."""
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
        if self.final_metrics is not None:
            out["env_metrics"] = self.final_metrics
            out["is_success"] = bool(self.info.get("is_success", False))
        return out

