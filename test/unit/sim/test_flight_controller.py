"""Simulated flight controller on the real PyBullet quadrotor, one physics substep at a time.

Tolerances leave room for the sim's drag and rotor models (feedback loops do not care; the
open-loop acceleration level sees drag as a small tracking error).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from liquid_ros.control.rotation import quat_from_euler, quat_to_matrix
from liquid_ros.sim.flight_controller import (
    CommandLevel,
    FlightController,
    FlightControllerConfig,
    FlightMode,
)
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig

HZ = 240.0
Setpoints = Callable[[float], "tuple[CommandLevel, list[float]] | None"]


@dataclass
class Log:
    t: np.ndarray
    pos: np.ndarray
    vel: np.ndarray
    quat: np.ndarray
    omega: np.ndarray
    wrench: np.ndarray
    modes: list[FlightMode]


@pytest.fixture
def sim():
    s = QuadrotorSim(SimConfig(physics_hz=HZ))
    s.reset(np.array([0.0, 0.0, 1.0]))
    yield s
    s.close()


def fly(sim: QuadrotorSim, fc: FlightController, seconds: float,
        setpoint: Setpoints | None = None) -> Log:
    """Run ``seconds`` of physics; ``setpoint(t)`` gives the setpoint sent at t, or None."""
    rows = []
    for _ in range(int(round(seconds * HZ))):
        t = sim.time
        sp = setpoint(t) if setpoint is not None else None
        if sp is not None:
            fc.set_setpoint(sp[0], sp[1], t)
        w = fc.update(t, sim.pos, sim.vel, sim.quat, sim.omega)
        assert np.all(np.isfinite(w))
        sim.set_wrench(w)
        sim.step(1)
        rows.append((sim.time, sim.pos.copy(), sim.vel.copy(), sim.quat.copy(),
                     sim.omega.copy(), w, fc.mode))
    cols = list(zip(*rows, strict=True))
    return Log(*(np.array(c) for c in cols[:6]), modes=list(cols[6]))


def constant(level: CommandLevel, values: list[float]) -> Setpoints:
    return lambda t: (level, values)


def attitude_error(q: np.ndarray, q_des: np.ndarray) -> float:
    """Angle (rad) of the rotation between two attitudes."""
    r = quat_to_matrix(q_des).T @ quat_to_matrix(q)
    return math.acos(max(-1.0, min(1.0, (np.trace(r) - 1.0) / 2.0)))


def test_hover_at_acceleration_level_holds_altitude(sim):
    fc = FlightController(sim.params, HZ)
    fc.arm()
    log = fly(sim, fc, 3.0, constant(CommandLevel.ACCELERATION, [0.0, 0.0, 0.0, 0.0]))
    assert all(m is FlightMode.OFFBOARD for m in log.modes)
    assert np.max(np.abs(log.pos[:, 2] - 1.0)) < 0.03
    assert np.max(np.linalg.norm(log.pos[:, :2], axis=1)) < 0.03


def test_armed_without_setpoints_holds_position(sim):
    sim.reset(np.array([0.3, -0.2, 1.2]), vel=np.array([0.2, 0.0, -0.1]))
    fc = FlightController(sim.params, HZ, FlightControllerConfig(hold_time=10.0))
    fc.arm()
    log = fly(sim, fc, 4.0)
    assert all(m is FlightMode.HOLD for m in log.modes)
    start = log.pos[0]
    assert np.max(np.linalg.norm(log.pos - start, axis=1)) < 0.15  # the initial drift
    assert np.linalg.norm(log.pos[-1] - start) < 0.05
    assert np.linalg.norm(log.vel[-1]) < 0.05


def test_acceleration_setpoint_is_tracked(sim):
    fc = FlightController(sim.params, HZ)
    fc.arm()
    acc = np.array([0.6, -0.4, 0.3])
    log = fly(sim, fc, 1.2, constant(CommandLevel.ACCELERATION, [*acc, 0.0]))
    measured = np.diff(log.vel, axis=0) * HZ
    settled = log.t[1:] > 0.4
    mean = measured[settled].mean(axis=0)
    np.testing.assert_allclose(mean, acc, atol=0.15)


def test_yaw_rate_at_acceleration_level(sim):
    fc = FlightController(sim.params, HZ)
    fc.arm()
    log = fly(sim, fc, 1.5, constant(CommandLevel.ACCELERATION, [0.0, 0.0, 0.0, 0.8]))
    assert np.mean(log.omega[log.t > 0.7, 2]) == pytest.approx(0.8, abs=0.08)


def test_attitude_setpoint_is_tracked(sim):
    sim.reset(np.array([0.0, 0.0, 3.0]))
    fc = FlightController(sim.params, HZ)
    fc.arm()
    roll, pitch = 0.2, -0.1
    q_des = quat_from_euler(roll, pitch, 0.3)
    thrust = sim.params.weight / (math.cos(roll) * math.cos(pitch))
    log = fly(sim, fc, 1.5, constant(CommandLevel.ATTITUDE_THRUST, [*q_des, thrust]))
    errors = [attitude_error(q, q_des) for q in log.quat[log.t > 1.2]]
    assert max(errors) < 0.03
    assert abs(np.mean(log.vel[log.t > 1.0, 2])) < 0.1  # thrust kept the vertical balance


def test_rates_setpoint_is_tracked(sim):
    sim.reset(np.array([0.0, 0.0, 3.0]))
    fc = FlightController(sim.params, HZ)
    fc.arm()
    rates = np.array([0.5, -0.3, 1.0])
    log = fly(sim, fc, 0.6, constant(CommandLevel.RATES_THRUST, [*rates, sim.params.weight]))
    np.testing.assert_allclose(log.omega[log.t > 0.3].mean(axis=0), rates, atol=0.05)


def test_wrench_passthrough_and_rotor_saturation(sim):
    fc = FlightController(sim.params, HZ)
    fc.arm()
    p = sim.params
    hover = [p.weight, 1e-5, -1e-5, 1e-6]
    fc.set_setpoint(CommandLevel.WRENCH, hover, 0.0)
    np.testing.assert_allclose(fc.update(0.0, sim.pos, sim.vel, sim.quat, sim.omega), hover,
                               rtol=1e-9, atol=1e-12)
    fc.set_setpoint(CommandLevel.WRENCH, [p.max_thrust, 1.0, -1.0, 1.0], 0.0)
    w = fc.update(0.0, sim.pos, sim.vel, sim.quat, sim.omega)
    rotors = p.thrusts_from_wrench(w)
    assert np.all(rotors >= -1e-12) and np.all(rotors <= p.max_rotor_thrust + 1e-12)
    assert w[1] > 0.0 and w[2] < 0.0  # roll/pitch signs kept (roll/pitch first)


def test_stopped_stream_holds_then_lands_then_disarms(sim):
    cfg = FlightControllerConfig(setpoint_timeout=0.5, hold_time=3.0)
    fc = FlightController(sim.params, HZ, cfg)
    fc.arm()
    stop = 1.0
    log = fly(sim, fc, 12.0, lambda t: (CommandLevel.ACCELERATION, [0.4, 0.0, 0.0, 0.0])
              if t < stop else None)
    modes = log.modes
    i_hold = modes.index(FlightMode.HOLD)
    i_land = modes.index(FlightMode.LAND)
    i_off = modes.index(FlightMode.DISARMED)
    assert log.t[i_hold - 1] == pytest.approx(stop + 0.5, abs=2.0 / HZ)
    assert log.t[i_land - 1] == pytest.approx(stop + 0.5 + 3.0, abs=2.0 / HZ)
    assert all(m is FlightMode.HOLD for m in modes[i_hold:i_land])
    assert all(m is FlightMode.LAND for m in modes[i_land:i_off])
    assert all(m is FlightMode.DISARMED for m in modes[i_off:])
    # HOLD: brakes (it was moving at 0.4 m/s) and returns towards where the stream stopped.
    # PX4's default velocity PI has a slow integrator mode (about 5 s), hence 0.1 m.
    held = log.pos[i_hold - 1]
    assert np.max(np.linalg.norm(log.pos[i_hold:i_land] - held, axis=1)) < 0.25
    assert np.linalg.norm(log.pos[i_land - 1] - held) < 0.1
    assert np.linalg.norm(log.vel[i_land - 1]) < 0.1
    # LAND: a slow vertical descent over the spot where landing began, then rotors off.
    landing = slice(i_land + int(HZ), i_off - int(HZ))
    assert np.mean(log.vel[landing, 2]) == pytest.approx(-0.5, abs=0.1)
    assert np.min(log.vel[i_land:, 2]) > -0.8
    assert np.linalg.norm(log.pos[i_off, :2] - log.pos[i_land - 1, :2]) < 0.05
    assert log.pos[-1, 2] < 0.1
    np.testing.assert_array_equal(log.wrench[i_off:], 0.0)
    assert not fc.armed


def test_setpoints_returning_during_hold_resume_offboard(sim):
    fc = FlightController(sim.params, HZ, FlightControllerConfig(hold_time=2.0))
    fc.arm()
    log = fly(sim, fc, 2.5, lambda t: (CommandLevel.ACCELERATION, [0.0, 0.0, 0.0, 0.0])
              if t < 0.5 or t > 1.5 else None)
    assert FlightMode.HOLD in log.modes
    assert log.modes[-1] is FlightMode.OFFBOARD


def test_land_command_is_latched(sim):
    fc = FlightController(sim.params, HZ)
    fc.arm()
    fly(sim, fc, 0.2, constant(CommandLevel.ACCELERATION, [0.0, 0.0, 0.0, 0.0]))
    fc.land()
    log = fly(sim, fc, 5.0, constant(CommandLevel.ACCELERATION, [0.0, 0.0, 2.0, 0.0]))
    assert FlightMode.OFFBOARD not in log.modes
    assert log.modes[-1] is FlightMode.DISARMED
    assert log.pos[-1, 2] < 0.1


def test_nan_setpoints_are_rejected_and_treated_as_missing(sim):
    fc = FlightController(sim.params, HZ)
    fc.arm()
    bad = [float("nan"), 0.0, 0.0, 0.0]

    def setpoint(t):
        if t < 0.5:
            return CommandLevel.ACCELERATION, [0.0, 0.0, 0.0, 0.0]
        return CommandLevel.ACCELERATION, bad if int(t * HZ) % 2 else [0.0, math.inf, 0, 0]

    log = fly(sim, fc, 1.5, setpoint)
    assert fc.rejected == pytest.approx(1.0 * HZ, abs=2)
    assert np.all(np.isfinite(log.wrench))
    assert log.modes[-1] is FlightMode.HOLD  # 0.5 s of nothing valid: setpoints lost
    assert fc.set_setpoint(CommandLevel.ATTITUDE_THRUST, [0, 0, 0, 0, 0.2], 2.0) is False
    assert fc.set_setpoint(CommandLevel.RATES_THRUST, [0, 0, 0, 0.2], math.nan) is False
    assert np.max(np.abs(log.pos[:, 2] - 1.0)) < 0.05


def test_disarmed_gives_zero_thrust(sim):
    fc = FlightController(sim.params, HZ)
    log = fly(sim, fc, 0.3, constant(CommandLevel.WRENCH, [0.4, 0.0, 0.0, 0.0]))
    assert fc.mode is FlightMode.DISARMED
    np.testing.assert_array_equal(log.wrench, 0.0)
    assert log.vel[-1, 2] < -2.0  # falling
    fc.arm()
    assert fc.update(sim.time, sim.pos, sim.vel, sim.quat, sim.omega)[0] > 0.0
    fc.disarm()
    np.testing.assert_array_equal(fc.update(sim.time, sim.pos, sim.vel, sim.quat, sim.omega),
                                  0.0)


def test_bad_arguments_raise():
    fc = FlightController()
    with pytest.raises(ValueError):
        fc.set_setpoint("acceleration", [0, 0, 0, 0], 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fc.set_setpoint(CommandLevel.ATTITUDE_THRUST, [0, 0, 0, 1], 0.0)
    with pytest.raises(ValueError):
        FlightControllerConfig(setpoint_timeout=0.0).validate()
    with pytest.raises(ValueError):
        FlightController(physics_hz=0.0)


def test_hover_thrust_estimate_learns_a_heavier_vehicle():
    """PX4-like hover-thrust estimation: 20 % more mass is learnt, not a 0.2 g sink forever."""
    from liquid_ros.control.quadrotor import CF2X
    from liquid_ros.sim.hover_thrust import HoverThrustEstimator

    est = HoverThrustEstimator(CF2X.mass, tau=0.5)
    m_true, vz, dt = 1.2 * CF2X.mass, 0.0, 1.0 / 240.0
    thrust = CF2X.weight
    for _ in range(240 * 4):  # the vehicle answers the thrust with its true mass
        est.update(vz, thrust, dt)
        thrust = est.scale * CF2X.weight  # hover thrust from the estimate
        vz += (thrust / m_true - 9.81) * dt
    assert abs(est.scale - 1.2) < 0.03
