"""Frame conversions: property tests (round trips, rotation consistency) and known cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liquid_ros.control import frames
from liquid_ros.control.rotation import quat_from_euler, quat_to_matrix, wrap_angle, yaw_from_quat

finite = st.floats(-1e3, 1e3, allow_nan=False)
vectors = st.tuples(finite, finite, finite).map(np.array)
unit_quats = (st.tuples(*[st.floats(-1.0, 1.0)] * 4)
              .filter(lambda q: np.linalg.norm(q) > 0.1)
              .map(lambda q: np.array(q) / np.linalg.norm(q)))
angles = st.floats(-math.pi, math.pi, exclude_max=True)


def same_rotation(q1: np.ndarray, q2: np.ndarray) -> bool:
    """True when two unit quaternions are the same rotation (q and -q are)."""
    return abs(abs(float(np.dot(q1, q2))) - 1.0) < 1e-9


@given(vectors)
def test_vector_round_trips(v):
    np.testing.assert_allclose(frames.ned_to_enu(frames.enu_to_ned(v)), v, atol=1e-12)
    np.testing.assert_allclose(frames.frd_to_flu(frames.flu_to_frd(v)), v, atol=1e-12)
    assert np.linalg.norm(frames.enu_to_ned(v)) == pytest.approx(np.linalg.norm(v))


@given(unit_quats)
def test_quaternion_round_trips(q):
    np.testing.assert_allclose(frames.wxyz_to_xyzw(frames.xyzw_to_wxyz(q)), q, atol=1e-15)
    back = frames.quat_ned_frd_to_enu_flu(frames.quat_enu_flu_to_ned_frd(q))
    assert same_rotation(back, q)
    assert same_rotation(frames.px4_quat_to_ros(frames.ros_quat_to_px4(q)), q)
    assert np.linalg.norm(frames.quat_enu_flu_to_ned_frd(q)) == pytest.approx(1.0)


@given(unit_quats, vectors)
def test_rotating_with_converted_attitude_commutes(q, v_body_flu):
    # World vector of a body vector, computed in ROS frames then converted, equals the one
    # computed from the converted body vector with the converted attitude.
    v_world_ned = frames.enu_to_ned(quat_to_matrix(q) @ v_body_flu)
    q_ned = frames.quat_enu_flu_to_ned_frd(q)
    np.testing.assert_allclose(quat_to_matrix(q_ned) @ frames.flu_to_frd(v_body_flu),
                               v_world_ned, atol=1e-9 * (1.0 + np.linalg.norm(v_body_flu)))


@given(unit_quats, unit_quats)
def test_quat_multiply_is_matrix_product(a, b):
    np.testing.assert_allclose(quat_to_matrix(frames.quat_multiply(a, b)),
                               quat_to_matrix(a) @ quat_to_matrix(b), atol=1e-12)


@given(angles)
def test_yaw_round_trip_and_matches_attitude(yaw):
    back = frames.yaw_ned_to_enu(frames.yaw_enu_to_ned(yaw))
    assert abs(wrap_angle(back - yaw)) < 1e-12
    # The NED heading of the converted level attitude is the converted ENU heading.
    q_ned = frames.quat_enu_flu_to_ned_frd(quat_from_euler(0.0, 0.0, yaw))
    assert abs(wrap_angle(yaw_from_quat(q_ned) - frames.yaw_enu_to_ned(yaw))) < 1e-9


@given(st.integers(0, 2**63 - 1))
def test_microsecond_round_trip(stamp):
    # float64 seconds keep microseconds exact up to 2**53 us (285 years of uptime).
    stamp = stamp % 2**52
    assert frames.seconds_to_us(frames.us_to_seconds(stamp)) == stamp


@given(st.floats(0.0, 1.0), st.floats(0.05, 0.95), st.floats(0.01, 100.0))
def test_thrust_round_trip(fraction, hover, weight):
    thrust_n = fraction * weight / hover  # within [0, full thrust]
    z = frames.thrust_newtons_to_normalized(thrust_n, hover, weight)
    assert -1.0 <= z <= 0.0
    assert frames.thrust_normalized_to_newtons(z, hover, weight) == pytest.approx(
        thrust_n, rel=1e-9, abs=1e-12)


def test_batched_inputs():
    v = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(frames.enu_to_ned(v)[2], frames.enu_to_ned(v[2]))
    q = np.tile(quat_from_euler(0.1, 0.2, 0.3), (5, 1))
    np.testing.assert_allclose(frames.ros_quat_to_px4(q)[3], frames.ros_quat_to_px4(q[3]))


# ------------------------------------------------------------------------------ known cases
def test_forward_in_flu_is_forward_in_frd():
    np.testing.assert_allclose(frames.flu_to_frd([1.0, 0.0, 0.0]), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(frames.flu_to_frd([1.0, 2.0, 3.0]), [1.0, -2.0, -3.0])


def test_up_in_enu_is_negative_z_in_ned():
    np.testing.assert_allclose(frames.enu_to_ned([0.0, 0.0, 1.0]), [0.0, 0.0, -1.0])
    np.testing.assert_allclose(frames.enu_to_ned([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0])  # east
    np.testing.assert_allclose(frames.enu_to_ned([0.0, 1.0, 0.0]), [1.0, 0.0, 0.0])  # north


def test_yaw_zero_enu_is_half_pi_ned():
    assert frames.yaw_enu_to_ned(0.0) == pytest.approx(math.pi / 2)
    assert frames.yaw_ned_to_enu(0.0) == pytest.approx(math.pi / 2)  # north is 90 deg in ENU
    assert frames.yaw_rate_enu_to_ned(0.5) == pytest.approx(-0.5)


def test_level_attitudes():
    # Level, facing east in ENU: in NED a level FRD body facing east is a yaw of +90 deg.
    q_px4 = frames.ros_quat_to_px4(np.array([0.0, 0.0, 0.0, 1.0]))
    c = math.sqrt(0.5)
    assert same_rotation(q_px4, np.array([c, 0.0, 0.0, c]))  # (w, x, y, z): yaw +90 about down
    # Level, facing north in ENU (yaw 90 deg) is the identity in NED/FRD.
    q = frames.quat_enu_flu_to_ned_frd(quat_from_euler(0.0, 0.0, math.pi / 2))
    assert same_rotation(q, np.array([0.0, 0.0, 0.0, 1.0]))


def test_px4_quaternion_order():
    np.testing.assert_allclose(frames.xyzw_to_wxyz([1.0, 2.0, 3.0, 4.0]), [4.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(frames.wxyz_to_xyzw([4.0, 1.0, 2.0, 3.0]), [1.0, 2.0, 3.0, 4.0])


def test_hover_thrust_maps_to_weight():
    assert frames.thrust_newtons_to_normalized(0.2649, 0.44, 0.2649) == pytest.approx(-0.44)
    assert frames.thrust_normalized_to_newtons(-0.44, 0.44, 0.2649) == pytest.approx(0.2649)
    assert frames.thrust_newtons_to_normalized(10.0, 0.44, 0.2649) == -1.0  # saturates
    assert frames.thrust_normalized_to_newtons(0.3, 0.44, 0.2649) == 0.0  # no downward push


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        frames.enu_to_ned([1.0, 2.0])
    with pytest.raises(ValueError):
        frames.xyzw_to_wxyz([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        frames.seconds_to_us(-1.0)
    with pytest.raises(ValueError):
        frames.seconds_to_us(float("nan"))
    with pytest.raises(ValueError):
        frames.thrust_newtons_to_normalized(0.1, 1.5, 0.26)
