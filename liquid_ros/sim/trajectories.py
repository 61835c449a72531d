"""Scripted leader trajectories: circle, figure-eight and random smooth waypoint loops.

Each trajectory gives position, velocity and acceleration (world ENU, SI) in closed form, so the
leader is kinematic and its motion is exact at any time.
"""

from __future__ import annotations

import math

import numpy as np

FAMILIES = ("circle", "figure_eight", "waypoints")
"""Trajectory families, selectable by name so one can be held out."""


class Trajectory:
    """Base class: :meth:`state` returns (position (3,), velocity (3,), acceleration (3,))."""

    family = ""

    def state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position (m), velocity (m/s), acceleration (m/s^2), each (3,), at time ``t`` (s)."""
        raise NotImplementedError


class CircleTrajectory(Trajectory):
    """Horizontal circle with a small vertical oscillation.

    Args:
        center: Circle centre (3,) in m; its z is the mean altitude.
        radius: Radius (m).
        speed: Horizontal speed (m/s); its sign sets the direction (positive = CCW).
        phase: Start angle (rad).
        bob: Vertical oscillation amplitude (m), at the lap frequency.
    """

    family = "circle"

    def __init__(self, center: np.ndarray, radius: float, speed: float, phase: float = 0.0,
                 bob: float = 0.0) -> None:
        self.center = np.asarray(center, float)
        self.radius = float(radius)
        self.omega = float(speed) / self.radius
        self.phase = float(phase)
        self.bob = float(bob)

    def state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See :meth:`Trajectory.state`."""
        r, w, th = self.radius, self.omega, self.omega * t + self.phase
        c, s = math.cos(th), math.sin(th)
        cz, sz = math.cos(abs(w) * t), math.sin(abs(w) * t)
        pos = self.center + np.array([r * c, r * s, self.bob * sz])
        vel = np.array([-r * w * s, r * w * c, self.bob * abs(w) * cz])
        acc = np.array([-r * w * w * c, -r * w * w * s, -self.bob * w * w * sz])
        return pos, vel, acc


class FigureEightTrajectory(Trajectory):
    """Lemniscate of Gerono ``(a sin th, a/2 sin 2th)`` rotated by ``heading``.

    Args:
        center: Crossing point (3,) in m.
        size: Half-length ``a`` (m).
        speed: Peak speed (m/s), reached at the crossing.
        heading: Direction (rad) of the long axis.
        bob: Vertical oscillation amplitude (m).
    """

    family = "figure_eight"

    def __init__(self, center: np.ndarray, size: float, speed: float, heading: float = 0.0,
                 bob: float = 0.0) -> None:
        self.center = np.asarray(center, float)
        self.a = float(size)
        self.w = float(speed) / (self.a * math.sqrt(2.0))
        ch, sh = math.cos(heading), math.sin(heading)
        self.rot = np.array([[ch, -sh, 0.0], [sh, ch, 0.0], [0.0, 0.0, 1.0]])
        self.bob = float(bob)

    def state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See :meth:`Trajectory.state`."""
        a, w = self.a, self.w
        th = w * t
        s1, c1, s2, c2 = math.sin(th), math.cos(th), math.sin(2 * th), math.cos(2 * th)
        pos = np.array([a * s1, 0.5 * a * s2, self.bob * s1])
        vel = np.array([a * w * c1, a * w * c2, self.bob * w * c1])
        acc = np.array([-a * w * w * s1, -2.0 * a * w * w * s2, -self.bob * w * w * s1])
        return self.center + self.rot @ pos, self.rot @ vel, self.rot @ acc


class WaypointTrajectory(Trajectory):
    """Closed uniform Catmull-Rom spline through waypoints, at a set mean speed.

    Velocity is continuous; acceleration jumps at waypoints but stays bounded.

    Args:
        waypoints: Waypoints (K, 3) in m, K >= 3, visited in order and looping.
        speed: Mean speed (m/s): each segment lasts ``mean chord / speed``.
    """

    family = "waypoints"

    def __init__(self, waypoints: np.ndarray, speed: float) -> None:
        self.points = np.asarray(waypoints, float)
        if self.points.ndim != 2 or self.points.shape[0] < 3 or self.points.shape[1] != 3:
            raise ValueError(f"waypoints must be (K>=3, 3), got {self.points.shape}")
        chords = np.linalg.norm(np.roll(self.points, -1, axis=0) - self.points, axis=1)
        self.seg_time = float(chords.mean()) / float(speed)

    def state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See :meth:`Trajectory.state`."""
        k = len(self.points)
        u = t / self.seg_time
        i = int(math.floor(u))
        s = u - i
        p0, p1, p2, p3 = (self.points[(i + j) % k] for j in (-1, 0, 1, 2))
        c1 = p2 - p0
        c2 = 2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3
        c3 = -p0 + 3.0 * p1 - 3.0 * p2 + p3
        pos = 0.5 * (2.0 * p1 + c1 * s + c2 * s * s + c3 * s**3)
        vel = 0.5 * (c1 + 2.0 * c2 * s + 3.0 * c3 * s * s) / self.seg_time
        acc = 0.5 * (2.0 * c2 + 6.0 * c3 * s) / self.seg_time**2
        return pos, vel, acc


def sample_trajectory(
    family: str,
    rng: np.random.Generator,
    speed_range: tuple[float, float] = (0.4, 1.0),
    size_range: tuple[float, float] = (1.5, 3.0),
    altitude_range: tuple[float, float] = (1.0, 2.0),
) -> Trajectory:
    """A random trajectory of ``family`` centred near the origin.

    Args:
        family: One of :data:`FAMILIES`.
        rng: Random generator (the only source of randomness).
        speed_range: Range of the (mean or peak) speed (m/s).
        size_range: Range of the radius / half-length (m).
        altitude_range: Range of the mean altitude (m).

    Raises:
        ValueError: If ``family`` is unknown.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    speed = float(rng.uniform(*speed_range))
    size = float(rng.uniform(*size_range))
    center = np.array([0.0, 0.0, float(rng.uniform(*altitude_range))])
    bob = float(rng.uniform(0.0, 0.3))
    if family == "circle":
        direction = 1.0 if rng.random() < 0.5 else -1.0
        return CircleTrajectory(center, size, direction * speed, float(rng.uniform(-np.pi, np.pi)),
                                bob)
    if family == "figure_eight":
        return FigureEightTrajectory(center, size, speed, float(rng.uniform(-np.pi, np.pi)), bob)
    k = int(rng.integers(4, 7))
    # Evenly spaced angles with jitter: consecutive waypoints never nearly coincide, which
    # would make sharp corners the follower cannot fly.
    step = 2.0 * np.pi / k
    angles = (np.arange(k) * step + rng.uniform(-0.3, 0.3, size=k) * step
              + rng.uniform(-np.pi, np.pi))
    radii = size * rng.uniform(0.6, 1.0, size=k)
    heights = center[2] + rng.uniform(-0.3, 0.3, size=k)
    pts = np.column_stack([radii * np.cos(angles), radii * np.sin(angles), heights])
    if rng.random() < 0.5:
        pts = pts[::-1].copy()
    return WaypointTrajectory(pts, speed)


def max_acceleration(traj: Trajectory, samples: int = 2000) -> float:
    """Largest acceleration magnitude (m/s^2) ``traj`` ever reaches.

    Exact for the waypoint spline (its acceleration is linear in each segment, so the maximum
    lies at a segment end); for the periodic circle and figure-eight, the maximum over
    ``samples`` points of one period (both are smooth, so the sampled value is within
    ``O(1 / samples^2)`` of the true one).
    """
    if isinstance(traj, WaypointTrajectory):
        k, T, best = len(traj.points), traj.seg_time, 0.0
        for i in range(k):
            p0, p1, p2, p3 = (traj.points[(i + j) % k] for j in (-1, 0, 1, 2))
            c2 = 2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3
            c3 = -p0 + 3.0 * p1 - 3.0 * p2 + p3
            for s in (0.0, 1.0):
                best = max(best, float(np.linalg.norm((c2 + 3.0 * c3 * s) / T**2)))
        return best
    if isinstance(traj, CircleTrajectory):
        period = 2.0 * math.pi / abs(traj.omega)
    elif isinstance(traj, FigureEightTrajectory):
        period = 2.0 * math.pi / abs(traj.w)
    else:
        raise TypeError(f"unknown trajectory type {type(traj).__name__}")
    ts = np.linspace(0.0, period, samples, endpoint=False)
    return max(float(np.linalg.norm(traj.state(float(t))[2])) for t in ts)


def family_accel_bound(family: str, episodes: int = 2000, seed: int = 0,
                       speed_range: tuple[float, float] = (0.4, 1.0),
                       size_range: tuple[float, float] = (1.5, 3.0),
                       altitude_range: tuple[float, float] = (1.0, 2.0)) -> float:
    """Largest leader acceleration (m/s^2) over ``episodes`` sampled trajectories of ``family``.

    The ranges default to those of the leader-following task; the safety filter's leader row
    must be robust to this bound (see ``liquid_ros.safety.config.LEADER_FOLLOW_BARRIER``).
    """
    rng = np.random.default_rng(seed)
    return max(max_acceleration(sample_trajectory(family, rng, speed_range, size_range,
                                                  altitude_range), 400)
               for _ in range(episodes))
