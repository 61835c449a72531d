"""Packaging: the installed package is visible the ROS way and its metadata is valid."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXEC_DEPENDS = {"rclpy", "std_msgs", "sensor_msgs", "geometry_msgs", "nav_msgs",
                "diagnostic_msgs", "rosgraph_msgs"}


def test_package_xml_is_valid_format3() -> None:
    # The same structural checks xmllint does against package_format3.xsd for the fields we use.
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    order = [child.tag for child in root]
    assert order[:3] == ["name", "version", "description"]
    assert root.findtext("name") == "liquid_ros"
    assert all(part.isdigit() for part in root.findtext("version").split("."))
    assert root.find("maintainer").get("email")
    assert root.findtext("license")
    assert EXEC_DEPENDS <= {e.text for e in root.findall("exec_depend")}
    assert "python3-pytest" in {e.text for e in root.findall("test_depend")}
    assert root.find("export/build_type").text == "ament_python"


def test_versions_agree() -> None:
    import liquid_ros

    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.findtext("version") == liquid_ros.__version__
    assert f'version="{liquid_ros.__version__}"' in (ROOT / "setup.py").read_text()


def test_ament_index_finds_installed_share() -> None:
    from ament_index_python.packages import get_package_prefix, get_package_share_directory

    share = Path(get_package_share_directory("liquid_ros"))
    assert (share / "package.xml").is_file()
    assert sorted(p.name for p in (share / "launch").glob("*.launch.py")) == sorted(
        p.name for p in (ROOT / "launch").glob("*.launch.py"))
    assert sorted(p.name for p in (share / "config").glob("*.yaml")) == sorted(
        p.name for p in (ROOT / "config").glob("*.yaml"))
    lib = Path(get_package_prefix("liquid_ros")) / "lib" / "liquid_ros"
    for node in ("policy_node", "sim_node"):
        assert os.access(lib / node, os.X_OK), f"{lib / node} is not an executable"


def test_node_executable_starts() -> None:
    from ament_index_python.packages import get_package_prefix

    exe = Path(get_package_prefix("liquid_ros")) / "lib" / "liquid_ros" / "policy_node"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "policy_node" in out.stdout


def test_cli_help_lists_subcommands() -> None:
    out = subprocess.run([sys.executable, "-m", "liquid_ros.cli", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in ("demo", "collect", "train", "eval"):
        assert name in out.stdout


def test_layers_do_not_import_ros() -> None:
    # Every layer but ros/ must work without ROS installed.
    code = (
        "import sys, importlib, pkgutil, liquid_ros\n"
        "for layer in ('models', 'safety', 'control', 'sim', 'runtime', 'bags', 'rollouts',\n"
        "              'train', 'evaluation', 'cli'):\n"
        "    pkg = importlib.import_module('liquid_ros.' + layer)\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "ros = ('rclpy', 'rosidl_runtime_py')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ros)\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in
                                        (ROOT / "config").glob("*.yaml")))
def test_config_yaml_has_ros_parameters(path: str) -> None:
    import yaml

    data = yaml.safe_load((ROOT / path).read_text())
    assert isinstance(data, dict) and data
    for node, body in data.items():
        assert "ros__parameters" in body, f"{path}: {node} has no ros__parameters"
