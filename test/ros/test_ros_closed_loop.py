"""Closed loop over DDS: sim_node + policy_node fly a short episode and report metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from geometry_msgs.msg import WrenchStamped
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
    assert all(c.clock.sec == 0 and c.clock.nanosec == 0 for c in clocks)
    assert sim.bridge.stats["steps"] == 0
    pub = h.peer.create_publisher(WrenchStamped, "cmd_wrench", 10)  # a policy appears
    h.spin(0.5)
    assert sim.bridge.stats["steps"] == 0  # a publisher alone does not start it
    w = WrenchStamped()
    w.wrench.force.z = float("nan")
    pub.publish(w)
    h.spin(0.5)
    assert sim.bridge.stats["steps"] == 0  # nor does a rejected command
    w.wrench.force.z = 0.027 * 9.81
    pub.publish(w)  # the first valid command does
    assert h.spin_until(lambda: sim.bridge.stats["steps"] > 10, 10.0)
    assert clocks[-1].clock.sec > 0 or clocks[-1].clock.nanosec > 0
