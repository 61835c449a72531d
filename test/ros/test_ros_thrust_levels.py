"""attitude_thrust and rates_thrust over real DDS with generated mavros_msgs and px4_msgs.

sim_node, px4_adapter, px4_sim_bridge, mavros_adapter, policy_node's output and launch logic.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from std_msgs.msg import String

from liquid_ros.control.quadrotor import CF2X
from liquid_ros.ros import messages as m
from liquid_ros.ros.adapter_common import PX4_IN_QOS, PX4_OUT_QOS
from liquid_ros.ros.launch_logic import LEVELS, node_specs
from liquid_ros.runtime import stacks as st
from liquid_ros.runtime import thrust_setpoints as ts

HAVE = {p: importlib.util.find_spec(p) is not None for p in ("mavros_msgs", "px4_msgs")}
needs_mavros = pytest.mark.skipif(not HAVE["mavros_msgs"], reason="mavros_msgs is not built "
                                  "into this environment (make venv builds it)")
needs_both = pytest.mark.skipif(not all(HAVE.values()), reason="needs mavros_msgs and "
                                "px4_msgs (make venv builds them)")
Q = np.array([0.1, -0.2, 0.3, 0.9]) / np.linalg.norm([0.1, -0.2, 0.3, 0.9])
ATT = np.append(Q, 0.3)
RATES = np.array([0.5, -0.4, 0.3, 0.25])


def _params(**kw) -> list[Parameter]:
    return [Parameter(k, value=v) for k, v in kw.items()]


def _target(level: str, values, **change):
    msg = m.attitude_target_msg(level, Time(), values)
    for k, v in change.items():
        if k == "frame_id":
            msg.header.frame_id = v
        elif k == "w":
            msg.orientation.x = msg.orientation.y = msg.orientation.z = 0.0
            msg.orientation.w = v
        elif k == "nan_rate":
            msg.body_rate.x = math.nan
        else:
            setattr(msg, k, v)
    return msg


@needs_mavros
def test_policy_output_messages():
    from mavros_msgs.msg import AttitudeTarget

    assert m.command_type("attitude") is AttitudeTarget is m.command_type("rates")
    stamp = Time()
    att = m.command_msg("attitude", stamp, "base_link", None, np.zeros(3), 0.0, ATT)
    assert att.type_mask == (AttitudeTarget.IGNORE_ROLL_RATE | AttitudeTarget.IGNORE_PITCH_RATE
                             | AttitudeTarget.IGNORE_YAW_RATE) == 7
    assert att.header.frame_id == "odom"
    o = att.orientation
    np.testing.assert_allclose([o.x, o.y, o.z, o.w], Q)
    assert att.thrust == pytest.approx(0.3 / CF2X.max_thrust, rel=1e-6)
    rates = m.command_msg("rates", stamp, "base_link", None, np.zeros(3), 0.0, RATES)
    assert rates.type_mask == AttitudeTarget.IGNORE_ATTITUDE == 128
    b = rates.body_rate
    np.testing.assert_allclose([b.x, b.y, b.z], RATES[:3])
    with pytest.raises(st.StackConversionError):
        m.command_msg("attitude", stamp, "base_link", None, np.zeros(3), 0.0,
                      [0, 0, 0, 0, 0.3])


def test_missing_mavros_msgs_fails_configure_and_sim_start_with_one_line():
    """Without mavros_msgs, configure fails and sim_node exits, each with one line.

    The package's import is blocked in a fresh interpreter (it is then not importable).
    """
    code = """
import sys
sys.modules["mavros_msgs"] = None  # the package is not importable
import rclpy
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from liquid_ros.ros.policy_node import PolicyNode
rclpy.init()
node = PolicyNode(parameter_overrides=[Parameter("output_type", value="attitude"),
                                       Parameter("cmd_topic", value="cmd_attitude")])
print("CONFIGURE", node.trigger_configure() == TransitionCallbackReturn.SUCCESS, flush=True)
node.destroy_node()
rclpy.try_shutdown()
from liquid_ros.ros import sim_node
try:
    sim_node.main(["--ros-args", "-p", "command_level:=attitude_thrust"])
except SystemExit as exc:
    print("SIM_EXIT", exc.code, flush=True)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert "CONFIGURE False" in out.stdout and "SIM_EXIT 1" in out.stdout, out
    lines = [ln for ln in out.stderr.splitlines() if "mavros_msgs" in ln]
    assert len(lines) == 2, out.stderr
    assert "output_type attitude: the ROS message package mavros_msgs is not installed" \
        in lines[0]
    assert lines[1].startswith("sim_node: the ROS message package mavros_msgs")
    assert "Traceback" not in out.stderr


@needs_mavros
@pytest.mark.parametrize("level", ["attitude_thrust", "rates_thrust"])
def test_sim_node_thrust_level_setpoints_and_bad_input(harness, level):
    from mavros_msgs.msg import AttitudeTarget

    from liquid_ros.ros.sim_node import METRICS_QOS, SimNode

    h = harness
    sim = h.add(SimNode(parameter_overrides=_params(
        command_level=level, real_time_factor=2.0, wait_for_policy=True,
        policy_status_topic="", max_episode_time=0.6)))  # starts at the first valid one
    p = h.peer
    pub = p.create_publisher(AttitudeTarget, "cmd_attitude", m.COMMAND_QOS)
    metrics = []
    p.create_subscription(String, "sim_node/metrics", metrics.append, METRICS_QOS)
    hover = CF2X.weight
    good = np.append(Q, hover) if level == "attitude_thrust" else np.array([0, 0, 0, hover])
    other = "rates_thrust" if level == "attitude_thrust" else "attitude_thrust"
    bad = [_target(level, good, thrust=math.nan), _target(level, good, frame_id="base_link"),
           _target(other, np.append(Q, hover) if other == "attitude_thrust"
                   else np.array([0, 0, 0, hover])),  # type_mask of the other level
           _target(level, good, thrust=1.5)]
    bad.append(_target(level, good, w=0.0) if level == "attitude_thrust"
               else _target(level, good, nan_rate=True))
    n_before = sim.bridge.stats["commands"]
    assert h.spin_until(lambda: pub.get_subscription_count() > 0, 5.0)
    for msg in bad:  # one at a time: the command QoS keeps only the newest
        pub.publish(msg)
        h.spin(0.1)
    assert h.spin_until(lambda: sim.bridge.stats["rejected_commands"] >= len(bad), 5.0), (
        sim.bridge.stats, sim.bridge.done)
    assert sim.bridge.stats["commands"] == n_before  # nothing bad reached the sim
    assert np.all(np.isfinite(sim.bridge.info["position"]))
    good_msg = _target(level, good)
    assert h.spin_until(lambda: sim.bridge.done, 20.0, lambda: pub.publish(good_msg), 0.01)
    assert h.spin_until(lambda: metrics and json.loads(metrics[-1].data)["done"], 5.0)
    final = json.loads(metrics[-1].data)
    assert final["command_level"] == level and final["commands"] > 5
    assert final["rejected_commands"] == len(bad)
    assert final["mode_steps"].get("offboard", 0) > 0
    # Near-hover thrust, level-ish: the drone neither fell nor shot up in 0.6 s.
    assert final["min_altitude"] > 0.5


@needs_both
@pytest.mark.parametrize("level", ["attitude_thrust", "rates_thrust"])
def test_px4_adapter_thrust_levels(harness, level):
    from mavros_msgs.msg import AttitudeTarget
    from px4_msgs.msg import OffboardControlMode, VehicleAttitudeSetpoint, VehicleRatesSetpoint

    from liquid_ros.ros.px4_adapter import Px4Adapter

    ad = harness.add(Px4Adapter(parameter_overrides=_params(command_level=level,
                                                            hover_thrust=0.4)))
    att = level == "attitude_thrust"
    sp_type = VehicleAttitudeSetpoint if att else VehicleRatesSetpoint
    topic = "/fmu/in/vehicle_attitude_setpoint" if att else "/fmu/in/vehicle_rates_setpoint"
    peer, got, modes = harness.peer, [], []
    peer.create_subscription(sp_type, topic, got.append, PX4_OUT_QOS)
    peer.create_subscription(OffboardControlMode, "/fmu/in/offboard_control_mode",
                             modes.append, PX4_OUT_QOS)
    pub = peer.create_publisher(AttitudeTarget, "cmd_attitude", m.COMMAND_QOS)
    values = ATT if att else RATES
    bad = _target(level, values, thrust=math.nan)
    harness.spin(0.3, lambda: pub.publish(bad), 0.02)
    assert not got and not modes and ad.counters["rejected_commands"] > 0
    msg = _target(level, values)
    assert harness.spin_until(lambda: got and modes, 5.0, lambda: pub.publish(msg), 0.02)
    mode = modes[-1]
    assert (mode.attitude, mode.body_rate, mode.acceleration) == (att, not att, False)
    sp = got[-1]
    thrust = float(np.float32(msg.thrust)) * CF2X.max_thrust
    assert sp.thrust_body[2] == pytest.approx(-0.4 * thrust / CF2X.weight, rel=1e-5)
    back = ts.px4_thrust_setpoint_values(sp, level, 0.4, CF2X.weight)
    np.testing.assert_allclose(back[:-1], values[:-1], atol=1e-6)
    if att:  # known axis: the ENU/FLU attitude's body x axis, in NED, is q_d's body x axis
        from liquid_ros.control.frames import enu_to_ned, px4_quat_to_ros
        from liquid_ros.control.rotation import quat_to_matrix

        x_enu = quat_to_matrix(Q)[:, 0]
        x_ned = quat_to_matrix(np.roll(np.asarray(sp.q_d, float), -1))[:, 0]
        np.testing.assert_allclose(x_ned, enu_to_ned(x_enu), atol=1e-6)
        np.testing.assert_allclose(quat_to_matrix(px4_quat_to_ros(np.asarray(sp.q_d, float))),
                                   quat_to_matrix(Q), atol=1e-6)
    else:
        assert (sp.roll, sp.pitch, sp.yaw) == pytest.approx((0.5, 0.4, -0.3), abs=1e-6)
    harness.spin(0.6)  # no more setpoints: the heartbeat stops (PX4's failsafe takes over)
    assert not ad.streaming and ad.counters["heartbeat_stops"] == 1


@needs_both
def test_px4_sim_bridge_rates_needs_body_rate_heartbeat(harness):
    from mavros_msgs.msg import AttitudeTarget
    from px4_msgs.msg import OffboardControlMode, VehicleRatesSetpoint

    from liquid_ros.ros.px4_sim_bridge import Px4SimBridge

    br = harness.add(Px4SimBridge(parameter_overrides=_params(
        command_level="rates_thrust", hover_thrust=0.4, sim_cmd_topic="sim/cmd_attitude")))
    peer, got = harness.peer, []
    peer.create_subscription(AttitudeTarget, "sim/cmd_attitude", got.append, m.COMMAND_QOS)
    pub_sp = peer.create_publisher(VehicleRatesSetpoint, "/fmu/in/vehicle_rates_setpoint",
                                   PX4_IN_QOS)
    pub_mode = peer.create_publisher(OffboardControlMode, "/fmu/in/offboard_control_mode",
                                     PX4_IN_QOS)
    sp = st.fill(VehicleRatesSetpoint(),
                 ts.px4_thrust_setpoint("rates_thrust", RATES, 0.4, CF2X.weight, 1))
    accel_mode = st.fill(OffboardControlMode(), st.px4_offboard_control_mode(1))

    def send(mode) -> None:
        pub_mode.publish(mode)
        pub_sp.publish(sp)

    harness.spin(0.5, lambda: send(accel_mode), 0.02)  # heartbeat of another mode
    assert not got and br.counters["no_heartbeat"] > 0
    rate_mode = st.fill(OffboardControlMode(), st.px4_offboard_control_mode(1, "rates_thrust"))
    assert harness.spin_until(lambda: got, 3.0, lambda: send(rate_mode), 0.02)
    back = ts.attitude_target_setpoint(got[-1], "rates_thrust", CF2X.max_thrust)
    np.testing.assert_allclose(back, RATES, rtol=1e-5, atol=1e-6)
    nan = st.fill(VehicleRatesSetpoint(), {**ts.px4_thrust_setpoint(
        "rates_thrust", RATES, 0.4, CF2X.weight, 1), "roll": math.nan})
    n = len(got)
    harness.spin(0.3, lambda: (pub_mode.publish(rate_mode), pub_sp.publish(nan)), 0.02)
    assert len(got) == n and br.counters["rejected_setpoints"] > 0


@needs_mavros
def test_mavros_adapter_forwards_attitude_target(harness):
    from mavros_msgs.msg import AttitudeTarget

    from liquid_ros.ros.mavros_adapter import MavrosAdapter

    ad = harness.add(MavrosAdapter(parameter_overrides=_params(command_level="attitude_thrust")))
    peer, got = harness.peer, []
    peer.create_subscription(AttitudeTarget, "/mavros/setpoint_raw/attitude", got.append,
                             m.SENSOR_QOS)
    pub = peer.create_publisher(AttitudeTarget, "cmd_attitude", m.COMMAND_QOS)
    pub_odom = peer.create_publisher(Odometry, "/mavros/local_position/odom", m.SENSOR_QOS)
    odom = m.odom_to_msg(Odometry(), [0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.0] * 3, [0.0] * 3)
    good, bad = _target("attitude_thrust", ATT), _target("attitude_thrust", ATT, type_mask=128)

    sent = []

    def send() -> None:  # odometry, then the bad and the good setpoint in turn
        pub_odom.publish(odom)
        pub.publish(bad if len(sent) % 2 else good)
        sent.append(1)

    assert harness.spin_until(lambda: len(got) >= 3 and ad.counters["rejected_commands"] >= 3,
                              5.0, send, 0.03)
    assert all(g.type_mask == 7 for g in got)  # the rates-only one never went out
    o = got[-1].orientation
    np.testing.assert_allclose([o.x, o.y, o.z, o.w], Q, atol=1e-12)
    assert got[-1].thrust == pytest.approx(good.thrust) and got[-1].header.frame_id == "map"


def test_crazyflie_refuses_thrust_levels_and_launch_levels():
    from liquid_ros.ros.adapter_config import CrazyflieAdapterConfig

    with pytest.raises(ValueError, match="cmd_vel_legacy"):
        CrazyflieAdapterConfig(command_level="attitude_thrust")
    with pytest.raises(ValueError, match="command_level"):
        node_specs("crazyflie", {"command_level": "rates_thrust"})
    assert LEVELS["attitude_thrust"] == ("attitude", "cmd_attitude")
    assert LEVELS["rates_thrust"] == ("rates", "cmd_attitude")
    for kind in ("fly_to_target", "leader_follow", "sim", "policy"):
        specs = node_specs(kind, {"command_level": "rates_thrust"})
        for s in specs:
            over = s.parameters[-1]
            if s.executable == "sim_node":
                assert over["command_level"] == "rates_thrust"
            else:
                assert (over["output_type"], over["cmd_topic"]) == ("rates", "cmd_attitude")
    sim, bridge, adapter, pol = node_specs("px4_sim", {"command_level": "attitude_thrust"})
    assert sim.parameters[1]["command_level"] == "attitude_thrust"
    assert bridge.parameters[1]["sim_cmd_topic"] == sim.parameters[1]["cmd_attitude_topic"]
    for s in (bridge, adapter):
        assert s.parameters[1]["command_level"] == "attitude_thrust"
        assert s.parameters[1]["hover_thrust"] == pytest.approx(CF2X.weight / CF2X.max_thrust)
    assert pol.parameters[-1]["output_type"] == "attitude"
    mav, pol = node_specs("mavros", {"command_level": "rates_thrust"})
    assert mav.parameters[1]["command_level"] == "rates_thrust"
    assert pol.parameters[-1]["cmd_topic"] == "cmd_attitude"


@needs_both
@pytest.mark.slow
@pytest.mark.parametrize("level, stack", [("attitude_thrust", "ros"),
                                          ("rates_thrust", "px4")])
def test_closed_loop_fly_to_target_at_thrust_level(level, stack):
    """The shipped fly_to_target policy reaches its target at a thrust level over DDS.

    policy_node (output_type attitude / rates) -> [px4_adapter -> /fmu/in -> bridge ->]
    sim_node at the level.
    """
    from liquid_ros.ros import demo

    result = demo.run("fly_to_target", None, "", command_level=level, stack=stack)
    metrics = result["metrics"]
    print(f"{level} via {stack}:", json.dumps({k: metrics.get(k) for k in (
        "is_success", "sim_time", "commands", "rejected_commands", "mode_steps")}))
    assert not metrics["wall_timeout"] and metrics["is_success"], metrics
    assert metrics["command_level"] == level and metrics["rejected_commands"] == 0
    assert metrics["commands"] > 20 and metrics["fallback_fraction"] < 0.05
    assert result["policy"]["errors"] == 0


def test_stack_yaml_files_match_their_configs():
    import yaml

    from liquid_ros.ros import adapter_config as ac
    from liquid_ros.ros.launch_logic import config_dir

    for name, node, cls in (("px4.yaml", "px4_adapter", ac.Px4AdapterConfig),
                            ("px4.yaml", "px4_sim_bridge", ac.Px4SimBridgeConfig),
                            ("mavros.yaml", "mavros_adapter", ac.MavrosAdapterConfig),
                            ("crazyflie.yaml", "crazyflie_adapter", ac.CrazyflieAdapterConfig)):
        values = yaml.safe_load((config_dir() / name).read_text())[f"/**/{node}"][
            "ros__parameters"]
        cfg = cls(**values)  # every key a field, every value valid
        assert cfg.command_level == "acceleration"
    px4 = ac.Px4AdapterConfig(**yaml.safe_load((config_dir() / "px4.yaml").read_text())[
        "/**/px4_adapter"]["ros__parameters"])
    assert px4.max_thrust == CF2X.max_thrust and px4.vehicle_mass == CF2X.mass
