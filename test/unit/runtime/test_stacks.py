"""Flight-stack conversions: known cases computed by hand and round trips (ROS-free)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from liquid_ros.control.rotation import quat_from_euler
from liquid_ros.runtime import stacks as s
from liquid_ros.runtime.decoding import OdomSample

YAW90 = np.array([0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)])  # ENU: nose north


def _sample(pos=(1.0, 2.0, 3.0), vel=(0.5, -0.2, 0.1), quat=(0.0, 0.0, 0.0, 1.0),
            rates=(0.1, 0.2, 0.3)) -> OdomSample:
    return OdomSample(np.array(pos, float), np.array(vel, float), np.array(quat, float),
                      np.array(rates, float))


def test_trajectory_setpoint_known_cases():
    # East 1, north 2, up 3 in ENU -> north 2, east 1, down -3 in NED; yaw left (+) -> NED -.
    f = s.px4_trajectory_setpoint([1.0, 2.0, 3.0], 0.5, 1_234_567)
    assert f["acceleration"] == [2.0, 1.0, -3.0]
    assert f["yawspeed"] == -0.5
    assert f["timestamp"] == 1_234_567
    for name in ("position", "velocity", "jerk"):
        assert all(math.isnan(x) for x in f[name])
    assert math.isnan(f["yaw"])
    mode = s.px4_offboard_control_mode(5)
    assert mode["acceleration"] and not any(
        mode[k] for k in ("position", "velocity", "attitude", "body_rate", "thrust_and_torque",
                          "direct_actuator"))


@pytest.mark.parametrize("bad", [[math.nan, 0, 0], [0, math.inf, 0], [0, 0]])
def test_nan_or_short_setpoint_is_rejected(bad):
    with pytest.raises(s.StackConversionError):
        s.px4_trajectory_setpoint(bad, 0.0, 0)
    with pytest.raises(s.StackConversionError):
        s.mavros_position_target(bad, 0.0)
    with pytest.raises(s.StackConversionError):
        s.px4_trajectory_setpoint([0, 0, 0], math.nan, 0)


def test_trajectory_round_trip_and_nan_yawspeed():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, r = rng.normal(size=3), float(rng.normal())
        back, r2 = s.px4_trajectory_to_accel(SimpleNamespace(**s.px4_trajectory_setpoint(a, r, 0)))
        np.testing.assert_allclose(back, a, atol=1e-12)
        assert r2 == pytest.approx(r)
    f = s.px4_trajectory_setpoint([0, 0, 1], 0.0, 0)
    f["yawspeed"] = math.nan
    assert s.px4_trajectory_to_accel(SimpleNamespace(**f))[1] == 0.0
    f["position"] = [0.0, 0.0, -1.0]
    with pytest.raises(s.StackConversionError, match="position"):
        s.px4_trajectory_to_accel(SimpleNamespace(**f))


def test_vehicle_odometry_known_case():
    # PX4 at 1 m north, 2 m east, 3 m up, nose east (NED yaw +90 deg), flying north at 1 m/s.
    q_wxyz = [math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)]
    msg = SimpleNamespace(pose_frame=1, velocity_frame=1, position=[1.0, 2.0, -3.0], q=q_wxyz,
                          velocity=[1.0, 0.0, 0.0], angular_velocity=[0.0, 0.1, 0.2])
    o = s.px4_odometry_to_sample(msg)
    np.testing.assert_allclose(o.position, [2.0, 1.0, 3.0])
    np.testing.assert_allclose(o.velocity, [0.0, 1.0, 0.0], atol=1e-12)
    # Nose east in ENU is yaw 0: the identity attitude (up to sign).
    np.testing.assert_allclose(np.abs(o.quaternion), [0, 0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(o.angular_velocity, [0.0, -0.1, -0.2])
    # The same velocity in the body FRD frame: north is the nose's left, i.e. FRD -y.
    body = SimpleNamespace(**{**vars(msg), "velocity_frame": 3, "velocity": [0.0, -1.0, 0.0]})
    np.testing.assert_allclose(s.px4_odometry_to_sample(body).velocity, [0, 1, 0], atol=1e-12)


def test_vehicle_odometry_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(50):
        q = quat_from_euler(*rng.uniform(-1, 1, 3))
        o = _sample(rng.normal(size=3), rng.normal(size=3), q, rng.normal(size=3))
        back = s.px4_odometry_to_sample(SimpleNamespace(**s.px4_odometry_fields(o, 7)))
        np.testing.assert_allclose(back.position, o.position, atol=1e-12)
        np.testing.assert_allclose(back.velocity, o.velocity, atol=1e-12)
        np.testing.assert_allclose(back.angular_velocity, o.angular_velocity, atol=1e-12)
        assert abs(abs(float(np.dot(back.quaternion, o.quaternion))) - 1.0) < 1e-12


@pytest.mark.parametrize("change", [{"pose_frame": 2}, {"velocity_frame": 2},
                                    {"position": [math.nan, 0.0, 0.0]}, {"q": [0, 0, 0, 0]}])
def test_vehicle_odometry_rejects(change):
    fields = {**s.px4_odometry_fields(_sample(), 0), **change}
    with pytest.raises(s.StackConversionError):
        s.px4_odometry_to_sample(SimpleNamespace(**fields))


def test_status_and_commands():
    st = s.px4_status(SimpleNamespace(**s.px4_status_fields(1, True, s.PX4_NAV_STATE_OFFBOARD)))
    assert st == s.Px4Status(armed=True, offboard=True, failsafe=False)
    st = s.px4_status(SimpleNamespace(**s.px4_status_fields(1, False, 4)))
    assert not st.armed and not st.offboard
    mode, arm = s.px4_offboard_commands(9, target_system=2)
    assert (mode["command"], mode["param1"], mode["param2"]) == (176, 1.0, 6.0)
    assert (arm["command"], arm["param1"], arm["target_system"]) == (400, 1.0, 2)


def test_full_state_reference():
    o = _sample(quat=YAW90)
    f = s.crazyflie_full_state(o, [0.0, 0.0, 1.0], 0.4, lookahead=0.0)
    assert f["pose"]["position"] == {"x": 1.0, "y": 2.0, "z": 3.0}
    assert f["twist"]["linear"] == {"x": 0.5, "y": -0.2, "z": 0.1}
    assert f["acc"] == {"x": 0.0, "y": 0.0, "z": 1.0}
    assert f["twist"]["angular"]["z"] == 0.4
    q = f["pose"]["orientation"]
    assert 2 * math.atan2(q["z"], q["w"]) == pytest.approx(math.pi / 2)
    g = s.crazyflie_full_state(o, [2.0, 0.0, 0.0], 0.4, lookahead=0.1)
    assert g["pose"]["position"]["x"] == pytest.approx(1.0 + 0.05 + 0.01)
    assert g["twist"]["linear"]["x"] == pytest.approx(0.7)
    q = g["pose"]["orientation"]
    assert 2 * math.atan2(q["z"], q["w"]) == pytest.approx(math.pi / 2 + 0.04)
    with pytest.raises(s.StackConversionError):
        s.crazyflie_full_state(o, [0, 0, 0], 0.0, lookahead=-1.0)
    assert s.crazyflie_notify_stop(250) == {"group_mask": 0, "remain_valid_millisecs": 250}


def test_mavros_position_target():
    f = s.mavros_position_target([1.0, 2.0, 3.0], -0.3)
    assert f["coordinate_frame"] == 1
    assert f["type_mask"] == 1 + 2 + 4 + 8 + 16 + 32 + 1024  # only afx/afy/afz + yaw_rate
    assert f["acceleration_or_force"] == {"x": 1.0, "y": 2.0, "z": 3.0}  # ENU: MAVROS converts
    assert f["yaw_rate"] == -0.3


def test_fill_nested():
    msg = SimpleNamespace(a=0, b=SimpleNamespace(x=0.0, y=0.0))
    s.fill(msg, {"a": 3, "b": {"x": 1.0}})
    assert (msg.a, msg.b.x, msg.b.y) == (3, 1.0, 0.0)


def test_accel_setpoint_reads_cmd_accel_and_rejects_other_frames():
    def msg(frame, x=1.0):
        linear = SimpleNamespace(x=x, y=-2.0, z=0.5)
        angular = SimpleNamespace(z=0.3)
        return SimpleNamespace(header=SimpleNamespace(frame_id=frame),
                               accel=SimpleNamespace(linear=linear, angular=angular))

    accel, yaw_rate = s.accel_setpoint(msg("odom"))
    np.testing.assert_array_equal(accel, [1.0, -2.0, 0.5])
    assert yaw_rate == pytest.approx(0.3)
    assert s.accel_setpoint(msg(""))[1] == pytest.approx(0.3)
    with pytest.raises(s.StackConversionError, match="frame"):
        s.accel_setpoint(msg("base_link"))
    with pytest.raises(s.StackConversionError, match="non-finite"):
        s.accel_setpoint(msg("odom", x=float("nan")))
