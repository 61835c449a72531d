"""Links with latency and rate (zero-order-hold delay lines) and an odometry noise model.

A :class:`DelayLine` behaves like a real sensor or command link: the source is sampled on the
link's own clock (every ``1 / rate_hz`` s, or on every offer when no rate is set), a sample taken
at ``t`` arrives at ``t + latency``, and a reader sees the newest sample that has arrived (held
until the next one arrives). Before the first arrival the reader sees the initial value given to
:meth:`DelayLine.reset` (the link was already streaming that value).

:class:`OdometryNoise` models a VIO or motion-capture estimate: each sample gets white Gaussian
noise plus a slowly drifting bias (a random walk, ``b_k = b_{k-1} + sigma_b sqrt(dt) n_k``,
starting at zero: the estimator is calibrated at take-off), on position (m), velocity (m/s),
attitude (a body-frame rotation vector, rad, applied as ``q_meas = q * exp(delta)``) and body
rate (rad/s). This is the usual "white noise + bias random walk" sensor model (e.g. Furgale et
al., Kalibr IMU noise model; Forster et al., "On-Manifold Preintegration", T-RO 2017).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

EPS = 1e-9
"""Time tolerance (s) for comparing sample and arrival times on a float clock."""


class DelayLine:
    """Zero-order-hold link with a fixed latency and an optional sample rate.

    Args:
        latency: Delay (s) from taking a sample to its arrival; >= 0.
        rate_hz: Sample rate (Hz) of the link's clock (samples at ``t0 + k / rate_hz``), or
            None to take every offered value.

    Raises:
        ValueError: For a negative or non-finite latency or a non-positive rate.
    """

    def __init__(self, latency: float = 0.0, rate_hz: float | None = None) -> None:
        if not (math.isfinite(latency) and latency >= 0.0):
            raise ValueError(f"latency must be finite and >= 0, got {latency!r}")
        if rate_hz is not None and not (math.isfinite(rate_hz) and rate_hz > 0.0):
            raise ValueError(f"rate_hz must be > 0 or None, got {rate_hz!r}")
        self.latency = float(latency)
        self.period = None if rate_hz is None else 1.0 / float(rate_hz)
        self._queue: deque[tuple[float, int, Any]] = deque()
        self._next = 0.0
        self._count = 0

    def reset(self, value: Any, t: float = 0.0) -> None:
        """Forget all samples; ``value`` is seen until the first sample arrives.

        The link's clock restarts at ``t`` (s): the next sample is taken at ``t``.
        """
        self._count = 0
        self._queue = deque([(-math.inf, 0, value)])
        self._next = float(t)

    def due(self, t: float) -> bool:
        """Whether the link takes a sample at time ``t`` (s)."""
        return self.period is None or t >= self._next - EPS

    def offer(self, t: float, value: Any) -> bool:
        """Offer the source's current ``value`` at time ``t`` (s); True if it was sampled."""
        if not self.due(t):
            return False
        self._count += 1
        self._queue.append((t + self.latency, self._count, value))
        if self.period is not None:
            while self._next <= t + EPS:
                self._next += self.period
        return True

    def sample(self, t: float) -> tuple[int, Any]:
        """(sequence number, value) seen at time ``t`` (s); number 0 is the initial value.

        Calls must come with non-decreasing ``t``: older samples are forgotten.
        """
        q = self._queue
        while len(q) > 1 and q[1][0] <= t + EPS:
            q.popleft()
        return q[0][1], q[0][2]

    def read(self, t: float) -> Any:
        """Newest value arrived by time ``t`` (s) (zero-order hold)."""
        return self.sample(t)[1]


def _exp_floats(x: float, y: float, z: float) -> tuple[float, float, float, float]:
    angle = math.sqrt(x * x + y * y + z * z)
    if angle < 1e-12:
        return 0.0, 0.0, 0.0, 1.0
    s = math.sin(angle / 2.0)
    return x / angle * s, y / angle * s, z / angle * s, math.cos(angle / 2.0)


def quat_exp(rotvec: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of rotation vector ``rotvec`` (3,) in rad."""
    x, y, z = (float(v) for v in np.asarray(rotvec, float).reshape(3))
    return np.array(_exp_floats(x, y, z))


class OdometryNoise:
    """White noise plus bias random walk on an odometry sample (see the module docstring).

    Args:
        white: Standard deviations (4,): position m, velocity m/s, attitude rad, rate rad/s.
        bias_walk: Bias random-walk intensities (4,) in the same units per sqrt(s).
        rng: Random generator (the env's per-episode stream).
    """

    def __init__(self, white: tuple[float, ...], bias_walk: tuple[float, ...],
                 rng: np.random.Generator) -> None:
        self.white = np.repeat(np.asarray(white, float), 3)
        self.walk = np.repeat(np.asarray(bias_walk, float), 3)
        self.rng = rng
        self.bias = np.zeros(12)
        self._t: float | None = None
        self._walking = bool((self.walk > 0.0).any())

    @property
    def active(self) -> bool:
        """Whether any noise term is non-zero."""
        return bool((self.white > 0.0).any() or (self.walk > 0.0).any())

    def apply(self, t: float, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Noisy copy of ``state`` (position, velocity, quaternion, omega) sampled at ``t`` (s).

        Draws 12 (white) + 12 (bias step, after the first sample) standard normals.
        """
        if self._t is not None and self._walking:
            dt = max(t - self._t, 0.0)
            self.bias = self.bias + self.walk * math.sqrt(dt) * self.rng.standard_normal(12)
        self._t = t
        err = self.bias + self.white * self.rng.standard_normal(12)
        # q * exp(delta), normalised: frames.quat_multiply's product written out on floats
        # (it runs for every odometry sample; numpy's cost per call on 4-vectors dominates).
        ax, ay, az, aw = np.asarray(state["quaternion"], float).tolist()
        bx, by, bz, bw = _exp_floats(*err[6:9].tolist())
        q = (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
             aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)
        n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
        return {"position": state["position"] + err[0:3],
                "velocity": state["velocity"] + err[3:6],
                "quaternion": np.array([q[0] / n, q[1] / n, q[2] / n, q[3] / n]),
                "omega": state["omega"] + err[9:12]}
