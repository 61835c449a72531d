"""Shared Gymnasium plumbing of the drone tasks: spaces, control loop, camera schedule, info."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW, AccelerationController
from liquid_ros.control.rotation import quat_from_euler
from liquid_ros.sim.camera import CameraConfig
from liquid_ros.sim.conditions import Conditions, sample_conditions
from liquid_ros.sim.flight_controller import CommandLevel, FlightControllerConfig
from liquid_ros.sim.onboard import (
    OnboardLoop,
    check_setpoint,
    flight_controller_config,
    parse_command_level,
    setpoint_bounds,
)
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig
from liquid_ros.sim.randomization import RandomizationConfig, make_config
from liquid_ros.sim.scene import SceneDresser

STATE_KEYS = ("position", "velocity", "quaternion", "omega")
"""Odometry fields, in ``info`` (measured) and with a ``true_`` prefix (true)."""


def check_number(name: str, value: Any, lo: float, hi: float) -> float:
    """``value`` as a float if it is a finite number in [lo, hi]; else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return float(value)


class DroneEnv(gym.Env):
    """Base class of the drone environments (see the subclasses for the task docs).

    Args:
        render_mode: None or "rgb_array" (``render()`` returns the onboard camera image).
        camera: Render the onboard camera. With False the ``image`` observation is all zeros
            (for fast closed-loop tests of privileged experts).
        image_width: Camera image width (pixels).
        image_height: Camera image height (pixels).
        fov_deg: Vertical field of view (degrees).
        camera_hz: Camera rate (Hz), at most ``control_hz``; between frames the last image is
            repeated. None means ``control_hz``.
        control_hz: Control rate (Hz): one ``step`` holds its command (zero-order hold) over
            the physics substeps of one control period.
        physics_hz: Physics rate (Hz).
        ground_effect: Model extra thrust near the ground.
        motor_tau: Rotor-speed time constant (s); None keeps ``SimConfig``'s Crazyflie value,
            0 disables the motor lag.
        domain_randomization: Preset name (``"none"``, ``"default"``; see
            :mod:`liquid_ros.sim.randomization`) or a ``RandomizationConfig``.
        command_level: None (default, the direct path: the env's acceleration controller
            turns ``step``'s acceleration + yaw rate into a wrench once per control tick, as
            the shipped policies were trained) or a level name (``"acceleration"``,
            ``"attitude_thrust"``, ``"rates_thrust"``, ``"wrench"``): setpoints of that level
            go through the command link to a simulated onboard flight controller (see
            :mod:`liquid_ros.sim.onboard`); ``info`` then has ``flight_mode``, ``armed`` and
            ``setpoints_rejected``.
        flight_controller: That controller's ``FlightControllerConfig``, or a dict of its
            failsafe fields (``{"setpoint_timeout": 0.5, "hold_time": 5.0}``); None: defaults.
        **randomization: Single options overriding the preset (``odom_latency=0.02``,
            ``mass_scale=(0.9, 1.1)``, ...): the fields of ``RandomizationConfig``.

    Measured and true state: the observation's ``state`` and ``info``'s ``position``,
    ``velocity``, ``quaternion`` and ``omega`` are the odometry as the robot would receive it
    (delayed, at its rate, noisy), measured at ``info["odom_stamp"]``; ``true_position``,
    ``true_velocity``, ``true_quaternion`` and ``true_omega`` are the truth, which scoring,
    metrics, ``altitude``, ``distance`` and the experts use (equal without randomisation).
    ``info["conditions"]`` summarises the episode's draws.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None, camera: bool = True,
                 image_width: int = 64, image_height: int = 64, fov_deg: float = 90.0,
                 camera_hz: float | None = None, control_hz: float = 50.0,
                 physics_hz: float = 240.0, ground_effect: bool = False,
                 motor_tau: float | None = None,
                 domain_randomization: str | RandomizationConfig = "none",
                 command_level: str | CommandLevel | None = None,
                 flight_controller: FlightControllerConfig | dict | None = None,
                 **randomization: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        for name, flag in (("camera", camera), ("ground_effect", ground_effect)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be a bool, got {flag!r}")
        for name, size in (("image_width", image_width), ("image_height", image_height)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not (
                    8 <= size <= 1024):
                raise ValueError(f"{name} must be an integer in [8, 1024], got {size!r}")
        fov_deg = check_number("fov_deg", fov_deg, 10.0, 170.0)
        physics_hz = check_number("physics_hz", physics_hz, 50.0, 2000.0)
        control_hz = check_number("control_hz", control_hz, 1.0, physics_hz)
        camera_hz = control_hz if camera_hz is None else check_number(
            "camera_hz", camera_hz, 0.1, control_hz)
        self.render_mode = render_mode
        self.use_camera = camera
        self.control_hz = control_hz
        self.camera_hz = camera_hz
        self.metadata = {**self.metadata, "render_fps": control_hz}
        self.randomization = make_config(domain_randomization, **randomization)
        cam = CameraConfig(width=int(image_width), height=int(image_height), fov_deg=fov_deg)
        sim_kw: dict[str, Any] = {}
        if motor_tau is not None:
            sim_kw["motor_tau"] = check_number("motor_tau", motor_tau, 0.0, 1.0)
        self.sim = QuadrotorSim(SimConfig(physics_hz=physics_hz, ground_effect=ground_effect,
                                          camera=cam, **sim_kw))
        self.controller = AccelerationController(self.sim.params)
        self.command_level = parse_command_level(command_level)
        fc_cfg = flight_controller_config(flight_controller)
        self.onboard = None if self.command_level is None else OnboardLoop(
            self.command_level, self.sim.params, physics_hz, fc_cfg)
        self._randomized = not self.randomization.is_default
        self.conditions = Conditions(self.randomization)
        self._dresser = SceneDresser(self.sim)
        self._measured: dict[str, np.ndarray] | None = None
        self._ctrl_time: float | None = None
        self.observation_space = spaces.Dict({
            "image": spaces.Box(0, 255, (cam.height, cam.width, 3), np.uint8),
            "state": spaces.Box(-np.inf, np.inf, (10,), np.float32),
        })
        low, high = ((ACTION_LOW, ACTION_HIGH) if self.command_level is None
                     else setpoint_bounds(self.command_level, self.sim.params, fc_cfg))
        self.action_space = spaces.Box(low, high, dtype=np.float32)
        self._image = np.zeros((cam.height, cam.width, 3), np.uint8)
        self._tick = 0
        self._next_frame = 0.0
        self._task_bodies: list[int] = []

    # ----------------------------------------------------------------- hooks for subclasses
    def _reset_task(self) -> tuple[np.ndarray, float]:
        """Set up the task; return the start position (3,) and yaw (rad).

        ``self.conditions.episode.scene`` holds this episode's appearance (None fields: the
        defaults) for the task's own objects.
        """
        raise NotImplementedError

    def _default_distractors(self) -> int:
        """The env's distractor count (for random distractor colours)."""
        return 0

    def _update_scene(self, t: float) -> None:
        """Move kinematic bodies to time ``t`` (s)."""

    def _score(self, t: float, ground_contact: bool) -> tuple[float, bool, bool, dict]:
        raise NotImplementedError

    def _task_info(self) -> dict:
        return {}

    def _metrics(self) -> dict:
        raise NotImplementedError

    def expert_action(self) -> np.ndarray:
        """Privileged expert's action (4,) float32 for the current state."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[dict, dict]:
        """Start an episode; randomness comes only from ``seed`` (through ``np_random``)."""
        super().reset(seed=seed)
        for body in self._task_bodies:
            self.sim.remove_body(body)
        self._task_bodies = []
        rng = None
        if self._randomized:
            # The episode's own stream is spawned from np_random's seed sequence: it draws
            # nothing from np_random, so the task layout of a seed is the same with and
            # without randomisation (paired comparisons), and each reset spawns a new child.
            rng = self.np_random.spawn(1)[0]
            self.conditions.episode = sample_conditions(self.randomization, rng,
                                                        self._default_distractors())
        start, yaw = self._reset_task()
        s = self.sim
        if rng is not None:
            ep = self.conditions.episode
            s.set_physics(mass=s.params.mass * ep.mass_scale,
                          inertia=tuple(np.multiply(s.params.inertia, ep.inertia_scale)),
                          kf_scale=ep.kf_scale, drag_scale=ep.drag_scale)
            s.set_external()
            self._dresser.apply(ep.scene)
        s.reset(start, quat_from_euler(0.0, 0.0, yaw))
        self.controller.reset(yaw)
        self._ctrl_time = None
        self._tick = 0
        self._update_scene(0.0)
        self._next_frame = 0.0
        self._measured = None
        if rng is not None:
            self._measured = self.conditions.reset(self.conditions.episode, rng, s.state())
        if self.onboard is not None:
            self.onboard.reset(self.conditions.command if rng is not None else None)
        self._render_if_due(0.0)
        if rng is not None:
            self.conditions.camera.reset(self._image)
        info = self._info({}, s.wrench)
        return self._obs(), info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        """Fly one control period with ``action``, clipped to the action space.

        ``action`` is (4,) world acceleration (3) m/s^2 and yaw rate (1) rad/s on the direct
        path and at the acceleration level; at another ``command_level``, that level's
        setpoint.

        Raises:
            ValueError: If ``action`` has the wrong size or holds NaN or inf.
        """
        a = np.asarray(action, dtype=float).reshape(-1)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got "
                             f"{np.shape(action)}")
        if not all(map(math.isfinite, a.tolist())):
            raise ValueError(f"action must be finite (no NaN or inf), got {a}")
        space = self.action_space  # np.clip without its overhead:
        a = np.minimum(np.maximum(a, space.low), space.high)
        return self._advance(a, "setpoint" if self.onboard is not None else "accel")

    def step_setpoint(self, values: np.ndarray | None
                      ) -> tuple[dict, float, bool, bool, dict]:
        """Send a setpoint at ``command_level`` now and fly one control period.

        Unlike ``step``, the setpoint is not clipped, and a non-finite one is passed on for
        the flight controller to reject (counted in ``info["setpoints_rejected"]``, treated as
        missing). None sends nothing: the controller keeps the last setpoint until its
        timeout, then holds position and later lands (a silent companion computer).

        Raises:
            ValueError: Without a ``command_level``, or for a setpoint of the wrong size.
        """
        if self.onboard is None:
            raise ValueError("step_setpoint needs the env option command_level")
        v = None if values is None else check_setpoint(self.onboard.level, values)
        return self._advance(v, "setpoint")

    def step_wrench(self, wrench: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        """Fly one control period holding body ``wrench`` (4,): thrust N, torques N m (FLU).

        Used by the ROS sim_node, whose controller runs in the policy node. The wrench goes
        through the command link (latency, rate) like an action; it bypasses the flight
        controller of a ``command_level`` (the direct mode).

        Raises:
            ValueError: If ``wrench`` is not 4 finite numbers.
        """
        w = np.asarray(wrench, dtype=float).reshape(-1)
        if w.shape != (4,) or not np.all(np.isfinite(w)):
            raise ValueError(f"wrench must be 4 finite numbers, got {wrench!r}")
        return self._advance(w, "wrench")

    def _substeps(self) -> int:
        # Physics and control rates need not divide (240/50 = 4.8): the tick k ends at the
        # physics step nearest k / control_hz, so the clock never drifts (5, 5, 4, 5, 5, ...).
        rate = self.sim.config.physics_hz / self.control_hz
        return int(round((self._tick + 1) * rate)) - int(round(self._tick * rate))

    def _wrench(self, command: np.ndarray, accel: bool, duration: float) -> np.ndarray:
        """Wrench for ``command``; ``duration`` (s) it will be held, used on the first call."""
        s = self.sim
        if not accel:
            return command
        # The controller integrates (heading) and differentiates (its disturbance observer)
        # over the time since its previous call, which differs from the coming period when
        # ticks alternate 5 and 4 substeps or a late command splits a tick.
        dt = duration if self._ctrl_time is None else s.time - self._ctrl_time
        self._ctrl_time = s.time
        return self.controller.compute(*s.state_values(), command[:3], float(command[3]), dt)

    def _advance(self, command: np.ndarray | None, kind: str
                 ) -> tuple[dict, float, bool, bool, dict]:
        """One control period; ``kind``: "accel" (direct path), "wrench" or "setpoint"."""
        s, n = self.sim, self._substeps()
        if kind == "setpoint":
            achieved = self._fly_onboard(command, n)
        elif not self._randomized:
            achieved = s.set_wrench(self._wrench(command, kind == "accel", n * s.dt))
            s.step(n)
        else:
            achieved = self._fly(command, kind == "accel", n)
        self._tick += 1
        t = self.sim.time
        self._update_scene(t)
        ground = self.sim.ground in self.sim.contacts()
        reward, terminated, truncated, terms = self._score(t, ground)
        self._render_if_due(t)
        info = self._info(terms, achieved)
        info["dt"] = n * self.sim.dt
        if terminated or truncated:
            metrics = self._metrics()
            info["metrics"] = metrics
            info["is_success"] = bool(metrics["success"])
        return self._obs(), reward, bool(terminated), bool(truncated), info

    def _odometry_points(self, n: int) -> list[int]:
        c, s = self.conditions, self.sim
        return c.odometry_points(self._tick, s.config.physics_hz / self.control_hz, s.dt,
                                 n) if c.odom_substeps else []

    def _fly_onboard(self, setpoint: np.ndarray | None, n: int) -> np.ndarray:
        """One control period through the flight controller; returns the last wrench."""
        s, onboard = self.sim, self.onboard
        assert onboard is not None
        if setpoint is not None:
            onboard.send(s.time, setpoint)
        if not self._randomized:
            return onboard.fly(s, n)
        achieved = onboard.fly(s, n, self.conditions, self._odometry_points(n))
        self._measured = self.conditions.measured(s.time)
        return achieved

    def _fly(self, command: np.ndarray, accel: bool, n: int) -> np.ndarray:
        """One control period under the episode's conditions; returns the last wrench."""
        s, c = self.sim, self.conditions
        t0, dt = s.time, s.dt
        if c.disturbances is not None:
            s.set_external(*c.disturbances.update(t0, n * dt))
        c.command.offer(t0, command)  # dropped when the link's rate does not sample now
        achieved = s.wrench.copy()
        points = self._odometry_points(n)
        for start, count, cmd in c.plan(t0, dt, n):
            if cmd is None:  # nothing arrived yet: hold a hover (as after reset)
                cmd = np.zeros(4) if accel else np.array([s.params.weight, 0.0, 0.0, 0.0])
            # The flight controller acts on each command when it arrives and at every tick.
            achieved = s.set_wrench(self._wrench(cmd, accel, count * dt))
            done, end = start, start + count
            for j in points:
                if done < j <= end:
                    s.step(j - done)
                    done = j
                    c.record(s.time, s.state())
            if end > done:
                s.step(end - done)
        if not c.odom_substeps:
            c.record(s.time, s.state())
        self._measured = c.measured(s.time)
        return achieved

    def _render_if_due(self, t: float) -> None:
        frame = None
        if self.use_camera and t >= self._next_frame - 1e-9:
            frame = self.sim.render_camera()
            self._next_frame += 1.0 / self.camera_hz
        if self._randomized and self.conditions.camera_active and self._tick > 0:
            self._image = self.conditions.frame(t, frame)  # the frame seen after the latency
        elif frame is not None:
            self._image = frame

    def measured_state(self) -> dict[str, np.ndarray]:
        """Odometry as observed now (see the class docstring); the true state without it."""
        return self.sim.state() if self._measured is None else {
            k: np.array(v) for k, v in self._measured.items()}

    def _obs(self) -> dict:
        if self._measured is None:
            return {"image": self._image.copy(), "state": self.sim.state_vector()}
        m = self._measured
        state = np.concatenate([m["velocity"], m["quaternion"], m["omega"]]).astype(np.float32)
        return {"image": self._image.copy(), "state": state}

    def _info(self, terms: dict, wrench: np.ndarray) -> dict:
        s = self.sim
        truth = s.state()
        meas = ({k: v.copy() for k, v in truth.items()} if self._measured is None
                else self.measured_state())
        info: dict[str, Any] = {k: meas[k] for k in STATE_KEYS}
        info.update({f"true_{k}": v for k, v in truth.items()})
        if self._randomized:
            info["conditions"] = self.conditions.episode.as_info()
        if self.onboard is not None:
            info.update(self.onboard.info())
        info["odom_stamp"] = s.time if self._measured is None else self.conditions.odom_stamp
        info.update({
                "altitude": float(s.pos[2]), "time": s.time, "wrench": np.array(wrench),
                "reward_terms": {k: v for k, v in terms.items()
                                 if k.endswith(("penalty", "bonus", "progress"))}})
        info.update(self._task_info())
        info.update({k: v for k, v in terms.items() if k not in info["reward_terms"]})
        return info

    def render(self) -> np.ndarray | None:
        """Onboard camera image (H, W, 3) uint8 when ``render_mode == "rgb_array"``."""
        if self.render_mode != "rgb_array":
            return None
        return self._image.copy() if self.use_camera else self.sim.render_camera()

    def close(self) -> None:
        """Disconnect this env's PyBullet client."""
        self.sim.close()
