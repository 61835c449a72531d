"""Simulated seconds per wall second for each task, camera on, single process.

Goal: at least 10x real time at 50 Hz control with a 64x64 camera. The privileged expert flies
(its cost is included, like a policy's would be). Last line: the slower task's figure.

Run: ``python benchmarks/bench_sim.py [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import time

import liquid_ros.sim as lsim


def measure(name: str, sim_seconds: float) -> float:
    env = lsim.make(name, camera=True, image_width=64, image_height=64, control_hz=50.0)
    simulated, seed = 0.0, 0
    start = time.perf_counter()
    while simulated < sim_seconds:
        env.reset(seed=seed)
        seed += 1
        while True:
            _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
            if terminated or truncated:
                break
        simulated += info["time"]
    wall = time.perf_counter() - start
    env.close()
    return simulated / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated s per task")
    args = parser.parse_args()
    figures = {}
    for name in ("liquid_ros/FlyToTarget-v0", "liquid_ros/LeaderFollow-v0"):
        figures[name] = measure(name, args.seconds)
        print(f"{name}: {figures[name]:.1f}x real time (50 Hz control, 64x64 camera, "
              f"240 Hz physics)")
    worst = min(figures.values())
    print(f"sim speed: {worst:.1f}x real time (slowest task; goal >= 10x)")


if __name__ == "__main__":
    main()
