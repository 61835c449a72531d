"""Command levels: what a companion computer sends a flight controller, and their layouts.

One definition for the pilot (:mod:`liquid_ros.runtime.pilot`), the simulated flight
controller (:mod:`liquid_ros.sim.flight_controller`) and the stack adapters (``ros/``). The
levels follow the setpoint interfaces of the real stacks: PX4 TrajectorySetpoint (acceleration),
VehicleAttitudeSetpoint and VehicleRatesSetpoint (PX4 docs, "ROS 2 Offboard Control"), MAVROS
``setpoint_raw`` and Crazyswarm2 FullState / cmd_vel_legacy.
"""

from __future__ import annotations

from enum import Enum


class CommandLevel(Enum):
    """What a setpoint commands; its ``values`` layout and size are in :data:`SETPOINT_SIZE`."""

    ACCELERATION = "acceleration"
    """World acceleration ENU (3) m/s^2 and yaw rate (1) rad/s (PX4 TrajectorySetpoint)."""
    ATTITUDE_THRUST = "attitude_thrust"
    """Attitude quaternion (4) (x, y, z, w) and collective thrust (1) N."""
    RATES_THRUST = "rates_thrust"
    """Body rates FLU (3) rad/s and collective thrust (1) N."""
    WRENCH = "wrench"
    """Collective thrust (1) N and body torques FLU (3) N m, passed to the mixer."""


SETPOINT_SIZE = {CommandLevel.ACCELERATION: 4, CommandLevel.ATTITUDE_THRUST: 5,
                 CommandLevel.RATES_THRUST: 4, CommandLevel.WRENCH: 4}
"""Number of values of a setpoint at each level."""

COMMAND_LEVELS = tuple(level.value for level in CommandLevel)
"""The level names, as config values."""


def command_level(value: str | CommandLevel) -> CommandLevel:
    """The :class:`CommandLevel` named by ``value``.

    Raises:
        ValueError: For anything else, naming the accepted values.
    """
    if isinstance(value, CommandLevel):
        return value
    if isinstance(value, str) and value in COMMAND_LEVELS:
        return CommandLevel(value)
    raise ValueError(f"command level must be one of {COMMAND_LEVELS}, got {value!r}")
