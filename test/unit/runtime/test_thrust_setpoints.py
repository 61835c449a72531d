"""Attitude/rates + thrust setpoint conversions (AttitudeTarget, PX4).

Round trips, known cases and rejections, on duck-typed messages (the ROS tests use the
generated ones).
"""

from __future__ import annotations

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_ros.control.levels import CommandLevel
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.control.rotation import quat_to_matrix
from liquid_ros.runtime import stacks
from liquid_ros.runtime import thrust_setpoints as ts
from liquid_ros.runtime.stacks import StackConversionError

ATT, RATES = CommandLevel.ATTITUDE_THRUST, CommandLevel.RATES_THRUST
HOVER = CF2X.weight / CF2X.max_thrust  # the simulated PX4's MPC_THR_HOVER (px4_sim)
floats = st.floats(-1.0, 1.0, allow_nan=False)


def _target(fields: dict, frame: str = "odom") -> NS:
    """An AttitudeTarget-like object from fields (as ``stacks.fill`` would fill one)."""
    return NS(header=NS(frame_id=frame), type_mask=fields["type_mask"],
              orientation=NS(**fields["orientation"]), body_rate=NS(**fields["body_rate"]),
              thrust=fields["thrust"])


def _unit(q: list[float]) -> np.ndarray | None:
    q = np.asarray(q)
    n = np.linalg.norm(q)
    return None if n < 1e-3 else q / n


@settings(max_examples=200, deadline=None)
@given(q=st.lists(floats, min_size=4, max_size=4), thrust=st.floats(0.0, CF2X.max_thrust))
def test_attitude_target_and_px4_round_trip(q, thrust):
    q = _unit(q)
    if q is None:
        return
    v = np.append(q, thrust)
    back = ts.attitude_target_setpoint(
        _target(ts.attitude_target_fields(ATT, v, CF2X.max_thrust)), ATT, CF2X.max_thrust)
    np.testing.assert_allclose(back, v, atol=1e-12)
    f = ts.px4_thrust_setpoint(ATT, v, HOVER, CF2X.weight, 7)
    assert f["timestamp"] == 7 and f["thrust_body"][:2] == [0.0, 0.0]
    assert -1.0 <= f["thrust_body"][2] <= 0.0
    back = ts.px4_thrust_setpoint_values(NS(**f), ATT, HOVER, CF2X.weight)
    # The same rotation (q and -q are one attitude) and the same thrust.
    np.testing.assert_allclose(quat_to_matrix(back[:4]), quat_to_matrix(q), atol=1e-9)
    assert back[4] == pytest.approx(thrust, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(rates=st.lists(st.floats(-20.0, 20.0), min_size=3, max_size=3),
       thrust=st.floats(0.0, CF2X.max_thrust))
def test_rates_round_trip(rates, thrust):
    v = np.append(rates, thrust)
    fields = ts.attitude_target_fields(RATES, v, CF2X.max_thrust)
    assert fields["type_mask"] == 128 and fields["orientation"]["w"] == 1.0
    np.testing.assert_allclose(ts.attitude_target_setpoint(_target(fields), RATES,
                                                           CF2X.max_thrust), v, atol=1e-12)
    f = ts.px4_thrust_setpoint(RATES, v, HOVER, CF2X.weight, 0)
    np.testing.assert_allclose(ts.px4_thrust_setpoint_values(NS(**f), RATES, HOVER,
                                                             CF2X.weight), v, atol=1e-9)


def test_known_cases():
    # Level, nose east (ENU yaw 0) = NED yaw +90 deg: q_d (w, x, y, z) = (cos 45, 0, 0, sin 45).
    f = ts.px4_thrust_setpoint(ATT, [0, 0, 0, 1, CF2X.weight], 0.5, CF2X.weight, 0)
    q_d = np.asarray(f["q_d"]) * np.sign(f["q_d"][0])  # q and -q: one attitude
    np.testing.assert_allclose(q_d, [math.sqrt(0.5), 0, 0, math.sqrt(0.5)], atol=1e-12)
    assert f["thrust_body"] == [0.0, 0.0, pytest.approx(-0.5)]  # weight -> hover thrust
    # FLU rates (p, q, r) -> FRD (p, -q, -r): a left yaw (CCW from above) is negative in FRD.
    f = ts.px4_thrust_setpoint(RATES, [0.1, 0.2, 0.3, 0.0], 0.5, CF2X.weight, 0)
    assert (f["roll"], f["pitch"], f["yaw"]) == (0.1, -0.2, -0.3)
    assert f["thrust_body"][2] == 0.0  # no thrust (-0.0 compares equal)
    # Thrust beyond what hover_thrust maps to 1 is clipped to full thrust, never beyond.
    f = ts.px4_thrust_setpoint(RATES, [0, 0, 0, 10.0], 0.5, CF2X.weight, 0)
    assert f["thrust_body"][2] == -1.0
    fields = ts.attitude_target_fields(ATT, [0, 0, 0, 1, 2 * CF2X.max_thrust], CF2X.max_thrust)
    assert fields["thrust"] == 1.0 and fields["type_mask"] == 7
    fields = ts.attitude_target_fields(ATT, [0, 0, 0, 1, 0.5 * CF2X.max_thrust], CF2X.max_thrust)
    assert fields["thrust"] == pytest.approx(0.5)


def test_offboard_control_mode_per_level():
    for level, flag in (("acceleration", "acceleration"), (ATT, "attitude"),
                        (RATES, "body_rate")):
        f = stacks.px4_offboard_control_mode(3, level)
        assert [k for k, v in f.items() if v is True] == [flag]
    with pytest.raises(StackConversionError, match="wrench"):
        stacks.px4_offboard_control_mode(3, "wrench")


GOOD = ts.attitude_target_fields(ATT, [0, 0, 0, 1, 0.3], CF2X.max_thrust)


@pytest.mark.parametrize("change, match", [
    ({"type_mask": 128}, "type_mask"), ({"type_mask": 0}, "type_mask"),
    ({"type_mask": 7 | 64}, "type_mask"), ({"thrust": math.nan}, "thrust"),
    ({"thrust": 1.5}, "thrust"), ({"thrust": -0.1}, "thrust"),
    ({"orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 0.0}}, "unit quaternion"),
    ({"orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.2}}, "unit quaternion"),
    ({"orientation": {"x": math.nan, "y": 0.0, "z": 0.0, "w": 1.0}}, "non-finite"),
])
def test_attitude_target_rejects(change, match):
    with pytest.raises(StackConversionError, match=match):
        ts.attitude_target_setpoint(_target({**GOOD, **change}), ATT, CF2X.max_thrust)


def test_rates_target_rejects_and_frames():
    rates = ts.attitude_target_fields(RATES, [0.1, 0, 0, 0.3], CF2X.max_thrust)
    with pytest.raises(StackConversionError, match="type_mask"):  # attitude sent to rates
        ts.attitude_target_setpoint(_target(GOOD), RATES, CF2X.max_thrust)
    with pytest.raises(StackConversionError, match="non-finite"):
        ts.attitude_target_setpoint(_target({**rates, "body_rate": {"x": math.inf, "y": 0.0,
                                                                    "z": 0.0}}),
                                    RATES, CF2X.max_thrust)
    with pytest.raises(StackConversionError, match="frame"):
        ts.attitude_target_setpoint(_target(rates, "base_link"), RATES, CF2X.max_thrust)
    for frame in ("odom", "map", ""):
        ts.attitude_target_setpoint(_target(rates, frame), RATES, CF2X.max_thrust)
    with pytest.raises(StackConversionError, match="not a thrust setpoint level"):
        ts.check_setpoint("acceleration", [0, 0, 0, 0])


@pytest.mark.parametrize("values", [[0, 0, 0, 1, math.nan], [0, 0, 0, 0, 0.2],
                                    [0, 0, 0, 1, -0.1], [0, 0, 0, 1]])
def test_outgoing_setpoint_rejected(values):
    with pytest.raises(StackConversionError):
        ts.attitude_target_fields(ATT, values, CF2X.max_thrust)
    with pytest.raises(StackConversionError):
        ts.px4_thrust_setpoint(ATT, values, 0.5, CF2X.weight, 0)


@pytest.mark.parametrize("change", [
    {"thrust_body": [0.1, 0.0, -0.5]}, {"thrust_body": [0.0, 0.0, 0.5]},
    {"thrust_body": [0.0, 0.0, math.nan]}, {"q_d": [0.0, 0.0, 0.0, 0.0]},
    {"q_d": [math.nan, 0.0, 0.0, 1.0]}])
def test_px4_attitude_setpoint_rejects(change):
    f = ts.px4_thrust_setpoint(ATT, [0, 0, 0, 1, 0.2], 0.5, CF2X.weight, 0)
    with pytest.raises(StackConversionError):
        ts.px4_thrust_setpoint_values(NS(**{**f, **change}), ATT, 0.5, CF2X.weight)
    with pytest.raises(StackConversionError, match="hover_thrust"):
        ts.px4_thrust_setpoint(ATT, [0, 0, 0, 1, 0.2], 1.5, CF2X.weight, 0)


@pytest.mark.parametrize("level", [ATT, RATES])
def test_start_up_hold_at_thrust_levels(level):
    """policy_node's hold while loading sends setpoints of the level's layout (sendable)."""
    from liquid_ros.control.controller import AccelerationController
    from liquid_ros.ros.warmup import HoldPilot
    from liquid_ros.runtime.decoding import OdomSample

    hold = HoldPilot(CF2X, AccelerationController(CF2X))
    odom = OdomSample(np.array([0.0, 0.0, 1.0]), np.array([0.3, 0.0, -0.2]),
                      np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3))
    for _ in range(3):
        cmd = hold.command(odom, 0.02, level, "loading")
    values = ts.check_setpoint(level, cmd.values)  # raises if not sendable
    assert cmd.level == level and values[-1] == pytest.approx(CF2X.weight, rel=0.3)
    if level == ATT:  # tilted back against the forward drift, nose held east
        assert quat_to_matrix(values[:4])[0, 2] < 0.0
    ts.attitude_target_fields(level, values, CF2X.max_thrust)
