"""Edge cases, honest status, yaw bound, latency prediction, disturbance observer, leader bound."""

from __future__ import annotations

import json

import numpy as np
import pytest

from liquid_ros.control.controller import AccelerationController
from liquid_ros.control.quadrotor import CF2X, GRAVITY
from liquid_ros.safety import SafetyConfig, SafetyFilter
from liquid_ros.safety.config import LEADER_ACCEL_BOUND, LEADER_FOLLOW_BARRIER
from liquid_ros.safety.robust import predict_full_state, predict_state, yaw_rate_bound


def test_absurd_wrench_gives_full_thrust_and_says_so():
    w, status = SafetyFilter().filter_wrench([1e16, 0.0, 0.0, 0.0])
    assert w[0] == pytest.approx(CF2X.max_thrust, rel=1e-6)
    assert np.allclose(w[1:], 0.0, atol=1e-12)
    assert status.infeasible and status.error is None and not status.fallback
    w, status = SafetyFilter().filter_wrench([0.3, 0.001, 0.0, 0.0])
    assert not status.infeasible  # an ordinary wrench is not flagged


def test_absurd_acceleration_is_filtered_exactly_or_reported_infeasible():
    filt = SafetyFilter()
    # Feasible: the exact projection (floor row: p1 p2 (z - 0.2) - delta), no violation.
    a, status = filt.filter_accel([0, 0, 1.0], [0, 0, 0], [0, 0, -1e17])
    expected = -(1.0 * 1.0 * (1.0 - 0.1 - 0.1) - filt.config.accel_error_bound)
    assert a[2] == pytest.approx(expected, abs=1e-9)
    assert not status.infeasible and status.max_violation < 1e-9
    # Falling fast just above the floor: no command in the box is safe -> infeasible.
    a, status = filt.filter_accel([0, 0, 0.25], [0, 0, -5.0], [0, 0, -1e17])
    assert status.infeasible and status.max_violation > 0.0 and a[2] == 4.0
    a, status = filt.filter_accel([0, 0, 1.0], [0, 0, 0], [1e300, 0, 0])
    assert np.isfinite(status.intervention) and status.intervention > 1e299


def test_status_reports_every_barrier_value_and_the_violated_ones():
    cfg = SafetyConfig(obstacles=((0.0, 0.0, 1.0, 0.5),), leader_distance=0.5)
    filt = SafetyFilter(cfg)
    _, status = filt.filter_accel([0.2, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    vals = status.barrier_values
    assert set(vals) == set(filt.barrier_names)
    assert vals["obstacle_0"] == pytest.approx(0.2 - 0.5)  # 0.3 m deep inside the sphere
    assert vals["altitude_min"] == pytest.approx(0.9) and vals["leader"] == np.inf
    assert status.violated == ("obstacle_0",)
    d = status.to_dict()
    assert d["barrier_values"]["leader"] is None and d["violated"] == ["obstacle_0"]
    json.dumps(d)  # plain JSON, no inf


def test_yaw_rate_is_bounded_near_barriers_only():
    filt = SafetyFilter(SafetyConfig())
    act, status = filt.filter_action([0, 0, 5.0], [0, 0, 0], [0, 0, 0, -2.0])
    assert act[3] == -2.0 and status.yaw_rate_limit == pytest.approx(2.0)
    act, status = filt.filter_action([0, 0, 0.1], [0, 0, 0], [0, 0, 0, 2.0])
    assert act[3] == pytest.approx(0.5) and "yaw_rate" in status.active
    cfg = filt.config
    assert yaw_rate_bound(cfg, 0.25) == pytest.approx(0.5 + 0.5 * 1.5)
    assert yaw_rate_bound(cfg, -1.0) == pytest.approx(0.5)


def test_slew_limit_when_configured():
    filt = SafetyFilter(SafetyConfig(accel_slew_max=40.0))
    filt.filter_action([0, 0, 5.0], [0, 0, 0], [-4.0, 0, 0, 0], dt=0.02)
    act, _ = filt.filter_action([0, 0, 5.0], [0, 0, 0], [4.0, 0, 0, 0], dt=0.02)
    assert act[0] == pytest.approx(-4.0 + 0.8)
    filt.reset()
    act, _ = filt.filter_action([0, 0, 5.0], [0, 0, 0], [4.0, 0, 0, 0], dt=0.02)
    assert act[0] == pytest.approx(4.0)


def test_predict_state_integrates_the_commanded_acceleration():
    p, v = predict_state([0, 0, 1.0], [1.0, 0, 0], 0.1, [0, 0, 2.0])
    np.testing.assert_allclose(p, [0.1, 0.0, 1.01], atol=1e-12)
    np.testing.assert_allclose(v, [1.0, 0.0, 0.2], atol=1e-12)
    p, _ = predict_state([0, 0, 1.0], [1.0, 0, 0], 5.0, None, max_age=0.2)
    np.testing.assert_allclose(p, [0.2, 0.0, 1.0], atol=1e-12)  # clamped
    p, _ = predict_state([0, 0, 1.0], [1.0, 0, 0], float("nan"), None)
    np.testing.assert_allclose(p, [0.0, 0.0, 1.0])


def test_predict_full_state_rotates_and_uses_the_commands_sent_since():
    # Spinning about z at 1 rad/s, no torque: 0.1 s later the yaw is 0.1 rad.
    p, v, q, w = predict_full_state(np.zeros(3), np.zeros(3), [0, 0, 0, 1.0], [0, 0, 1.0],
                                    0.1, [], CF2X.inertia)
    assert 2.0 * np.arctan2(q[2], q[3]) == pytest.approx(0.1, abs=1e-6)
    np.testing.assert_allclose(w, [0, 0, 1.0], atol=1e-9)
    # An acceleration sent 0.05 s ago acts for 0.05 s of the 0.1 s.
    cmds = [(0.3, np.zeros(3), np.zeros(3)), (0.05, np.array([2.0, 0, 0]), np.zeros(3))]
    p, v, _, _ = predict_full_state(np.zeros(3), np.zeros(3), [0, 0, 0, 1.0], np.zeros(3),
                                    0.1, cmds, CF2X.inertia)
    assert v[0] == pytest.approx(0.1, abs=1e-9) and p[0] == pytest.approx(0.0025, abs=1e-9)


def test_disturbance_observer_cancels_a_mass_error():
    pb = pytest.importorskip("pybullet")
    from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig

    del pb
    sim = QuadrotorSim(SimConfig())
    try:
        if hasattr(sim, "set_physics"):
            sim.set_physics(mass=1.2 * CF2X.mass)
        else:
            pytest.skip("simulator without set_physics")
        sim.reset(np.array([0.0, 0.0, 2.0]))
        ctrl = AccelerationController(CF2X)
        vz = []
        for k in range(150):  # 3 s at 50 Hz, zero acceleration commanded
            vz.append(sim.vel[2])
            w = ctrl.compute(sim.pos, sim.vel, sim.quat, sim.omega, np.zeros(3), 0.0, 0.02)
            sim.set_wrench(w)
            sim.step(5 if k % 5 else 4)
        # 20 % more mass: a thrust T gives T / (1.2 m) - g, i.e. d = -T / (6 m) less than
        # modelled; at the compensated hover thrust T = m (g - d) that is d = -g / 5. The
        # observer finds it and the vertical speed stops growing (zero acceleration, as asked).
        assert ctrl.disturbance[2] == pytest.approx(-GRAVITY / 5.0, abs=0.1)
        assert abs(vz[-1] - vz[-50]) < 0.05 < abs(vz[25] - vz[0])
    finally:
        sim.close()


def test_leader_bound_covers_the_task_trajectories():
    from liquid_ros.sim.trajectories import FAMILIES, family_accel_bound

    assert LEADER_FOLLOW_BARRIER["leader_accel_max"] == LEADER_ACCEL_BOUND
    for family in FAMILIES:
        assert family_accel_bound(family, episodes=100, seed=1) <= LEADER_ACCEL_BOUND
    assert family_accel_bound("waypoints", episodes=100, seed=1) > 1.0  # the old 1 m/s^2
