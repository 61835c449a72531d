"""Parameters generated from dataclasses, config YAML files, and launch logic (no launch)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import rclpy
import yaml
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter

from liquid_ros.control.controller import ControllerConfig
from liquid_ros.ros.config import (
    POLICY_NODE_RANGES,
    POLICY_NODE_READ_ONLY,
    PolicyNodeConfig,
    SimNodeConfig,
)
from liquid_ros.ros.launch_logic import (
    LAUNCH_ARGUMENTS,
    config_dir,
    node_specs,
    parse_bool,
    resolve,
)
from liquid_ros.ros.params import (
    dataclass_from_parameters,
    declare_dataclass_parameters,
    field_docs,
    supported_fields,
    validate_update,
)
from liquid_ros.runtime.config import load_settings
from liquid_ros.safety.filter import SafetyConfig


@pytest.fixture
def node():
    rclpy.init()
    n = rclpy.create_node("param_test")
    yield n
    n.destroy_node()
    rclpy.shutdown()


def test_declares_one_parameter_per_field_with_descriptors(node):
    names = declare_dataclass_parameters(node, PolicyNodeConfig, ranges=POLICY_NODE_RANGES,
                                         read_only=POLICY_NODE_READ_ONLY)
    assert names == [f.name for f in dataclasses.fields(PolicyNodeConfig)]
    desc = node.describe_parameter("rate_hz")
    assert desc.read_only and desc.type == ParameterType.PARAMETER_DOUBLE
    assert desc.floating_point_range[0].to_value == POLICY_NODE_RANGES["rate_hz"][1]
    assert "Control rate" in desc.description
    assert node.get_parameter("input_timeout").value == PolicyNodeConfig.input_timeout
    assert dataclass_from_parameters(node, PolicyNodeConfig) == PolicyNodeConfig()


def test_tuple_bool_and_optional_fields_round_trip(node):
    declare_dataclass_parameters(node, ControllerConfig, "controller")
    declare_dataclass_parameters(node, SafetyConfig, "safety")
    assert (node.describe_parameter("controller.attitude_natural_freq").type
            == ParameterType.PARAMETER_DOUBLE_ARRAY)
    assert dataclass_from_parameters(node, ControllerConfig, "controller") == ControllerConfig()
    assert dataclass_from_parameters(node, SafetyConfig, "safety") == SafetyConfig()
    # float | None: NaN means None
    assert math.isnan(node.get_parameter("safety.leader_distance").value)
    node.set_parameters([Parameter("safety.leader_distance", value=0.5),
                         Parameter("safety.altitude_max", value=float("nan"))])
    cfg = dataclass_from_parameters(node, SafetyConfig, "safety")
    assert cfg.leader_distance == 0.5 and cfg.altitude_max is None
    assert "leader_distance" in field_docs(SafetyConfig)
    assert "geofence" not in {f.name for f in supported_fields(SafetyConfig)}


def test_validate_update_rejects_with_reason(node):
    declare_dataclass_parameters(node, PolicyNodeConfig, ranges=POLICY_NODE_RANGES)
    declare_dataclass_parameters(node, SafetyConfig, "safety")
    groups = {"": (PolicyNodeConfig, None), "safety": (SafetyConfig, None)}
    ranges = {"": POLICY_NODE_RANGES}
    ok = validate_update(node, [Parameter("input_timeout", value=0.5)], groups, ranges)
    assert ok is None
    bad = validate_update(node, [Parameter("input_timeout", value=5.0)], groups, ranges)
    assert "land_timeout" in bad
    assert "outside the range" in validate_update(
        node, [Parameter("max_dt", value=5.0)], groups, ranges)
    assert "finite" in validate_update(node, [Parameter("max_dt", value=math.inf)], groups,
                                       ranges)
    assert "speed_max" in validate_update(node, [Parameter("safety.speed_max", value=-1.0)],
                                          groups, ranges)
    assert "output_type" in validate_update(
        node, [Parameter("output_type", value="pose")], groups, ranges)


def _yaml_params(name: str) -> dict:
    data = yaml.safe_load((config_dir() / name).read_text())
    assert list(data) == ["/**"]
    return data["/**"]["ros__parameters"]


def test_config_yaml_matches_dataclasses():
    groups = {"": PolicyNodeConfig, "safety": SafetyConfig, "controller": ControllerConfig}
    for key, value in _yaml_params("policy.yaml").items():
        if isinstance(value, dict):
            fields = {f.name: f for f in supported_fields(groups[key])}
            assert set(value) <= set(fields), set(value) - set(fields)
        else:
            assert key in {f.name for f in supported_fields(PolicyNodeConfig)}, key
    for task in ("fly_to_target", "leader_follow"):  # the per-task files: same rules
        for key, value in _yaml_params(f"{task}.yaml").items():
            if isinstance(value, dict):
                assert set(value) <= {f.name for f in supported_fields(groups[key])}
            else:
                assert key in {f.name for f in supported_fields(PolicyNodeConfig)}, key
    sim = _yaml_params("sim.yaml")
    assert set(sim) <= {f.name for f in supported_fields(SimNodeConfig)}
    SimNodeConfig(**sim)  # values valid


def test_launch_logic():
    for kind in LAUNCH_ARGUMENTS:
        names = [a[0] for a in LAUNCH_ARGUMENTS[kind]]
        assert "namespace" in names and len(names) == len(set(names))
    (pol,) = node_specs("policy", {"checkpoint": "/x.pt", "rate_hz": "100", "namespace": "d1"})
    kw = pol.launch_kwargs()
    assert kw["executable"] == "policy_node" and kw["namespace"] == "d1"
    # policy.yaml, the task's own file (what eval reads too), then the launch arguments
    assert kw["parameters"][0].endswith("policy.yaml")
    assert kw["parameters"][1].endswith("fly_to_target.yaml")
    assert kw["parameters"][2]["rate_hz"] == 100.0 and not kw["parameters"][2]["use_sim_time"]
    sim, pol = node_specs("leader_follow", {"real_time_factor": "2"})
    assert sim.executable == "sim_node" and sim.parameters[1]["task"] == "leader_follow"
    assert sim.parameters[1]["real_time_factor"] == 2.0
    files, over = pol.parameters[:2], pol.parameters[2]
    assert over["use_sim_time"] and over["use_leader"]
    settings = load_settings("leader_follow", files)
    assert settings.safety.leader_distance == 0.5 and settings.node.use_leader
    assert settings == load_settings("leader_follow")  # eval flies the same configuration
    _, pol = node_specs("fly_to_target")
    assert pol.parameters[2]["use_sim_time"] and not pol.parameters[2]["use_leader"]
    with pytest.raises(ValueError, match="unknown launch argument"):
        resolve("sim", {"rate": "3"})
    with pytest.raises(ValueError, match="kind"):
        node_specs("talker")
    assert parse_bool("True") and not parse_bool("0")
    with pytest.raises(ValueError):
        parse_bool("maybe")


def test_launch_files_build_descriptions():
    pytest.importorskip("launch_ros")
    import importlib.util
    from pathlib import Path

    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchContext

    root = Path(__file__).resolve().parents[2] / "launch"
    for kind in LAUNCH_ARGUMENTS:
        spec = importlib.util.spec_from_file_location(kind, root / f"{kind}.launch.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        ld = mod.generate_launch_description()
        args = [e for e in ld.entities if isinstance(e, DeclareLaunchArgument)]
        assert [a.name for a in args] == [a[0] for a in LAUNCH_ARGUMENTS[kind]]
        ctx = LaunchContext()
        for a in args:
            a.visit(ctx)
        opaque = [e for e in ld.entities if isinstance(e, OpaqueFunction)][0]
        actions = opaque.execute(ctx)
        nodes = [a for a in actions if type(a).__name__ == "Node"]
        assert len(nodes) == (2 if kind in ("fly_to_target", "leader_follow") else 1)
        # the sim ends the launch when its episodes are done
        handlers = [a for a in actions if type(a).__name__ == "RegisterEventHandler"]
        assert len(handlers) == (0 if kind == "policy" else 1)
