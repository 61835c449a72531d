"""Cost of the simulated flight controller and the sim's speed with it, camera on.

Reports the cost of one ``FlightController.update`` (us per call, at the acceleration level in
OFFBOARD and in HOLD) and the real-time factor of one quadrotor flying a slow circle at the
acceleration level with a 64x64 camera rendered at 50 Hz (as the envs do), with the onboard
loop on (update + set_wrench + one substep, every 240 Hz physics substep) and off (the wrench
held for a whole 50 Hz control period, today's direct mode). Goal: >= 20x real time with the
loop on. Last line: that figure.

Run: ``python benchmarks/bench_flight_controller.py [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from liquid_ros.control.controller import AccelerationController
from liquid_ros.sim.flight_controller import CommandLevel, FlightController
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig

PHYSICS_HZ = 240.0
CONTROL_HZ = 50.0
CAMERA_HZ = 50.0


def circle_accel(t: float) -> np.ndarray:
    """World acceleration (3,) of a 0.5 m circle at 1 rad/s, and a slow yaw rate."""
    return np.array([-0.5 * math.cos(t), -0.5 * math.sin(t), 0.0, 0.2])


def update_cost(calls: int) -> dict[str, float]:
    """Microseconds per ``update`` call in OFFBOARD (acceleration level) and in HOLD."""
    sim = QuadrotorSim(SimConfig(physics_hz=PHYSICS_HZ))
    sim.reset(np.array([0.0, 0.0, 1.0]))
    fc = FlightController(sim.params, PHYSICS_HZ)
    fc.arm()
    fc.set_setpoint(CommandLevel.ACCELERATION, circle_accel(0.0), 0.0)
    pos, vel, quat, omega = sim.pos, sim.vel, sim.quat, sim.omega
    figures = {}
    for name, t0 in (("offboard", 0.0), ("hold", 10.0)):
        fc.update(t0, pos, vel, quat, omega)
        start = time.process_time()
        for i in range(calls):
            fc.update(t0 + i / PHYSICS_HZ * 1e-3, pos, vel, quat, omega)
        figures[name] = (time.process_time() - start) / calls * 1e6
        assert fc.mode.value == name, fc.mode
    sim.close()
    return figures


def component_costs(calls: int) -> dict[str, float]:
    """CPU microseconds per call of the sim's parts the onboard loop adds up with."""
    sim = QuadrotorSim(SimConfig(physics_hz=PHYSICS_HZ))
    sim.reset(np.array([0.0, 0.0, 1.0]))
    hover = np.array([sim.params.weight, 0.0, 0.0, 0.0])
    parts = {"QuadrotorSim.step(1)": lambda: sim.step(1),
             "QuadrotorSim.set_wrench": lambda: sim.set_wrench(hover),
             "QuadrotorSim.render_camera (64x64)": sim.render_camera}
    figures = {}
    for name, call in parts.items():
        n = calls if "render" not in name else max(calls // 20, 10)
        start = time.process_time()
        for _ in range(n):
            call()
        figures[name] = (time.process_time() - start) / n * 1e6
    sim.close()
    return figures


def real_time_factor(seconds: float, onboard: bool) -> tuple[float, float]:
    """Simulated seconds per wall second and per CPU second of this process.

    Camera at 50 Hz, onboard loop on or off. The CPU figure is what an unloaded core would
    give when other processes share the machine.
    """
    sim = QuadrotorSim(SimConfig(physics_hz=PHYSICS_HZ))
    sim.reset(np.array([0.0, 0.0, 1.0]))
    fc = FlightController(sim.params, PHYSICS_HZ)
    fc.arm()
    offboard = AccelerationController(sim.params)
    substeps = int(round(PHYSICS_HZ / CONTROL_HZ))
    frames = 0
    start, cpu = time.perf_counter(), time.process_time()
    for tick in range(int(seconds * CONTROL_HZ)):
        t = sim.time
        if tick % int(round(CONTROL_HZ / CAMERA_HZ)) == 0:
            sim.render_camera()
            frames += 1
        cmd = circle_accel(t)
        if onboard:
            fc.set_setpoint(CommandLevel.ACCELERATION, cmd, t)
            for _ in range(substeps):
                sim.set_wrench(fc.update(sim.time, sim.pos, sim.vel, sim.quat, sim.omega))
                sim.step(1)
        else:
            sim.set_wrench(offboard.compute(sim.pos, sim.vel, sim.quat, sim.omega, cmd[:3],
                                            float(cmd[3]), 1.0 / CONTROL_HZ))
            sim.step(substeps)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert abs(sim.pos[2] - 1.0) < 0.5, f"the drone left its circle: {sim.pos}"
    sim.close()
    return sim.time / wall, sim.time / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="simulated s per run")
    parser.add_argument("--calls", type=int, default=20000, help="update calls timed")
    args = parser.parse_args()
    cost = update_cost(args.calls)
    print(f"FlightController.update: {cost['offboard']:.1f} us/call (offboard, acceleration "
          f"level), {cost['hold']:.1f} us/call (hold); CPU time of this process")
    for name, us in component_costs(args.calls // 4).items():
        print(f"{name}: {us:.1f} us/call (CPU)")
    off, off_cpu = real_time_factor(args.seconds, onboard=False)
    on, on_cpu = real_time_factor(args.seconds, onboard=True)
    print(f"onboard loop off (wrench held per 50 Hz tick): {off:.1f}x real time "
          f"({off_cpu:.1f}x per CPU second)")
    print(f"sim speed with onboard loop: {on:.1f}x real time ({on_cpu:.1f}x per CPU second; "
          f"240 Hz physics, 64x64 camera at {CAMERA_HZ:.0f} Hz; goal >= 20x)")


if __name__ == "__main__":
    main()
