"""Closed loop over DDS: sim_node + policy_node fly a short episode and report metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from geometry_msgs.msg import AccelStamped, WrenchStamped
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from liquid_ros.ros import demo
from liquid_ros.ros.messages import SENSOR_QOS
from liquid_ros.ros.sim_node import METRICS_QOS, SimNode


@pytest.mark.slow
def test_demo_leader_follow_closed_loop(tmp_path, capsys):
    rc = demo.main(["--task", "leader_follow", "--duration", "2.0", "--json",
                    "--out", str(tmp_path)])
    assert rc == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    out = json.loads(last)
    assert out["task"] == "leader_follow" and out["done"] and not out["wall_timeout"]
    assert out["steps"] == 100 and math.isclose(out["sim_time"], 2.0, abs_tol=1e-6)
    assert out["commands"] > 50  # the policy node drove the sim over DDS
    assert out["policy"]["policy_ticks"] > 50 and out["policy"]["errors"] == 0
    assert out["fallback_fraction"] < 0.3
    assert out["min_altitude"] > 0.1  # untrained, but the safety filter keeps it flying
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 100


def test_sim_node_topics_hold_and_hover(harness):
    h = harness
    sim = h.add(SimNode(parameter_overrides=[Parameter("task", value="leader_follow"),
                                             Parameter("real_time_factor", value=0.0),
                                             Parameter("cmd_timeout", value=0.1)]))
    got: dict[str, list] = {k: [] for k in ("clock", "image", "info", "odom", "leader",
                                            "metrics")}
    p = h.peer
    p.create_subscription(Clock, "/clock", got["clock"].append, 10)
    p.create_subscription(Image, "camera/image_raw", got["image"].append, SENSOR_QOS)
    p.create_subscription(CameraInfo, "camera/camera_info", got["info"].append, SENSOR_QOS)
    p.create_subscription(Odometry, "odom", got["odom"].append, SENSOR_QOS)
    p.create_subscription(Odometry, "leader/odom", got["leader"].append, SENSOR_QOS)
    p.create_subscription(String, "sim_node/metrics", got["metrics"].append, METRICS_QOS)
    cmd = p.create_publisher(WrenchStamped, "cmd_wrench", 10)
    assert h.spin_until(lambda: all(got[k] for k in ("clock", "image", "info", "odom",
                                                     "leader")), 10.0)
    img = got["image"][-1]
    assert (img.height, img.width, img.encoding, img.step) == (64, 64, "rgb8", 192)
    od = got["odom"][-1]
    assert (od.header.frame_id, od.child_frame_id) == ("odom", "base_link")
    assert got["info"][-1].k[0] > 0
    # a NaN command is dropped; a valid one is held; without commands the sim hovers
    w = WrenchStamped()
    w.wrench.force.z = float("nan")
    cmd.publish(w)
    h.spin_until(lambda: sim.bridge.stats["rejected_commands"] > 0, 3.0)
    assert sim.bridge.stats["rejected_commands"] == 1
    w.wrench.force.z = 0.027 * 9.81
    cmd.publish(w)
    assert h.spin_until(lambda: sim.bridge.stats["commands"] == 1, 3.0)
    assert h.spin_until(lambda: got["metrics"], 10.0)
    m = json.loads(got["metrics"][-1].data)
    assert m["steps"] > 0 and 0.0 < m["fallback_fraction"] <= 1.0
    z = [o.pose.pose.position.z for o in got["odom"][-5:]]
    assert np.all(np.isfinite(z)) and min(z) > 0.3  # the sim's own hover kept it up


def test_sim_node_waits_for_a_policy_before_starting(harness):
    h = harness
    sim = h.add(SimNode(parameter_overrides=[Parameter("task", value="leader_follow"),
                                             Parameter("real_time_factor", value=0.0)]))
    clocks: list[Clock] = []
    h.peer.create_subscription(Clock, "/clock", clocks.append, 10)
    h.spin(1.0)
    assert len(clocks) > 5  # observations and /clock keep coming while it waits
    stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in clocks]
    assert stamps[-1] > stamps[0] and all(b >= a for a, b in zip(stamps, stamps[1:], strict=False))
    assert sim.bridge.stats["steps"] == 0 and sim.bridge.time == 0.0  # the world is held
    pub = h.peer.create_publisher(WrenchStamped, "cmd_wrench", 10)  # a policy appears
    h.spin(0.5)
    assert sim.bridge.stats["steps"] == 0  # a publisher alone does not start it
    w = WrenchStamped()
    w.wrench.force.z = float("nan")
    pub.publish(w)
    h.spin(0.5)
    assert sim.bridge.stats["steps"] == 0  # nor does a rejected command
    w.wrench.force.z = 0.027 * 9.81
    pub.publish(w)  # the first valid command does (no policy status topic to wait for)
    assert h.spin_until(lambda: sim.bridge.stats["steps"] > 10, 10.0)


def test_sim_node_waits_for_the_policy_to_fly_not_its_hold(harness):
    """With a policy_node-style status topic, its warm-up hold does not start the episode."""
    h = harness
    sim = h.add(SimNode(parameter_overrides=[Parameter("real_time_factor", value=0.0)]))
    status = h.peer.create_publisher(String, "policy_node/safety_status", 10)
    cmd = h.peer.create_publisher(WrenchStamped, "cmd_wrench", 10)
    w = WrenchStamped()
    w.wrench.force.z = 0.027 * 9.81

    def hold():
        cmd.publish(w)
        status.publish(String(data=json.dumps({"mode": "warmup"})))

    h.spin(1.0, hold)
    assert sim.bridge.stats["steps"] == 0  # holding while the policy loads: not started
    status.publish(String(data=json.dumps({"mode": "policy"})))
    assert h.spin_until(lambda: sim.bridge.stats["steps"] > 10, 10.0, lambda: cmd.publish(w))


def test_sim_node_acceleration_level_setpoints_then_hold_and_land(harness):
    h = harness
    env_args = json.dumps({"timeout": 30.0,
                           "flight_controller": {"setpoint_timeout": 0.2, "hold_time": 1.0}})
    sim = h.add(SimNode(parameter_overrides=[Parameter("task", value="fly_to_target"),
                                             Parameter("real_time_factor", value=0.0),
                                             Parameter("command_level", value="acceleration"),
                                             Parameter("env_args", value=env_args)]))
    p = h.peer
    pub = p.create_publisher(AccelStamped, "cmd_accel", 10)
    metrics: list[String] = []
    p.create_subscription(String, "sim_node/metrics", metrics.append, METRICS_QOS)
    odom_z: list[float] = []
    streaming = [False]

    def setpoint(z_acc: float, frame: str = "odom") -> AccelStamped:
        msg = AccelStamped()
        msg.header.frame_id = frame
        msg.accel.linear.z = z_acc
        return msg

    def on_odom(msg: Odometry) -> None:  # a policy answering each observation
        odom_z.append(msg.pose.pose.position.z)
        if streaming[0]:
            pub.publish(setpoint(0.5))

    p.create_subscription(Odometry, "odom", on_odom, SENSOR_QOS)
    ticks: list[tuple[str, float, float]] = []  # (flight mode, z, vz) after each sim tick
    step = sim.bridge.step

    def logged_step(record: bool = True) -> dict:
        info = step(record)
        ticks.append((info["flight_mode"], info["position"][2], info["velocity"][2]))
        return info

    sim.bridge.step = logged_step
    assert h.spin_until(lambda: len(odom_z) > 3, 10.0)
    # A NaN setpoint and one in the body frame are dropped and do not start the episode.
    for n, bad in enumerate((setpoint(float("nan")), setpoint(0.5, "base_link"))):
        pub.publish(bad)  # one at a time: the command QoS keeps only the last
        h.spin_until(lambda n=n: sim.bridge.stats["rejected_commands"] > n, 3.0)
    assert sim.bridge.stats["rejected_commands"] == 2 and sim.bridge.stats["steps"] == 0
    z0 = odom_z[-1]
    streaming[0] = True  # climbing at 0.5 m/s^2, through the onboard flight controller
    assert h.spin_until(lambda: sim.bridge.time > 1.0, 20.0)
    assert {mode for mode, _, _ in ticks[5:]} == {"offboard"}
    assert ticks[-1][1] > z0 + 0.1 and ticks[-1][2] > 0.3
    streaming[0], stop = False, len(ticks)  # the policy stops: timeout -> hold -> land
    assert h.spin_until(lambda: sim.bridge.done or ticks[-1][0] == "disarmed", 30.0)
    modes = [mode for mode, _, _ in ticks]
    first_hold, first_land = modes.index("hold", stop), modes.index("land", stop)
    assert stop <= first_hold <= stop + 15 and 45 <= first_land - first_hold <= 55  # 1 s hold
    hold = ticks[first_hold:first_land]  # brakes the 0.5 m/s climb, back to where it fired
    assert max(z for _, z, _ in hold) - hold[0][1] < 0.15
    assert all(abs(vz) < 0.2 for _, _, vz in hold[-25:])
    assert min(vz for _, _, vz in ticks[first_land:]) < -0.4  # lands at 0.5 m/s
    hold_z = hold[-1][1]
    assert hold_z > z0 + 0.1
    assert h.spin_until(lambda: metrics and json.loads(metrics[-1].data)["done"], 10.0)
    assert odom_z[-1] < hold_z - 0.5  # the odometry shows the landing
    final = json.loads(metrics[-1].data)
    assert final["command_level"] == "acceleration" and final["rejected_commands"] == 2
    assert 45 <= final["mode_steps"]["hold"] <= 70  # with the hold before the first setpoint
    assert final["mode_steps"]["land"] > 0 and final["fallback_fraction"] > 0.3


def test_sim_node_rejects_a_bad_command_level(harness):
    with pytest.raises(ValueError, match="command_level"):
        SimNode(parameter_overrides=[Parameter("command_level", value="rates")])
    with pytest.raises(ValueError, match="command_level"):
        SimNode(parameter_overrides=[Parameter("env_args",
                                               value='{"command_level": "acceleration"}')])


def test_sim_node_logs_each_episode_and_finishes_after_max_episodes(harness):
    """loop_episodes + max_episodes: N results, then ``finished`` (main() then exits 0)."""
    h = harness
    sim = h.add(SimNode(parameter_overrides=[
        Parameter("real_time_factor", value=0.0), Parameter("wait_for_policy", value=False),
        Parameter("max_episode_time", value=0.3), Parameter("loop_episodes", value=True),
        Parameter("max_episodes", value=2)]))
    clocks: list[Clock] = []
    h.peer.create_subscription(Clock, "/clock", clocks.append, 100)
    assert h.spin_until(lambda: sim.finished, 30.0)
    assert len(sim.results) == 2 and [r["episode"] for r in sim.results] == [0, 1]
    assert all(r["done"] and r["steps"] > 0 for r in sim.results)
    h.spin(0.3)
    stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in clocks]
    assert all(b >= a for a, b in zip(stamps, stamps[1:], strict=False))  # never backwards
    steps = sim.bridge.stats["steps"]
    h.spin(0.3)
    assert sim.bridge.stats["steps"] == steps  # finished: no more stepping


def test_sim_node_without_loop_runs_one_episode_and_logs_its_result(harness):
    from liquid_ros.ros.sim_node import _episode_line

    sim = harness.add(SimNode(parameter_overrides=[
        Parameter("real_time_factor", value=0.0), Parameter("wait_for_policy", value=False),
        Parameter("max_episode_time", value=0.3)]))
    assert harness.spin_until(lambda: sim.finished, 30.0)
    assert len(sim.results) == 1
    line = _episode_line({"episode": 0, "is_success": True, "sim_time": 2.5,
                          "env_metrics": {"final_distance": 0.29, "crashed": False},
                          "commands": 10, "fallback_fraction": 0.0})
    assert line.startswith("episode 0: SUCCESS after 2.50 s") and "final_distance=0.29" in line
