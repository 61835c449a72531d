"""policy_node over real DDS: rate, bounds, watchdog, lifecycle, parameters, services, fuzz."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped, WrenchStamped
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from nav_msgs.msg import Odometry
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from liquid_ros.ros.image_conversion import rgb_to_image_msg
from liquid_ros.ros.messages import SENSOR_QOS, STATUS_QOS, wrench_from_msg
from liquid_ros.ros.policy_node import PolicyNode

RATE = 50.0


class Feeder:
    """Publishes camera and odometry from the test peer; records commands and statuses."""

    def __init__(self, h, compressed: bool = False, cmd_type=WrenchStamped) -> None:
        p = h.peer
        self.h = h
        self.pub_img = p.create_publisher(CompressedImage if compressed else Image,
                                          "camera/image_raw", SENSOR_QOS)
        self.pub_odom = p.create_publisher(Odometry, "odom", SENSOR_QOS)
        self.cmds: list[tuple[float, object]] = []
        self.status: list[tuple[float, dict]] = []
        p.create_subscription(cmd_type, "cmd_wrench",
                              lambda m: self.cmds.append((time.monotonic(), m)), 100)
        p.create_subscription(String, "policy_node/safety_status",
                              lambda m: self.status.append((time.monotonic(),
                                                            json.loads(m.data))), STATUS_QOS)
        self.rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        self.compressed = compressed

    def odom(self, z: float = 1.0) -> Odometry:
        o = Odometry()
        o.header.frame_id, o.child_frame_id = "odom", "base_link"
        o.pose.pose.position.z = z
        o.pose.pose.orientation.w = 1.0
        return o

    def publish(self) -> None:
        if self.compressed:
            from PIL import Image as PILImage
            buf = io.BytesIO()
            PILImage.fromarray(self.rgb).save(buf, format="PNG")
            self.pub_img.publish(CompressedImage(format="png", data=buf.getvalue()))
        else:
            self.pub_img.publish(rgb_to_image_msg(self.rgb, Image()))
        self.pub_odom.publish(self.odom())

    def wrenches(self) -> np.ndarray:
        return np.array([wrench_from_msg(m) for _, m in self.cmds]).reshape(-1, 4)


def _node(h, autostart: bool = True, **params) -> PolicyNode:
    over = [Parameter("rate_hz", value=RATE), Parameter("autostart", value=autostart)]
    params.setdefault("warmup_in_background", False)  # these tests start with kernels ready
    over += [Parameter(k, value=v) for k, v in params.items()]
    node = h.add(PolicyNode(parameter_overrides=over))
    node.autostart()
    return node


def test_rate_bounds_watchdog_and_recovery(harness, in_bounds):
    h = harness
    f = Feeder(h)
    diags = []
    h.peer.create_subscription(DiagnosticArray, "/diagnostics", diags.append, STATUS_QOS)
    node = _node(h, input_timeout=2.0 / RATE, land_timeout=0.5, diagnostics_period=0.2)
    assert h.spin_until(lambda: f.status and f.status[-1][1]["mode"] == "policy", 5.0,
                        f.publish)
    f.cmds.clear()
    h.spin(1.0, f.publish)
    n = len(f.cmds)
    assert 0.8 * RATE <= n <= 1.2 * RATE, n
    w = f.wrenches()
    assert all(in_bounds(x) for x in w)
    assert np.all([m.header.frame_id == "base_link" for _, m in f.cmds])
    # input loss: hover within input_timeout + 2 periods, then land, never a zero wrench
    t_lost = time.monotonic()
    def seen(mode: str) -> bool:  # any status since the loss (a late batch may skip past)
        return any(t > t_lost and s["mode"] == mode for t, s in f.status)

    assert h.spin_until(lambda: seen("hover"), 3.0)
    t_hover = next(t for t, s in f.status if t > t_lost and s["mode"] == "hover")
    assert t_hover - t_lost <= 2.0 / RATE + 2.0 / RATE + 0.1  # + DDS and scheduling slack
    assert h.spin_until(lambda: seen("land") and f.status[-1][1]["mode"] == "land", 2.0)
    assert all(in_bounds(x) and x[0] > 0.5 * 0.027 * 9.81 for x in f.wrenches()[-10:]), (
        sorted(round(float(x[0]), 4) for x in f.wrenches()[-10:]))
    assert h.spin_until(lambda: f.status[-1][1]["mode"] == "policy", 2.0, f.publish)
    assert node.pilot.counters["fallback_ticks"] > 0
    values = {kv.key: kv.value for kv in diags[-1].status[0].values}
    assert {"mode", "rate_hz_wall", "image_age_s", "odom_age_s", "interventions",
            "rejected_image"} <= set(values)
    assert any(d.status[0].level == b"\x01" for d in diags)  # WARN while hovering/landing


def test_lifecycle_over_services(harness):
    h = harness
    f = Feeder(h)
    node = _node(h, autostart=False)
    change = h.peer.create_client(ChangeState, "policy_node/change_state")
    get = h.peer.create_client(GetState, "policy_node/get_state")
    assert h.call(get, GetState.Request()).current_state.label == "unconfigured"
    h.spin(0.3, f.publish)
    assert not f.cmds  # unconfigured: silent
    assert h.call(change, ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_CONFIGURE))).success
    h.spin(0.3, f.publish)
    assert not f.cmds  # inactive: silent
    assert h.call(change, ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_ACTIVATE))).success
    assert h.spin_until(lambda: len(f.cmds) > 5, 3.0, f.publish)
    assert node.pilot.policy.hidden_state is not None
    assert h.call(change, ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_DEACTIVATE))).success
    h.spin(0.1)
    n = len(f.cmds)
    assert f.status[-1][1]["mode"] == "hover" and f.wrenches()[-1][0] > 0  # safe last command
    h.spin(0.3, f.publish)
    assert len(f.cmds) == n  # inactive again: silent
    assert h.call(change, ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_ACTIVATE))).success
    assert node.pilot.policy.hidden_state is None  # hidden state reset on activate
    assert h.call(change, ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_DEACTIVATE))).success
    assert h.call(change, ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_CLEANUP))).success
    assert node.pilot is None
    assert h.call(get, GetState.Request()).current_state.label == "unconfigured"


def test_parameters_rejected_with_reason(harness):
    h = harness
    _node(h)
    cli = h.peer.create_client(SetParameters, "policy_node/set_parameters")

    def set_(name, value):
        req = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        return h.call(cli, req).results[0]

    r = set_("input_timeout", 50.0)
    assert not r.successful and "land_timeout" in r.reason
    r = set_("rate_hz", 10.0)
    assert not r.successful and "read-only" in r.reason.lower()
    r = set_("safety.speed_max", -2.0)
    assert not r.successful and "speed_max" in r.reason
    r = set_("max_dt", 50.0)
    assert not r.successful
    r = set_("safety.speed_max", 2.0)
    assert r.successful


def test_pause_and_emergency_stop(harness):
    h = harness
    f = Feeder(h)
    _node(h)
    assert h.spin_until(lambda: f.status and f.status[-1][1]["mode"] == "policy", 5.0,
                        f.publish)
    pause = h.peer.create_client(SetBool, "policy_node/pause")
    assert h.call(pause, SetBool.Request(data=True)).success
    assert h.spin_until(lambda: f.status[-1][1]["reason"] == "paused", 1.0, f.publish)
    assert h.call(pause, SetBool.Request(data=False)).success
    assert h.spin_until(lambda: f.status[-1][1]["mode"] == "policy", 1.0, f.publish)
    estop = h.peer.create_client(Trigger, "policy_node/emergency_stop")
    assert h.call(estop, Trigger.Request()).success
    assert h.spin_until(lambda: f.status[-1][1]["mode"] == "estop", 1.0, f.publish)
    assert f.status[-1][1]["accel"][2] < 0  # descending
    f.odom = lambda z=0.01: Feeder.odom(f, z)  # now on the ground
    assert h.spin_until(lambda: f.status[-1][1]["mode"] == "grounded", 1.0, f.publish)
    assert h.spin_until(lambda: f.cmds and f.wrenches()[-1][0] == 0.0, 1.0, f.publish)


def test_compressed_input_and_twist_output(harness):
    h = harness
    f = Feeder(h, compressed=True, cmd_type=TwistStamped)
    node = _node(h, compressed=True, output_type="twist")
    assert h.spin_until(lambda: f.status and f.status[-1][1]["mode"] == "policy", 5.0,
                        f.publish)
    assert h.spin_until(lambda: len(f.cmds) > 3, 2.0, f.publish)
    tw = f.cmds[-1][1].twist
    assert np.all(np.abs([tw.linear.x, tw.linear.y, tw.linear.z]) <= 4.0 + 1e-9)
    np.testing.assert_array_equal(node.pilot.image, f.rgb)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "16UC1",
                                      "32FC1"])
def test_encodings_over_dds(harness, encoding):
    h = harness
    f = Feeder(h)
    node = _node(h)
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)  # resized to 64x64 by the node
    chans = {"rgb8": rgb, "bgr8": rgb[:, :, ::-1], "rgba8": np.dstack([rgb, rgb[:, :, :1]]),
             "bgra8": np.dstack([rgb[:, :, ::-1], rgb[:, :, :1]]), "mono8": rgb[:, :, :1],
             "16UC1": rgb[:, :, :1].astype(np.uint16) * 200,
             "32FC1": rgb[:, :, :1].astype(np.float32) / 7.0}[encoding]
    pad = 4
    rows = np.ascontiguousarray(chans).reshape(32, -1).view(np.uint8)
    rows = np.hstack([rows, np.zeros((32, pad), np.uint8)])
    msg = Image(height=32, width=48, encoding=encoding, step=rows.shape[1],
                data=rows.tobytes())

    def pub():
        f.pub_img.publish(msg)
        f.pub_odom.publish(f.odom())

    assert h.spin_until(lambda: node.pilot.image is not None, 3.0, pub)
    img = node.pilot.image
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    if encoding in ("rgb8", "bgr8", "rgba8", "bgra8"):
        # nearest upsampling of 32x48 to 64x64 keeps the source pixels
        np.testing.assert_array_equal(img[0, 0], rgb[0, 0])
        np.testing.assert_array_equal(img[63, 63], rgb[31, 47])
    else:
        np.testing.assert_array_equal(img[:, :, 0], img[:, :, 2])  # grey
        assert img.max() > 200  # 16UC1 / 32FC1 are scaled to the full range
    assert node.inputs.rejected["image"] == 0


def test_fuzz_malformed_inputs(harness, in_bounds):
    """600 malformed images and odometry messages: alive, every command finite and bounded."""
    h = harness
    f = Feeder(h)
    node = _node(h, input_timeout=0.1)
    rng = np.random.default_rng(1234)
    encodings = ["rgb8", "bgr8", "mono8", "16UC1", "32FC1", "rgba8", "yuv422", "", "bgra8"]
    bad = [np.nan, np.inf, -np.inf, 1e300, -1e9, 0.0, 1.0]
    sent = [0]

    def junk():
        k = sent[0]
        sent[0] += 1
        if k % 2 == 0:
            hgt, wid = int(rng.integers(0, 80)), int(rng.integers(0, 80))
            enc = encodings[rng.integers(len(encodings))]
            step = int(rng.integers(0, 300))
            n = int(rng.integers(0, 20000))
            f.pub_img.publish(Image(height=hgt, width=wid, encoding=enc, step=step,
                                    is_bigendian=int(rng.integers(2)),
                                    data=rng.integers(0, 256, n, dtype=np.uint8).tobytes()))
        else:
            o = f.odom()
            vals = rng.choice(bad, 13) if rng.random() < 0.7 else rng.normal(0, 3, 13)
            p, q = o.pose.pose.position, o.pose.pose.orientation
            tl, ta = o.twist.twist.linear, o.twist.twist.angular
            p.x, p.y, p.z, q.x, q.y, q.z, q.w = (float(v) for v in vals[:7])
            tl.x, tl.y, tl.z, ta.x, ta.y, ta.z = (float(v) for v in vals[7:])
            f.pub_odom.publish(o)
        if k % 10 == 0:
            f.publish()  # some valid input mixed in

    h.spin(3.5, junk, period=0.005)
    assert sent[0] >= 500
    h.spin(0.2)
    w = f.wrenches()
    assert len(w) > 100 and all(in_bounds(x) for x in w)
    assert sum(node.inputs.rejected.values()) > 50  # best effort, keep last 1: some are dropped
    assert node.pilot is not None and node.timer is not None  # still active
    modes = {s["mode"] for _, s in f.status}
    assert modes <= {"policy", "hover", "land"}


def test_saliency_topic(harness):
    h = harness
    f = Feeder(h)
    # A half-bright frame: the policy's gradient lives on the pixels, not on a blank image.
    f.rgb[:, 32:] = 0
    maps: list[Image] = []
    h.peer.create_subscription(Image, "policy_node/saliency", maps.append, STATUS_QOS)
    _node(h, publish_saliency=True, saliency_every=2)
    assert h.spin_until(lambda: len(maps) >= 2, 10.0, f.publish)
    msg = maps[-1]
    assert (msg.encoding, msg.height, msg.width, msg.step) == ("mono8", 64, 64, 64)
    sal = np.frombuffer(bytes(msg.data), np.uint8).reshape(64, 64)
    assert sal.max() == 255  # scaled by its own maximum
    assert sal[:, 32:].max() == 0  # gradient x input is zero where the image is black


def test_first_command_comes_with_the_first_odometry(harness):
    """The first command is not a timer period late, and never sent without a state."""
    h = harness
    f = Feeder(h)
    node = _node(h, rate_hz=1.0, warmup_in_background=True)  # the timer alone: 1 s
    assert node.startup.wait(120.0)
    h.spin(0.2)
    assert not f.cmds  # no odometry yet: no command built from no state
    t0 = time.monotonic()
    assert h.spin_until(lambda: f.cmds, 0.9, f.publish)
    assert f.cmds[0][0] - t0 < 0.9
    w = f.wrenches()[0]
    assert np.all(np.isfinite(w)) and w[0] > 0


def test_violated_set_is_an_error_diagnostic(harness):
    h = harness
    f = Feeder(h)
    diags: list[DiagnosticArray] = []
    h.peer.create_subscription(DiagnosticArray, "/diagnostics", diags.append, STATUS_QOS)
    node = _node(h, diagnostics_period=0.1)
    below = f.odom(z=0.02)  # under the 0.1 m altitude floor: inside a forbidden set

    def feed():
        f.pub_img.publish(rgb_to_image_msg(f.rgb, Image()))
        f.pub_odom.publish(below)

    assert h.spin_until(lambda: any(d.status[0].level == b"\x02" for d in diags), 3.0, feed)
    values = {kv.key: kv.value for kv in diags[-1].status[0].values}
    assert "altitude_min" in values["violated"]
    assert float(values["barrier_altitude_min"]) < 0
    assert node.pilot is not None
