"""The compiled tick (one kernel call per stage) against the plain numpy reference filter."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from liquid_ros.safety import SafetyConfig, SafetyFilter
from liquid_ros.safety.reference import ReferenceSafetyFilter

TOL = 1e-9


def _close(a: object, b: object, path: str) -> None:
    """Equal structures; floats within TOL (relative above 1), inf and None exactly."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, float), path
        if math.isfinite(a) or math.isfinite(b):
            assert abs(a - b) <= TOL * max(1.0, abs(a)), (path, a, b)
        else:
            assert a == b or (math.isnan(a) and math.isnan(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _same(out_fast, out_ref, where: str) -> None:
    (x, s), (xr, sr) = out_fast, out_ref
    assert x.shape == xr.shape, where
    _close(x.tolist(), xr.tolist(), f"{where} command")
    _close(s.__dict__, sr.__dict__, f"{where} status")
    _close(s.to_dict(), sr.to_dict(), f"{where} to_dict")


CONFIGS = {
    "default": SafetyConfig(),
    "everything": SafetyConfig(geofence=((-2.0, 2.0), (-1.5, 3.0)), leader_distance=0.5,
                               obstacles=((1.0, 0.0, 1.0, 0.5), (-1.0, 1.0, 2.0, 0.3)),
                               leader_accel_max=1.0, leader_gain_p1=4.0, leader_gain_p2=3.0,
                               gain_p1=2.0, gain_p2=1.5),
    "tight": SafetyConfig(accel_min=(-1.0,) * 3, accel_max=(1.0,) * 3, altitude_min=0.0,
                          altitude_max=3.0, obstacles=((0.0, 0.0, 1.5, 0.4),),
                          speed_max=1.0, yaw_slow_distance=0.0),
    "no_barriers": SafetyConfig(altitude_min=None, altitude_max=None, speed_max=None),
    "slew": SafetyConfig(accel_slew_max=40.0, leader_distance=0.3),
}


def _random_call(rng: np.random.Generator, cfg: SafetyConfig, n_rows: int) -> dict:
    """One random call: mostly ordinary states, some extreme, infeasible or invalid."""
    scale = rng.choice([1.0, 3.0, 10.0, 1e17])
    kw = {"pos": rng.uniform(-3, 3, 3) + np.array([0, 0, 1.5]),
          "vel": rng.normal(0, 2.0, 3), "accel_nom": rng.normal(0, 1, 3) * scale,
          "leader_pos": None, "leader_vel": None, "gains": None, "disturbance": None}
    if rng.random() < 0.5:
        kw["leader_pos"] = kw["pos"] + rng.normal(0, 0.6, 3)
        kw["leader_vel"] = rng.normal(0, 1, 3) if rng.random() < 0.7 else None
    if rng.random() < 0.05 and cfg.obstacles:
        kw["pos"] = np.array(cfg.obstacles[0][:3])  # at a sphere's centre: a dead row
    if rng.random() < 0.05 and kw["leader_pos"] is not None:
        kw["leader_pos"] = kw["pos"].copy()
    if rng.random() < 0.1:
        kw["pos"][2], kw["vel"][2] = 0.15, -6.0  # falling at the floor: infeasible
    if rng.random() < 0.04:  # finite but overflowing: non-finite rows, or infinite values
        kw[rng.choice(["pos", "vel"])] *= rng.choice([1e155, 1e200, 1e300])
    r = rng.random()
    if r < 0.15:
        kw["gains"] = rng.uniform(0.1, 4.0, 2)
    elif r < 0.25:
        kw["gains"] = rng.uniform(0.1, 4.0, (n_rows, 2))
    elif r < 0.28:
        kw["gains"] = np.array([1.0, -0.5])
    if rng.random() < 0.2:
        kw["disturbance"] = rng.normal(0, 0.5, 3)
    if rng.random() < 0.08:  # one bad value somewhere
        name = rng.choice([k for k, v in kw.items() if v is not None and np.size(v)])
        kw[name] = np.array(kw[name], dtype=float)
        kw[name].reshape(-1)[0] = rng.choice([np.nan, np.inf, -np.inf])
    return kw


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_stage1_matches_reference(name):
    cfg = CONFIGS[name]
    fast, ref = SafetyFilter(cfg), ReferenceSafetyFilter(cfg)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n = len(fast.barrier_names)
    seen = {"infeasible": 0, "fallback": 0, "active": 0, "yaw": 0, "rows": 0}
    for i in range(400):
        kw = _random_call(rng, cfg, n)
        pos, vel, acc = kw.pop("pos"), kw.pop("vel"), kw.pop("accel_nom")
        with np.errstate(all="ignore"):  # the reference's numpy overflows loudly
            ref_accel = ref.filter_accel(pos, vel, acc, **kw)
            ref_action = ref.filter_action(pos, vel, act := np.append(acc, rng.choice(
                [0.3, -2.5, np.nan])), dt=(dt := rng.choice([0.02, 0.0, np.nan])), **kw)
        _same(fast.filter_accel(pos, vel, acc, **kw), ref_accel, f"{name} accel #{i}")
        out = fast.filter_action(pos, vel, act, dt=dt, **kw)
        _same(out, ref_action, f"{name} action #{i}")
        st = out[1]
        seen["infeasible"] += st.infeasible
        seen["fallback"] += st.fallback
        seen["active"] += bool(st.active)
        seen["yaw"] += "yaw_rate" in st.active
        seen["rows"] += st.error == "non-finite barrier rows"
    # The random cases reach every branch (so the comparison means something); rows turn
    # non-finite (inf - inf) only in the curvature term of a sphere or the leader.
    if not (cfg.obstacles or cfg.leader_distance):
        seen.pop("rows")
    if name != "no_barriers":
        assert all(v > 0 for v in seen.values()), seen


@pytest.mark.parametrize("rotor", [True, False])
def test_stage2_matches_reference(rotor):
    cfg = SafetyConfig(rotor_limits=rotor, wrench_weights=(1.0, 2.0, 0.5, 0.1))
    fast, ref = SafetyFilter(cfg), ReferenceSafetyFilter(cfg)
    rng = np.random.default_rng(7)
    kinds = {"inside": 0, "active": 0, "infeasible": 0, "fallback": 0}
    for i in range(600):
        w = np.array([rng.uniform(-0.2, 0.8), *rng.normal(0, 0.004, 3)])
        if rng.random() < 0.1:
            w *= 1e17
        if rng.random() < 0.05:
            w[rng.integers(4)] = rng.choice([np.nan, np.inf])
        out = fast.filter_wrench(w)
        _same(out, ref.filter_wrench(w), f"wrench #{i}")
        st = out[1]
        kinds["inside"] += not st.active and not st.fallback
        kinds["active"] += bool(st.active)
        kinds["infeasible"] += st.infeasible
        kinds["fallback"] += st.fallback
    assert all(v > 0 for v in kinds.values()), kinds


def test_solver_failure_falls_back_like_the_reference():
    # The cycling case of test_safety_filter: both paths return the braking fallback alike.
    cfg = SafetyConfig(accel_min=(-1.0,) * 3, accel_max=(1.0,) * 3, altitude_min=None,
                       altitude_max=None, obstacles=((0.0, 2.17e-05, 5.25, 1.0),),
                       speed_max=1.0, gain_p1=2.0, gain_p2=2.0)
    args = (np.array([3.0, 5.960464477539063e-08, 0.703125]), np.array([-2.0, -1.0, 6.0]),
            np.zeros(3))
    _same(SafetyFilter(cfg).filter_accel(*args), ReferenceSafetyFilter(cfg).filter_accel(*args),
          "cycling")


def test_inputs_of_any_layout_and_the_callers_arrays_untouched():
    cfg = CONFIGS["slew"]
    fast, ref = SafetyFilter(cfg), ReferenceSafetyFilter(cfg)
    big = np.arange(12.0).reshape(3, 4) / 10.0
    act = np.array([3.0, -3.0, 1.0, 2.0], dtype=np.float32)
    for filt in (fast, ref):
        filt.filter_action([0, 0, 1.0], [0, 0, 0], [-4.0, 0, 0, 0], dt=0.02)
    kwargs = {"leader_pos": big[:, 1], "leader_vel": (0, 0, 1), "gains": [[1.0, 2.0]] * 4}
    cfg_rows = len(fast.barrier_names)
    kwargs["gains"] = [[1.0, 2.0]] * cfg_rows
    a = fast.filter_action(big[0, :3], big[:, 2], act, dt=0.02, **kwargs)
    b = ref.filter_action(big[0, :3], big[:, 2], act, dt=0.02, **kwargs)
    _same(a, b, "layouts")
    assert act.tolist() == [3.0, -3.0, 1.0, 2.0]  # the slew limit works on a copy
    w = np.array([[0.3, 0.0], [0.001, 0.0], [0.0, 0.0], [1e-4, 0.0]])[:, 0]
    _same(fast.filter_wrench(w), ref.filter_wrench(w), "strided wrench")
