"""Node configurations (frozen dataclasses): the source of truth for the nodes' ROS parameters.

Each field becomes one ROS parameter (see ``liquid_ros.ros.params``); ``config/*.yaml`` sets
them under ``ros__parameters``. Ranges and read-only fields are listed beside each class.
policy_node's configuration lives in :mod:`liquid_ros.runtime.config` (the pilot, evaluation
and training read it too); it is re-exported here with the other node configs.
"""

from __future__ import annotations

from dataclasses import dataclass

from liquid_ros.runtime.config import (  # noqa: F401 - the node configs in one place
    OUTPUT_TYPES,
    POLICY_NODE_RANGES,
    POLICY_NODE_READ_ONLY,
    TASKS,
    PolicyNodeConfig,
)

SIM_COMMAND_LEVELS = ("wrench", "acceleration", "attitude_thrust", "rates_thrust")
"""sim_node's ``command_level`` values."""


@dataclass(frozen=True)
class SimNodeConfig:
    """Parameters of ``sim_node``."""

    task: str = "fly_to_target"
    """Simulated task: fly_to_target or leader_follow."""
    seed: int = 0
    """Seed of the episode (reset(seed=...))."""
    real_time_factor: float = 1.0
    """Sim seconds per wall second; 0 runs as fast as possible."""
    control_rate_hz: float = 50.0
    """Rate (Hz, sim time) at which observations are published and commands applied."""
    cmd_topic: str = "cmd_wrench"
    """Command topic (geometry_msgs/WrenchStamped, body frame) at the wrench level."""
    cmd_timeout: float = 0.2
    """Seconds (sim time) a wrench is held before the sim's own hover controller takes over
    (wrench level; at a setpoint level the simulated flight controller's failsafe applies)."""
    command_level: str = "wrench"
    """How commands reach the simulated drone. wrench: WrenchStamped on ``cmd_topic`` applied
    directly (no flight controller; the sim hovers itself after ``cmd_timeout``).
    acceleration: geometry_msgs/AccelStamped on ``cmd_accel_topic`` (accel.linear = world ENU
    acceleration m/s^2, accel.angular.z = yaw rate rad/s, frame_id "odom" or empty) as
    setpoints to the simulated onboard flight controller (physics rate, true state), with its
    setpoint timeout -> hold -> land -> disarm (timing in ``env_args``: ``{"flight_controller":
    {"setpoint_timeout": 0.5, "hold_time": 5.0}}``). attitude_thrust / rates_thrust:
    mavros_msgs/AttitudeTarget on ``cmd_attitude_topic`` to the same flight controller."""
    cmd_accel_topic: str = "cmd_accel"
    """Setpoint topic (geometry_msgs/AccelStamped) at the acceleration level."""
    cmd_attitude_topic: str = "cmd_attitude"
    """Setpoint topic at the attitude_thrust and rates_thrust levels: mavros_msgs/AttitudeTarget
    (needs mavros_msgs), ENU/FLU, frame "odom" (or "map", empty), type_mask 7 (attitude +
    thrust) or 128 (body rates + thrust) as the level says, thrust = collective thrust /
    CF2X.max_thrust (0.595 N) in [0, 1] (``liquid_ros.runtime.thrust_setpoints``)."""
    max_episode_time: float = 0.0
    """Episode length (s, sim time); 0 uses the env's own limit."""
    loop_episodes: bool = False
    """Start a new episode when one ends (seed + 1, ...); else one episode runs."""
    max_episodes: int = 0
    """With ``loop_episodes``: episodes to run before finishing (0: no limit)."""
    exit_when_done: bool = True
    """Exit the sim_node executable (status 0) after the last episode, which ends a launch
    started with the package's launch files; false keeps publishing the final state."""
    camera_frame: str = "camera_link"
    """Frame id of the camera messages."""
    domain_randomization: str = "none"
    """Randomisation preset of the simulated world: none or default (latency 0-50 ms, mass
    +-20 %, wind up to 0.05 N, gusts, pushes, odometry noise, scene changes; see
    ``liquid_ros.sim.randomization``)."""
    env_args: str = ""
    """Extra env options as a JSON object, e.g. ``{"odom_latency": 0.04, "wind": 0.05}``; they
    override the preset's."""
    wait_for_policy: bool = True
    """Hold the episode at its start (publishing its first observation; /clock runs on, so nodes
    on sim time keep ticking) until the policy flies (see ``policy_status_topic``), so a policy
    that takes seconds to start does not find the drone hovering and the leader gone."""
    policy_status_topic: str = "policy_node/safety_status"
    """With ``wait_for_policy``: while a node publishes on this topic (policy_node's
    ``~/safety_status``), the episode starts at its first status in mode ``policy`` (loaded and
    flying), not at the position hold it sends while it starts; without a publisher there, at
    the first valid command. Empty: always the first valid command."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.real_time_factor < 0:
            raise ValueError(f"real_time_factor must be >= 0, got {self.real_time_factor}")
        if not self.control_rate_hz > 0:
            raise ValueError(f"control_rate_hz must be positive, got {self.control_rate_hz}")
        if self.command_level not in SIM_COMMAND_LEVELS:
            raise ValueError(f"command_level must be one of {SIM_COMMAND_LEVELS}, got "
                             f"{self.command_level!r}")


SIM_NODE_RANGES = {
    "real_time_factor": (0.0, 1000.0),
    "control_rate_hz": (1.0, 1000.0),
    "cmd_timeout": (0.001, 60.0),
    "max_episode_time": (0.0, 3600.0),
    "seed": (0, 2**31 - 1),
    "max_episodes": (0, 1_000_000),
}
SIM_NODE_READ_ONLY = ("task", "seed", "control_rate_hz", "cmd_topic", "camera_frame",
                      "domain_randomization", "env_args", "command_level", "cmd_accel_topic",
                      "cmd_attitude_topic")
