"""Wilson intervals of ``liquid-ros compare`` against published values, and pooling."""

from __future__ import annotations

import pytest

from liquid_ros.evaluation.stats import (
    pooled,
    rate,
    seed_bootstrap,
    seed_spread,
    wilson_interval,
)


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [
    # Newcombe, Statistics in Medicine 17 (1998) 857-872, Table II, method 3 (score interval
    # without continuity correction)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    # symmetric about 1/2, and the all-fail / all-succeed ends
    (5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0),
])
def test_wilson_interval_matches_published_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=6e-5)


def test_wilson_interval_properties_and_bad_input():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    narrow, wide = wilson_interval(25, 50, 0.90), wilson_interval(25, 50, 0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    lo50, hi50 = wilson_interval(25, 50)
    lo500, hi500 = wilson_interval(250, 500)
    assert hi500 - lo500 < (hi50 - lo50) / 2.5  # shrinks like 1/sqrt(n)
    for args in ((3, 2), (-1, 5), (1.5, 5), (True, 5)):
        with pytest.raises(ValueError):
            wilson_interval(*args)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, 1.0)


def test_pooled_rate_sums_episodes_and_seed_spread_keeps_the_seeds_apart():
    seeds = [rate(50, 50), rate(0, 50), rate(25, 50)]
    p = pooled(seeds)
    assert (p.successes, p.n) == (75, 150) and p.rate == pytest.approx(0.5)
    assert (p.lo, p.hi) == pytest.approx(wilson_interval(75, 150))
    assert seed_spread(seeds) == (0.0, 1.0)
    assert seed_spread([]) == (0.0, 0.0)
    assert rate(36, 50).text() == "72 % [58, 83]"
    assert rate(0, 0).text() == "-"


def test_seed_bootstrap_covers_the_estimate_and_widens_when_seeds_disagree():
    agree = [(rate(35, 50), None)] * 3
    disagree = [(rate(50, 50), None), (rate(35, 50), None), (rate(20, 50), None)]
    est_a, lo_a, hi_a = seed_bootstrap(agree)
    est_d, lo_d, hi_d = seed_bootstrap(disagree)
    assert est_a == pytest.approx(0.7) and est_d == pytest.approx(0.7)
    assert lo_a < 0.7 < hi_a and lo_d < 0.7 < hi_d
    # the pooled Wilson interval is the same for both (105/150); only the bootstrap sees seeds
    assert (hi_d - lo_d) > 2.0 * (hi_a - lo_a)
    # three agreeing seeds of 50 episodes: close to the binomial width of 150 episodes
    wl, wh = wilson_interval(105, 150)
    assert hi_a - lo_a == pytest.approx(wh - wl, rel=0.25)
    # deterministic for a given seed
    assert seed_bootstrap(disagree) == (est_d, lo_d, hi_d)


def test_seed_bootstrap_of_a_change_between_conditions():
    same = [(rate(40, 50), rate(40, 50))] * 3
    est, lo, hi = seed_bootstrap(same)
    assert est == 0.0 and lo < 0.0 < hi
    drop = [(rate(10, 50), rate(45, 50)), (rate(15, 50), rate(48, 50)),
            (rate(5, 50), rate(44, 50))]
    est, lo, hi = seed_bootstrap(drop)
    assert est == pytest.approx((10 + 15 + 5 - 45 - 48 - 44) / 150)
    assert lo < est < hi < -0.5  # a large drop excludes zero
    sure = [(rate(50, 50), rate(50, 50))] * 3
    assert seed_bootstrap(sure) == (0.0, 0.0, 0.0)  # nothing varies
    for bad in ([], [(rate(1, 2), None), (rate(1, 2), rate(1, 2))], [(rate(0, 0), None)]):
        with pytest.raises(ValueError):
            seed_bootstrap(bad)
    with pytest.raises(ValueError, match="n_boot"):
        seed_bootstrap(same, n_boot=10)
