"""The Pilot: modes, watchdog, time jumps, bounds (real policy and filter)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_ros.control.controller import AccelerationController
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.models.policy import LiquidPolicy, PolicyConfig
from liquid_ros.runtime.config import PolicyNodeConfig
from liquid_ros.runtime.decoding import OdomSample
from liquid_ros.runtime.pilot import Pilot
from liquid_ros.safety.filter import SafetyConfig, SafetyFilter


def _odom(z: float = 1.0, vz: float = 0.0) -> OdomSample:
    return OdomSample(np.array([0.0, 0.0, z]), np.array([0.0, 0.0, vz]),
                      np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3))


@pytest.fixture
def loop():
    torch.manual_seed(0)
    cfg = PolicyNodeConfig(rate_hz=50.0, input_timeout=0.1, land_timeout=0.5)
    lp = Pilot(LiquidPolicy(PolicyConfig()).eval(), SafetyFilter(SafetyConfig(), CF2X),
                    AccelerationController(CF2X), cfg, CF2X)
    lp.reset()
    return lp


def _feed(lp: Pilot, t: float, odom: OdomSample | None = None) -> None:
    lp.set_image(np.full((64, 64, 3), 100, np.uint8), t)
    lp.set_odom(odom or _odom(), t)


def _in_bounds(w: np.ndarray) -> bool:
    return (np.all(np.isfinite(w)) and 0.0 <= w[0] <= CF2X.max_thrust + 1e-12
            and np.all(np.abs(w[1:]) <= CF2X.max_torque + 1e-12))


def test_policy_then_hover_then_land_then_recover(loop):
    t = 0.0
    for _ in range(5):
        _feed(loop, t)
        r = loop.tick(t)
        assert r.mode == "policy" and _in_bounds(r.wrench)
        t += 0.02
    # input lost: hover within input_timeout + one period, holding thrust near weight
    modes = []
    for _ in range(40):
        r = loop.tick(t)
        modes.append(r.mode)
        assert _in_bounds(r.wrench) and r.wrench[0] > 0.5 * CF2X.weight
        t += 0.02
    first_hover = modes.index("hover")
    assert first_hover * 0.02 <= 0.1 + 2 * 0.02
    assert "land" in modes and modes.index("land") > first_hover
    _feed(loop, t)
    assert loop.tick(t).mode == "policy"
    assert loop.counters["fallback_ticks"] == sum(m != "policy" for m in modes)


def test_time_jump_and_huge_dt(loop):
    _feed(loop, 10.0)
    loop.tick(10.0)
    _feed(loop, 9.0)
    r = loop.tick(9.0)  # clock went backwards
    assert r.mode == "hover" and "backwards" in r.reason and _in_bounds(r.wrench)
    _feed(loop, 100.0)
    r = loop.tick(100.0)  # 91 s gap
    assert r.mode == "policy" and r.dt == loop.config.max_dt
    assert loop.counters["time_jumps"] == 1 and loop.counters["dt_clamped"] == 1


def test_pause_estop_and_grounded(loop):
    _feed(loop, 0.0)
    loop.paused = True
    r = loop.tick(0.0)
    assert r.mode == "hover" and r.reason == "paused"
    loop.paused = False
    loop.estop = True
    _feed(loop, 0.02, _odom(z=1.0))
    r = loop.tick(0.02)
    assert r.mode == "estop" and r.accel[2] < 0 and r.wrench[0] > 0
    _feed(loop, 0.04, _odom(z=0.02))
    r = loop.tick(0.04)
    assert r.mode == "grounded" and np.all(r.wrench == 0.0)
    loop.reset()
    assert not loop.estop


def test_no_command_before_the_first_odometry(loop):
    # A hover needs a state to hold: before any odometry the loop returns no command at all
    # (it used to "hold" the origin at z = 0, a command built from no state).
    assert loop.tick(0.0) is None
    loop.set_image(np.full((64, 64, 3), 100, np.uint8), 0.02)
    assert loop.tick(0.02) is None
    loop.set_odom(_odom(), 0.04)
    r = loop.tick(0.04)
    assert r is not None and r.mode == "policy" and _in_bounds(r.wrench)
    # Once odometry has been seen, losing it gives hover, then land, never silence.
    r = loop.tick(0.5)
    assert r is not None and r.mode in ("hover", "land") and r.wrench[0] > 0.5 * CF2X.weight


class _HugePolicy:
    def step(self, image, state, dt):
        return np.array([1e300, -1e300, 0.0, 1e300])

    def reset(self) -> None:
        pass


def test_huge_policy_output_is_finite_everywhere(loop):
    loop.policy = _HugePolicy()
    _feed(loop, 0.0)
    r = loop.tick(0.0)
    assert r.mode == "policy" and np.all(np.isfinite(r.action_nominal))
    assert r.action_nominal.dtype == np.float32 and r.action_nominal[0] > 1e38
    assert _in_bounds(r.wrench) and np.all(np.abs(r.accel) <= 4.0)
    assert abs(r.yaw_rate) <= 2.0


def test_stage1_sees_the_predicted_state_and_reports_barriers(loop):
    # Measured 0.1 s ago at 0.5 m, falling at 2 m/s: stage 1 must judge the predicted 0.3 m.
    loop.set_image(np.full((64, 64, 3), 100, np.uint8), 1.0)
    loop.set_odom(_odom(z=0.5, vz=-2.0), 1.0, stamp=0.9)
    r = loop.tick(1.0)
    vals = r.status["stage1"]["barrier_values"]
    assert vals["altitude_min"] == pytest.approx(0.3 - 0.1, abs=1e-9)
    assert r.status["odom_age"] == pytest.approx(0.1)
    assert r.status["violated"] == [] and r.accel[2] > 0.0  # braking
    loop.set_odom(_odom(z=0.05, vz=0.0), 1.02, stamp=1.02)
    r = loop.tick(1.02)
    assert r.status["violated"] == ["altitude_min"]
    assert r.status["stage1"]["barrier_values"]["altitude_min"] < 0.0


def test_status_reports_both_stages(loop):
    _feed(loop, 0.0, _odom(z=9.99, vz=2.0))  # near the ceiling, climbing: barrier must act
    r = loop.tick(0.0)
    assert r.mode == "policy"
    assert r.status["stage1"]["active"] and r.status["stage1"]["intervention"] > 0
    assert "stage2" in r.status and loop.counters["interventions"] == 1


class _RecordingPolicy:
    """A real LiquidPolicy that records the dt of every step it is asked to take."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.inner = LiquidPolicy(PolicyConfig()).eval()
        self.dts: list[float] = []

    def step(self, image, state, dt):
        self.dts.append(dt)
        self.inner.last_action = self.inner.step(image, state, dt)
        return self.inner.last_action

    @property
    def hidden_state(self):
        return self.inner.hidden_state

    def reset(self) -> None:
        self.inner.reset()


def test_policy_steps_at_its_trained_period_and_holds_between():
    from liquid_ros.runtime.policy_source import policy_period, shipped_checkpoint

    pol = _RecordingPolicy()
    cfg = PolicyNodeConfig(rate_hz=50.0)
    lp = Pilot(pol, SafetyFilter(SafetyConfig(), CF2X), AccelerationController(CF2X), cfg,
               CF2X, policy_period=0.1)
    lp.reset()
    nominals = []
    for k in range(26):  # 0.5 s at 50 Hz
        _feed(lp, 0.02 * k)
        r = lp.tick(0.02 * k)
        assert r.mode == "policy" and _in_bounds(r.wrench)
        nominals.append(r.action_nominal.copy())
    # one step at the start (integrating one period), then one every 5 ticks of 0.02 s
    assert len(pol.dts) == 6
    np.testing.assert_allclose(pol.dts, [0.1] * 6, atol=1e-9)
    for k in range(1, 5):
        np.testing.assert_array_equal(nominals[k], nominals[0])  # held between steps
    # shipped checkpoints say how they were trained: 5 ticks of the 50 Hz control loop
    from liquid_ros.models.checkpoint import load_policy

    shipped = load_policy(str(shipped_checkpoint("fly_to_target")))
    assert policy_period(shipped) == pytest.approx(0.1)
    assert policy_period(pol.inner) == 0.0


def test_yaw_setpoint_starts_at_the_robot_heading_when_odom_arrives_after_activation():
    torch.manual_seed(0)
    ctrl = AccelerationController(CF2X)
    lp = Pilot(LiquidPolicy(PolicyConfig()).eval(), SafetyFilter(SafetyConfig(), CF2X),
               ctrl, PolicyNodeConfig(rate_hz=50.0), CF2X)
    lp.reset()  # activated before any odometry, as a node usually is
    yaw = 2.0
    q = np.array([0.0, 0.0, np.sin(yaw / 2), np.cos(yaw / 2)])
    lp.set_image(np.full((64, 64, 3), 100, np.uint8), 0.0)
    lp.set_odom(OdomSample(np.array([0.0, 0.0, 1.0]), np.zeros(3), q, np.zeros(3)), 0.0)
    r = lp.tick(0.0)
    assert abs(ctrl.yaw_des - yaw) < 0.1  # not dragged towards 0 rad
    assert abs(r.wrench[3]) < 0.5 * CF2X.max_torque[2]


def test_implausible_stamps_fall_back_to_the_receive_time(loop):
    # An unset stamp (0) or one from another clock must not make the loop extrapolate.
    for stamp in (0.0, 5.0, float("nan")):
        loop.set_image(np.full((64, 64, 3), 100, np.uint8), 2.0)
        loop.set_odom(_odom(z=1.0, vz=-1.0), 2.0, stamp=stamp)
        r = loop.tick(2.0)
        assert r.status["odom_age"] == 0.0
        assert r.status["stage1"]["barrier_values"]["altitude_min"] == pytest.approx(0.9)
        loop.reset()


def test_acceleration_level_sends_the_filtered_setpoint_and_records_each_step():
    """output_type accel: stage 1's acceleration (less the observed disturbance), no wrench."""
    from liquid_ros.control.levels import CommandLevel
    from liquid_ros.runtime.command import Mode

    torch.manual_seed(0)
    pol = _RecordingPolicy()
    cfg = PolicyNodeConfig(rate_hz=50.0, output_type="accel")
    lp = Pilot(pol, SafetyFilter(SafetyConfig(), CF2X), AccelerationController(CF2X), cfg,
               CF2X, policy_period=0.1)
    lp.reset()
    steps = []
    for k in range(10):
        _feed(lp, 0.02 * k, _odom(z=0.15, vz=-1.0))  # below the floor, falling: stage 1 acts
        r = lp.tick(0.02 * k)
        assert r.level == CommandLevel.ACCELERATION and r.wrench is None
        assert r.mode == Mode.POLICY and r.values.shape == (4,)
        # stage 1's acceleration, less the disturbance the flight controller leaves (here
        # the odometry never responds, so the observer sees all of it as disturbance)
        np.testing.assert_allclose(
            r.values[:3], np.clip(r.accel - r.status["disturbance"], -4.0, 4.0))
        assert r.values[3] == pytest.approx(r.yaw_rate)
        assert np.all(np.abs(r.values[:3]) <= 4.0 + 1e-9) and abs(r.values[3]) <= 2.0 + 1e-9
        assert r.values[2] > 1.0  # pushed up, whatever the policy asked
        if r.step is not None:
            steps.append(r.step)
            np.testing.assert_array_equal(r.step.action, pol.inner.last_action)
            assert r.step.image.shape == (64, 64, 3) and r.step.state.shape == (10,)
    assert len(steps) == 2 and steps[0].hidden is None and steps[1].hidden is not None
    # the command level is fixed once the pilot exists
    with pytest.raises(ValueError, match="command level"):
        lp.reconfigure(PolicyNodeConfig(output_type="wrench"))
    lp.reconfigure(PolicyNodeConfig(output_type="twist", input_timeout=0.05))
    assert lp.config.input_timeout == 0.05


def test_acceleration_level_last_resort_is_a_zero_acceleration(loop):
    class Broken:
        def filter_action(self, *a, **k):
            raise RuntimeError("solver gone")

        def filter_wrench(self, w):
            raise RuntimeError("solver gone")

    lp = Pilot(_RecordingPolicy(), Broken(), AccelerationController(CF2X),
               PolicyNodeConfig(output_type="accel"), CF2X)
    _feed(lp, 0.0)
    r = lp.tick(0.0)
    assert r.mode == "hover" and "fallback chain failed" in r.reason
    np.testing.assert_array_equal(r.values, np.zeros(4))


@pytest.mark.parametrize("output_type", ["attitude", "rates"])
def test_thrust_levels_send_a_bounded_attitude_or_rate_setpoint(output_type):
    """attitude: unit quaternion + thrust; rates: bounded body rates + thrust; both hover-like."""
    from liquid_ros.control.levels import CommandLevel
    from liquid_ros.runtime.levels import MAX_RATES

    lp = Pilot(_RecordingPolicy(), SafetyFilter(SafetyConfig(), CF2X),
               AccelerationController(CF2X), PolicyNodeConfig(output_type=output_type), CF2X)
    lp.reset()
    lp.paused = True  # hover: hold the position latched on entry
    yaw = 0.7
    q = np.array([0.0, 0.0, np.sin(yaw / 2), np.cos(yaw / 2)])
    for k in range(5):
        lp.set_image(np.full((64, 64, 3), 100, np.uint8), 0.02 * k)
        lp.set_odom(OdomSample(np.array([0.0, 0.0, 1.0]), np.zeros(3), q, np.zeros(3)),
                    0.02 * k)
        r = lp.tick(0.02 * k)
        assert r.mode == "hover" and r.wrench is None
        thrust = r.values[-1]
        assert 0.9 * CF2X.weight < thrust < 1.1 * CF2X.weight  # level hover
        if output_type == "attitude":
            assert r.level == CommandLevel.ATTITUDE_THRUST and r.values.shape == (5,)
            np.testing.assert_allclose(np.linalg.norm(r.values[:4]), 1.0, atol=1e-12)
            np.testing.assert_allclose(np.abs(r.values[:4] @ q), 1.0, atol=1e-3)  # holds yaw
        else:
            assert r.level == CommandLevel.RATES_THRUST and r.values.shape == (4,)
            assert np.all(np.abs(r.values[:3]) <= MAX_RATES + 1e-12)
            np.testing.assert_allclose(r.values[:3], 0.0, atol=1e-2)
    # an emergency stop on the ground cuts the thrust (mode grounded)
    lp.estop = True
    lp.set_odom(OdomSample(np.array([0.0, 0.0, 0.01]), np.zeros(3), q, np.zeros(3)), 0.2)
    lp.set_image(np.full((64, 64, 3), 100, np.uint8), 0.2)
    r = lp.tick(0.2)
    assert r.mode == "grounded" and r.values[-1] == 0.0
