"""Launch-file logic without ``launch``: arguments and node descriptions as plain data.

The files in ``launch/`` only declare ``LAUNCH_ARGUMENTS[kind]`` and, in an OpaqueFunction,
turn ``node_specs(kind, values)`` into ``launch_ros.actions.Node`` actions, so everything that
can be wrong (defaults, parameter files, remappings, sim time) is tested here without launch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from liquid_ros.control.quadrotor import CF2X
from liquid_ros.runtime.config import task_config_files

PACKAGE = "liquid_ros"
KINDS = ("policy", "sim", "fly_to_target", "leader_follow")
STACK_KINDS = ("px4_sim", "px4", "crazyflie", "mavros")
"""Launch files of the flight-stack adapters (arguments in ``STACK_LAUNCH_ARGUMENTS``)."""

_COMMON = [
    ("namespace", "", "Namespace of the nodes (e.g. drone1)."),
    ("log_level", "info", "Logger level of the nodes."),
]
_POLICY = [
    ("checkpoint", "", "Policy checkpoint (.pt); empty: the shipped one, else untrained."),
    ("rate_hz", "50.0", "Control rate of policy_node (Hz)."),
]
LEVELS = {"wrench": ("wrench", "cmd_wrench"), "acceleration": ("accel", "cmd_accel"),
          "attitude_thrust": ("attitude", "cmd_attitude"),
          "rates_thrust": ("rates", "cmd_attitude")}
"""command_level launch argument -> policy_node (output_type, cmd_topic)."""
_LEVEL_HELP = ("acceleration: AccelStamped setpoints on cmd_accel to the flight controller (as "
               "to PX4/ArduPilot); attitude_thrust / rates_thrust: mavros_msgs/AttitudeTarget "
               "(attitude or body rates + thrust) on cmd_attitude (needs mavros_msgs); "
               "wrench: body wrenches on cmd_wrench (no flight controller).")
_LEVEL = [("command_level", "acceleration", _LEVEL_HELP)]
STACK_LEVELS = {"px4_sim": ("acceleration", "attitude_thrust", "rates_thrust"),
                "px4": ("acceleration", "attitude_thrust", "rates_thrust"),
                "mavros": ("acceleration", "attitude_thrust", "rates_thrust"),
                "crazyflie": ("acceleration",)}
"""Command levels each flight-stack launch file accepts (Crazyswarm2: acceleration only, see
``crazyflie_adapter``)."""
_STACK_LEVEL = [("command_level", "acceleration",
                 "acceleration (AccelStamped on cmd_accel), attitude_thrust or rates_thrust "
                 "(mavros_msgs/AttitudeTarget on cmd_attitude) between policy_node and the "
                 "adapter.")]
_SIM = [
    ("real_time_factor", "1.0", "Sim seconds per wall second (0: as fast as possible)."),
    ("seed", "0", "Episode seed."),
    ("wait_for_policy", "true", "Hold the episode at its start until the policy flies."),
    ("loop_episodes", "false", "Run episode after episode (seed, seed + 1, ...)."),
    ("max_episodes", "0", "With loop_episodes: episodes before the launch ends (0: no limit)."),
    ("domain_randomization", "none", "Sim randomisation preset: none or default."),
    ("env_args", "", "Extra sim env options as a JSON object (override the preset)."),
]
LAUNCH_ARGUMENTS: dict[str, list[tuple[str, str, str]]] = {
    "policy": _COMMON + _POLICY + [
        ("command_level", "wrench", _LEVEL_HELP),
        ("task", "fly_to_target", "Task (selects the shipped checkpoint)."),
        ("use_sim_time", "false", "Follow /clock instead of the wall clock."),
        ("use_leader", "false", "Subscribe leader/odom for the leader-distance barrier."),
    ],
    "sim": _COMMON + _SIM + _LEVEL + [("task", "fly_to_target", "Task to simulate.")],
    "fly_to_target": _COMMON + _POLICY + _SIM + _LEVEL,
    "leader_follow": _COMMON + _POLICY + _SIM + _LEVEL,
}
"""Per launch file: (name, default, description) of each launch argument."""

_PX4 = [("px4_namespace", "", "PX4 instance prefix of the /fmu topics ('' or e.g. px4_1).")]
STACK_LAUNCH_ARGUMENTS: dict[str, list[tuple[str, str, str]]] = {
    "px4_sim": _COMMON + _POLICY + _SIM + _PX4 + _STACK_LEVEL,
    "px4": _COMMON + _POLICY + _PX4 + _STACK_LEVEL + [
        ("task", "fly_to_target", "Task (selects the shipped checkpoint)."),
        ("arm_and_offboard", "false", "px4_adapter switches PX4 to offboard and arms after "
         "1 s of setpoints (false: switch from the ground station or RC)."),
        ("use_sim_time", "false", "Follow /clock (PX4 SITL with a clock bridge)."),
    ],
    "crazyflie": _COMMON + _POLICY + [
        ("cf_prefix", "cf231", "Crazyswarm2 name of the Crazyflie (topics /<cf_prefix>/...)."),
        ("task", "fly_to_target", "Task (selects the shipped checkpoint)."),
        ("use_sim_time", "false", "Follow /clock."),
    ],
    "mavros": _COMMON + _POLICY + _STACK_LEVEL + [
        ("mavros_ns", "/mavros", "Namespace of the MAVROS node's topics (e.g. /drone1/mavros)."),
        ("task", "fly_to_target", "Task (selects the shipped checkpoint)."),
        ("use_sim_time", "false", "Follow /clock (SITL with a clock bridge)."),
    ],
}
"""Per flight-stack launch file: its arguments (kept apart from ``LAUNCH_ARGUMENTS``, whose
kinds each start the sim and/or policy_node only)."""


def launch_arguments(kind: str) -> list[tuple[str, str, str]]:
    """(name, default, description) of each argument of launch file ``kind`` (any kind).

    Raises:
        ValueError: Unknown kind.
    """
    table = LAUNCH_ARGUMENTS.get(kind) or STACK_LAUNCH_ARGUMENTS.get(kind)
    if table is None:
        raise ValueError(f"kind must be one of {KINDS + STACK_KINDS}, got {kind!r}")
    return table


@dataclass(frozen=True)
class NodeSpec:
    """What ``launch_ros.actions.Node`` needs for one node.

    Attributes:
        executable: Console script in ``lib/liquid_ros``.
        name: Node name.
        namespace: Namespace ('' for none).
        parameters: YAML files (str) and dicts of overrides, in order of precedence.
        arguments: Extra ROS arguments (log level).
        ends_launch: The launch shuts down when this node's process exits (the simulator,
            once its last episode is done).
        remappings: (from, to) topic remappings.
    """

    executable: str
    name: str
    namespace: str
    parameters: list[Any] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    ends_launch: bool = False
    remappings: list[tuple[str, str]] = field(default_factory=list)

    def launch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``launch_ros.actions.Node``."""
        return {"package": PACKAGE, "executable": self.executable, "name": self.name,
                "namespace": self.namespace, "parameters": self.parameters,
                "arguments": self.arguments, "remappings": self.remappings,
                "output": "screen"}


def config_dir() -> Path:
    """``share/liquid_ros/config`` of the installed package, else the source tree's config/."""
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )
        try:
            path = Path(get_package_share_directory(PACKAGE)) / "config"
            if path.is_dir():
                return path
        except (PackageNotFoundError, ValueError, KeyError, OSError):
            pass
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2] / "config"


def parse_bool(value: str | bool) -> bool:
    """Launch-argument boolean ('true'/'false', '1'/'0', any case)."""
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def resolve(kind: str, values: dict[str, str] | None = None) -> dict[str, str]:
    """Launch argument values for ``kind`` with defaults filled in.

    Raises:
        ValueError: Unknown kind or argument.
    """
    out = {name: default for name, default, _ in launch_arguments(kind)}
    for k, v in (values or {}).items():
        if k not in out:
            raise ValueError(f"unknown launch argument {k!r} for {kind} (known: {sorted(out)})")
        out[k] = v
    return out


def _level(v: dict[str, str]) -> tuple[str, str]:
    level = v["command_level"]
    if level not in LEVELS:
        raise ValueError(f"command_level must be one of {tuple(LEVELS)}, got {level!r}")
    return LEVELS[level]


def _policy_spec(v: dict[str, str], task: str, use_sim_time: bool, use_leader: bool,
                 cfg: Path) -> NodeSpec:
    output_type, topic = _level(v)
    overrides = {"checkpoint": v["checkpoint"], "rate_hz": float(v["rate_hz"]), "task": task,
                 "use_sim_time": use_sim_time, "use_leader": use_leader,
                 "output_type": output_type, "cmd_topic": topic}
    # policy.yaml, then the task's own file: the two liquid-ros eval and DAgger read
    # (liquid_ros.runtime.config.load_settings); the launch arguments last.
    files = [str(path) for path in task_config_files(task, cfg)]
    return NodeSpec("policy_node", "policy_node", v["namespace"], [*files, overrides],
                    ["--ros-args", "--log-level", v["log_level"]])


def _sim_spec(v: dict[str, str], task: str, cfg: Path) -> NodeSpec:
    _level(v)  # validated here too
    overrides = {"task": task, "real_time_factor": float(v["real_time_factor"]),
                 "seed": int(v["seed"]), "use_sim_time": False,
                 "wait_for_policy": parse_bool(v["wait_for_policy"]),
                 "loop_episodes": parse_bool(v["loop_episodes"]),
                 "max_episodes": int(v["max_episodes"]), "exit_when_done": True,
                 "domain_randomization": v["domain_randomization"], "env_args": v["env_args"],
                 "command_level": v["command_level"]}
    return NodeSpec("sim_node", "sim_node", v["namespace"], [str(cfg / "sim.yaml"), overrides],
                    ["--ros-args", "--log-level", v["log_level"]], ends_launch=True)


def node_specs(kind: str, values: dict[str, str] | None = None) -> list[NodeSpec]:
    """Nodes started by launch file ``kind`` (``KINDS`` and ``STACK_KINDS``).

    The sim publishes /clock and runs on the wall clock; a policy_node launched beside it
    follows sim time, so the two agree whatever ``real_time_factor`` is.
    """
    v = resolve(kind, values)
    cfg = config_dir()
    if kind in STACK_KINDS:
        return _stack_specs(kind, v, cfg)
    if kind == "policy":
        return [_policy_spec(v, v["task"], parse_bool(v["use_sim_time"]),
                             parse_bool(v["use_leader"]), cfg)]
    if kind == "sim":
        return [_sim_spec(v, v["task"], cfg)]
    leader = kind == "leader_follow"
    return [_sim_spec(v, kind, cfg), _policy_spec(v, kind, True, leader, cfg)]


SIM_CMD_TOPIC, SIM_ODOM_TOPIC = "sim/cmd_accel", "sim/odom"
SIM_ATTITUDE_TOPIC = "sim/cmd_attitude"
"""px4_sim at attitude_thrust / rates_thrust: sim_node's AttitudeTarget topic."""
"""px4_sim: sim_node's command and odometry topics, between it and px4_sim_bridge (policy_node's
``cmd_accel`` and ``odom`` belong to px4_adapter)."""


def _node(executable: str, v: dict[str, str], cfg_file: Path,
          overrides: dict[str, Any]) -> NodeSpec:
    return NodeSpec(executable, executable, v["namespace"], [str(cfg_file), overrides],
                    ["--ros-args", "--log-level", v["log_level"]])


def _stack_specs(kind: str, v: dict[str, str], cfg: Path) -> list[NodeSpec]:
    """Nodes of the flight-stack launch files, policy_node and adapter at one command level."""
    level = v.get("command_level", "acceleration")
    if level not in STACK_LEVELS[kind]:
        raise ValueError(f"{kind}: command_level must be one of {STACK_LEVELS[kind]}, got "
                         f"{level!r}")
    v = {**v, "command_level": level}
    lv = {"command_level": level}
    if kind == "crazyflie":
        cf = v["cf_prefix"].strip("/")
        sim_time = parse_bool(v["use_sim_time"])
        odom = f"/{cf}/odom"
        pol = _policy_spec(v, v["task"], sim_time, False, cfg)
        pol = replace(pol, remappings=[("odom", odom)])
        return [_node("crazyflie_adapter", v, cfg / "crazyflie.yaml", {
            "cf_prefix": cf, "odom_topic": odom, "use_sim_time": sim_time}), pol]
    if kind == "mavros":  # mavros_adapter relays <mavros_ns>/local_position/odom to odom
        sim_time = parse_bool(v["use_sim_time"])
        return [_node("mavros_adapter", v, cfg / "mavros.yaml", {
            **lv, "mavros_ns": v["mavros_ns"], "use_sim_time": sim_time}),
            _policy_spec(v, v["task"], sim_time, False, cfg)]
    px4 = {"px4_namespace": v["px4_namespace"], **lv}
    if kind == "px4":
        sim_time = parse_bool(v["use_sim_time"])
        return [_node("px4_adapter", v, cfg / "px4.yaml", {
            **px4, "use_sim_time": sim_time,
            "arm_and_offboard": parse_bool(v["arm_and_offboard"])}),
            _policy_spec(v, v["task"], sim_time, False, cfg)]
    task = "fly_to_target"
    px4["hover_thrust"] = CF2X.weight / CF2X.max_thrust  # the simulated vehicle's, both ends
    sim = _sim_spec(v, task, cfg)
    sim_cmd = SIM_CMD_TOPIC if level == "acceleration" else SIM_ATTITUDE_TOPIC
    sim.parameters[1]["cmd_accel_topic"] = SIM_CMD_TOPIC
    sim.parameters[1]["cmd_attitude_topic"] = SIM_ATTITUDE_TOPIC
    sim = replace(sim, remappings=[("odom", SIM_ODOM_TOPIC)])
    return [sim,
            _node("px4_sim_bridge", v, cfg / "px4.yaml", {**px4, "use_sim_time": True,
                                                     "sim_cmd_topic": sim_cmd,
                                                     "sim_odom_topic": SIM_ODOM_TOPIC}),
            _node("px4_adapter", v, cfg / "px4.yaml", {**px4, "use_sim_time": True}),
            _policy_spec(v, task, True, False, cfg)]
