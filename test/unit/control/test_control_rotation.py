"""Rotation helpers against hand-computed values."""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.control.rotation import (
    euler_from_quat,
    quat_from_euler,
    quat_to_matrix,
    wrap_angle,
    yaw_from_quat,
)


def test_yaw_90_maps_x_to_y():
    rot = quat_to_matrix(quat_from_euler(0.0, 0.0, math.pi / 2))
    np.testing.assert_allclose(rot @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_euler_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(50):
        rpy = rng.uniform([-1.5, -1.4, -3.1], [1.5, 1.4, 3.1])
        q = quat_from_euler(*rpy)
        np.testing.assert_allclose(euler_from_quat(q), rpy, atol=1e-9)
        assert math.isclose(yaw_from_quat(q), rpy[2], abs_tol=1e-9)
        rot = quat_to_matrix(q)
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)


def test_wrap_angle():
    assert math.isclose(wrap_angle(3 * math.pi / 2), -math.pi / 2)
    assert math.isclose(wrap_angle(-0.1), -0.1)
