"""One configuration per task, for policy_node, evaluation and training alike.

:class:`PolicyNodeConfig` is policy_node's own parameter group (the pilot reads its timing,
watchdog and output fields); :class:`PilotSettings` adds the ``safety`` and ``controller``
groups. :func:`load_settings` reads them from the same YAML files the launch files give
policy_node (``config/policy.yaml``, then ``config/<task>.yaml``), so ``liquid-ros eval``
and DAgger fly the configuration the node flies: one source, no second set of numbers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liquid_ros.control.controller import ControllerConfig
from liquid_ros.control.levels import CommandLevel
from liquid_ros.safety.config import SafetyConfig

OUTPUT_TYPES = ("wrench", "accel", "twist", "array", "attitude", "rates")
"""policy_node's ``output_type`` values (the message it publishes)."""
OUTPUT_LEVELS = {"wrench": CommandLevel.WRENCH, "array": CommandLevel.WRENCH,
                 "accel": CommandLevel.ACCELERATION, "twist": CommandLevel.ACCELERATION,
                 "attitude": CommandLevel.ATTITUDE_THRUST, "rates": CommandLevel.RATES_THRUST}
LEVEL_OUTPUTS = {CommandLevel.WRENCH: "wrench", CommandLevel.ACCELERATION: "accel",
                 CommandLevel.ATTITUDE_THRUST: "attitude", CommandLevel.RATES_THRUST: "rates"}
"""The default ``output_type`` of each command level."""
"""The command level each ``output_type`` carries."""
TASKS = ("fly_to_target", "leader_follow")
@dataclass(frozen=True)
class PolicyNodeConfig:
    """Parameters of ``policy_node`` (the library configs are separate parameter groups)."""

    checkpoint: str = ""
    """Policy checkpoint (.pt); empty: the shipped one for ``task`` if present, else a freshly
    initialised (untrained) LiquidPolicy, with a warning."""
    task: str = "fly_to_target"
    """Task name, used to find the shipped checkpoint (fly_to_target or leader_follow)."""
    rate_hz: float = 50.0
    """Control rate (Hz) of the node-clock timer that steps the policy."""
    image_topic: str = "camera/image_raw"
    """Camera topic (sensor_msgs/Image, or CompressedImage when ``compressed``)."""
    compressed: bool = False
    """Subscribe sensor_msgs/CompressedImage (JPEG/PNG, decoded with Pillow) instead of Image."""
    odom_topic: str = "odom"
    """Odometry topic (nav_msgs/Odometry: pose in the world frame, twist in the body frame)."""
    leader_odom_topic: str = "leader/odom"
    """Leader odometry topic, for the leader-distance barrier."""
    use_leader: bool = False
    """Subscribe ``leader_odom_topic`` and pass the leader state to the safety filter."""
    cmd_topic: str = "cmd_wrench"
    """Output command topic."""
    output_type: str = "wrench"
    """wrench: geometry_msgs/WrenchStamped (thrust on force.z, body torques), for a robot
    without a flight controller; accel: AccelStamped in ``odom`` (accel.linear = safe world ENU
    acceleration m/s^2, accel.angular.z = yaw rate rad/s), the setpoint level for a flight
    controller (the sim's ``command_level: acceleration``; before the first odometry nothing
    is sent, and when this node stops the flight controller's own failsafe holds); twist:
    TwistStamped (linear = safe world acceleration m/s^2, angular.z = yaw rate rad/s);
    array: std_msgs/Float64MultiArray [thrust, tau_x, tau_y, tau_z]."""
    frame_id: str = "base_link"
    """Frame of the published command (body, FLU)."""
    input_timeout: float = 0.2
    """Seconds without a valid image or odometry before falling back to hover."""
    land_timeout: float = 2.0
    """Seconds without valid input before landing instead of hovering."""
    max_dt: float = 0.1
    """Largest elapsed time (s) given to the LTC and controller in one tick; longer gaps are
    clamped and counted."""
    ground_altitude: float = 0.05
    """Altitude (m) under which an emergency-stopped drone counts as landed (thrust cut)."""
    resize_method: str = "area"
    """How images of another size are resized to the policy's input: area or nearest."""
    autostart: bool = True
    """Configure and activate on start, so ``ros2 run`` just works."""
    diagnostics_period: float = 1.0
    """Seconds between /diagnostics messages."""
    publish_saliency: bool = False
    """Publish ``~/saliency`` (mono8 Image): which pixels of the camera image move the action
    (gradient x input, as ``liquid-ros eval --saliency`` plots it); costs one backward pass."""
    saliency_every: int = 5
    """Policy steps between saliency maps."""
    warmup_in_background: bool = True
    """Compile the numba kernels in a background thread after configure, holding position
    meanwhile; false blocks configure until they are ready."""
    torch_threads: int = 1
    """torch intra-op threads; 1 by default: batch-1 steps gain nothing from more, and idle
    OpenMP workers spinning beside the DDS threads made ticks 10-100x slower here."""

    def __post_init__(self) -> None:
        if self.output_type not in OUTPUT_TYPES:
            raise ValueError(
                f"output_type must be one of {OUTPUT_TYPES}, got {self.output_type!r}")
        if self.resize_method not in ("area", "nearest"):
            raise ValueError(f"resize_method must be area or nearest, got {self.resize_method!r}")
        if not self.rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {self.rate_hz}")
        if not 0 < self.input_timeout <= self.land_timeout:
            raise ValueError(
                f"need 0 < input_timeout ({self.input_timeout}) <= land_timeout "
                f"({self.land_timeout})")
        if not self.max_dt > 0:
            raise ValueError(f"max_dt must be positive, got {self.max_dt}")


POLICY_NODE_RANGES = {
    "rate_hz": (1.0, 1000.0),
    "input_timeout": (0.001, 60.0),
    "land_timeout": (0.001, 600.0),
    "max_dt": (0.001, 1.0),
    "ground_altitude": (0.0, 1.0),
    "diagnostics_period": (0.05, 60.0),
    "torch_threads": (1, 64),
    "saliency_every": (1, 10_000),
}
POLICY_NODE_READ_ONLY = ("checkpoint", "task", "rate_hz", "image_topic", "compressed",
                         "odom_topic", "leader_odom_topic", "use_leader", "cmd_topic",
                         "output_type", "autostart", "torch_threads", "publish_saliency",
                         "warmup_in_background")


@dataclass(frozen=True)
class PilotSettings:
    """Everything that decides how a policy flies: policy_node's three parameter groups."""

    node: PolicyNodeConfig = PolicyNodeConfig()
    """Timing, watchdog, output type (command level)."""
    safety: SafetyConfig = SafetyConfig()
    """The ``safety.*`` group: barriers, margins, rotor limits."""
    controller: ControllerConfig = ControllerConfig()
    """The ``controller.*`` group: attitude gains, drag compensation, observer."""

    @property
    def command_level(self) -> CommandLevel:
        """The level the pilot commands at (from ``node.output_type``)."""
        return OUTPUT_LEVELS[self.node.output_type]

    def replace(self, **node_fields: Any) -> PilotSettings:
        """A copy with some ``node`` fields replaced (``output_type="wrench"``)."""
        return dataclasses.replace(self, node=dataclasses.replace(self.node, **node_fields))


def repo_config_dir() -> Path:
    """The ``config/`` folder: installed (ament share) or in the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory

        path = Path(get_package_share_directory("liquid_ros")) / "config"
        if path.is_dir():
            return path
    except Exception:  # noqa: BLE001 - no ament index (plain pip install, tests): the tree
        pass
    return Path(__file__).resolve().parents[2] / "config"


def task_config_files(task: str, config_dir: Path | None = None) -> list[Path]:
    """YAML files policy_node gets for ``task``, in order: ``policy.yaml``, ``<task>.yaml``.

    Raises:
        ValueError: Unknown task.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    base = config_dir or repo_config_dir()
    return [base / "policy.yaml", base / f"{task}.yaml"]


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def read_parameters(path: Path | str) -> dict[str, Any]:
    """Flat ``{"safety.margin": 0.1, ...}`` of a ROS 2 parameter file's ``/**`` section.

    Raises:
        ValueError: The file has no ``ros__parameters`` under ``/**``.
    """
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    section = (data.get("/**") or {}).get("ros__parameters")
    if not isinstance(section, dict):
        raise ValueError(f"{path}: no '/**: ros__parameters:' section")
    return _flatten(section)


def _value(f: dataclasses.Field, default: Any, value: Any) -> Any:
    hint = str(f.type).replace(" ", "")
    if hint in ("float|None", "None|float"):  # a double parameter where NaN means None
        return None if value is None or (isinstance(value, float) and math.isnan(value)) \
            else float(value)
    if isinstance(default, tuple):
        return tuple(float(v) if default and isinstance(default[0], float) else v
                     for v in value)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def dataclass_from_values(cls: type, values: dict[str, Any], prefix: str = "") -> Any:
    """``cls()`` with the fields named ``<prefix>.<field>`` in ``values`` set (parameter rules).

    Raises:
        ValueError: An unknown field under ``prefix``, or the dataclass rejects a value.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    base = cls()
    kwargs = {}
    for name, value in values.items():
        group, _, field = name.rpartition(".")
        if group != prefix:
            continue
        if field not in fields:
            raise ValueError(f"unknown parameter {name!r} (not a field of {cls.__name__})")
        kwargs[field] = _value(fields[field], getattr(base, field), value)
    return dataclasses.replace(base, **kwargs)


def load_settings(task: str, files: list[Path | str] | None = None,
                  overrides: dict[str, Any] | None = None) -> PilotSettings:
    """The pilot settings policy_node would run ``task`` with.

    Args:
        task: fly_to_target or leader_follow.
        files: Parameter files in order (later ones win); None: :func:`task_config_files`.
        overrides: Flat parameter values applied last (``{"output_type": "wrench"}``).

    Raises:
        ValueError: Unknown task, unknown parameter, or a value a config rejects.
    """
    values: dict[str, Any] = {}
    for path in files if files is not None else task_config_files(task):
        values.update(read_parameters(path))
    values.update(overrides or {})
    values["task"] = task
    known = {f.name for f in dataclasses.fields(PolicyNodeConfig)}
    unknown = [k for k in values if "." not in k and k not in known and k != "use_sim_time"]
    if unknown:
        raise ValueError(f"unknown policy_node parameters {unknown}")
    node_values = {k: v for k, v in values.items() if k in known}
    return PilotSettings(dataclass_from_values(PolicyNodeConfig, node_values),
                         dataclass_from_values(SafetyConfig, values, "safety"),
                         dataclass_from_values(ControllerConfig, values, "controller"))
