"""External disturbances on the airframe: constant wind, gusts and random pushes.

* **Wind:** a constant world-frame force for the whole episode (horizontal, random direction),
  the net aerodynamic effect of a steady breeze on a small airframe.
* **Gusts:** an independent first-order Gauss-Markov (Ornstein-Uhlenbeck) force per world axis,
  ``dg = -g / tau dt + sigma sqrt(2 / tau) dW``, stationary standard deviation ``sigma`` and
  correlation time ``tau``. It is the first-order shaping filter of the Dryden turbulence model
  (MIL-F-8785C / MIL-HDBK-1797, ``H(s) = sigma sqrt(2 L / (pi V)) / (1 + (L / V) s)`` with
  ``tau = L / V``), applied to the force directly rather than to the air velocity. It is
  stepped exactly: ``g_k = a g_{k-1} + sigma sqrt(1 - a^2) n_k`` with ``a = exp(-dt / tau)``,
  starting from its stationary distribution.
* **Pushes:** impulses at Poisson-distributed times (``rate`` per s): a force of uniform
  magnitude in ``[0, force]`` along a uniformly random direction and a body torque of uniform
  magnitude in ``[0, torque]`` along another, held for a random duration.

Values are updated once per control tick and held over its physics substeps
(``QuadrotorSim.set_external``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DisturbanceConfig:
    """Per-episode disturbance settings (already sampled: no ranges here)."""

    wind: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Constant force (N), world ENU."""
    gust_std: float = 0.0
    """Stationary standard deviation (N) of the gust force per world axis."""
    gust_tau: float = 1.0
    """Gust correlation time (s)."""
    push_rate: float = 0.0
    """Mean number of pushes per second."""
    push_force: float = 0.0
    """Largest push force (N)."""
    push_torque: float = 0.0
    """Largest push torque (N m), body frame."""
    push_duration: tuple[float, float] = (0.05, 0.15)
    """Range of a push's duration (s)."""

    @property
    def active(self) -> bool:
        """Whether any disturbance is non-zero."""
        return bool(any(self.wind) or self.gust_std > 0.0 or (
            self.push_rate > 0.0 and (self.push_force > 0.0 or self.push_torque > 0.0)))


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(3)
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else np.array([1.0, 0.0, 0.0])


class Disturbances:
    """Samples the disturbance force and torque over an episode.

    Args:
        config: Settings for this episode.
        rng: Random generator (the env's per-episode stream).
    """

    def __init__(self, config: DisturbanceConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self._wind = np.asarray(config.wind, float)
        self.gust = np.zeros(3)
        self._push_force = np.zeros(3)
        self._push_torque = np.zeros(3)
        self._push_end = -math.inf
        self._next_push = math.inf
        self.reset()

    def reset(self) -> None:
        """Start an episode at t = 0: gust from its stationary law, first push time drawn."""
        cfg = self.config
        self.gust = cfg.gust_std * self.rng.standard_normal(3) if cfg.gust_std > 0 else (
            np.zeros(3))
        self._push_force = np.zeros(3)
        self._push_torque = np.zeros(3)
        self._push_end = -math.inf
        self._next_push = (float(self.rng.exponential(1.0 / cfg.push_rate))
                           if cfg.push_rate > 0 else math.inf)

    def update(self, t: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Force (3,) N world and torque (3,) N m body to hold over ``[t, t + dt)`` (s)."""
        cfg = self.config
        if cfg.gust_std > 0.0:
            a = math.exp(-dt / cfg.gust_tau)
            self.gust = a * self.gust + cfg.gust_std * math.sqrt(1.0 - a * a) * (
                self.rng.standard_normal(3))
        if t >= self._next_push:
            self._push_force = self.rng.uniform(0.0, cfg.push_force) * _unit(self.rng)
            self._push_torque = self.rng.uniform(0.0, cfg.push_torque) * _unit(self.rng)
            self._push_end = t + float(self.rng.uniform(*cfg.push_duration))
            self._next_push = t + float(self.rng.exponential(1.0 / cfg.push_rate))
        pushing = t < self._push_end
        force = self._wind + self.gust
        if pushing:
            force = force + self._push_force
        torque = self._push_torque.copy() if pushing else np.zeros(3)
        return force, torque
