"""The corrected force model, motor lag and physics hooks against values computed by hand.

Every expected value below is a closed-form solution of the model written in the test (not a
re-run of the simulator's code): drag ``-k sum(2 pi rpm_i / 60) v_body`` with
k = (9.1785e-7, 9.1785e-7, 10.311e-7) N s^2/(m rad) (Forster 2015), thrust ``kf rpm^2``.
Tolerances cover the 240 Hz semi-implicit Euler integration (drag taken at the start of each
substep) and hold on any x86-64 CPU.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p
import pytest

from liquid_ros.control.controller import AccelerationController, ControllerConfig
from liquid_ros.control.quadrotor import CF2X, GRAVITY
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig

M, KF = 0.027, 3.16e-10
K_XY, K_Z = 9.1785e-7, 10.311e-7
RAD_S = 2.0 * math.pi / 60.0
HOVER_RPM = math.sqrt(M * GRAVITY / (4.0 * KF))  # 14,475.8 RPM


@pytest.fixture
def sim():
    s = QuadrotorSim(SimConfig(motor_tau=0.0))
    s.reset([0.0, 0.0, 50.0])
    yield s
    s.close()


def collective(rpm: float) -> np.ndarray:
    """Wrench (4,) whose rotors all spin at ``rpm``."""
    return np.array([4.0 * KF * rpm**2, 0.0, 0.0, 0.0])


def test_drag_force_is_the_cited_model():
    rpm = np.array([10000.0, 12000.0, 14000.0, 16000.0])
    omega_sum = RAD_S * 52000.0  # 5,445.4 rad/s
    v = np.array([1.0, -2.0, 0.5])
    expected = -np.array([K_XY, K_XY, K_Z]) * omega_sum * v  # (-0.004998, 0.009996, -0.002807)
    np.testing.assert_allclose(CF2X.drag_force(rpm, v), expected, rtol=1e-12)
    np.testing.assert_array_equal(CF2X.drag_force(np.zeros(4), v), np.zeros(3))
    assert CF2X.drag_force(np.ones((5, 2, 4)), np.ones((5, 2, 3))).shape == (5, 2, 3)
    # Linearised at hover: about 0.0056 N s/m (DESIGN.md, measured facts).
    assert CF2X.drag_coeff[0] == pytest.approx(K_XY * 4 * RAD_S * HOVER_RPM, rel=1e-12)
    assert CF2X.drag_coeff[0] == pytest.approx(0.00557, abs=1e-5)


def test_free_fall_with_rotors_stopped_has_no_drag(sim):
    sim.reset([0.0, 0.0, 50.0], vel=[1.0, 0.0, 0.0])
    sim.set_wrench(np.zeros(4))
    sim.step(120)
    np.testing.assert_array_equal(sim.rotor_rpm, np.zeros(4))
    assert sim.vel[2] == pytest.approx(-GRAVITY * 0.5, rel=1e-9)  # v = -g t exactly
    assert sim.vel[0] == pytest.approx(1.0, rel=1e-9)  # no drag: horizontal speed kept
    # Semi-implicit Euler drop g dt^2 n (n + 1) / 2 = 1.2365 m (exact: g t^2 / 2 = 1.2263 m).
    assert 50.0 - sim.pos[2] == pytest.approx(GRAVITY * 0.5**2 / 2, rel=0.01)


def test_climb_at_fixed_rotor_speed(sim):
    rpm = 1.05 * HOVER_RPM
    a0 = (4.0 * KF * rpm**2 - M * GRAVITY) / M  # 0.1025 g = 1.0055 m/s^2
    c = K_Z * 4.0 * RAD_S * rpm / M  # 0.2425 1/s
    t = 1.0
    v = a0 / c * (1.0 - math.exp(-c * t))  # 0.8892 m/s
    z = a0 / c * (t - (1.0 - math.exp(-c * t)) / c)  # 0.4637 m
    sim.set_wrench(collective(rpm))
    sim.step(240)
    assert sim.vel[2] == pytest.approx(v, rel=2e-3)
    assert sim.pos[2] - 50.0 == pytest.approx(z, rel=1e-2)
    assert v < 0.9 * a0 * t  # the drag is felt: 11 % below the drag-free speed


def test_terminal_velocity_at_fixed_tilt(sim):
    # Pitched nose-down by theta, thrust T = m g cos(theta) balances gravity along body z, so
    # the body-x drag alone balances m g sin(theta): v_bx = m g sin(theta) / (k_xy omega_sum).
    theta = math.radians(5.0)
    thrust = M * GRAVITY * math.cos(theta)
    rpm = math.sqrt(thrust / (4.0 * KF))
    v_bx = M * GRAVITY * math.sin(theta) / (K_XY * 4.0 * RAD_S * rpm)  # 4.01 m/s
    v_world = v_bx * np.array([math.cos(theta), 0.0, -math.sin(theta)])  # body x in world
    quat = [0.0, math.sin(theta / 2), 0.0, math.cos(theta / 2)]
    sim.reset([0.0, 0.0, 50.0], quat, v_world)  # already at the terminal velocity: stays
    sim.set_wrench(collective(rpm))
    sim.step(480)
    np.testing.assert_allclose(sim.vel, v_world, atol=2e-3 * v_bx)
    sim.reset([0.0, 0.0, 50.0], quat)  # from rest: time constant m / (k_xy omega_sum) = 4.6 s
    sim.set_wrench(collective(rpm))
    sim.step(240 * 30)
    np.testing.assert_allclose(sim.vel, v_world, atol=0.01 * v_bx)


def test_motor_lag_step_response():
    tau = 0.05  # 12 substeps at 240 Hz
    s = QuadrotorSim(SimConfig(motor_tau=tau))
    s.reset([0.0, 0.0, 50.0])
    r0, r1 = HOVER_RPM, 1.2 * HOVER_RPM
    np.testing.assert_allclose(s.rotor_rpm, r0, rtol=1e-12)  # reset: no transient
    s.set_wrench(collective(r1))
    np.testing.assert_allclose(s.rotor_rpm_cmd, r1, rtol=1e-12)
    s.step(1)
    np.testing.assert_allclose(s.rotor_rpm, r0 + (r1 - r0) * (1 - math.exp(-1 / 12)),
                               rtol=1e-12)
    s.step(11)  # t = tau: 63.2 % of the step
    np.testing.assert_allclose(s.rotor_rpm, r0 + (r1 - r0) * (1 - math.exp(-1.0)), rtol=1e-12)
    np.testing.assert_allclose(s.rotor_thrusts, KF * s.rotor_rpm**2, rtol=1e-12)
    s.close()


def test_no_lag_and_rpm_limits(sim):
    sim.set_wrench(collective(1.3 * HOVER_RPM))
    sim.step(1)
    np.testing.assert_allclose(sim.rotor_rpm, 1.3 * HOVER_RPM, rtol=1e-12)
    sim.set_wrench([10.0, 0.0, 0.0, 0.0])
    sim.step(1)
    max_rpm = math.sqrt(2.25 * M * GRAVITY / (4.0 * KF))  # 21,713.7 RPM
    np.testing.assert_allclose(sim.rotor_rpm, max_rpm, rtol=1e-12)
    sim.set_wrench([0.0, 0.0, 0.0, 0.0])
    sim.step(1)
    assert np.all(sim.rotor_rpm == 0.0)


def test_set_physics_changes_the_true_vehicle_only(sim):
    sim.set_physics(mass=2 * M, inertia=(2e-5, 3e-5, 4e-5), kf_scale=0.9, drag_scale=0.0)
    info = p.getDynamicsInfo(sim.drone, -1, physicsClientId=sim.client)
    assert info[0] == pytest.approx(2 * M)
    np.testing.assert_allclose(info[2], (2e-5, 3e-5, 4e-5), rtol=1e-9)
    assert sim.params.mass == M  # the nominal model is untouched
    sim.reset([0.0, 0.0, 50.0], vel=[2.0, 0.0, 0.0])
    sim.set_wrench(collective(HOVER_RPM))
    sim.step(48)
    # 0.9 of the nominal weight lifts twice the mass, no drag: a = g (0.45 - 1).
    assert sim.vel[2] == pytest.approx(-0.55 * GRAVITY * 0.2, rel=1e-6)
    assert sim.vel[0] == pytest.approx(2.0, rel=1e-9)
    np.testing.assert_allclose(sim.rotor_thrusts, 0.9 * KF * HOVER_RPM**2, rtol=1e-12)
    sim.set_physics()
    info = p.getDynamicsInfo(sim.drone, -1, physicsClientId=sim.client)
    assert info[0] == pytest.approx(M)
    np.testing.assert_allclose(info[2], CF2X.inertia, rtol=1e-9)
    sim.reset([0.0, 0.0, 50.0])
    sim.set_wrench(collective(HOVER_RPM))
    sim.step(48)
    assert abs(sim.vel[2]) < 1e-9


def test_set_external_force_and_torque_are_held(sim):
    sim.set_physics(drag_scale=0.0)
    sim.set_external(force_world=[0.01, 0.0, 0.0], torque_body=[0.0, 0.0, 1e-6])
    sim.reset([0.0, 0.0, 50.0])  # kept across reset
    sim.set_wrench(collective(HOVER_RPM))
    sim.step(24)
    sim.step(24)
    assert sim.vel[0] == pytest.approx(0.01 / M * 0.2, rel=1e-6)  # 0.0741 m/s
    assert sim.omega[2] == pytest.approx(1e-6 / 2.17e-5 * 0.2, rel=1e-3)  # 0.00922 rad/s
    sim.set_external()
    vx = sim.vel[0]
    sim.step(24)
    assert sim.vel[0] == pytest.approx(vx, rel=1e-9)


def test_controller_compensates_the_same_drag():
    # Level, descending at 1 m/s: the drag pushes up by k_z omega_sum * 1 m/s with the rotors
    # at the speed of the uncompensated force m g, so the thrust drops by that much.
    omega_sum = 4.0 * RAD_S * HOVER_RPM
    args = dict(pos=np.zeros(3), vel=np.array([0.0, 0.0, -1.0]), quat=np.array([0, 0, 0, 1.0]),
                omega=np.zeros(3), accel_des=np.zeros(3), yaw_rate_des=0.0, dt=0.02)
    with_drag = AccelerationController().compute(**args)[0]
    without = AccelerationController(config=ControllerConfig(drag_compensation=False)).compute(
        **args)[0]
    assert without == pytest.approx(M * GRAVITY, rel=1e-12)
    assert without - with_drag == pytest.approx(K_Z * omega_sum, rel=1e-9)  # 0.00625 N


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(mass=0.0), "mass"), (dict(mass=-1.0), "mass"), (dict(mass=float("nan")), "mass"),
    (dict(inertia=(1e-5, 1e-5)), "inertia"), (dict(inertia=(1e-5, -1e-5, 1e-5)), "inertia"),
    (dict(kf_scale=0.0), "kf_scale"), (dict(kf_scale=float("inf")), "kf_scale"),
    (dict(drag_scale=-0.1), "drag_scale"),
])
def test_set_physics_rejects_bad_values(sim, kwargs, name):
    with pytest.raises(ValueError, match=name):
        sim.set_physics(**kwargs)


def test_bad_external_and_motor_tau_raise(sim):
    with pytest.raises(ValueError, match="force_world"):
        sim.set_external(force_world=[1.0, 2.0])
    with pytest.raises(ValueError, match="torque_body"):
        sim.set_external(torque_body=[0.0, np.nan, 0.0])
    with pytest.raises(ValueError, match="motor_tau"):
        SimConfig(motor_tau=-0.01).validate()
