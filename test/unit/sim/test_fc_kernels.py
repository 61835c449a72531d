"""The flight controller's compiled cascade against its laws, checked by hand on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liquid_ros.control.quadrotor import CF2X, GRAVITY
from liquid_ros.control.rotation import quat_to_matrix, yaw_from_quat
from liquid_ros.sim import fc_kernels as k
from liquid_ros.sim.flight_controller_loops import LoopGains, pack_constants

GAINS = LoopGains()
C = pack_constants(CF2X, GAINS)
MIXER = CF2X.mixer()
INV = np.linalg.inv(MIXER)


def test_thrust_attitude_points_body_z_along_the_force():
    rng = np.random.default_rng(1)
    for _ in range(200):
        acc, yaw = rng.uniform(-3, 3, size=3), float(rng.uniform(-math.pi, math.pi))
        *q, thrust = k.thrust_attitude(*acc.tolist(), yaw, 1.0, C)
        force = CF2X.mass * (acc + [0.0, 0.0, GRAVITY])  # within the tilt and thrust limits
        rot = quat_to_matrix(np.array(q))
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(rot[:, 2], force / np.linalg.norm(force), atol=1e-12)
        assert thrust == pytest.approx(min(force[2] / rot[2, 2], CF2X.max_thrust), rel=1e-12)
        assert math.atan2(rot[1, 0], rot[0, 0]) == pytest.approx(yaw, abs=1e-9)  # heading
    *q, _ = k.thrust_attitude(10.0, 0.0, 0.0, 0.0, 1.0, C)  # far beyond the tilt limit
    assert math.acos(quat_to_matrix(np.array(q))[2, 2]) == pytest.approx(GAINS.max_tilt)


def test_attitude_rates_is_a_p_law_on_the_error_and_limited():
    q = np.array([0.0, 0.0, 0.0, 1.0])
    small = 0.01  # a small roll error: rate = 2 * att_p * sin(err / 2)
    q_sp = [math.sin(small / 2), 0.0, 0.0, math.cos(small / 2)]
    rates = k.attitude_rates(*q, *q_sp, 0.0, C)
    assert rates[0] == pytest.approx(2.0 * GAINS.att_p[0] * math.sin(small / 2), rel=1e-12)
    assert rates[1:] == pytest.approx((0.0, 0.0), abs=1e-15)
    assert k.attitude_rates(*q, *q, 0.7, C) == pytest.approx((0.0, 0.0, 0.7))  # feedforward
    big = k.attitude_rates(*q, 0.0, math.sin(1.0), 0.0, math.cos(1.0), 0.0, C)
    assert abs(big[1]) == pytest.approx(GAINS.max_rates[1])
    assert yaw_from_quat(q) == 0.0


def test_rate_torque_is_pid_plus_gyroscopic_term():
    pid = np.zeros(7)
    j, dt = np.array(CF2X.inertia), 0.004
    w0, w1, sp = np.array([0.1, -0.2, 0.3]), np.array([0.2, -0.1, 0.25]), np.array([1.0, 0, 0])
    first = np.array(k.rate_torque(*w0, *sp, dt, C, pid))
    integral = np.array(GAINS.rate_i) * j * (sp - w0) * dt
    gyro = np.cross(w0, j * w0)
    expected = np.array(GAINS.rate_p) * j * (sp - w0) + integral + gyro  # no D: no prior rate
    np.testing.assert_allclose(first, expected, rtol=1e-12)
    second = np.array(k.rate_torque(*w1, *sp, dt, C, pid))
    integral = integral + np.array(GAINS.rate_i) * j * (sp - w1) * dt
    expected = (np.array(GAINS.rate_p) * j * (sp - w1) + integral + np.cross(w1, j * w1)
                - np.array(GAINS.rate_d) * j * (w1 - w0) / dt)
    np.testing.assert_allclose(second, expected, rtol=1e-12)
    np.testing.assert_allclose(pid[:6], [*integral, *w1], rtol=1e-12)


def test_allocate_keeps_a_feasible_demand_and_clips_an_infeasible_one():
    demand = np.array([CF2X.weight, 1e-5, -2e-5, 1e-6])
    np.testing.assert_allclose(k.allocate(*demand, MIXER, INV, CF2X.max_rotor_thrust),
                               demand, rtol=1e-9, atol=1e-15)
    wrench = np.array(k.allocate(CF2X.max_thrust, 1.0, -1.0, 1.0, MIXER, INV,
                                 CF2X.max_rotor_thrust))
    rotors = INV @ wrench
    assert np.all(rotors >= -1e-12) and np.all(rotors <= CF2X.max_rotor_thrust + 1e-12)


def test_fused_cascade_equals_its_parts():
    rng = np.random.default_rng(2)
    pid_a, pid_b = np.zeros(7), np.zeros(7)
    for _ in range(100):
        acc, yaw, ff = rng.uniform(-4, 4, 3).tolist(), float(rng.uniform(-3, 3)), 0.3
        q = rng.normal(size=4)
        q = (q / np.linalg.norm(q)).tolist()
        w, dt = rng.normal(size=3).tolist(), 1.0 / 240.0
        fused = k.accel_to_wrench(*acc, yaw, ff, 1.1, *q, *w, dt, C, pid_a, MIXER, INV)
        *q_sp, thrust = k.thrust_attitude(*acc, yaw, 1.1, C)
        rates = k.attitude_rates(*q, *q_sp, ff, C)
        torque = k.rate_torque(*w, *rates, dt, C, pid_b)
        parts = (thrust, *k.allocate(thrust, *torque, MIXER, INV, C[26]))
        np.testing.assert_array_equal(fused, parts)
        np.testing.assert_array_equal(pid_a, pid_b)
