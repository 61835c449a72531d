"""Kernel warm-up and the hold pilot that flies while it runs (no ROS needed)."""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.control.controller import AccelerationController
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.ros.messages import OdomSample
from liquid_ros.ros.warmup import HoldPilot, Startup, warm_kernels
from liquid_ros.runtime.policy_source import load_or_init_policy
from liquid_ros.safety.filter import SafetyFilter


def _odom(pos, vel=(0.0, 0.0, 0.0), quat=(0.0, 0.0, 0.0, 1.0)) -> OdomSample:
    return OdomSample(np.array(pos, float), np.array(vel, float), np.array(quat, float),
                      np.zeros(3))


def test_hold_pilot_needs_a_state_and_holds_the_first_position():
    pilot = HoldPilot(CF2X, AccelerationController(CF2X))
    assert pilot.tick(None, 0.02) is None  # no state, no command
    w = pilot.tick(_odom([1.0, 2.0, 1.5]), 0.02)
    assert math.isclose(w[0], CF2X.weight, rel_tol=1e-3) and np.all(np.abs(w[1:]) < 1e-6)
    np.testing.assert_allclose(pilot.hold, [1.0, 2.0, 1.5])
    # drifted 0.5 m below and sinking: more thrust, back up to the hold point
    w = pilot.tick(_odom([1.0, 2.0, 1.0], vel=(0.0, 0.0, -0.5)), 0.02)
    assert w[0] > CF2X.weight * 1.2


def test_hold_pilot_wrench_is_always_rotor_feasible():
    pilot = HoldPilot(CF2X, AccelerationController(CF2X))
    pilot.tick(_odom([0.0, 0.0, 1.0]), 0.02)
    rng = np.random.default_rng(0)
    inv = np.linalg.inv(CF2X.mixer())
    for _ in range(200):
        q = rng.normal(size=4)
        odom = _odom(rng.uniform(-5, 5, 3), rng.uniform(-3, 3, 3), q / np.linalg.norm(q))
        w = pilot.tick(odom, 0.02)
        f = inv @ w
        assert np.all(np.isfinite(w))
        assert np.all(f >= -1e-9) and np.all(f <= CF2X.max_rotor_thrust + 1e-9)


def test_kernel_warmup_finishes_and_leaves_the_policy_untouched():
    policy, _, _ = load_or_init_policy("", "fly_to_target")
    policy.reset()
    lines: list[str] = []
    warm = Startup(lambda: warm_kernels(policy, SafetyFilter, (64, 64)), log=lines.append)
    assert warm.wait(300.0)
    assert warm.error == "" and math.isfinite(warm.seconds)
    assert lines and "ready after" in lines[0]
    assert getattr(policy, "_hx", None) is None  # stepped a copy, not the node's policy


def test_startup_runs_in_the_background_and_reports_errors():
    import threading

    gate = threading.Event()
    lines: list[str] = []
    s = Startup(lambda: (gate.wait(5.0), 42)[1], background=True, log=lines.append)
    assert not s.done.is_set()  # configure returned while the build still runs
    gate.set()
    assert s.wait(5.0) and s.result == 42 and s.error == ""
    assert "ready after" in lines[0]

    def broken():
        raise ValueError("bad checkpoint")

    s = Startup(broken, background=False, log=lines.append)
    assert s.done.is_set() and s.result is None and "bad checkpoint" in s.error
    assert "failed" in lines[-1]


def test_hold_pilot_lands_when_told():
    pilot = HoldPilot(CF2X, AccelerationController(CF2X))
    pilot.landing = True
    w = pilot.tick(_odom([0.0, 0.0, 1.0]), 0.02)
    assert 0.0 < w[0] < CF2X.weight  # descending, never a zero wrench in the air


def test_startup_waits_for_its_delay_or_start_now():
    import time

    s = Startup(lambda: 7, background=True, log=lambda _: None, delay=30.0)
    time.sleep(0.2)
    assert not s.done.is_set()  # still waiting for the delay
    s.start_now()
    s.start_now()  # idempotent
    assert s.wait(5.0) and s.result == 7
