"""Per-episode conditions of a drone env: sampled vehicle, links, noise, disturbances, scene.

:func:`sample_conditions` draws one episode from a
:class:`~liquid_ros.sim.randomization.RandomizationConfig` (a fixed sequence of draws from the
env's per-episode generator, so the same seed gives the same episode). :class:`Conditions`
runs them: it owns the command, odometry and camera delay lines, the odometry noise and the
disturbances, and tells the env which command applies on which physics substep.

What the agent sees: the observation's ``state`` and ``info``'s ``position``, ``velocity``,
``quaternion`` and ``omega`` are the *measured* odometry (delayed, at its rate, noisy); the
true state is in ``info["true_position"]`` etc. and is what tasks score and the simulated
flight controller (the acceleration controller, an onboard loop) and the privileged experts
use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from liquid_ros.sim.disturbances import DisturbanceConfig, Disturbances
from liquid_ros.sim.randomization import RandomizationConfig
from liquid_ros.sim.scene import SceneSample, sample_scene
from liquid_ros.sim.sensors import DelayLine, OdometryNoise


@dataclass(frozen=True)
class EpisodeConditions:
    """One episode's sampled values (all defaults: nominal and instantaneous)."""

    odom_latency: float = 0.0
    """Odometry latency (s)."""
    camera_latency: float = 0.0
    """Camera latency (s)."""
    command_latency: float = 0.0
    """Command latency (s)."""
    mass_scale: float = 1.0
    """True over nominal mass."""
    inertia_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """True over nominal inertia per axis."""
    kf_scale: float = 1.0
    """True over nominal thrust coefficient."""
    drag_scale: float = 1.0
    """True over nominal body drag."""
    disturbances: DisturbanceConfig = field(default_factory=DisturbanceConfig)
    """Wind, gusts and pushes."""
    scene: SceneSample = field(default_factory=SceneSample)
    """Appearance."""

    def as_info(self) -> dict[str, object]:
        """JSON-friendly summary for ``info["conditions"]``."""
        d = self.disturbances
        return {"odom_latency": self.odom_latency, "camera_latency": self.camera_latency,
                "command_latency": self.command_latency, "mass_scale": self.mass_scale,
                "inertia_scale": list(self.inertia_scale), "kf_scale": self.kf_scale,
                "drag_scale": self.drag_scale, "wind": list(d.wind),
                "ground_texture": self.scene.ground_texture or "checker"}


def sample_conditions(config: RandomizationConfig, rng: np.random.Generator,
                      n_distractors: int = 0) -> EpisodeConditions:
    """Draw one episode's conditions (uniform over each range).

    Args:
        config: Randomisation settings.
        rng: Random generator (the env's per-episode stream).
        n_distractors: The env's distractor count (see :func:`sample_scene`).
    """
    c = config
    lat = [float(rng.uniform(*r)) for r in (c.odom_latency, c.camera_latency,
                                            c.command_latency)]
    mass = float(rng.uniform(*c.mass_scale))
    inertia = tuple(float(x) for x in rng.uniform(*c.inertia_scale, 3))
    kf = float(rng.uniform(*c.kf_scale))
    drag = float(rng.uniform(*c.drag_scale))
    speed, heading = float(rng.uniform(*c.wind)), float(rng.uniform(-np.pi, np.pi))
    wind = (speed * float(np.cos(heading)), speed * float(np.sin(heading)), 0.0)
    dist = DisturbanceConfig(wind=wind, gust_std=c.gust_std, gust_tau=c.gust_tau,
                             push_rate=c.push_rate, push_force=c.push_force,
                             push_torque=c.push_torque, push_duration=c.push_duration)
    return EpisodeConditions(
        odom_latency=lat[0], camera_latency=lat[1], command_latency=lat[2], mass_scale=mass,
        inertia_scale=inertia, kf_scale=kf, drag_scale=drag,  # type: ignore[arg-type]
        disturbances=dist, scene=sample_scene(c, rng, n_distractors))


class Conditions:
    """Runs an episode's links, noise and disturbances for a drone env.

    Args:
        config: Randomisation settings (fixed for the env's life).
    """

    def __init__(self, config: RandomizationConfig) -> None:
        self.config = config
        self.episode = EpisodeConditions()
        self.command = DelayLine()
        self.odometry = DelayLine()
        self.camera = DelayLine()
        self.noise: OdometryNoise | None = None
        self.disturbances: Disturbances | None = None
        self.command_active = self.odom_active = self.camera_active = False
        self.odom_substeps = False
        """Whether odometry must be sampled at every physics substep (latency or rate)."""
        self._seen: tuple[int, dict[str, np.ndarray]] = (-1, {})

    def reset(self, episode: EpisodeConditions, rng: np.random.Generator,
              state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Start an episode at t = 0; returns the first measured state.

        Args:
            episode: The sampled conditions.
            rng: Generator for the noise and disturbances during the episode.
            state: True state at t = 0 (position, velocity, quaternion, omega).
        """
        c, self.episode = self.config, episode
        self.command = DelayLine(episode.command_latency, c.command_hz)
        self.command.reset(None)  # no command has arrived yet (the env decides what to hold)
        self.command_active = episode.command_latency > 0.0 or c.command_hz is not None
        self.noise = OdometryNoise(c.odom_noise, c.odom_bias_walk, rng)
        if not self.noise.active:
            self.noise = None
        self.odometry = DelayLine(episode.odom_latency, c.odom_hz)
        self.odom_substeps = episode.odom_latency > 0.0 or c.odom_hz is not None
        self.odom_active = self.odom_substeps or self.noise is not None
        self.odometry.reset((0.0, state))
        self.odometry.offer(0.0, (0.0, state))
        self._seen = (-1, {})
        self.odom_stamp = 0.0
        """Measurement time (s) of the odometry :meth:`measured` last returned."""
        first = self.measured(0.0)
        self.camera = DelayLine(episode.camera_latency)
        self.camera_active = episode.camera_latency > 0.0
        self.disturbances = (Disturbances(episode.disturbances, rng)
                             if episode.disturbances.active else None)
        return first


    def plan(self, t0: float, dt: float, n: int) -> list[tuple[int, int, np.ndarray | None]]:
        """Split the next ``n`` substeps (from ``t0``, ``dt`` s each) where the command changes.

        Returns:
            (first substep, substep count, command) per segment; the first segment starts at 0.
            The command is None before the first one has arrived.
        """
        segments: list[tuple[int, int, np.ndarray | None]] = []
        last = None
        for i in range(n):
            key, value = self.command.sample(t0 + i * dt)
            if key != last:
                segments.append((i, 0, value))
                last = key
            start, count, value = segments[-1]
            segments[-1] = (start, count + 1, value)
        return segments

    def odometry_points(self, tick: int, rate: float, dt: float, n: int) -> list[int]:
        """Substeps (1..n) of control tick ``tick`` after which to offer odometry.

        A link with a rate samples on its own clock: every substep is offered. A continuous
        link (no rate) only needs the samples some tick will read: the tick ending at physics
        step E sees the sample of step E - ceil(latency / dt).

        Args:
            tick: Index of the control tick about to be flown.
            rate: Physics steps per control tick (tick k ends at step round((k + 1) rate)).
            dt: Physics step (s).
            n: Physics steps of this tick.
        """
        if self.config.odom_hz is not None:
            return list(range(1, n + 1))
        lag = math.ceil(self.episode.odom_latency / dt - 1e-9)
        first, k, points = int(round(tick * rate)), tick, []
        while (end := int(round((k + 1) * rate))) - lag <= first + n:
            if end - lag > first:
                points.append(end - lag - first)
            k += 1
        return points

    def record(self, t: float, state: dict[str, np.ndarray]) -> None:
        """Offer the true state after a substep ending at ``t`` (s) to the odometry link."""
        if self.odometry.due(t):
            self.odometry.offer(t, (t, state))

    def measured(self, t: float) -> dict[str, np.ndarray]:
        """Odometry seen at time ``t`` (s): the arrived sample, with its noise.

        Noise is drawn once per sample when it is first seen (samples never seen need none;
        the bias random walk sampled only at those times has the same law).
        """
        key, (t_sample, state) = self.odometry.sample(t)
        self.odom_stamp = float(t_sample)
        if key != self._seen[0]:
            # Fresh arrays already (the noise's, or the recorded state's copies), never
            # handed out without a copy (DroneEnv.measured_state): no copy needed here.
            meas = state if self.noise is None else self.noise.apply(t_sample, state)
            self._seen = (key, meas)
        return self._seen[1]

    def frame(self, t: float, image: np.ndarray | None) -> np.ndarray:
        """Image seen at ``t`` (s) after ``image`` (None: no new frame) was rendered at ``t``."""
        if image is not None:
            self.camera.offer(t, image)
        return self.camera.read(t)
