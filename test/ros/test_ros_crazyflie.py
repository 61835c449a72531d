"""crazyflie_adapter over real DDS with the generated crazyflie_interfaces."""

from __future__ import annotations

import importlib.util
import math

import pytest
from geometry_msgs.msg import AccelStamped
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter

from liquid_ros.ros import messages as m

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("crazyflie_interfaces") is None,
    reason="crazyflie_interfaces is not built into this environment (make venv builds it with "
    "tools/build-interfaces; needs cmake, make, g++)")


def test_full_state_and_hand_back_on_stale(harness):
    from crazyflie_interfaces.msg import FullState
    from crazyflie_interfaces.srv import NotifySetpointsStop

    from liquid_ros.ros.crazyflie_adapter import CrazyflieAdapter

    ad = harness.add(CrazyflieAdapter(parameter_overrides=[
        Parameter("cf_prefix", value="cf7"), Parameter("lookahead", value=0.0),
        Parameter("cmd_timeout", value=0.2)]))
    peer = harness.peer
    stops = []

    def on_stop(req, resp):
        stops.append(req.remain_valid_millisecs)
        return resp

    peer.create_service(NotifySetpointsStop, "/cf7/notify_setpoints_stop", on_stop)
    got = []
    peer.create_subscription(FullState, "/cf7/cmd_full_state", got.append, m.COMMAND_QOS)
    pub_odom = peer.create_publisher(Odometry, "odom", m.SENSOR_QOS)
    pub_cmd = peer.create_publisher(AccelStamped, "cmd_accel", m.COMMAND_QOS)
    odom = m.odom_to_msg(Odometry(), [1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0],
                         [0.0, 0.0, 0.0])
    cmd = AccelStamped()
    cmd.header.frame_id = "odom"
    cmd.accel.linear.z, cmd.accel.angular.z = 1.0, 0.3
    nan = AccelStamped()
    nan.accel.linear.x = math.nan

    def both() -> None:
        pub_odom.publish(odom)
        pub_cmd.publish(cmd)

    assert harness.spin_until(lambda: len(got) >= 3, 5.0, both, 0.02)
    fs = got[-1]
    assert (fs.pose.position.x, fs.pose.position.y, fs.pose.position.z) == (1.0, 2.0, 3.0)
    assert fs.twist.linear.x == pytest.approx(0.5) and fs.acc.z == 1.0
    assert fs.twist.angular.z == pytest.approx(0.3) and fs.header.frame_id == "world"
    # NaN setpoints are dropped; the input goes stale and control is handed back once.
    harness.spin(0.6, lambda: (pub_odom.publish(odom), pub_cmd.publish(nan)), 0.02)
    n = len(got)
    assert harness.spin_until(lambda: stops, 2.0)
    assert stops == [100] and not ad.active and ad.counters["rejected_commands"] > 5
    harness.spin(0.2)
    assert len(got) == n and all(math.isfinite(g.acc.x) for g in got)
