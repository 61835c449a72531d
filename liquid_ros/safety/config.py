"""Configuration of the safety filter and the status it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _check_finite(name: str, values: tuple[float, ...]) -> None:
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite numbers, got {values}")


LEADER_ACCEL_BOUND = 3.7
"""Largest leader acceleration (m/s^2) of the leader-following task's trajectories: the maximum
over 2,000 sampled trajectories per family of :func:`liquid_ros.sim.trajectories.
family_accel_bound` is 0.66 (circle), 0.68 (figure-eight) and 3.66 (waypoint splines, whose
acceleration jumps at waypoints; median 0.95, 99th percentile 2.7), rounded up."""

LEADER_FOLLOW_BARRIER: dict[str, float] = {
    "leader_distance": 0.5, "leader_gain_p1": 4.0, "leader_gain_p2": 4.0,
    "leader_accel_max": LEADER_ACCEL_BOUND}
"""Leader barrier of the leader-following task (``SafetyConfig`` fields), shared by evaluation
and the ROS launch files: a 0.5 m keep-out (above the task's 0.3 m collision distance, below its
1 m follow distance), robust to the task's largest leader acceleration (``LEADER_ACCEL_BOUND``).
Gains of 4 /s: a follower closing at up to 1.6 m/s from the 1 m follow distance starts inside
the HOCBF's first safe set, and a pilot pushing straight at a static leader is held at
``0.6 + (leader_accel_max + accel_error_bound) / (p1 p2)``, about 0.86 m, short of the 1 m
follow distance (with 3 /s it would be 1.04 m: the filter would fight the task)."""


@dataclass(frozen=True)
class SafetyConfig:
    """Limits, barriers and gains of :class:`~liquid_ros.safety.filter.SafetyFilter`.

    Barriers (stage 1) act on the double-integrator model ``p' = v, v' = a`` in the world ENU
    frame; ``None`` disables one. Position barriers are enforced ``margin`` inside their limit
    and the speed limit ``speed_margin`` below it, which absorbs the error of holding the
    acceleration constant between control ticks. The defaults cover ticks up to 1/48 s with
    the default box and gains (:func:`~liquid_ros.safety.barriers.discretisation_margin` gives
    0.042 m, :func:`~liquid_ros.safety.barriers.speed_discretisation_margin` 0.17 m/s).

    Attributes:
        accel_min: Lower bound of the commanded acceleration per world axis (m/s^2), hard.
        accel_max: Upper bound of the commanded acceleration per world axis (m/s^2), hard.
        altitude_min: Altitude floor (m), or None.
        altitude_max: Altitude ceiling (m), or None.
        geofence: ``((x_min, x_max), (y_min, y_max))`` horizontal box (m), or None.
        obstacles: Static spherical keep-out zones ``(x, y, z, radius)`` (m).
        leader_distance: Minimum distance to the moving leader (m), or None. The leader is
            modelled with constant velocity; its row is inactive when no leader state is given.
        leader_accel_max: Bound (m/s^2) on the leader's acceleration that the leader row is
            made robust to (the constant-velocity model misses ``-n.a_leader`` in ``b''``; the
            distance row subtracts its worst case ``leader_accel_max``). 0 trusts the model.
        leader_gain_p1: First class-K gain (1/s) of the leader row, or None for ``gain_p1``.
            The HOCBF only keeps the follower out when it starts inside ``b' + p1 b >= 0``: at
            distance ``x`` from a keep-out radius ``R`` that admits closing speeds up to
            ``p1 (x - R)``, so a follower meant to fly close to the keep-out needs a
            larger ``p1`` than the static barriers.
        leader_gain_p2: Second class-K gain (1/s) of the leader row, or None for ``gain_p2``.
        speed_max: Speed limit (m/s), or None (a relative-degree-1 barrier).
        accel_error_bound: Bound ``delta`` (m/s^2) on the gap between commanded and achieved
            acceleration that every row is made robust to (robust CBF, Jankovic 2018): the
            attitude loop's tracking lag plus what the controller's disturbance observer has
            not yet cancelled (mass or thrust error, wind). A pilot pushing at a barrier is held
            ``delta / (p1 p2)`` outside it. The default 0.1 was sized with
            ``benchmarks/bench_safety_adversary.py``: with the loop's latency prediction and
            the controller's observer, 0 already held (the margin took the rest) under 40 ms
            latency, +20 % mass and a 0.05 N wind at once; 0.1 leaves about 0.1 m more.
        yaw_rate_max: Largest yaw rate (rad/s) the filter passes far from every barrier.
        yaw_rate_near: Largest yaw rate (rad/s) at a position barrier's boundary. Yaw is in
            the filter's model only through this bound: turning fast makes the attitude loop
            miss the commanded acceleration (the tilt direction rotates under it), which the
            rows' ``accel_error_bound`` covers only while the yaw rate stays this small.
        yaw_slow_distance: Distance (m) from the nearest position barrier (margin excluded)
            below which the yaw-rate bound falls linearly from ``yaw_rate_max`` to
            ``yaw_rate_near``.
        accel_slew_max: Largest change rate (m/s^3, per axis) of the nominal acceleration that
            :meth:`~liquid_ros.safety.filter.SafetyFilter.filter_action` passes on when given
            ``dt``, or None (off, the default). 40 makes a full swing from -4 to 4 m/s^2 take
            0.2 s, about the attitude loop's rise time. Off by default: with the loop's
            latency prediction the adversarial benchmark showed no need for it, and it would
            change how trained policies fly far from every barrier.
        gain_p1: Default first class-K gain (1/s) of every HOCBF (and of the speed barrier).
        gain_p2: Default second class-K gain (1/s) of the relative-degree-2 HOCBFs.
        margin: Distance (m) by which position barriers are tightened.
        speed_margin: Speed (m/s) by which the speed limit is tightened.
        brake_gain: Fallback deceleration gain (1/s): ``a = -brake_gain * v`` clipped.
        soft_weight: Penalty on barrier-row slack, relative to the cost, when barriers conflict.
        max_thrust: Collective-thrust limit (N); None takes the quadrotor's maximum.
        max_torque: Per-axis body torque limits (N m); None takes the quadrotor's maxima.
        rotor_limits: Also require every rotor thrust in ``[0, max_rotor_thrust]`` (through the
            mixer), so stage 2 returns an allocatable wrench rather than a per-axis clip.
        wrench_weights: Weights of (thrust, tau_x, tau_y, tau_z) in the stage-2 distance; each
            axis is first divided by its limit so a unit error means "a full range". Yaw is
            cheap by default: the yaw torque is the weakest and least safety-relevant axis, so
            it is given up first (as quadrotor mixers commonly do).
    """

    accel_min: tuple[float, float, float] = (-4.0, -4.0, -4.0)
    accel_max: tuple[float, float, float] = (4.0, 4.0, 4.0)
    altitude_min: float | None = 0.1
    altitude_max: float | None = 10.0
    geofence: tuple[tuple[float, float], tuple[float, float]] | None = None
    obstacles: tuple[tuple[float, float, float, float], ...] = ()
    leader_distance: float | None = None
    leader_accel_max: float = 0.0
    leader_gain_p1: float | None = None
    leader_gain_p2: float | None = None
    speed_max: float | None = 3.0
    accel_error_bound: float = 0.1
    yaw_rate_max: float = 2.0
    yaw_rate_near: float = 0.5
    yaw_slow_distance: float = 0.5
    accel_slew_max: float | None = None
    gain_p1: float = 1.0
    gain_p2: float = 1.0
    margin: float = 0.1
    speed_margin: float = 0.2
    brake_gain: float = 1.0
    soft_weight: float = 1e6
    max_thrust: float | None = None
    max_torque: tuple[float, float, float] | None = None
    rotor_limits: bool = True
    wrench_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 0.1)

    def __post_init__(self) -> None:
        """Reject inconsistent limits with a ValueError naming the field."""
        for name in ("accel_min", "accel_max"):
            vals = tuple(getattr(self, name))
            if len(vals) != 3:
                raise ValueError(f"{name} must have 3 entries, got {vals}")
            _check_finite(name, vals)
        if any(lo > hi for lo, hi in zip(self.accel_min, self.accel_max, strict=True)):
            raise ValueError(f"accel_min {self.accel_min} exceeds accel_max {self.accel_max}")
        for name in ("altitude_min", "altitude_max", "leader_distance", "speed_max",
                     "max_thrust"):
            if getattr(self, name) is not None:
                _check_finite(name, (getattr(self, name),))
        if (self.altitude_min is not None and self.altitude_max is not None
                and self.altitude_min + 2 * self.margin >= self.altitude_max):
            raise ValueError("altitude_max must exceed altitude_min by more than 2 * margin")
        if self.geofence is not None:
            if len(self.geofence) != 2 or any(len(r) != 2 for r in self.geofence):
                raise ValueError(f"geofence must be ((x_min, x_max), (y_min, y_max)), "
                                 f"got {self.geofence}")
            for lo, hi in self.geofence:
                _check_finite("geofence", (lo, hi))
                if lo + 2 * self.margin >= hi:
                    raise ValueError(f"geofence range ({lo}, {hi}) is narrower than 2 * margin")
        for ob in self.obstacles:
            if len(ob) != 4:
                raise ValueError(f"obstacles entries must be (x, y, z, radius), got {ob}")
            _check_finite("obstacles", tuple(ob))
            if ob[3] <= 0:
                raise ValueError(f"obstacles radius must be positive, got {ob}")
        for name in ("leader_gain_p1", "leader_gain_p2"):
            v = getattr(self, name)
            if v is not None:
                _check_finite(name, (v,))
                if v <= 0:
                    raise ValueError(f"{name} must be positive, got {v}")
        for name in ("leader_distance", "speed_max", "max_thrust"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be positive, got {v}")
        for name in ("gain_p1", "gain_p2", "brake_gain", "soft_weight"):
            v = getattr(self, name)
            _check_finite(name, (v,))
            if v <= 0:
                raise ValueError(f"{name} must be positive, got {v}")
        for name in ("margin", "speed_margin", "leader_accel_max", "accel_error_bound",
                     "yaw_rate_max", "yaw_rate_near", "yaw_slow_distance"):
            v = getattr(self, name)
            _check_finite(name, (v,))
            if v < 0:
                raise ValueError(f"{name} must be non-negative, got {v}")
        if self.accel_slew_max is not None:
            _check_finite("accel_slew_max", (self.accel_slew_max,))
            if self.accel_slew_max <= 0:
                raise ValueError(f"accel_slew_max must be positive, got {self.accel_slew_max}")
        if self.yaw_rate_near > self.yaw_rate_max:
            raise ValueError("yaw_rate_near must not exceed yaw_rate_max")
        if self.speed_max is not None and self.speed_margin >= self.speed_max:
            raise ValueError("speed_margin must be smaller than speed_max")
        if self.max_torque is not None:
            _check_finite("max_torque", tuple(self.max_torque))
            if len(self.max_torque) != 3 or min(self.max_torque) <= 0:
                raise ValueError(f"max_torque must be 3 positive values, got {self.max_torque}")
        _check_finite("wrench_weights", tuple(self.wrench_weights))
        if len(self.wrench_weights) != 4 or min(self.wrench_weights) <= 0:
            raise ValueError(f"wrench_weights must be 4 positive values, got "
                             f"{self.wrench_weights}")


DEFAULT_SAFETY_CONFIG = SafetyConfig()
"""The default configuration (shared: configs are frozen)."""


@dataclass
class SafetyStatus:
    """What the filter did on one call.

    Attributes:
        active: Names of the constraints active at the returned command.
        intervention: Distance between nominal and returned command: Euclidean (m/s^2) for
            stage 1; in the weighted, range-normalised metric of the QP for stage 2.
        infeasible: Stage 1: the barriers conflicted (or the returned command violates a row
            for any other reason); the command minimises their violation (slack only on
            barrier rows, actuator limits still hold). Stage 2: the nominal wrench was more
            than 100 ranges out (e.g. 1e16 N) and was clipped before the QP.
        error: Why the fallback command was returned (bad input, solver failure), else None.
        max_violation: Largest barrier-row violation of the returned command (row units).
        stage: ``"accel"`` (stage 1) or ``"wrench"`` (stage 2).
        fallback: The returned command is the fallback (braking or hover), not a QP solution.
        barrier_values: Each barrier's value at the state given (stage 1): signed distance (m)
            to its limit, keep-out sphere or leader keep-out, margins excluded, and
            ``speed_max - |v|`` (m/s) for the speed limit. Negative means the state is inside
            a forbidden set, whatever the command.
        violated: Names of the barriers with a negative value (the state is unsafe now).
        yaw_rate_limit: The yaw-rate bound (rad/s) applied by
            :meth:`~liquid_ros.safety.filter.SafetyFilter.filter_action`, else None.
    """

    active: tuple[str, ...] = ()
    intervention: float = 0.0
    infeasible: bool = False
    error: str | None = None
    max_violation: float = 0.0
    stage: str = "accel"
    fallback: bool = False
    barrier_values: dict[str, float] = field(default_factory=dict)
    violated: tuple[str, ...] = ()
    yaw_rate_limit: float | None = None

    def to_dict(self) -> dict:
        """Plain-type dictionary (for logs and ROS diagnostics), keys in field order.

        Written out rather than ``dataclasses.asdict``, whose recursive deep copy cost more
        than the filter itself (the control loop calls this every tick).
        """
        return {
            "active": list(self.active), "intervention": self.intervention,
            "infeasible": self.infeasible, "error": self.error,
            "max_violation": self.max_violation, "stage": self.stage, "fallback": self.fallback,
            # JSON has no inf: an absent leader's barrier is reported as None.
            "barrier_values": {k: (v if math.isfinite(v) else None)
                               for k, v in self.barrier_values.items()},
            "violated": list(self.violated), "yaw_rate_limit": self.yaw_rate_limit}
