"""The compiled rows of the run-time filter equal the generic numpy/torch ones."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_ros.safety import SafetyConfig, barrier_values, hocbf_rows
from liquid_ros.safety.fast_rows import FastRows

coord = st.floats(-5.0, 5.0, allow_nan=False)
vec3 = st.tuples(coord, coord, coord)


@st.composite
def configs(draw):
    obstacles = tuple((*draw(vec3), draw(st.floats(0.1, 1.5)))
                      for _ in range(draw(st.integers(0, 3))))
    return SafetyConfig(
        altitude_min=draw(st.none() | st.floats(-1.0, 0.5)),
        altitude_max=draw(st.none() | st.floats(2.0, 6.0)),
        geofence=draw(st.none() | st.just(((-4.0, 4.0), (-3.0, 5.0)))), obstacles=obstacles,
        leader_distance=draw(st.none() | st.floats(0.3, 1.0)),
        leader_accel_max=draw(st.floats(0.0, 4.0)),
        leader_gain_p1=draw(st.none() | st.floats(0.5, 4.0)),
        speed_max=draw(st.none() | st.floats(1.0, 4.0)),
        accel_error_bound=draw(st.floats(0.0, 0.5)), margin=draw(st.floats(0.0, 0.2)),
        gain_p1=draw(st.floats(0.2, 4.0)), gain_p2=draw(st.floats(0.2, 4.0)))


@settings(max_examples=150, deadline=None)
@given(cfg=configs(), pos=vec3, vel=vec3, leader=st.none() | vec3, lead_v=vec3,
       gains=st.none() | st.tuples(st.floats(0.1, 4.0), st.floats(0.1, 4.0)),
       dist=st.none() | vec3)
def test_fast_rows_match_the_generic_rows(cfg, pos, vel, leader, lead_v, gains, dist):
    pos, vel, lv = np.array(pos), np.array(vel), np.array(lead_v)
    lp = None if leader is None else np.array(leader)
    g = None if gains is None else np.array(gains)
    d = None if dist is None else np.array(dist)
    G, h, vals = FastRows(cfg)(pos, vel, lp, None if lp is None else lv, g, d)
    G_ref, h_ref = hocbf_rows(pos[None], vel[None], cfg, None if g is None else g[None],
                              None if lp is None else lp[None],
                              None if lp is None else lv[None], None if d is None else d[None])
    vals_ref = barrier_values(pos[None], vel[None], cfg, None if lp is None else lp[None],
                              None if lp is None else lv[None])
    np.testing.assert_allclose(G, G_ref[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h, h_ref[0], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(vals, vals_ref[0], rtol=1e-9, atol=1e-9)
