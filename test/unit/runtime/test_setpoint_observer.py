"""SetpointObserver: the disturbance a flight controller leaves at the acceleration level."""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.runtime.levels import RESPONSE_TIME, SetpointObserver


def _fly(obs: SetpointObserver, commands, disturbance: np.ndarray, dt: float = 0.02,
         compensate: bool = True, link_ticks: int = 2) -> tuple[np.ndarray, list[np.ndarray]]:
    """A flight controller reaching its setpoint with a first-order lag, plus a disturbance.

    Setpoints reach it ``link_ticks`` ticks after they are sent (2 x 0.02 s: the observer's
    default COMMAND_DELAY).
    """
    vel, achieved, sent_log = np.zeros(3), np.zeros(3), []
    k = math.exp(-dt / RESPONSE_TIME)
    substeps = 20
    for t, cmd in enumerate(commands):
        obs.update(t * dt, vel)
        setpoint = cmd - obs.estimate if compensate else cmd
        obs.sent(t * dt, setpoint)
        sent_log.append(setpoint)
        acting = sent_log[t - link_ticks] if t >= link_ticks else np.zeros(3)
        for _ in range(substeps):  # the plant between two odometry samples
            achieved = acting + (achieved - acting) * k ** (1 / substeps)
            vel = vel + (achieved + disturbance) * dt / substeps
    return vel, sent_log


def test_a_constant_disturbance_is_estimated_and_cancelled():
    wind = np.array([1.85, -0.5, -1.0])  # 0.05 N on 27 g, and 20 % too heavy
    obs = SetpointObserver(tau=0.3)
    cmds = [np.array([0.5, 0.0, 0.2])] * 150  # 3 s of a steady command
    _, sent = _fly(obs, cmds, wind)
    np.testing.assert_allclose(obs.estimate, wind, atol=0.02)
    np.testing.assert_allclose(sent[-1], cmds[-1] - wind, atol=0.02)


def test_its_own_lag_is_not_a_disturbance():
    """Commands that change every 0.1 s (a policy at 10 Hz) and no disturbance: d stays ~0."""
    rng = np.random.default_rng(0)
    cmds = [c for c in rng.uniform(-3, 3, (30, 3)) for _ in range(5)]
    obs = SetpointObserver(tau=0.3)
    _fly(obs, cmds, np.zeros(3))
    assert np.linalg.norm(obs.estimate) < 0.05
    for naive in (SetpointObserver(tau=0.3, response=0.0),  # the lag taken for disturbance
                  SetpointObserver(tau=0.3, delay=0.0)):  # the link delay, too
        _fly(naive, cmds, np.zeros(3))
        assert np.linalg.norm(naive.estimate) > 5 * np.linalg.norm(obs.estimate)


def test_limit_gaps_and_disabled():
    obs = SetpointObserver(tau=0.05, limit=1.0)
    _fly(obs, [np.zeros(3)] * 100, np.array([5.0, 0.0, 0.0]))
    np.testing.assert_allclose(np.linalg.norm(obs.estimate), 1.0, atol=1e-9)
    gap = SetpointObserver()
    gap.update(0.0, np.zeros(3))
    gap.update(2.0, np.array([10.0, 0.0, 0.0]))  # 2 s without odometry: not a measurement
    np.testing.assert_array_equal(gap.estimate, np.zeros(3))
    off = SetpointObserver(enabled=False)
    _fly(off, [np.zeros(3)] * 50, np.ones(3))
    np.testing.assert_array_equal(off.estimate, np.zeros(3))
