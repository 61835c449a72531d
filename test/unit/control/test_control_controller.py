"""Controller tests in closed loop with the real PyBullet quadrotor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liquid_ros.control.controller import (
    ACTION_HIGH,
    ACTION_LOW,
    AccelerationController,
    ControllerConfig,
    hover_accel,
    land_accel,
)
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.control.rotation import euler_from_quat, quat_to_matrix, yaw_from_quat
from liquid_ros.sim.quadrotor_sim import QuadrotorSim

CONTROL_HZ = 50.0


@pytest.fixture
def sim():
    s = QuadrotorSim()
    s.reset([0.0, 0.0, 1.0])
    yield s
    s.close()


def fly(sim, ctrl, accel_fn, seconds, yaw_rate=0.0):
    """Run the controller at 50 Hz (zero-order hold); returns times and velocities."""
    ticks = int(round(seconds * CONTROL_HZ))
    rate = 240.0 / CONTROL_HZ
    times, vels, yaws = [], [], []
    for k in range(ticks):
        n = int(round((k + 1) * rate)) - int(round(k * rate))
        accel = accel_fn(sim)
        w = ctrl.compute(sim.pos, sim.vel, sim.quat, sim.omega, accel, yaw_rate, n * sim.dt)
        sim.set_wrench(w)
        sim.step(n)
        times.append(sim.time)
        vels.append(sim.vel.copy())
        yaws.append(yaw_from_quat(sim.quat))
    return np.array(times), np.array(vels), np.unwrap(np.array(yaws))


def test_hover_thrust_holds_altitude_5s(sim):
    # Tolerance: 1 mm over 5 s; the hover wrench balances gravity exactly.
    sim.set_wrench([CF2X.weight, 0.0, 0.0, 0.0])
    sim.step(240 * 5)
    assert abs(sim.pos[2] - 1.0) < 1e-3
    assert np.linalg.norm(sim.pos[:2]) < 1e-3


def test_hover_accel_holds_position(sim):
    ctrl = AccelerationController()
    sim.reset([0.3, -0.2, 1.2], vel=[0.5, 0.0, -0.3])
    fly(sim, ctrl, lambda s: hover_accel(s.pos, s.vel, np.array([0.0, 0.0, 1.0])), 5.0)
    assert np.linalg.norm(sim.pos - [0.0, 0.0, 1.0]) < 0.02  # 2 cm after 5 s
    assert np.linalg.norm(sim.vel) < 0.02


def test_positive_yaw_torque_turns_counter_clockwise(sim):
    sim.set_wrench([CF2X.weight, 0.0, 0.0, 2e-6])
    sim.step(48)
    assert sim.omega[2] > 0.0
    assert yaw_from_quat(sim.quat) > 1e-3


def test_positive_roll_torque_rolls_left_side_up(sim):
    sim.set_wrench([CF2X.weight, 2e-6, 0.0, 0.0])
    sim.step(48)
    assert euler_from_quat(sim.quat)[0] > 1e-3
    assert quat_to_matrix(sim.quat)[2, 1] > 0.0  # body +y (left) now points up


def test_positive_pitch_torque_pitches_nose_down(sim):
    sim.set_wrench([CF2X.weight, 0.0, 2e-6, 0.0])
    sim.step(48)
    assert quat_to_matrix(sim.quat)[2, 0] < 0.0  # body +x (nose) points down


@pytest.mark.parametrize("accel", [(1.0, 0.0, 0.0), (0.0, -2.0, 0.0), (0.0, 0.0, 2.0),
                                   (1.0, 1.0, -1.0)])
def test_acceleration_step_response_tracks(sim, accel):
    # Tolerance: mean acceleration over 0.5-1.5 s (after the attitude transient) within
    # 0.25 m/s^2 per axis. Commands stay where the 45 degree tilt limit can beat the drag
    # (about 0.2 m/s^2 per m/s of speed at hover in the Crazyflie model).
    sim.reset([0.0, 0.0, 5.0])
    ctrl = AccelerationController()
    cmd = np.array(accel)
    t, v, _ = fly(sim, ctrl, lambda s: cmd, 1.5)
    i0, i1 = np.searchsorted(t, 0.5), len(t) - 1
    measured = (v[i1] - v[i0]) / (t[i1] - t[i0])
    np.testing.assert_allclose(measured, cmd, atol=0.25)


def test_yaw_rate_tracks(sim):
    ctrl = AccelerationController()
    t, _, yaw = fly(sim, ctrl, lambda s: np.zeros(3), 2.0, yaw_rate=1.0)
    i0 = np.searchsorted(t, 1.0)
    rate = (yaw[-1] - yaw[i0]) / (t[-1] - t[i0])
    assert abs(rate - 1.0) < 0.05
    assert abs(sim.pos[2] - 1.0) < 0.02


def test_land_accel_descends_slowly(sim):
    ctrl = AccelerationController()
    fly(sim, ctrl, lambda s: land_accel(s.pos, s.vel), 2.0)
    assert sim.vel[2] == pytest.approx(-0.3, abs=0.03)
    assert np.linalg.norm(sim.vel[:2]) < 0.02


def test_controller_rejects_bad_input():
    ctrl = AccelerationController()
    good = dict(pos=np.zeros(3), vel=np.zeros(3), quat=np.array([0, 0, 0, 1.0]),
                omega=np.zeros(3), accel_des=np.zeros(3), yaw_rate_des=0.0, dt=0.02)
    with pytest.raises(ValueError, match="accel_des"):
        ctrl.compute(**{**good, "accel_des": np.array([np.nan, 0, 0])})
    with pytest.raises(ValueError, match="quat"):
        ctrl.compute(**{**good, "quat": np.zeros(3)})
    with pytest.raises(ValueError, match="dt"):
        ctrl.compute(**{**good, "dt": -1.0})


def test_wrench_is_finite_and_bounded_at_action_corners():
    ctrl = AccelerationController()
    for sx in (-1, 1):
        for sz in (-1, 1):
            acc = np.array([sx * 4.0, -sx * 4.0, sz * 4.0])
            w = ctrl.compute(np.zeros(3), np.zeros(3), np.array([0, 0, 0, 1.0]), np.zeros(3),
                             acc, 2.0, 0.02)
            assert np.all(np.isfinite(w))
            assert 0.0 <= w[0] <= CF2X.max_thrust
            assert np.all(np.abs(w[1:]) <= CF2X.max_torque + 1e-12)
    # Free fall demanded: the thrust axis stays defined (min_thrust_ratio), thrust > 0.
    w = ctrl.compute(np.zeros(3), np.zeros(3), np.array([0, 0, 0, 1.0]), np.zeros(3),
                     np.array([0, 0, -20.0]), 0.0, 0.02)
    assert w[0] == pytest.approx(ControllerConfig().min_thrust_ratio * CF2X.weight)


def test_action_bounds():
    assert ACTION_LOW.shape == ACTION_HIGH.shape == (4,)
    assert ACTION_LOW.dtype == np.float32
    np.testing.assert_array_equal(ACTION_LOW, -ACTION_HIGH)
    # The corner of the acceleration box is flyable below full thrust.
    need = CF2X.mass * math.sqrt(2 * 4.0**2 + (9.81 + 4.0) ** 2)
    assert need < CF2X.max_thrust
