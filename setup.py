"""Build script for liquid_ros (ament_python).

Installed two ways:
- colcon on a ROS 2 install (``setup.py install`` / ``develop``): setup.cfg sends the console
  scripts to ``<prefix>/lib/liquid_ros`` where ``ros2 run`` and launch_ros look.
- pip (a wheel, e.g. ``make test`` in a virtual environment): pip always writes console scripts
  to ``<prefix>/bin``, so the wheel also carries small launchers in ``lib/liquid_ros``.
"""

from __future__ import annotations

import sys
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "liquid_ros"
NODES = ["policy_node", "sim_node", "px4_adapter", "px4_sim_bridge", "crazyflie_adapter",
         "mavros_adapter"]

data_files = [
    ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
    (f"share/{PACKAGE}", ["package.xml"]),
    (f"share/{PACKAGE}/launch", sorted(glob("launch/*.launch.py"))),
    (f"share/{PACKAGE}/config", sorted(glob("config/*.yaml"))),
]
if "bdist_wheel" in sys.argv:
    data_files.append((f"lib/{PACKAGE}", [f"scripts_lib/{n}" for n in NODES]))
else:  # colcon: console scripts go to lib/liquid_ros (setup.cfg); the CLI belongs on PATH too
    data_files.append(("bin", ["scripts_lib/liquid-ros"]))

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "benchmarks"]),
    package_data={PACKAGE: ["checkpoints/*.pt", "sim/assets/*"]},
    data_files=data_files,
    python_requires=">=3.10",
    install_requires=[
        "numpy",
        "torch",
        "pybullet",
        "gymnasium",
        "matplotlib",
        "tqdm",
        "pyyaml",
    ],
    extras_require={
        "fast": ["numba"],
        "bags": ["rosbags"],
        "ray": ["ray[default]"],
        "onnx": ["onnx", "onnxruntime", "onnxscript"],
        "test": ["pytest", "hypothesis", "ruff", "ncps==1.0.1", "qpth", "proxsuite", "rosbags"],
    },
    zip_safe=True,
    maintainer="liquid_ros maintainers",
    maintainer_email="maintainers@liquid-ros.dev",
    description="Liquid neural networks (LTC/CfC/NCP) for ROS 2 robots behind a CBF safety filter",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "policy_node = liquid_ros.ros.policy_node:main",
            "sim_node = liquid_ros.ros.sim_node:main",
            "px4_adapter = liquid_ros.ros.px4_adapter:main",
            "px4_sim_bridge = liquid_ros.ros.px4_sim_bridge:main",
            "crazyflie_adapter = liquid_ros.ros.crazyflie_adapter:main",
            "mavros_adapter = liquid_ros.ros.mavros_adapter:main",
            "liquid-ros = liquid_ros.cli:main",
        ],
    },
)
