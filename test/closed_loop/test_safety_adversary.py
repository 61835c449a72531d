"""The adversarial pilot of ``benchmarks/bench_safety_adversary.py``, a few episodes in CI.

The pilot flies through the policy node's own chain (Pilot: stage 1 -> controller ->
stage 2) in the full PyBullet simulation, pushing full scale at each constraint while flipping
its yaw rate. Filtered, no constraint may be crossed deeper than 0.02 m, also with 40 ms of
odometry latency, 20 % extra mass and a 0.05 N wind at once; unfiltered, the same pilot
crosses in most episodes (so the test can fail).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_safety_adversary.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_safety_adversary", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _position_depths(results: list[dict[str, float]]) -> np.ndarray:
    return np.array([max(v for k, v in r.items() if k != "speed") for r in results])


@pytest.mark.slow
def test_filter_holds_against_the_adversary_and_the_pilot_alone_crosses(bench):
    n = len(bench.ATTACKS)
    filtered, _ = bench.run(n, True, seed0=2000)
    depths = _position_depths(filtered)
    assert np.all(depths <= bench.DEPTH_TOL), dict(zip(bench.ATTACKS, depths, strict=True))
    unfiltered, _ = bench.run(n, False, seed0=2000)
    crossed = _position_depths(unfiltered) > bench.DEPTH_TOL
    assert crossed.mean() >= 0.5, crossed


@pytest.mark.slow
def test_filter_holds_under_latency_mass_error_and_wind(bench):
    n = len(bench.ATTACKS)
    results, _ = bench.run(n, True, mass_scale=1.2, latency=0.04, wind=0.05, seed0=3000)
    depths = _position_depths(results)
    assert np.all(depths <= bench.DEPTH_TOL), dict(zip(bench.ATTACKS, depths, strict=True))
    speed = np.array([r["speed"] for r in results])
    assert np.all(speed <= 0.05), speed  # the speed limit holds too (m/s)


@pytest.mark.slow
def test_filter_holds_at_the_acceleration_level_under_shifts(bench):
    """The launch files' chain: setpoints to the simulated flight controller, shifts on."""
    n = len(bench.ATTACKS)
    results, _ = bench.run(n, True, mass_scale=1.2, latency=0.04, wind=0.05, seed0=4000,
                           level="acceleration")
    depths = _position_depths(results)
    assert np.all(depths <= bench.DEPTH_TOL), dict(zip(bench.ATTACKS, depths, strict=True))
    unfiltered, _ = bench.run(n, False, seed0=4000, level="acceleration")
    assert (_position_depths(unfiltered) > bench.DEPTH_TOL).mean() >= 0.5
