"""AccelerationController on floats equals its numpy formulation (the law as first written).

``compute`` runs once per control tick (twice when a late command splits one), so it is
written out on plain floats; this test keeps it equal, within 1e-9, to the straightforward
numpy statement of the same law (Lee et al. 2010 thrust vector and attitude law with the
disturbance observer), kept here as the reference, over random states, commands, time steps
and configurations, for whole sequences of calls (the observer's and heading's state carry).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from liquid_ros.control.controller import AccelerationController, ControllerConfig
from liquid_ros.control.quadrotor import CF2X, GRAVITY, QuadrotorParams
from liquid_ros.control.rotation import cross, quat_to_matrix, vee, wrap_angle, yaw_from_quat


class NumpyReference(AccelerationController):
    """The controller's law in numpy, one operation per line of the paper's equations."""

    def _observe(self, vel, dt):
        cfg = self.config
        if self._ref_last is None or dt <= 1e-6:
            return
        v_prev, a_prev, spec = self._ref_last
        e = (vel - v_prev) / dt - a_prev
        gain = dt / (cfg.observer_time_constant + dt)
        step = 0.0
        if spec[2] > 0.3 * GRAVITY:
            new = float(np.clip(self.thrust_gain + gain * e[2] / spec[2],
                                -cfg.observer_thrust_limit, cfg.observer_thrust_limit))
            step, self.thrust_gain = new - self.thrust_gain, new
        self.external[:2] += gain * (e[:2] - step * spec[:2])
        norm = float(np.linalg.norm(self.external))
        if norm > cfg.observer_limit:
            self.external *= cfg.observer_limit / norm
        self.disturbance = self.thrust_gain * spec + self.external

    def reset(self, yaw=0.0):
        super().reset(yaw)
        self._ref_last = None

    def note_applied(self, vel, quat, thrust):
        b3 = quat_to_matrix(np.asarray(quat, float))[:, 2]
        spec = float(thrust) * b3 / self.params.mass
        a_model = ((1.0 + self.thrust_gain) * spec - self._ref_drag / self.params.mass
                   + self.external)
        a_model[2] -= GRAVITY
        self._ref_last = (np.asarray(vel, float).copy(), a_model, spec)

    def compute(self, pos, vel, quat, omega, accel_des, yaw_rate_des, dt):
        vel, quat, omega = (np.asarray(x, float) for x in (vel, quat, omega))
        accel_des, yaw_rate = np.asarray(accel_des, float), float(yaw_rate_des)
        cfg, p = self.config, self.params
        rot = quat_to_matrix(quat)
        if cfg.disturbance_observer:
            self._observe(vel, dt)
        force = p.mass * (accel_des - self.external + np.array([0.0, 0.0, GRAVITY]))
        force_ff = force.copy()
        if cfg.drag_compensation:
            v_ahead = vel.copy()
            v_ahead[:2] += accel_des[:2] * cfg.drag_lead
            rpm = np.full(4, math.sqrt(float(np.linalg.norm(force)) / (4.0 * p.kf)))
            force = force - rot @ p.drag_force(rpm, rot.T @ v_ahead)
        drag_comp = force - force_ff
        if cfg.disturbance_observer:
            force = force / (1.0 + self.thrust_gain)
        force[2] = max(force[2], cfg.min_thrust_ratio * p.weight)
        horizontal = math.hypot(force[0], force[1])
        max_horizontal = force[2] * math.tan(cfg.max_tilt)
        if horizontal > max_horizontal:
            force[:2] *= max_horizontal / horizontal
        yaw = yaw_from_quat(quat)
        self.yaw_des = wrap_angle(self.yaw_des + yaw_rate * dt)
        err = wrap_angle(self.yaw_des - yaw)
        if abs(err) > cfg.yaw_error_limit:
            self.yaw_des = wrap_angle(yaw + math.copysign(cfg.yaw_error_limit, err))
        b3 = force / np.linalg.norm(force)
        b2 = cross(b3, np.array([math.cos(self.yaw_des), math.sin(self.yaw_des), 0.0]))
        b2 /= np.linalg.norm(b2)
        rot_des = np.column_stack([cross(b2, b3), b2, b3])
        thrust = force @ rot[:, 2]
        if cfg.keep_vertical_force and rot[2, 2] > math.cos(cfg.max_tilt):
            thrust = max(thrust, force[2] / rot[2, 2])
        thrust = float(np.clip(thrust, 0.0, p.max_thrust))
        # Lee, Leok and McClamroch (2010), eqs. 11-12, as control.attitude states them.
        att = self.attitude
        e_r = 0.5 * vee(rot_des.T @ rot - rot.T @ rot_des)
        e_w = omega - rot.T @ rot_des @ np.array([0.0, 0.0, yaw_rate])
        tau = -att.k_r * e_r - att.k_w * e_w + cross(omega, att.inertia * omega)
        tau = np.clip(tau, -att.max_torque, att.max_torque)
        self._ref_drag = drag_comp
        if cfg.disturbance_observer:
            self.note_applied(vel, quat, thrust)
        return np.array([thrust, tau[0], tau[1], tau[2]])


def random_quat(rng: np.random.Generator, tilt: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis[:2] *= tilt
    q = np.append(axis / np.linalg.norm(axis) * math.sin(rng.uniform(0, 1.5) / 2),
                  math.cos(rng.uniform(0, 1.5) / 2))
    return q / np.linalg.norm(q)


CONFIGS = [ControllerConfig(),
           ControllerConfig(disturbance_observer=False),
           ControllerConfig(drag_compensation=False, keep_vertical_force=False),
           ControllerConfig(max_tilt=0.3, observer_limit=0.5, observer_thrust_limit=0.1)]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("params", [CF2X, QuadrotorParams(mass=0.05, inertia=(2e-5, 3e-5, 4e-5))])
def test_compute_equals_numpy_reference(config: ControllerConfig, params: QuadrotorParams):
    rng = np.random.default_rng(7)
    fast, ref = AccelerationController(params, config), NumpyReference(params, config)
    for _episode in range(20):
        yaw = float(rng.uniform(-math.pi, math.pi))
        fast.reset(yaw)
        ref.reset(yaw)
        for _ in range(30):
            state = (rng.normal(size=3), rng.normal(size=3) * rng.uniform(0, 3),
                     random_quat(rng, rng.uniform(0, 1)), rng.normal(size=3) * 3)
            accel = rng.uniform(-6, 6, size=3)  # beyond the action bounds too
            yaw_rate = float(rng.uniform(-3, 3))
            dt = float(rng.choice([0.0, 1e-7, 0.0167, 0.02, 0.0208, rng.uniform(0, 0.1)]))
            w_fast = fast.compute(*state, accel, yaw_rate, dt)
            w_ref = ref.compute(*state, accel, yaw_rate, dt)
            assert isinstance(w_fast, np.ndarray) and w_fast.shape == (4,)
            np.testing.assert_allclose(w_fast, w_ref, rtol=1e-9, atol=1e-12)
            assert fast.yaw_des == pytest.approx(ref.yaw_des, abs=1e-12)
            assert fast.thrust_gain == pytest.approx(ref.thrust_gain, abs=1e-9)
            np.testing.assert_allclose(fast.external, ref.external, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(fast.disturbance, ref.disturbance, rtol=1e-9,
                                       atol=1e-12)
            if rng.random() < 0.2:  # a later stage limited the thrust
                thrust = float(w_fast[0]) * rng.uniform(0.5, 1.0)
                fast.note_applied(state[1], state[2], thrust)
                ref.note_applied(state[1], state[2], thrust)


def test_compute_rejects_bad_input_as_before():
    ctrl = AccelerationController()
    good = (np.zeros(3), np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3),
            np.zeros(3), 0.0, 0.02)
    for i, name in enumerate(("pos", "vel", "quat", "omega", "accel_des")):
        bad = list(good)
        bad[i] = np.append(good[i], 0.0)
        with pytest.raises(ValueError, match=f"{name} must have shape"):
            ctrl.compute(*bad)
        bad[i] = np.full(good[i].shape, np.nan)
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            ctrl.compute(*bad)
    with pytest.raises(ValueError, match="yaw_rate_des must be finite"):
        ctrl.compute(*good[:5], math.inf, 0.02)
    with pytest.raises(ValueError, match="dt must be finite"):
        ctrl.compute(*good[:6], -0.01)
    assert dataclasses.is_dataclass(ctrl.config)


def test_state_as_tuples_of_floats_gives_the_same_wrench():
    """QuadrotorSim.state_values hands tuples to compute: the same numbers as arrays."""
    rng = np.random.default_rng(3)
    a, b = AccelerationController(), AccelerationController()
    for _ in range(50):
        state = (rng.normal(size=3), rng.normal(size=3), random_quat(rng, 0.5),
                 rng.normal(size=3))
        accel, yaw_rate = rng.uniform(-4, 4, size=3), float(rng.uniform(-2, 2))
        w_arrays = a.compute(*state, accel, yaw_rate, 0.02)
        w_tuples = b.compute(*(tuple(x.tolist()) for x in state), accel, yaw_rate, 0.02)
        np.testing.assert_array_equal(w_arrays, w_tuples)
    with pytest.raises(ValueError, match="vel must be finite"):
        b.compute((0.0, 0.0, 0.0), (math.nan, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0),
                  (0.0, 0.0, 0.0), accel, 0.0, 0.02)
