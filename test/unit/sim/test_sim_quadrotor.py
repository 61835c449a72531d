"""Physics of the PyBullet quadrotor against hand-computed values."""

from __future__ import annotations

import numpy as np
import pybullet as p
import pytest

from liquid_ros.control.quadrotor import CF2X, GRAVITY
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig


@pytest.fixture
def sim():
    s = QuadrotorSim()
    s.reset([0.0, 0.0, 5.0])
    yield s
    s.close()


def test_inertia_comes_from_params(sim):
    info = p.getDynamicsInfo(sim.drone, -1, physicsClientId=sim.client)
    assert info[0] == pytest.approx(CF2X.mass)
    np.testing.assert_allclose(info[2], CF2X.inertia, rtol=1e-9)


def test_free_fall_with_zero_wrench():
    # Rotors stopped at once (no motor lag): no thrust, no drag, z(t) = z0 - g t^2 / 2 (1 %
    # slack for the semi-implicit Euler step). More in test_physics_model.py.
    s = QuadrotorSim(SimConfig(motor_tau=0.0))
    s.reset([0.0, 0.0, 5.0])
    s.set_wrench(np.zeros(4))
    s.step(120)
    assert 5.0 - s.pos[2] == pytest.approx(GRAVITY * 0.5**2 / 2, rel=0.01)
    s.close()


def test_rotor_limits_clip_the_wrench(sim):
    achieved = sim.set_wrench([10.0, 0.0, 0.0, 0.0])
    assert achieved[0] == pytest.approx(CF2X.max_thrust)
    np.testing.assert_allclose(sim.rotor_rpm_cmd, CF2X.max_rpm)
    achieved = sim.set_wrench([CF2X.weight, 1.0, 0.0, 0.0])
    assert achieved[1] < 1.0 and np.all(sim.rotor_rpm_cmd >= 0.0)
    np.testing.assert_allclose(
        sim.wrench, CF2X.wrench_from_thrusts(CF2X.kf * sim.rotor_rpm_cmd**2))


def test_hover_rpm(sim):
    sim.set_wrench([CF2X.weight, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(sim.rotor_rpm, CF2X.hover_rpm, rtol=1e-9)
    sim.step(24)
    np.testing.assert_allclose(sim.rotor_rpm, CF2X.hover_rpm, rtol=1e-9)


def test_body_drag_slows_horizontal_motion(sim):
    sim.reset([0.0, 0.0, 5.0], vel=[2.0, 0.0, 0.0])
    sim.set_wrench([CF2X.weight, 0.0, 0.0, 0.0])
    sim.step(24)
    # At hover speed the drag is linear: k_xy * 4 * (2 pi / 60) * hover_rpm = 0.00557 N s/m.
    expected = 2.0 * np.exp(-0.00557 / CF2X.mass * 0.1)
    assert sim.vel[0] == pytest.approx(expected, rel=0.02)


def test_ground_effect_adds_lift_near_ground():
    s = QuadrotorSim(SimConfig(ground_effect=True))
    s.reset([0.0, 0.0, 0.06])
    s.set_wrench([CF2X.weight, 0.0, 0.0, 0.0])
    s.step(24)
    assert s.vel[2] > 0.01
    s.close()


def test_bad_wrench_raises(sim):
    with pytest.raises(ValueError, match="wrench"):
        sim.set_wrench([np.nan, 0, 0, 0])


def test_two_sims_coexist_and_close_disconnects():
    a, b = QuadrotorSim(), QuadrotorSim()
    assert a.client != b.client
    a.reset([0, 0, 1.0])
    b.reset([0, 0, 3.0])
    a.set_wrench(np.zeros(4))
    b.set_wrench([CF2X.weight, 0, 0, 0])
    a.step(24)
    b.step(24)
    assert a.pos[2] < 1.0 and b.pos[2] == pytest.approx(3.0)
    client = a.client
    a.close()
    a.close()
    assert not p.isConnected(physicsClientId=client)
    b.close()


def test_ground_contact_detected():
    s = QuadrotorSim()
    s.reset([0.0, 0.0, 0.3])
    s.set_wrench(np.zeros(4))
    s.step(240)
    assert s.ground in s.contacts()
    s.close()
