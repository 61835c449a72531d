"""mavros_adapter over real DDS with the generated mavros_msgs."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter

from liquid_ros.ros import messages as m
from liquid_ros.ros.launch_logic import STACK_KINDS, launch_arguments, node_specs

needs_mavros_msgs = pytest.mark.skipif(
    importlib.util.find_spec("mavros_msgs") is None,
    reason="mavros_msgs is not built into this environment (make venv builds it with "
    "tools/build-interfaces; needs cmake, make, g++)")


def _mavros_odom() -> Odometry:
    """As MAVROS 2 publishes it: pose ENU in 'map', twist FLU in 'base_link'."""
    msg = Odometry()
    msg.header.frame_id, msg.child_frame_id = "map", "base_link"
    p, o = msg.pose.pose.position, msg.pose.pose.orientation
    p.x, p.y, p.z = 1.0, -2.0, 3.0
    o.z, o.w = math.sin(math.pi / 4), math.cos(math.pi / 4)  # yaw 90 deg: nose to north
    msg.twist.twist.linear.x = 0.5  # forward in the body = north in ENU
    msg.twist.twist.angular.z = 0.2
    return msg


@needs_mavros_msgs
def test_position_target_odom_relay_nan_and_stale(harness):
    from mavros_msgs.msg import PositionTarget

    from liquid_ros.ros.mavros_adapter import MavrosAdapter

    ad = harness.add(MavrosAdapter(parameter_overrides=[
        Parameter("mavros_ns", value="uav1/mavros/"), Parameter("cmd_timeout", value=0.2),
        Parameter("odom_timeout", value=0.3)]))
    peer = harness.peer
    got, odom_out = [], []
    peer.create_subscription(PositionTarget, "/uav1/mavros/setpoint_raw/local", got.append,
                             m.SENSOR_QOS)
    peer.create_subscription(Odometry, "odom", odom_out.append, m.SENSOR_QOS)
    pub_odom = peer.create_publisher(Odometry, "/uav1/mavros/local_position/odom",
                                     m.SENSOR_QOS)
    pub_cmd = peer.create_publisher(AccelStamped, "cmd_accel", m.COMMAND_QOS)
    odom, bad_odom = _mavros_odom(), _mavros_odom()
    bad_odom.pose.pose.position.x = math.nan
    cmd = AccelStamped()
    cmd.header.frame_id = "odom"
    cmd.accel.linear.x, cmd.accel.linear.y, cmd.accel.linear.z = 0.5, -1.0, 2.0
    cmd.accel.angular.z = 0.3
    nan = AccelStamped()
    nan.accel.linear.x = math.nan

    # Commands without MAVROS odometry are not forwarded.
    harness.spin(0.3, lambda: pub_cmd.publish(cmd), 0.02)
    assert not got and ad.counters["rejected_commands"] > 0

    def both() -> None:
        pub_odom.publish(odom)
        pub_cmd.publish(cmd)

    assert harness.spin_until(lambda: len(got) >= 3 and odom_out, 5.0, both, 0.02)
    pt = got[-1]
    assert pt.coordinate_frame == PositionTarget.FRAME_LOCAL_NED == 1
    ignore = (PositionTarget.IGNORE_PX | PositionTarget.IGNORE_PY | PositionTarget.IGNORE_PZ
              | PositionTarget.IGNORE_VX | PositionTarget.IGNORE_VY | PositionTarget.IGNORE_VZ
              | PositionTarget.IGNORE_YAW)
    assert pt.type_mask == ignore == 1087  # acceleration (not force) and yaw rate controlled
    af = pt.acceleration_or_force
    assert (af.x, af.y, af.z) == (0.5, -1.0, 2.0)  # ENU: MAVROS converts to NED
    assert pt.yaw_rate == pytest.approx(0.3) and pt.yaw == 0.0
    assert pt.header.frame_id == "map"
    # Odometry: frames already REP-105; relayed with the same pose and body twist.
    o = odom_out[-1]
    assert (o.header.frame_id, o.child_frame_id) == ("odom", "base_link")
    pos = o.pose.pose.position
    q = o.pose.pose.orientation
    assert (pos.x, pos.y, pos.z) == (1.0, -2.0, 3.0)
    assert np.allclose([q.x, q.y, q.z, q.w], [0, 0, math.sin(math.pi / 4),
                                              math.cos(math.pi / 4)])
    tl, ta = o.twist.twist.linear, o.twist.twist.angular
    assert np.allclose([tl.x, tl.y, tl.z, ta.z], [0.5, 0.0, 0.0, 0.2], atol=1e-9)
    assert ad.active
    # NaN setpoints and NaN odometry are dropped; cmd_accel goes stale -> setpoints stop.
    harness.spin(0.5, lambda: (pub_odom.publish(bad_odom), pub_cmd.publish(nan)), 0.02)
    assert ad.counters["rejected_odometry"] > 5
    assert all(math.isfinite(o.pose.pose.position.x) for o in odom_out)
    assert not ad.active and ad.counters["stops"] == 1
    assert all(math.isfinite(g.acceleration_or_force.x) for g in got)
    # Streaming resumes; then MAVROS odometry stops while commands continue -> stop.
    assert harness.spin_until(lambda: ad.active, 3.0, both, 0.02)
    harness.spin(0.6, lambda: pub_cmd.publish(cmd), 0.02)
    n = len(got)
    assert not ad.active and ad.counters["stops"] == 2
    harness.spin(0.2, lambda: pub_cmd.publish(cmd), 0.02)
    assert len(got) == n


def test_mavros_launch_spec():
    assert "mavros" in STACK_KINDS
    assert {a[0] for a in launch_arguments("mavros")} >= {"mavros_ns", "checkpoint"}
    ad, pol = node_specs("mavros", {"mavros_ns": "/uav1/mavros", "use_sim_time": "true"})
    assert ad.executable == "mavros_adapter" and ad.parameters[0].endswith("mavros.yaml")
    assert ad.parameters[1] == {"mavros_ns": "/uav1/mavros", "use_sim_time": True,
                                "command_level": "acceleration"}
    over = pol.parameters[-1]
    assert (over["output_type"], over["cmd_topic"], over["use_sim_time"]) == (
        "accel", "cmd_accel", True)
    assert not pol.remappings  # policy_node reads the adapter's relayed odom


def test_mavros_launch_file_builds():
    pytest.importorskip("launch_ros")
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchContext

    path = Path(__file__).resolve().parents[2] / "launch" / "mavros.launch.py"
    spec = importlib.util.spec_from_file_location("mavros_launch", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ld = mod.generate_launch_description()
    args = [e for e in ld.entities if isinstance(e, DeclareLaunchArgument)]
    assert "mavros_ns" in {a.name for a in args}
    ctx = LaunchContext()
    for a in args:
        a.visit(ctx)
    actions = [e for e in ld.entities if isinstance(e, OpaqueFunction)][0].execute(ctx)
    nodes = [a for a in actions if type(a).__name__ == "Node"]
    assert len(nodes) == 2
