"""PX4 path over real DDS with the generated px4_msgs: adapter, simulated PX4, closed loop."""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import (
    PX4_IN_QOS,
    PX4_OUT_QOS,
    MissingMessagePackage,
    import_types,
    px4_topic,
    run_node,
)
from liquid_ros.ros.launch_logic import STACK_KINDS, launch_arguments, node_specs
from liquid_ros.runtime import stacks as st

HAVE_PX4 = importlib.util.find_spec("px4_msgs") is not None
needs_px4 = pytest.mark.skipif(
    not HAVE_PX4, reason="px4_msgs is not built into this environment (make venv builds it "
    "with tools/build-interfaces; needs cmake, make, g++)")


def _params(**kw) -> list[Parameter]:
    return [Parameter(k, value=v) for k, v in kw.items()]


def _accel(ax: float, ay: float, az: float, yaw_rate: float, frame: str = "odom") -> AccelStamped:
    msg = AccelStamped()
    msg.header.frame_id = frame
    msg.accel.linear.x, msg.accel.linear.y, msg.accel.linear.z = ax, ay, az
    msg.accel.angular.z = yaw_rate
    return msg


def test_stack_launch_logic():
    sim, bridge, adapter, pol = node_specs("px4_sim", {"seed": "3", "namespace": "d1"})
    assert [s.executable for s in (sim, bridge, adapter, pol)] == [
        "sim_node", "px4_sim_bridge", "px4_adapter", "policy_node"]
    assert all(s.namespace == "d1" for s in (sim, bridge, adapter, pol))
    assert sim.ends_launch and sim.remappings == [("odom", "sim/odom")]
    assert sim.parameters[1]["command_level"] == "acceleration"
    assert sim.parameters[1]["cmd_accel_topic"] == bridge.parameters[1]["sim_cmd_topic"]
    assert bridge.parameters[1]["sim_odom_topic"] == "sim/odom"
    over = pol.parameters[-1]
    assert (over["output_type"], over["cmd_topic"], over["use_sim_time"]) == (
        "accel", "cmd_accel", True)
    assert adapter.parameters[0].endswith("px4.yaml") and adapter.parameters[1]["use_sim_time"]
    adapter, pol = node_specs("px4", {"px4_namespace": "px4_1", "arm_and_offboard": "true"})
    assert adapter.parameters[1] == {"px4_namespace": "px4_1", "use_sim_time": False,
                                     "arm_and_offboard": True,
                                     "command_level": "acceleration"}
    assert pol.parameters[-1]["output_type"] == "accel"
    cf, pol = node_specs("crazyflie", {"cf_prefix": "cf7"})
    assert cf.parameters[1]["odom_topic"] == "/cf7/odom" == dict(pol.remappings)["odom"]
    assert px4_topic("", "in/x") == "/fmu/in/x" and px4_topic("/px4_1/", "in/x") == \
        "/px4_1/fmu/in/x"


def test_stack_launch_files_build_descriptions():
    pytest.importorskip("launch_ros")
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchContext

    root = Path(__file__).resolve().parents[2] / "launch"
    for kind in STACK_KINDS:
        spec = importlib.util.spec_from_file_location(kind, root / f"{kind}.launch.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        ld = mod.generate_launch_description()
        args = [e for e in ld.entities if isinstance(e, DeclareLaunchArgument)]
        assert [a.name for a in args] == [a[0] for a in launch_arguments(kind)]
        ctx = LaunchContext()
        for a in args:
            a.visit(ctx)
        actions = [e for e in ld.entities if isinstance(e, OpaqueFunction)][0].execute(ctx)
        nodes = [a for a in actions if type(a).__name__ == "Node"]
        assert len(nodes) == (4 if kind == "px4_sim" else 2)


def test_missing_package_is_one_line(capsys):
    with pytest.raises(MissingMessagePackage, match="no_such_msgs is not installed"):
        import_types("no_such_msgs", "msg", ["X"])

    def make():
        import_types("no_such_msgs", "msg", ["X"])

    assert run_node("px4_adapter", make, []) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("px4_adapter: the ROS message package "
                                                   "no_such_msgs")


@needs_px4
def test_adapter_setpoints_heartbeat_stale_and_nan(harness):
    from px4_msgs.msg import OffboardControlMode, TrajectorySetpoint

    from liquid_ros.ros.px4_adapter import Px4Adapter

    ad = harness.add(Px4Adapter(parameter_overrides=_params(cmd_timeout=0.2)))
    peer = harness.peer
    pub = peer.create_publisher(AccelStamped, "cmd_accel", m.COMMAND_QOS)
    sps, modes = [], []
    peer.create_subscription(TrajectorySetpoint, "/fmu/in/trajectory_setpoint", sps.append,
                             PX4_OUT_QOS)
    peer.create_subscription(OffboardControlMode, "/fmu/in/offboard_control_mode",
                             modes.append, PX4_OUT_QOS)
    cmd = _accel(1.0, 2.0, 3.0, 0.5)  # east 1, north 2, up 3; yaw left
    assert harness.spin_until(lambda: len(sps) >= 10, 5.0, lambda: pub.publish(cmd), 0.02)
    sp = sps[-1]
    np.testing.assert_allclose(sp.acceleration, [2.0, 1.0, -3.0])  # NED by hand
    assert sp.yawspeed == pytest.approx(-0.5)
    assert np.isnan(sp.position).all() and np.isnan(sp.velocity).all() and math.isnan(sp.yaw)
    assert modes and modes[-1].acceleration and not modes[-1].position
    assert not modes[-1].velocity and modes[-1].timestamp > 0
    assert ad.streaming
    # NaN and wrong-frame setpoints are dropped; the last good one ages and the heartbeat stops.
    bad = [_accel(math.nan, 0.0, 0.0, 0.0), _accel(0.0, 0.0, 0.0, math.inf),
           _accel(0.0, 0.0, 1.0, 0.0, frame="base_link")]
    i = iter(range(10**6))
    harness.spin(0.5, lambda: pub.publish(bad[next(i) % 3]), 0.02)
    assert ad.counters["rejected_commands"] >= 10
    assert not ad.streaming and ad.counters["heartbeat_stops"] == 1
    n_sp, n_mode = len(sps), len(modes)
    harness.spin(0.3)
    assert (len(sps), len(modes)) == (n_sp, n_mode)  # heartbeat stopped: PX4's failsafe acts
    assert all(np.isfinite(s.acceleration).all() for s in sps)
    # It resumes when setpoints return.
    assert harness.spin_until(lambda: len(sps) > n_sp + 3, 3.0, lambda: pub.publish(cmd), 0.02)


@needs_px4
def test_adapter_odometry_and_arming(harness):
    from px4_msgs.msg import VehicleCommand, VehicleOdometry, VehicleStatus

    from liquid_ros.ros.px4_adapter import Px4Adapter

    ad = harness.add(Px4Adapter(parameter_overrides=_params(
        px4_namespace="px4_1", arm_and_offboard=True, offboard_after=0.2, target_system=2)))
    peer = harness.peer
    pub_vo = peer.create_publisher(VehicleOdometry, "/px4_1/fmu/out/vehicle_odometry",
                                   PX4_IN_QOS)
    pub_cmd = peer.create_publisher(AccelStamped, "cmd_accel", m.COMMAND_QOS)
    pub_status = peer.create_publisher(VehicleStatus, "/px4_1/fmu/out/vehicle_status",
                                       PX4_IN_QOS)
    odoms, cmds = [], []
    peer.create_subscription(Odometry, "odom", odoms.append, m.SENSOR_QOS)
    peer.create_subscription(VehicleCommand, "/px4_1/fmu/in/vehicle_command", cmds.append,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
    # 1 m north, 2 m east, 3 m up, nose east, flying north at 1 m/s; rates FRD (0, 0.1, 0.2).
    vo = VehicleOdometry(pose_frame=1, velocity_frame=1, position=[1.0, 2.0, -3.0],
                         q=[math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)], velocity=[1.0, 0.0, 0.0],
                         angular_velocity=[0.0, 0.1, 0.2])
    assert harness.spin_until(lambda: odoms, 5.0, lambda: pub_vo.publish(vo), 0.05)
    o = odoms[-1]
    assert (o.header.frame_id, o.child_frame_id) == ("odom", "base_link")
    p, t = o.pose.pose.position, o.twist.twist
    np.testing.assert_allclose([p.x, p.y, p.z], [2.0, 1.0, 3.0], atol=1e-6)
    q = o.pose.pose.orientation
    assert abs(q.w) == pytest.approx(1.0, abs=1e-6)  # nose east = ENU yaw 0
    # Body FLU twist (as sim_node publishes): north is the nose's left.
    np.testing.assert_allclose([t.linear.x, t.linear.y, t.linear.z], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose([t.angular.x, t.angular.y, t.angular.z], [0, -0.1, -0.2],
                               atol=1e-6)
    vo.pose_frame = 2  # FRD pose frame: not supported, dropped
    harness.spin(0.2, lambda: pub_vo.publish(vo), 0.05)
    assert ad.counters["rejected_odometry"] >= 1
    # Offboard + arm once setpoints have streamed offboard_after s; none once PX4 reports both.
    assert harness.spin_until(lambda: len(cmds) >= 2, 5.0,
                              lambda: pub_cmd.publish(_accel(0, 0, 0, 0)), 0.02)
    assert [(c.command, c.param1, c.param2, c.target_system) for c in cmds[:2]] == [
        (176, 1.0, 6.0, 2), (400, 1.0, 0.0, 2)]
    status = st.fill(VehicleStatus(), st.px4_status_fields(1, True, st.PX4_NAV_STATE_OFFBOARD))

    def both() -> None:
        pub_cmd.publish(_accel(0, 0, 0, 0))
        pub_status.publish(status)

    assert harness.spin_until(lambda: ad.status is not None and ad.status.offboard, 3.0, both)
    n = len(cmds)
    harness.spin(1.3, both, 0.02)
    assert len(cmds) == n


@needs_px4
def test_sim_bridge_forwards_only_with_heartbeat(harness):
    from px4_msgs.msg import OffboardControlMode, TrajectorySetpoint, VehicleOdometry

    from liquid_ros.ros.px4_sim_bridge import Px4SimBridge

    br = harness.add(Px4SimBridge(parameter_overrides=_params(heartbeat_timeout=0.3)))
    peer = harness.peer
    pub_sp = peer.create_publisher(TrajectorySetpoint, "/fmu/in/trajectory_setpoint",
                                   PX4_IN_QOS)
    pub_mode = peer.create_publisher(OffboardControlMode, "/fmu/in/offboard_control_mode",
                                     PX4_IN_QOS)
    pub_odom = peer.create_publisher(Odometry, "sim/odom", m.SENSOR_QOS)
    got, vos = [], []
    peer.create_subscription(AccelStamped, "sim/cmd_accel", got.append, m.COMMAND_QOS)
    peer.create_subscription(VehicleOdometry, "/fmu/out/vehicle_odometry", vos.append,
                             PX4_OUT_QOS)
    sp = st.fill(TrajectorySetpoint(), st.px4_trajectory_setpoint([1.0, 2.0, 3.0], 0.5, 1))
    mode = st.fill(OffboardControlMode(), st.px4_offboard_control_mode(1))
    harness.spin(0.5, lambda: pub_sp.publish(sp), 0.02)  # no heartbeat: nothing forwarded
    assert not got and br.counters["no_heartbeat"] > 0

    def both() -> None:
        pub_mode.publish(mode)
        pub_sp.publish(sp)

    assert harness.spin_until(lambda: got, 3.0, both, 0.02)
    a = got[-1].accel
    assert got[-1].header.frame_id == "odom"
    np.testing.assert_allclose([a.linear.x, a.linear.y, a.linear.z, a.angular.z],
                               [1.0, 2.0, 3.0, 0.5], atol=1e-6)
    assert br.forwarding
    harness.spin(0.5, lambda: pub_sp.publish(sp), 0.02)  # heartbeat lost: forwarding stops
    n = len(got)
    harness.spin(0.3, lambda: pub_sp.publish(sp), 0.02)
    assert len(got) == n and not br.forwarding
    odom = m.odom_to_msg(Odometry(), [1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0],
                         [0.0, 0.0, 0.1])
    assert harness.spin_until(lambda: vos, 3.0, lambda: pub_odom.publish(odom), 0.05)
    np.testing.assert_allclose(vos[-1].position, [2.0, 1.0, -3.0])
    np.testing.assert_allclose(vos[-1].velocity, [0.0, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(vos[-1].angular_velocity, [0.0, 0.0, -0.1], atol=1e-6)


@needs_px4
@pytest.mark.slow
def test_px4_path_closed_loop_fly_to_target():
    """sim_node (acceleration) + px4_sim_bridge + px4_adapter + policy_node in one executor."""
    import time

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from liquid_ros.ros.launch_logic import SIM_CMD_TOPIC, SIM_ODOM_TOPIC
    from liquid_ros.ros.policy_node import PolicyNode
    from liquid_ros.ros.px4_adapter import Px4Adapter
    from liquid_ros.ros.px4_sim_bridge import Px4SimBridge
    from liquid_ros.ros.sim_node import SimNode

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    nodes = []
    try:
        sim = SimNode(context=ctx, cli_args=["--ros-args", "-r", f"odom:={SIM_ODOM_TOPIC}"],
                      parameter_overrides=_params(
                          task="fly_to_target", seed=0, real_time_factor=1.0,
                          command_level="acceleration", cmd_accel_topic=SIM_CMD_TOPIC))
        nodes.append(sim)
        nodes.append(Px4SimBridge(context=ctx, parameter_overrides=_params(
            use_sim_time=True, sim_cmd_topic=SIM_CMD_TOPIC, sim_odom_topic=SIM_ODOM_TOPIC)))
        adapter = Px4Adapter(context=ctx, parameter_overrides=_params(use_sim_time=True))
        nodes.append(adapter)
        pol = PolicyNode(context=ctx, parameter_overrides=_params(
            task="fly_to_target", use_sim_time=True, output_type="accel",
            cmd_topic="cmd_accel"))
        nodes.append(pol)
        assert pol.autostart()
        pol.startup.wait(120.0)
        for n in nodes:
            ex.add_node(n)
        end = time.monotonic() + 120.0
        while not sim.bridge.done and time.monotonic() < end:
            ex.spin_once(timeout_sec=0.01)
        metrics = sim.publish_metrics()
        print("px4 path metrics:", metrics, adapter.counters, nodes[1].counters)
        assert sim.bridge.done, "episode did not finish in 120 s wall time"
        assert metrics["is_success"], metrics
        # Every command the sim applied came through /fmu/in (the sim hears only the bridge).
        assert metrics["commands"] > 20 and metrics["mode_steps"].get("offboard", 0) > 0
        assert nodes[1].counters["forwarded"] >= metrics["commands"]
        assert adapter.counters["setpoints"] >= nodes[1].counters["forwarded"]
        assert adapter.counters["odometry"] > 20 and adapter.counters["rejected_commands"] == 0
    finally:
        for n in nodes:
            ex.remove_node(n)
            n.destroy_node()
        ex.shutdown()
        rclpy.try_shutdown(context=ctx)
