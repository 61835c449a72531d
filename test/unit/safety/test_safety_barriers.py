"""Property tests of each barrier: forward invariance under the error bound, pushback outside.

Continuous time is approximated with 1 ms steps; the command is the closest one to an
adversarial nominal (unboxed, so the HOCBF condition is always feasible) satisfying the row,
and the plant adds the worst acceleration error allowed (``accel_error_bound`` against the
barrier's gradient; for the leader also ``leader_accel_max`` towards the follower).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_ros.safety import SafetyConfig, barrier_names, barrier_values, hocbf_rows

DT = 1e-3
TOL = 5e-3  # m (m/s for the speed row): the 1 ms Euler steps' error, far below 0.02 m

gain = st.floats(0.5, 4.0)
delta = st.floats(0.0, 0.5)


def _config(kind: str, p1: float, p2: float, d: float, a_lead: float = 0.0) -> SafetyConfig:
    base = {"altitude_min": None, "altitude_max": None, "speed_max": None, "margin": 0.0,
            "speed_margin": 0.0, "gain_p1": p1, "gain_p2": p2, "accel_error_bound": d,
            "accel_min": (-1e3,) * 3, "accel_max": (1e3,) * 3}
    extra = {"plane": {"altitude_min": 0.0},
             "sphere": {"obstacles": ((0.0, 0.0, 0.0, 0.5),)},
             "leader": {"leader_distance": 0.5, "leader_accel_max": a_lead},
             "speed": {"speed_max": 2.0}}[kind]
    return SafetyConfig(**{**base, **extra})


def _safe_accel(cfg, p, v, a_nom, lp=None, lv=None):
    """Closest command to ``a_nom`` satisfying the single barrier row (exact projection)."""
    G, h = hocbf_rows(p[None], v[None], cfg, None, None if lp is None else lp[None],
                      None if lv is None else lv[None])
    g, hh = G[0, 0], h[0, 0]
    excess = g @ a_nom - hh
    if excess <= 0.0 or g @ g < 1e-12:
        return a_nom
    return a_nom - excess / (g @ g) * g


def _fly(cfg, p, v, steps, lp=None, lv=None):
    """Adversarial flight; returns the least barrier value seen."""
    worst = np.inf
    kind = barrier_names(cfg)[0]
    d, a_lead = cfg.accel_error_bound, cfg.leader_accel_max
    for _ in range(steps):
        if kind == "speed":
            u = v / max(np.linalg.norm(v), 1e-9)
            a_nom, err = 20.0 * u, d * u
        else:
            centre = np.zeros(3) if lp is None else lp
            n = np.array([0.0, 0.0, 1.0]) if kind == "altitude_min" else p - centre
            n = n / max(np.linalg.norm(n), 1e-9)
            a_nom, err = -20.0 * n, -d * n
        a = _safe_accel(cfg, p, v, a_nom, lp, lv) + err
        p, v = p + v * DT + 0.5 * a * DT * DT, v + a * DT
        if lp is not None:
            n_lead = (p - lp) / max(np.linalg.norm(p - lp), 1e-9)
            lp, lv = lp + lv * DT + 0.5 * a_lead * n_lead * DT * DT, lv + a_lead * n_lead * DT
        b = barrier_values(p[None], v[None], cfg, None if lp is None else lp[None],
                           None if lv is None else lv[None])[0, 0]
        worst = min(worst, float(b))
    return worst


def _start(b0: float, p1: float, closing: float) -> tuple[float, float]:
    """A barrier value and rate inside the HOCBF's sets (``b >= 0``, ``b' + p1 b >= 0``)."""
    return b0, -min(closing, p1 * b0)


@settings(max_examples=25, deadline=None)
@given(p1=gain, p2=gain, d=delta, b0=st.floats(0.0, 2.0), closing=st.floats(0.0, 5.0))
def test_plane_is_forward_invariant_under_the_error_bound(p1, p2, d, b0, closing):
    b, bdot = _start(b0, p1, closing)
    cfg = _config("plane", p1, p2, d)
    p, v = np.array([0.3, -0.2, b]), np.array([0.5, 0.0, bdot])
    assert _fly(cfg, p, v, 1500) >= -TOL


@settings(max_examples=25, deadline=None)
@given(p1=gain, p2=gain, d=delta, b0=st.floats(0.0, 2.0), closing=st.floats(0.0, 5.0),
       tangential=st.floats(-3.0, 3.0))
def test_sphere_is_forward_invariant_under_the_error_bound(p1, p2, d, b0, closing, tangential):
    b, bdot = _start(b0, p1, closing)
    cfg = _config("sphere", p1, p2, d)
    p, v = np.array([0.5 + b, 0.0, 0.0]), np.array([bdot, tangential, 0.0])
    assert _fly(cfg, p, v, 1500) >= -TOL


@settings(max_examples=25, deadline=None)
@given(p1=gain, p2=gain, d=delta, a_lead=st.floats(0.0, 3.0), b0=st.floats(0.0, 2.0),
       closing=st.floats(0.0, 3.0), lead_v=st.tuples(*(st.floats(-1.0, 1.0),) * 3))
def test_leader_keep_out_is_forward_invariant_under_both_bounds(p1, p2, d, a_lead, b0,
                                                               closing, lead_v):
    b, bdot = _start(b0, p1, closing)
    cfg = _config("leader", p1, p2, d, a_lead)
    lp, lv = np.array([1.0, 1.0, 1.0]), np.array(lead_v)
    p, v = lp + np.array([0.0, 0.5 + b, 0.0]), lv + np.array([0.0, bdot, 0.0])
    assert _fly(cfg, p, v, 1500, lp, lv) >= -TOL


@settings(max_examples=25, deadline=None)
@given(p1=gain, d=delta, speed=st.floats(0.0, 2.0), direction=st.tuples(
    *(st.floats(-1.0, 1.0),) * 3).filter(lambda u: np.linalg.norm(u) > 0.1))
def test_speed_limit_is_forward_invariant_under_the_error_bound(p1, d, speed, direction):
    cfg = _config("speed", p1, 1.0, d)
    u = np.array(direction) / np.linalg.norm(direction)
    assert _fly(cfg, np.zeros(3), speed * u, 1000) >= -TOL


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["plane", "sphere", "leader"]), p1=gain, p2=gain, d=delta,
       depth=st.floats(0.01, 0.45), inward=st.floats(0.0, 3.0),
       tangential=st.floats(-3.0, 3.0))
def test_rows_push_back_from_anywhere_inside_a_forbidden_set(kind, p1, p2, d, depth, inward,
                                                              tangential):
    # Inside (b < 0) and not leaving (b' <= 0): under the filtered command and the worst
    # error, b'' > 0. The squared-distance rows lost this deep inside a sphere.
    cfg = _config(kind, p1, p2, d, 1.0)
    lp = lv = None
    if kind == "plane":
        p, v, n = np.array([0.0, 0.0, -depth]), np.array([tangential, 0.0, -inward]), None
    else:
        p, v = np.array([0.5 - depth, 0.0, 0.0]), np.array([-inward, tangential, 0.0])
        if kind == "leader":
            lp, lv = np.zeros(3), np.zeros(3)
    a_nom = np.array([0.0, 0.0, -20.0]) if kind == "plane" else -20.0 * p / np.linalg.norm(p)
    a = _safe_accel(cfg, p, v, a_nom, lp, lv)
    if kind == "plane":
        b_ddot = a[2] - d
    else:
        dist = np.linalg.norm(p)
        n = p / dist
        curv = (v @ v - (n @ v) ** 2) / dist
        b_ddot = n @ a - d + curv - (1.0 if kind == "leader" else 0.0)
    assert b_ddot > 0.0
