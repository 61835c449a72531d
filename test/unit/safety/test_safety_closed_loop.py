"""Closed loop on the double integrator: an adversarial controller behind the filter.

Discretisation: the filter runs every ``DT = 1/48`` s and the acceleration is held constant in
between (exact zero-order-hold integration). The default margins (0.1 m, 0.2 m/s) exceed the
bounds of ``discretisation_margin`` (0.042 m for the 4 m/s^2 box and p2 = 1) and
``speed_discretisation_margin`` (0.17 m/s), so the continuous-time HOCBF guarantee carries
over to the sampled loop.
"""

from __future__ import annotations

import numpy as np
import pytest

from liquid_ros.safety import (
    SafetyConfig,
    SafetyFilter,
    barrier_values,
    discretisation_margin,
    speed_discretisation_margin,
)

DT = 1.0 / 48.0
CFG = SafetyConfig(altitude_min=0.2, altitude_max=4.0, geofence=((-3.0, 3.0), (-3.0, 3.0)),
                   obstacles=((1.0, 1.0, 1.5, 0.6), (-1.5, 0.0, 2.0, 0.8)), speed_max=3.0)


def test_default_margins_cover_the_tick():
    box = max(map(abs, CFG.accel_max + CFG.accel_min))
    assert CFG.margin >= discretisation_margin(box, DT, CFG.gain_p2)
    assert CFG.speed_margin >= speed_discretisation_margin(box * np.sqrt(3), DT, CFG.gain_p1,
                                                           CFG.speed_max)


def run(filtered: bool, steps: int, seed: int = 0, leader: bool = False):
    cfg = CFG if not leader else SafetyConfig(leader_distance=0.6, altitude_max=None)
    filt = SafetyFilter(cfg)
    rng = np.random.default_rng(seed)
    p, v = np.array([0.0, -2.0, 1.0]), np.zeros(3)
    lp, lv = np.array([0.0, 3.0, 1.0]), np.array([0.0, -0.8, 0.0])
    worst, infeasible = np.inf, 0
    target = rng.uniform(-4, 4, size=3)
    for k in range(steps):
        if k % 50 == 0:  # an adversary: chase a random point (often outside the safe set)
            target = np.r_[rng.uniform(-4, 4, size=2), rng.uniform(-1, 5)]
        if leader:
            target = lp
        a_nom = 6.0 * (target - p) / (np.linalg.norm(target - p) + 1e-9)
        a_nom += rng.normal(scale=3.0, size=3)
        if filtered:
            a, status = filt.filter_accel(p, v, a_nom, leader_pos=lp if leader else None,
                                          leader_vel=lv if leader else None)
            assert status.error is None
            infeasible += status.infeasible
        else:
            a = np.clip(a_nom, cfg.accel_min, cfg.accel_max)
        p = p + v * DT + 0.5 * a * DT * DT
        v = v + a * DT
        lp = lp + lv * DT
        b = barrier_values(p[None], v[None], cfg, lp[None] if leader else None,
                           lv[None] if leader else None)
        worst = min(worst, float(b.min()))
    return worst, infeasible


@pytest.mark.slow
def test_filter_keeps_adversarial_controller_safe():
    worst, infeasible = run(True, 10_000)
    assert worst >= 0.0
    assert infeasible == 0
    worst_open, _ = run(False, 10_000)
    assert worst_open < 0.0  # the same controller unfiltered leaves the safe set


def test_moving_leader_is_avoided():
    worst, _ = run(True, 500, leader=True)
    assert worst >= 0.0
    assert run(False, 500, leader=True)[0] < 0.0
