"""quat_from_matrix: the inverse of quat_to_matrix on every rotation, near 180 degrees too."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_ros.control.rotation import quat_from_euler, quat_from_matrix, quat_to_matrix

_angle = st.floats(-np.pi, np.pi, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(_angle, st.floats(-1.5, 1.5), _angle)
def test_round_trip(roll, pitch, yaw):
    q = quat_from_euler(roll, pitch, yaw)
    q = -q if q[3] < 0 else q
    out = quat_from_matrix(quat_to_matrix(q))
    np.testing.assert_allclose(out, q, atol=1e-10)
    assert out[3] >= 0.0


def test_half_turns_and_identity():
    np.testing.assert_allclose(quat_from_matrix(np.eye(3)), [0, 0, 0, 1], atol=1e-15)
    for axis in range(3):  # 180 degrees about x, y, z: w = 0, the branch without the trace
        rot = -np.eye(3)
        rot[axis, axis] = 1.0
        expected = np.zeros(4)
        expected[axis] = 1.0
        np.testing.assert_allclose(np.abs(quat_from_matrix(rot)), expected, atol=1e-15)
