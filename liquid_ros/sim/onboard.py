"""A drone env's setpoint path: command link -> simulated onboard flight controller -> rotors.

With a ``command_level`` set, :class:`~liquid_ros.sim.drone_env.DroneEnv` stands in for a
drone with an autopilot (PX4, a Crazyflie): the policy's setpoints go through the command link
(latency, rate) to a :class:`~liquid_ros.sim.flight_controller.FlightController` that runs at
EVERY physics substep on the true state (an autopilot's own estimate, not the delayed odometry
the policy sees), armed at reset and holding position until the first setpoint arrives. Each
setpoint is stamped with the time it was sent, so a policy that stops sending meets the
controller's timeout -> hold -> land failsafe.

:class:`OnboardLoop` runs that path for the env; :func:`parse_command_level`,
:func:`setpoint_bounds` and :func:`flight_controller_config` validate the env's options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.control.quadrotor import QuadrotorParams
from liquid_ros.sim.conditions import Conditions
from liquid_ros.sim.flight_controller import (
    SETPOINT_SIZE,
    CommandLevel,
    FlightController,
    FlightControllerConfig,
)
from liquid_ros.sim.quadrotor_sim import QuadrotorSim
from liquid_ros.sim.sensors import DelayLine

COMMAND_LEVELS = tuple(level.value for level in CommandLevel)
"""Accepted ``command_level`` values."""


def parse_command_level(value: str | CommandLevel | None) -> CommandLevel | None:
    """The :class:`CommandLevel` named by ``value``; None (the env's direct path) stays None.

    Raises:
        ValueError: For any other value, naming the option and the accepted ones.
    """
    if value is None or isinstance(value, CommandLevel):
        return value
    if isinstance(value, str) and value in COMMAND_LEVELS:
        return CommandLevel(value)
    raise ValueError(f"command_level must be None or one of {COMMAND_LEVELS}, got {value!r}")


def flight_controller_config(value: FlightControllerConfig | dict[str, Any] | None
                             ) -> FlightControllerConfig:
    """A validated :class:`FlightControllerConfig` from a config, a dict of its fields or None.

    A dict (as from ``--env-arg`` or sim_node's ``env_args`` JSON) sets the failsafe fields
    (``setpoint_timeout``, ``hold_time``, ``land_speed``, ...); gains need a config object.

    Raises:
        ValueError: For an unknown field or a bad value, naming it.
    """
    if value is None:
        return FlightControllerConfig()
    if isinstance(value, dict):
        names = {f.name for f in dataclasses.fields(FlightControllerConfig)} - {"gains"}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"flight_controller: unknown field(s) {unknown}; accepted: "
                             f"{sorted(names)}")
        try:
            value = FlightControllerConfig(**{k: float(v) for k, v in value.items()})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"flight_controller: {exc}") from exc
    if not isinstance(value, FlightControllerConfig):
        raise ValueError(f"flight_controller must be a FlightControllerConfig, a dict or None, "
                         f"got {value!r}")
    value.validate()
    return value


def setpoint_bounds(level: CommandLevel, params: QuadrotorParams,
                    config: FlightControllerConfig) -> tuple[np.ndarray, np.ndarray]:
    """Action-space bounds (low, high) float32 of a setpoint at ``level``.

    Acceleration: the policy's bounds (``ACTION_LOW``, ``ACTION_HIGH``). Attitude + thrust: a
    quaternion's components in [-1, 1] and the collective thrust in [0, max]. Rates + thrust:
    the attitude loop's rate limits. Wrench: what four rotors in [0, max] thrust can make.
    """
    t_max = params.max_thrust
    if level is CommandLevel.ACCELERATION:
        return ACTION_LOW.copy(), ACTION_HIGH.copy()
    if level is CommandLevel.ATTITUDE_THRUST:
        return (np.array([-1.0] * 4 + [0.0], np.float32),
                np.array([1.0] * 4 + [t_max], np.float32))
    if level is CommandLevel.RATES_THRUST:
        rates = np.asarray(config.gains.max_rates, float)
        return (np.append(-rates, 0.0).astype(np.float32),
                np.append(rates, t_max).astype(np.float32))
    mixer = params.mixer() * params.max_rotor_thrust  # rows: wrench per rotor at full thrust
    return (np.minimum(mixer, 0.0).sum(axis=1).astype(np.float32),
            np.maximum(mixer, 0.0).sum(axis=1).astype(np.float32))


def check_setpoint(level: CommandLevel, values: Any) -> np.ndarray:
    """``values`` as a float array of the size ``level`` takes (NaN kept: the FC rejects it).

    Raises:
        ValueError: For the wrong size.
    """
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.shape != (SETPOINT_SIZE[level],):
        raise ValueError(f"a {level.value} setpoint has {SETPOINT_SIZE[level]} values, got "
                         f"shape {np.shape(values)}")
    return arr


class OnboardLoop:
    """The flight controller of a drone env and the link that feeds it.

    Args:
        level: Level of the setpoints the env sends.
        params: Nominal airframe (the controller's model; the true vehicle may differ).
        physics_hz: Physics rate (Hz): the controller runs at every substep.
        config: Failsafe timing and gains.
    """

    def __init__(self, level: CommandLevel, params: QuadrotorParams, physics_hz: float,
                 config: FlightControllerConfig) -> None:
        self.level = level
        self.fc = FlightController(params, physics_hz, config)
        self._link: DelayLine | None = None
        self._key = 0

    def reset(self, link: DelayLine | None) -> None:
        """New episode: disarm, forget, arm (hold here until setpoints stream).

        Args:
            link: The episode's command link (reset, holding None), or None for an
                instantaneous one.
        """
        self.fc.reset()
        self.fc.arm()
        self._link, self._key = link, 0

    def send(self, t: float, values: np.ndarray) -> None:
        """Send a setpoint at time ``t`` (s); it reaches the controller after the link."""
        if self._link is None:
            self.fc.set_setpoint(self.level, values, t)
        else:  # the link may drop it when its rate does not sample now, as a real one would
            self._link.offer(t, (t, values))

    def fly(self, sim: QuadrotorSim, n: int, conditions: Conditions | None = None,
            odometry_points: Sequence[int] = ()) -> np.ndarray:
        """Fly ``n`` physics substeps, the controller acting before each one.

        Args:
            sim: The simulated quadrotor.
            n: Number of substeps.
            conditions: The episode's conditions (disturbances, odometry link), if any.
            odometry_points: Substeps j in 1..n after which the odometry link samples (see
                :meth:`~liquid_ros.sim.conditions.Conditions.odometry_points`).

        Returns:
            The last commanded wrench (4,) after the rotor limits.
        """
        c, points = conditions, set(odometry_points)
        if c is not None and c.disturbances is not None:
            sim.set_external(*c.disturbances.update(sim.time, n * sim.dt))
        fc, link = self.fc, self._link
        for j in range(1, n + 1):
            t = sim.time
            if link is not None:
                key, item = link.sample(t)
                if key != self._key:  # a setpoint arrived: stamped with its send time
                    self._key = key
                    if item is not None:
                        fc.set_setpoint(self.level, item[1], item[0])
            sim.set_wrench_values(*fc.update_values(t, *sim.state_values()))
            sim.step(1)
            if c is not None and j in points:
                c.record(sim.time, sim.state())
        if c is not None and not c.odom_substeps:
            c.record(sim.time, sim.state())
        return sim.wrench.copy()

    def info(self) -> dict[str, Any]:
        """``flight_mode`` (a FlightMode value), ``armed`` and ``setpoints_rejected``."""
        fc = self.fc
        return {"flight_mode": fc.mode.value, "armed": fc.armed,
                "setpoints_rejected": fc.rejected}
