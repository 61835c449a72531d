"""No dead start: load the policy and compile its kernels in the background, holding meanwhile.

The safety QP and the liquid cells run as numba kernels. Compiling them takes about 20 s on a
fresh install (4-7 s to load a warm cache), and importing torch 1-2 s more; done on the first
control tick, that was 20 s without a command. :class:`Startup` runs that work (the node's
policy loading and :func:`warm_kernels`, on a copy of the policy and a separate filter) in a
background thread started at configure, and logs the time. Until it is done the node flies
:class:`HoldPilot`: hold the position of the first odometry through the same
``AccelerationController``, with the wrench projected onto what every rotor can produce by
clipping rotor thrusts (the simulator's own actuator model), no QP and no policy. Nothing is
commanded before the first odometry: a command needs a state.

Free of ROS, so it is tested without rclpy.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from liquid_ros.control.controller import AccelerationController, hover_accel, land_accel
from liquid_ros.control.quadrotor import QuadrotorParams
from liquid_ros.control.rotation import yaw_from_quat


def warm_kernels(policy: Any, make_safety: Callable[[], Any], image_size: tuple[int, int],
                 state_size: int = 10) -> None:
    """Run every kernel once: the policy's step (on a copy) and both filter stages.

    Args:
        policy: A LiquidPolicy (deep-copied here; the original is not stepped).
        make_safety: Builds a SafetyFilter with the node's configuration.
        image_size: Policy input (height, width).
        state_size: Policy state size.
    """
    pol = copy.deepcopy(policy)
    pol.reset()
    image = np.zeros((*image_size, 3), np.uint8)
    for _ in range(2):  # first step compiles, second takes the held-state path
        pol.step(image, np.zeros(state_size, np.float32), 0.05)
    safety = make_safety()
    pos, vel = np.array([0.0, 0.0, 1.0]), np.array([0.1, 0.0, 0.0])
    safety.filter_accel(pos, vel, np.array([0.0, 0.0, -4.0]))
    safety.filter_accel(pos, vel, np.array([1.0, 0.0, 0.0]), leader_pos=np.array([1.0, 0, 1.0]),
                        leader_vel=np.zeros(3), gains=np.array([1.0, 1.0]))
    # The tick the node runs (one compiled kernel per stage; see safety.tick_kernels).
    safety.filter_action(pos, vel, np.array([0.0, 0.0, -4.0, 1.0]), dt=0.02)
    safety.filter_wrench(np.array([0.3, 1e-3, -1e-3, 1e-4]))
    safety.filter_wrench(np.array([0.6, 1e-2, 0.0, 0.0]))  # saturated: the QP path too
    # The simulated flight controller's cascade (sim_node's env at a command level): compiled
    # into numba's disk cache here too, so a sim started beside the node loads it.
    from liquid_ros.sim import fc_kernels

    fc_kernels.warm()


class Startup:
    """Runs ``build()`` (import torch, load the policy, compile the kernels) off the main thread.

    ``build`` returns whatever the caller needs (the node: a ready Pilot); ``result`` holds
    it once ``done`` is set, or ``error`` says why it failed.

    Args:
        build: The work; called once, in a daemon thread (or inline with ``background=False``).
        background: Run in a thread; False runs it before returning (a blocking configure).
        log: Called once with a line saying how long it took (or why it failed).
        delay: With ``background``, start the thread only after this many seconds, unless
            :meth:`start_now` comes first. Importing torch holds the GIL for a second or two,
            so the node sends its first (hold) command before the heavy work begins.
    """

    def __init__(self, build: Callable[[], Any], background: bool = True,
                 log: Callable[[str], None] = print, delay: float = 0.0) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error = ""
        self.seconds = float("nan")
        self._build, self._log = build, log
        self._start = time.perf_counter()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None
        if not background:
            self._run()
        elif delay > 0.0:
            self._timer = threading.Timer(delay, self.start_now)
            self._timer.daemon = True
            self._timer.start()
        else:
            self.start_now()

    def start_now(self) -> None:
        """Start the background work now if it has not started (safe to call repeatedly)."""
        with self._started:
            if self._thread is not None or self.done.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="liquid_ros-startup",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._build()
        except Exception as exc:  # noqa: BLE001 - reported to the node, which lands
            self.error = f"{type(exc).__name__}: {exc}"
        self.seconds = time.perf_counter() - self._start
        self._log(f"policy and kernels ready after {self.seconds:.1f} s" if not self.error
                  else f"start-up failed after {self.seconds:.1f} s: {self.error}")
        self.done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (or ``timeout`` s); True if done."""
        return self.done.wait(timeout)


class HoldPilot:
    """Position hold without the QP or the policy, for the seconds before the kernels exist.

    Args:
        params: Quadrotor model (controller and rotor limits).
        controller: Controller settings source; a private copy is used.
    """

    def __init__(self, params: QuadrotorParams, controller: AccelerationController) -> None:
        self.params = params
        self.controller = AccelerationController(params, controller.config)
        self._mixer = params.mixer()
        self.hold: np.ndarray | None = None
        self.landing = False
        self.accel = np.zeros(3)
        """The last commanded world acceleration (the setpoint at the acceleration level)."""
        """Descend (``land_accel``) instead of holding: start-up failed or emergency stop."""

    def command(self, odom: Any | None, dt: float, level: Any, reason: str) -> Any:
        """The hold as a pilot :class:`~liquid_ros.runtime.command.Command` at ``level``.

        Mode ``warmup`` (``land`` when landing); the acceleration level sends the hold's
        acceleration setpoint, the wrench level its rotor-feasible wrench. None without
        odometry.
        """
        from liquid_ros.control.levels import CommandLevel
        from liquid_ros.runtime.command import Command, Mode

        wrench = self.tick(odom, dt)
        if wrench is None:
            return None
        mode = Mode.LAND if self.landing else Mode.WARMUP
        if level in (CommandLevel.ATTITUDE_THRUST, CommandLevel.RATES_THRUST):
            values = self._thrust_setpoint(level)
        else:
            values = wrench if level == CommandLevel.WRENCH else np.append(self.accel, 0.0)
        return Command(level, values, wrench if level == CommandLevel.WRENCH else None,
                       self.accel.copy(), 0.0, np.zeros(4, np.float32), mode, reason, dt,
                       None, {"mode": mode, "reason": reason})

    def _thrust_setpoint(self, level: Any) -> np.ndarray:
        """The hold at a thrust level, as the pilot forms it (:mod:`runtime.levels`)."""
        from liquid_ros.runtime.levels import thrust_setpoint

        target = self.controller.target
        return thrust_setpoint(level, target, float(np.clip(target[0], 0.0,
                                                            self.params.max_thrust)))

    def tick(self, odom: Any | None, dt: float) -> np.ndarray | None:
        """Wrench (4,) holding the first position seen, or None without odometry.

        Args:
            odom: Latest OdomSample (position, velocity, quaternion, angular_velocity) or None.
            dt: Seconds since the last tick.
        """
        if odom is None:
            return None
        if self.hold is None:
            self.hold = np.array(odom.position, dtype=float)
            self.controller.reset(yaw_from_quat(odom.quaternion))
        accel = (land_accel(odom.position, odom.velocity) if self.landing
                 else hover_accel(odom.position, odom.velocity, self.hold))
        self.accel = accel
        wrench = self.controller.compute(odom.position, odom.velocity, odom.quaternion,
                                         odom.angular_velocity, accel, 0.0, dt)
        out = self._mixer @ self.params.feasible_thrusts(wrench)
        if not np.all(np.isfinite(out)):
            return np.array([self.params.weight, 0.0, 0.0, 0.0])
        return out


def main(argv: list[str] | None = None) -> int:
    """``liquid-ros warmup``: compile (or load) every numba kernel into the cache, timed.

    Run once after installing (``make venv`` does), so the first launch loads cached kernels
    instead of compiling them while the drone holds position.
    """
    import argparse

    from liquid_ros.runtime.policy_source import load_or_init_policy
    from liquid_ros.safety.filter import SafetyFilter

    parser = argparse.ArgumentParser(prog="liquid-ros warmup", description=main.__doc__)
    parser.add_argument("--task", default="fly_to_target",
                        help="shipped checkpoint to warm the policy kernels with")
    args = parser.parse_args(argv)
    def build() -> None:
        policy, _, _ = load_or_init_policy("", args.task)
        warm_kernels(policy, SafetyFilter, (64, 64))

    return 1 if Startup(build, background=False, log=print).error else 0


class PilotStartup(Startup):
    """policy_node's start-up: load the pilot in the background, hold position meanwhile.

    The background work imports torch, loads the checkpoint into a
    :class:`~liquid_ros.runtime.pilot.Pilot` (:func:`~liquid_ros.runtime.policy_source.make_pilot`,
    which refuses a configuration that does not fit the checkpoint) and runs
    :func:`warm_kernels`; ``result`` is then the :class:`LoadedPilot`. Until then
    :meth:`command` flies :attr:`hold` (a :class:`HoldPilot`), landing if start-up failed.

    Args:
        settings: The node's PilotSettings (read on the caller's thread).
        background: Load in a thread (False blocks).
        log: Logger function for the timing line.
        params: Quadrotor model.
    """

    def __init__(self, settings: Any, background: bool, log: Callable[[str], None],
                 params: QuadrotorParams | None = None) -> None:
        from liquid_ros.control.quadrotor import CF2X

        self.params = params or CF2X
        self.settings = settings
        controller = AccelerationController(self.params, settings.controller)
        self.hold = HoldPilot(self.params, controller)
        super().__init__(lambda: self._load(controller), background, log=log, delay=1.0)

    def _load(self, controller: AccelerationController) -> Any:
        import torch

        from liquid_ros.runtime.policy_source import make_pilot
        from liquid_ros.safety.filter import SafetyFilter

        torch.set_num_threads(self.settings.node.torch_threads)
        loaded = make_pilot(self.settings, params=self.params, controller=controller)
        warm_kernels(loaded.policy, lambda: SafetyFilter(self.settings.safety, self.params),
                     loaded.image_size)
        return loaded

    def command(self, odom: Any | None) -> Any:
        """The hold (or, after a failed start-up, landing) command; None without odometry."""
        failed = bool(self.error)
        self.hold.landing |= failed
        reason = f"start-up failed: {self.error}" if failed else "loading the policy"
        return self.hold.command(odom, 1.0 / self.settings.node.rate_hz,
                                 self.settings.command_level, reason)

    def install(self, log: Any) -> Any:
        """The loaded pilot, reset, with its source logged (``log``: a ROS logger)."""
        loaded = self.result
        if loaded.warning:
            log.warning(loaded.warning)
        rate = self.settings.node.rate_hz
        log.info(f"flying {loaded.source} at {rate} Hz ({loaded.pilot.level.value} level)"
                 + (f", policy every {loaded.period:.3f} s as trained" if loaded.period
                    else ""))
        loaded.pilot.reset()
        return loaded
