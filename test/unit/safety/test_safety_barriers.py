"""Property tests of each barrier with the filter in the loop: invariance and pushback.

Barriers: floor, ceiling, geofence, keep-out sphere, leader distance, speed. Each test flies the
double integrator ``p' = v, v' = a + e`` behind :class:`~liquid_ros.safety.SafetyFilter`
configured with that barrier alone (margins 0, an acceleration box wide enough that the row is
always feasible), with an adversarial pilot pushing at the barrier and the worst disturbance
the rows are made robust to: ``|e| = accel_error_bound`` against the barrier's gradient (for
the leader also ``leader_accel_max`` of the leader towards the follower). Continuous time is
approximated by short zero-order-hold steps, integrated exactly.

- Forward invariance: from inside the HOCBF's sets (``b >= 0``, ``b' + p1 b >= 0``) the
  barrier value never drops below ``-TOL`` (the steps' hold error).
- Pushback: from inside the forbidden set and moving deeper (``b < 0``, ``b' <= 0``),
  ``psi1 = b' + p1 b`` rises while negative (``psi1' >= -p2 psi1 > 0``) and the value ends
  above where it started (for the speed row, relative degree 1, the value rises throughout).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_ros.safety import SafetyConfig, SafetyFilter, hocbf_rows

TOL = 5e-3  # m (m/s for the speed row): the hold error of 1 ms steps, far below 0.02 m
PUSH = 20.0  # m/s^2: the pilot's push at the barrier
FENCE = ((-1.0, 1.0), (-1.0, 1.0))

gain = st.floats(0.5, 4.0)
delta = st.floats(0.0, 0.5)
KINDS = ("floor", "ceiling", "fence", "sphere", "leader")


@pytest.fixture(scope="module", autouse=True)
def _loaded_kernels():
    """Load the compiled tick once, in setup, so each test's time is its own."""
    SafetyFilter().filter_accel(np.zeros(3) + 1.0, np.zeros(3), np.zeros(3))


def _config(kind: str, p1: float, p2: float, d: float, a_lead: float = 0.0,
            radius: float = 0.5) -> SafetyConfig:
    base = {"altitude_min": None, "altitude_max": None, "speed_max": None, "margin": 0.0,
            "speed_margin": 0.0, "gain_p1": p1, "gain_p2": p2, "accel_error_bound": d,
            "accel_min": (-1e3,) * 3, "accel_max": (1e3,) * 3}
    extra = {"floor": {"altitude_min": 0.0}, "ceiling": {"altitude_max": 0.0},
             "fence": {"geofence": FENCE},
             "sphere": {"obstacles": ((0.0, 0.0, 0.0, radius),)},
             "leader": {"leader_distance": radius, "leader_accel_max": a_lead},
             "speed": {"speed_max": 2.0}}[kind]
    return SafetyConfig(**{**base, **extra})


def _gradient(kind: str, p: np.ndarray, lp: np.ndarray | None) -> np.ndarray:
    """Unit gradient of the (active, for the fence the smallest) barrier at ``p``."""
    if kind == "floor":
        return np.array([0.0, 0.0, 1.0])
    if kind == "ceiling":
        return np.array([0.0, 0.0, -1.0])
    if kind == "fence":
        (x0, x1), (y0, y1) = FENCE
        dist = (p[0] - x0, x1 - p[0], p[1] - y0, y1 - p[1])
        return np.array(([1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0])[int(np.argmin(dist))],
                        dtype=float)
    d = p - (np.zeros(3) if lp is None else lp)
    return d / max(np.linalg.norm(d), 1e-9)


def _fly(cfg: SafetyConfig, kind: str, p, v, steps: int, dt: float, lp=None, lv=None,
         plant_error: float | None = None):
    """Adversarial flight behind the filter; returns the barrier values and ``psi1`` per step.

    ``psi1 = b' + p1 b`` of the active row (unused for the speed row). ``plant_error``: the
    disturbance's size if not the bound the filter was told.
    """
    filt = SafetyFilter(cfg)
    d = cfg.accel_error_bound if plant_error is None else plant_error
    a_lead, p1 = cfg.leader_accel_max, cfg.gain_p1
    values, psi1 = [], []
    for _ in range(steps):
        if kind == "speed":
            u = v / max(np.linalg.norm(v), 1e-9)
            a_nom, err = PUSH * u, d * u
            rel_v = v
        else:
            n = _gradient(kind, p, lp)
            a_nom, err = -PUSH * n, -d * n
            rel_v = v if lv is None else v - lv
        a, status = filt.filter_accel(p, v, a_nom, leader_pos=lp, leader_vel=lv)
        assert status.error is None
        b = min(status.barrier_values.values())
        values.append(b)
        psi1.append(float(n @ rel_v) + p1 * b if kind != "speed" else 0.0)
        a = a + err
        p, v = p + v * dt + 0.5 * a * dt * dt, v + a * dt
        if lp is not None:
            n_lead = -_gradient(kind, p, lp)  # the leader accelerates towards the follower
            lp, lv = lp + lv * dt + 0.5 * a_lead * n_lead * dt * dt, lv + a_lead * n_lead * dt
    return np.array(values), np.array(psi1)


def _state(kind: str, b: float, bdot: float, tangential: float, side: int,
           radius: float = 0.5):
    """Position, velocity (and leader state) with barrier value ``b`` and rate ``bdot``."""
    lp = lv = None
    if kind in ("floor", "ceiling"):
        n = np.array([0.0, 0.0, 1.0 if kind == "floor" else -1.0])
        p = n * b
        t = np.array([1.0, 0.0, 0.0])
    elif kind == "fence":
        n = np.array(([1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0])[side], dtype=float)
        p = -n * (1.0 - b)  # b from the wall on the side n points away from
        t = np.array([n[1], n[0], 0.0])
    else:
        n = np.array([0.0, 1.0, 0.0])
        p = n * (radius + b)
        t = np.array([1.0, 0.0, 0.0])
    v = n * bdot + t * tangential
    if kind == "leader":
        lp, lv = np.zeros(3), np.array([0.3, -0.2, 0.1])
        v = v + lv
    return p, v, lp, lv


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=6, deadline=None)
@given(p1=gain, p2=gain, d=delta, a_lead=st.floats(0.0, 3.0), b0=st.floats(0.0, 1.0),
       closing=st.floats(0.0, 5.0), tangential=st.floats(-0.5, 0.5), side=st.integers(0, 3))
def test_position_barrier_is_forward_invariant_under_the_bounds(kind, p1, p2, d, a_lead, b0,
                                                                closing, tangential, side):
    # Inside both sets: b >= 0 and b' + p1 b >= 0. The fence's neighbouring walls are 1 m off
    # and the tangential speed at most 0.5 m/s, inside their sets too for p1 >= 0.5.
    bdot = -min(closing, p1 * b0)
    cfg = _config(kind, p1, p2, d, a_lead)
    p, v, lp, lv = _state(kind, b0, bdot, tangential, side)
    values, _ = _fly(cfg, kind, p, v, 1000, 1e-3, lp, lv)
    assert values.min() >= -TOL


@pytest.mark.parametrize("kind", [*KINDS, "speed"])
def test_an_understated_bound_is_crossed(kind):
    # The same pilot and a disturbance of 0.5 m/s^2 against rows told 0: the set is left by
    # about 0.5 / (p1 p2), so the invariance tests above can fail.
    cfg = _config(kind, 2.0, 2.0, 0.0)
    p, v, lp, lv = _state(kind, 0.2, 0.0, 0.0, 0)
    if kind == "speed":
        p, v = np.zeros(3), np.array([1.0, 0.0, 0.0])
    values, _ = _fly(cfg, kind, p, v, 1500, 1e-3, lp, lv, plant_error=0.5)
    assert values.min() < -0.05 if kind != "speed" else values.min() < -TOL


@settings(max_examples=8, deadline=None)
@given(p1=gain, d=delta, speed=st.floats(0.0, 2.0), direction=st.tuples(
    *(st.floats(-1.0, 1.0),) * 3).filter(lambda u: np.linalg.norm(u) > 0.1))
def test_speed_limit_is_forward_invariant_under_the_bound(p1, d, speed, direction):
    cfg = _config("speed", p1, 1.0, d)
    u = np.array(direction) / np.linalg.norm(direction)
    values, _ = _fly(cfg, "speed", np.zeros(3), speed * u, 600, 1e-3)
    assert values.min() >= -TOL


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=5, deadline=None)
@given(p1=st.floats(1.5, 4.0), p2=st.floats(1.5, 4.0), d=delta, a_lead=st.floats(0.0, 1.0),
       depth=st.floats(0.05, 0.4), inward=st.floats(0.0, 0.5), tangential=st.floats(-0.3, 0.3),
       side=st.integers(0, 3))
def test_position_barrier_pushes_back_from_inside_a_forbidden_set(kind, p1, p2, d, a_lead,
                                                                  depth, inward, tangential,
                                                                  side):
    # A 1 m keep-out radius so that the flight (deepest about 0.45 m) stays off the centre.
    cfg = _config(kind, p1, p2, d, a_lead, radius=1.0)
    p, v, lp, lv = _state(kind, -depth, -inward, tangential, side, radius=1.0)
    values, psi1 = _fly(cfg, kind, p, v, 1000, 4e-3, lp, lv)
    assert values[0] < 0.0 and psi1[0] < 0.0
    neg = psi1[:-1] < 0.0
    assert np.all(np.diff(psi1)[neg] > -1e-9)  # psi1 rises while negative
    assert values[-1] > values[0]  # and the barrier value recovers past its start


@settings(max_examples=10, deadline=None)
@given(p1=gain, d=delta, excess=st.floats(0.05, 2.0), direction=st.tuples(
    *(st.floats(-1.0, 1.0),) * 3).filter(lambda u: np.linalg.norm(u) > 0.1))
def test_speed_limit_pushes_back_from_above(p1, d, excess, direction):
    cfg = _config("speed", p1, 1.0, d)
    u = np.array(direction) / np.linalg.norm(direction)
    values, _ = _fly(cfg, "speed", np.zeros(3), (2.0 + excess) * u, 300, 1e-3)
    assert values[0] < 0.0
    assert np.all(np.diff(values) > 0.0)  # slower at every step, whatever the pilot asks


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(KINDS), p1=gain, p2=gain, d=delta, depth=st.floats(0.01, 0.45),
       inward=st.floats(0.0, 3.0), tangential=st.floats(-3.0, 3.0), side=st.integers(0, 3))
def test_training_rows_push_back_from_any_depth(kind, p1, p2, d, depth, inward, tangential,
                                                side):
    # The rows the training layer builds (hocbf_rows): inside a forbidden set (b < 0) and not
    # leaving (b' <= 0), the closest command to a full push inwards that satisfies the row
    # gives b'' > 0 under the worst error. The squared-distance rows lost this deep inside.
    cfg = _config(kind, p1, p2, d, 1.0)
    p, v, lp, lv = _state(kind, -depth, -inward, tangential, side)
    row = side if kind == "fence" else 0
    G, h = hocbf_rows(p[None], v[None], cfg, None, None if lp is None else lp[None],
                      None if lv is None else lv[None])
    g, hh = G[0, row], h[0, row]
    n = -g  # the row is -grad(b) . a <= h
    a_nom = -PUSH * n
    excess = g @ a_nom - hh
    a = a_nom - max(excess, 0.0) / (g @ g) * g
    rel_v = v if lv is None else v - lv
    curv = 0.0
    if kind in ("sphere", "leader"):
        d_vec = p - (np.zeros(3) if lp is None else lp)
        curv = (rel_v @ rel_v - (n @ rel_v) ** 2) / np.linalg.norm(d_vec)
    b_ddot = n @ a - d + curv - (cfg.leader_accel_max if kind == "leader" else 0.0)
    assert b_ddot > 0.0
