"""What the pilot produces each tick: the mode, the policy step and the command (typed seams).

Policy_node publishes a :class:`Command`; evaluation and DAgger read its ``step`` to record
what the policy saw; saliency maps start from ``step.hidden``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from liquid_ros.control.levels import CommandLevel


class Mode(StrEnum):
    """What is flying the drone this tick."""

    POLICY = "policy"
    HOVER = "hover"
    LAND = "land"
    ESTOP = "estop"
    GROUNDED = "grounded"
    WARMUP = "warmup"
    """policy_node's position hold while the policy loads (not produced by the pilot)."""


@dataclass(frozen=True)
class PolicyStep:
    """One policy step: what it saw, what it said, the memory it started from."""

    image: np.ndarray
    """(H, W, 3) uint8 image the policy saw."""
    state: np.ndarray
    """(10,) float32 state (world velocity, quaternion, body rate)."""
    dt: float
    """Elapsed time (s) it integrated."""
    hidden: Any
    """Recurrent state before the step (for saliency maps); None at the start."""
    action: np.ndarray
    """(4,) raw action: world acceleration m/s^2, yaw rate rad/s."""
    gains: np.ndarray | None
    """Class-K gains of a BarrierNet head, or None."""


@dataclass
class Command:
    """What one tick produced.

    Attributes:
        level: The command level of ``values``.
        values: Setpoint (``SETPOINT_SIZE[level]``,) in the layout of ``level``; finite and
            bounded.
        wrench: (4,) thrust N, body torques N m (FLU) at the wrench level, else None.
        accel: (3,) world acceleration after stage 1, m/s^2.
        yaw_rate: Commanded yaw rate (rad/s).
        action_nominal: (4,) raw policy action clipped to the float32 range, or zeros when
            the policy did not run.
        mode: The :class:`Mode`.
        reason: Why the mode is not ``policy`` ('' otherwise).
        dt: Elapsed time given to the controller (s).
        step: The policy step taken this tick, or None (action held, or a fallback).
        status: JSON-ready safety report: ``stage1``/``stage2`` SafetyStatus dicts (stage 1
            holds ``barrier_values``, negative = inside a forbidden set), ``violated``, mode,
            reason, ``odom_age`` (s) and the ``disturbance`` estimate (m/s^2).
    """

    level: CommandLevel
    values: np.ndarray
    wrench: np.ndarray | None
    accel: np.ndarray
    yaw_rate: float
    action_nominal: np.ndarray
    mode: Mode
    reason: str
    dt: float
    step: PolicyStep | None = None
    status: dict[str, Any] = field(default_factory=dict)
