"""Success rates with confidence intervals for the model comparison.

A success rate over ``n`` independent episodes is a binomial proportion. Its 95 % interval is
the Wilson score interval (Wilson, JASA 1927; recommended over the normal "Wald" interval for
small ``n`` and rates near 0 or 1 by Brown, Cai and DasGupta, Statistical Science 2001):

    centre = (p + z^2 / 2n) / (1 + z^2 / n)
    half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

with ``p = k / n`` and ``z`` the two-sided normal quantile (1.95996 for 95 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (lo, hi) of ``successes`` out of ``n`` trials.

    Args:
        successes: Successful trials, ``0 <= successes <= n``.
        n: Trials; 0 gives the uninformative interval (0, 1).
        confidence: Two-sided confidence level in (0, 1).

    Raises:
        ValueError: On counts that are not integers in range or a bad confidence.
    """
    for name, v in (("successes", successes), ("n", n)):
        if isinstance(v, bool) or int(v) != v or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if successes > n:
        raise ValueError(f"successes must be <= n, got {successes} > {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # the exact bounds at k = 0 and k = n are 0 and 1; rounding must not move them
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


@dataclass(frozen=True)
class Rate:
    """A success rate with its Wilson interval."""

    successes: int
    """Successful episodes."""
    n: int
    """Episodes flown."""
    lo: float
    """Lower bound of the interval."""
    hi: float
    """Upper bound of the interval."""

    @property
    def rate(self) -> float:
        """The fraction successes / n (0 when n is 0)."""
        return self.successes / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready: successes, n, rate, lo, hi."""
        return {"successes": self.successes, "n": self.n, "rate": self.rate,
                "lo": self.lo, "hi": self.hi}

    def text(self) -> str:
        """``"72 % [58, 83]"`` (percent, interval in brackets); ``"-"`` when n is 0."""
        if not self.n:
            return "-"
        return f"{100 * self.rate:.0f} % [{100 * self.lo:.0f}, {100 * self.hi:.0f}]"


def rate(successes: int, n: int, confidence: float = 0.95) -> Rate:
    """The :class:`Rate` of ``successes`` out of ``n``."""
    lo, hi = wilson_interval(successes, n, confidence)
    return Rate(int(successes), int(n), lo, hi)


def pooled(rates: list[Rate], confidence: float = 0.95) -> Rate:
    """All episodes of several runs (e.g. training seeds) as one proportion.

    The pooled interval treats every episode as independent, so it covers episode noise only;
    the spread between training seeds is reported beside it (:func:`seed_spread`).
    """
    return rate(sum(r.successes for r in rates), sum(r.n for r in rates), confidence)


def seed_spread(rates: list[Rate]) -> tuple[float, float]:
    """(min, max) of the per-seed success rates (0, 0 when there are none)."""
    values = [r.rate for r in rates if r.n]
    return (min(values), max(values)) if values else (0.0, 0.0)


def seed_bootstrap(by_seed: list[tuple[Rate, Rate | None]], n_boot: int = 4000,
                   confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(estimate, lo, hi): a mean over training seeds with a two-level bootstrap interval.

    The mean is of a success rate, or of a change between two conditions.

    ``by_seed`` holds one pair per training seed: ``(rate, None)`` for a rate, ``(rate,
    reference)`` for ``rate - reference`` (the same checkpoint flown in two conditions, e.g.
    a held-out shift and ``clean``). Each bootstrap draw resamples the training seeds with
    replacement, then each chosen seed's episodes (a binomial draw at its observed rate, per
    condition); the interval is the percentile interval of the means (Efron and Tibshirani,
    An Introduction to the Bootstrap, 1993, ch. 13; resampling at both levels follows Davison
    and Hinkley 1997, sec. 3.8). Unlike the pooled Wilson interval it widens when training
    seeds disagree, which is most of the uncertainty with a few seeds.

    Raises:
        ValueError: With no seeds, a seed with no episodes, or a bad ``n_boot``/``confidence``.
    """
    import numpy as np

    if not by_seed:
        raise ValueError("seed_bootstrap needs at least one training seed")
    if n_boot < 100 or not 0.0 < confidence < 1.0:
        raise ValueError(f"n_boot must be >= 100 and confidence in (0, 1), got {n_boot}, "
                         f"{confidence}")
    rates = list(by_seed)
    if any(a.n == 0 or (b is not None and b.n == 0) for a, b in rates):
        raise ValueError("every training seed needs episodes in each condition")
    diff = rates[0][1] is not None
    if any((b is not None) != diff for _, b in rates):
        raise ValueError("give a reference for every seed or for none")

    ests = np.array([a.rate - (b.rate if b is not None else 0.0) for a, b in rates])
    rng = np.random.default_rng(seed)
    k = len(rates)
    pick = rng.integers(0, k, size=(n_boot, k))
    n_a = np.array([a.n for a, _ in rates])[pick]
    p_a = np.array([a.rate for a, _ in rates])[pick]
    boot = rng.binomial(n_a, p_a) / n_a
    if diff:
        n_b = np.array([b.n for _, b in rates])[pick]
        p_b = np.array([b.rate for _, b in rates])[pick]
        boot = boot - rng.binomial(n_b, p_b) / n_b
    means = boot.mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(ests.mean()), float(lo), float(hi)
