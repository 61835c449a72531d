"""Simulated seconds per CPU second (and per wall second) for each task, camera on, 1 process.

Each task runs with domain randomisation off (``"none"``) and with the full ``"default"``
preset (latency, noise, disturbances, vehicle spread, scenes), on the env's direct path
(``command_level`` None: the acceleration controller acts once per control tick) and at the
``acceleration`` command level (the simulated onboard flight controller runs at every 240 Hz
physics substep), at 50 Hz control with a 64x64 camera.

By default the loop runs as the tasks train and fly: the shipped policies act at 10 Hz (every
5th control tick, ``action_repeat`` 5) with the camera at that rate
(``liquid_ros.rollouts.episodes.env_settings``: ``camera_hz = control_hz / action_repeat``;
frames in between would never be seen), and the privileged expert, standing in for the policy,
is queried at that rate with its action held in between, as ``ExpertEpisode`` records it (its
cost is included; a policy's inference is not). ``--action-repeat 5 1`` (the default) also
measures a pilot acting at every tick with the camera at 50 Hz, for honesty.

Speeds are steady-state: a few untimed steps first load the flight controller's compiled
kernels (about 1 s once per process, from numba's disk cache; the first run ever compiles).

Goal: at least 20x real time with the ``default`` preset, on both paths, camera at the policy
rate. The figure that counts is per CPU second of this process: wall time on a shared machine
measures the other users too (the load average is printed with it). Last line: the slowest
CPU figure of the goal's cases.

Run: ``python benchmarks/bench_sim.py [--seconds 60] [--presets none default]
[--levels direct acceleration] [--action-repeat 5 1]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this working tree

import liquid_ros.sim as lsim  # noqa: E402

TASKS = ("liquid_ros/FlyToTarget-v0", "liquid_ros/LeaderFollow-v0")
CONTROL_HZ = 50.0
"""Control rate (Hz): one env step."""


def measure(name: str, preset: str, sim_seconds: float, command_level: str | None = None,
            action_repeat: int = 5) -> tuple[float, float]:
    """(wall, CPU) real-time factors of ``name`` under ``preset`` over ``sim_seconds``.

    ``command_level``: None for the direct path, else the level the expert's acceleration is
    sent at (only "acceleration" takes the expert's action). ``action_repeat``: control ticks
    per pilot step; the camera runs at the pilot's rate.
    """
    env = lsim.make(name, camera=True, image_width=64, image_height=64, control_hz=CONTROL_HZ,
                    camera_hz=CONTROL_HZ / action_repeat, domain_randomization=preset,
                    command_level=command_level)
    env.reset(seed=10**6)  # untimed warm-up: numba loads the flight controller's kernels
    for _ in range(5):
        env.step(env.unwrapped.expert_action())
    simulated, seed = 0.0, 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while simulated < sim_seconds:
        env.reset(seed=seed)
        seed += 1
        tick = 0
        while True:
            if tick % action_repeat == 0:
                action = env.unwrapped.expert_action()
            _, _, terminated, truncated, info = env.step(action)
            tick += 1
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
    parser.add_argument("--action-repeat", nargs="+", type=int, default=[5, 1],
                        help="control ticks per pilot step (camera at the pilot's rate); the "
                             "first is the one the goal counts (5: the shipped 10 Hz policies)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    worst = float("inf")
    for repeat in args.action_repeat:
        rate = CONTROL_HZ / repeat
        for preset in args.presets:
            for level in args.levels:
                for name in TASKS:
                    wall, cpu = measure(name, preset, args.seconds,
                                        None if level == "direct" else level, repeat)
                    if repeat == args.action_repeat[0] and preset == "default":
                        worst = min(worst, cpu)
                    print(f"{name} preset={preset} command_level={level} pilot and camera at "
                          f"{rate:g} Hz: {cpu:.1f}x per CPU second, {wall:.1f}x real time "
                          f"(wall) (50 Hz control, 64x64 camera, 240 Hz physics)", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if worst < float("inf"):
        print(f"sim speed: {worst:.1f}x per CPU second (slowest case with the default preset, "
              f"pilot and camera at {CONTROL_HZ / args.action_repeat[0]:g} Hz; goal >= 20x)")


if __name__ == "__main__":
    main()
