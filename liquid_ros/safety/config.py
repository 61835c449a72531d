"""Configuration of the safety filter and the status it reports."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


def _check_finite(name: str, values: tuple[float, ...]) -> None:
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite numbers, got {values}")


LEADER_FOLLOW_BARRIER: dict[str, float] = {
    "leader_distance": 0.5, "leader_gain_p1": 3.0, "leader_gain_p2": 3.0,
    "leader_accel_max": 1.0}
"""Leader barrier of the leader-following task (``SafetyConfig`` fields), shared by evaluation
and the ROS launch files: a 0.5 m keep-out (above the task's 0.3 m collision distance, below its
1 m follow distance), gains of 3 /s so a follower closing at 0.5 m/s starts inside the HOCBF's
first safe set (1 /s did not), robust to 1 m/s^2 of leader acceleration."""


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
            made robust to (the constant-velocity model misses ``-2 d.a_leader`` in ``b''``;
            the row subtracts its worst case ``2 |d| leader_accel_max``). 0 trusts the model.
        leader_gain_p1: First class-K gain (1/s) of the leader row, or None for ``gain_p1``.
            The HOCBF only keeps the follower out when it starts inside ``b' + p1 b >= 0``: at
            distance ``x`` from a keep-out radius ``R`` that admits closing speeds up to
            ``p1 (x^2 - R^2) / (2 x)``, so a follower meant to fly close to the keep-out needs a
            larger ``p1`` than the static barriers.
        leader_gain_p2: Second class-K gain (1/s) of the leader row, or None for ``gain_p2``.
        speed_max: Speed limit (m/s), or None (a relative-degree-1 barrier).
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
        for name in ("margin", "speed_margin", "leader_accel_max"):
            v = getattr(self, name)
            _check_finite(name, (v,))
            if v < 0:
                raise ValueError(f"{name} must be non-negative, got {v}")
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
        infeasible: The barriers conflicted; the command minimises their violation (slack only
            on barrier rows, actuator limits still hold).
        error: Why the fallback command was returned (bad input, solver failure), else None.
        max_violation: Largest barrier-row violation of the returned command (row units).
        stage: ``"accel"`` (stage 1) or ``"wrench"`` (stage 2).
        fallback: The returned command is the fallback (braking or hover), not a QP solution.
    """

    active: tuple[str, ...] = ()
    intervention: float = 0.0
    infeasible: bool = False
    error: str | None = None
    max_violation: float = 0.0
    stage: str = "accel"
    fallback: bool = False

    def to_dict(self) -> dict:
        """Plain-type dictionary (for logs and ROS diagnostics)."""
        d = asdict(self)
        d["active"] = list(self.active)
        return d
