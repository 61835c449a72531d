"""Simulated seconds per wall second for each task, camera on, single process.

Each task runs with domain randomisation off (``"none"``) and with the full ``"default"``
preset (latency, noise, disturbances, vehicle spread, scenes), on the env's direct path
(``command_level`` None: the acceleration controller acts once per control tick) and at the
``acceleration`` command level (the simulated onboard flight controller runs at every 240 Hz
physics substep). Goal: at least 20x real time at 50 Hz control with a 64x64 camera, preset
on, onboard loop on. The privileged expert flies (its cost is included, like a policy's would
be). Besides wall-clock speed, the process's CPU time is reported, which is less sensitive to
other load on a shared machine. Last line: the slowest figure.

Run: ``python benchmarks/bench_sim.py [--seconds 60] [--presets none default]
[--levels direct acceleration]``.
"""

from __future__ import annotations

import argparse
import time

import liquid_ros.sim as lsim

TASKS = ("liquid_ros/FlyToTarget-v0", "liquid_ros/LeaderFollow-v0")


def measure(name: str, preset: str, sim_seconds: float,
            command_level: str | None = None) -> tuple[float, float]:
    """(wall, CPU) real-time factors of ``name`` under ``preset`` over ``sim_seconds``.

    ``command_level``: None for the direct path, else the level the expert's acceleration is
    sent at (only "acceleration" takes the expert's action).
    """
    env = lsim.make(name, camera=True, image_width=64, image_height=64, control_hz=50.0,
                    domain_randomization=preset, command_level=command_level)
    simulated, seed = 0.0, 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while simulated < sim_seconds:
        env.reset(seed=seed)
        seed += 1
        while True:
            _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
            if terminated or truncated:
                break
        simulated += info["time"]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    env.close()
    return simulated / wall, simulated / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated s per case")
    parser.add_argument("--presets", nargs="+", default=["none", "default"],
                        choices=sorted(lsim.PRESETS), help="domain-randomisation presets")
    parser.add_argument("--levels", nargs="+", default=["direct", "acceleration"],
                        choices=["direct", "acceleration"],
                        help="command path: direct, or the acceleration level through the "
                             "onboard flight controller")
    args = parser.parse_args()
    worst = float("inf")
    for preset in args.presets:
        for level in args.levels:
            for name in TASKS:
                wall, cpu = measure(name, preset, args.seconds,
                                    None if level == "direct" else level)
                worst = min(worst, wall)
                print(f"{name} preset={preset} command_level={level}: {wall:.1f}x real time "
                      f"(wall), {cpu:.1f}x per CPU second (50 Hz control, 64x64 camera, "
                      f"240 Hz physics)", flush=True)
    print(f"sim speed: {worst:.1f}x real time (slowest case, wall; goal >= 20x with the "
          f"default preset and the onboard loop on)")


if __name__ == "__main__":
    main()
