"""Shipped policies through the policy node's chain under model error: success and violations.

Each episode flies a shipped checkpoint inside :class:`liquid_ros.runtime.pilot.Pilot`
(policy at its trained period -> stage 1 -> controller -> stage 2, with the evaluation's
safety settings ``safety_config_for(task)``) in the full simulation, camera on. Shifts, one at a
time or together: ``--mass-scale`` (true / modelled mass), ``--latency`` (s, on all inputs:
image, odometry, leader; stamped as a node receives them) and ``--wind`` (N, horizontal, random
heading). Prints the success rate and the episodes with a safety violation: below the
altitude floor, a crash (ground contact or under 0.05 m), a leader collision, the speed limit
broken. Run from the repository root, e.g.
``PYTHONPATH=. .venv/bin/python benchmarks/bench_safety_shifts.py --task fly_to_target
--episodes 20 --latency 0.04``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import deque

import numpy as np

import liquid_ros.sim as lsim
from liquid_ros.control.controller import AccelerationController
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.rollouts.policy_episode import load_cached, safety_config_for
from liquid_ros.ros.config import PolicyNodeConfig
from liquid_ros.runtime.pilot import Pilot
from liquid_ros.runtime.policy_source import policy_period, shipped_checkpoint
from liquid_ros.safety import SafetyFilter, barrier_names, barrier_values

ENVS = {"fly_to_target": "liquid_ros/FlyToTarget-v0",
        "leader_follow": "liquid_ros/LeaderFollow-v0"}


class Odom:
    """Odometry sample with the fields Pilot reads."""

    def __init__(self, pos, vel, quat, omega) -> None:  # noqa: D107
        self.position, self.velocity = np.array(pos), np.array(vel)
        self.quaternion, self.angular_velocity = np.array(quat), np.array(omega)

    def state(self) -> np.ndarray:
        """Policy state (10,) float32."""
        return np.concatenate([self.velocity, self.quaternion,
                               self.angular_velocity]).astype(np.float32)


def episode(env, task: str, seed: int, policy, period: float, mass_scale: float,
            latency: float, wind: float) -> dict:
    """One episode; returns success and violation flags."""
    cfg = safety_config_for(task)
    leader = task == "leader_follow"
    obs, _ = env.reset(seed=seed)
    sim = env.unwrapped.sim
    rng = np.random.default_rng(seed)
    sim.set_physics(mass=CF2X.mass * mass_scale)
    heading = rng.uniform(-np.pi, np.pi)
    sim.set_external(force_world=(wind * math.cos(heading), wind * math.sin(heading), 0.0))
    node_cfg = PolicyNodeConfig(rate_hz=env.unwrapped.control_hz, use_leader=leader,
                                input_timeout=max(0.2, 3.0 * latency))
    loop = Pilot(policy, SafetyFilter(cfg, CF2X), AccelerationController(CF2X), node_cfg,
                      CF2X, policy_period=period)
    loop.reset()
    names = barrier_names(cfg)
    lines: deque = deque()
    worst = dict.fromkeys(names, math.inf)
    crashed = collided = False
    t, info = 0.0, {}
    while True:
        lead = None
        if leader:
            lp, lv, _ = env.unwrapped.task.leader_state(sim.time)
            lead = Odom(lp, lv, (0, 0, 0, 1.0), np.zeros(3))
        lines.append((sim.time, obs["image"], Odom(sim.pos, sim.vel, sim.quat, sim.omega), lead))
        while len(lines) > 1 and lines[1][0] <= sim.time - latency + 1e-9:
            lines.popleft()
        stamp, image, own, lead = lines[0]
        stamp = stamp - sim.time + t
        loop.set_image(image, t)
        loop.set_odom(own, t, stamp=stamp)
        if lead is not None:
            loop.set_leader(lead, t, stamp=stamp)
        res = loop.tick(t)
        obs, _, terminated, truncated, info = env.step_wrench(res.wrench)
        t += 1.0 / env.unwrapped.control_hz
        lp = lv = None
        if leader:
            lp, lv, _ = env.unwrapped.task.leader_state(sim.time)
            lp, lv = lp[None], lv[None]
            collided |= bool(info.get("collision", False))
        vals = barrier_values(sim.pos[None], sim.vel[None], cfg, lp, lv)[0]
        for n, v in zip(names, vals, strict=True):
            worst[n] = min(worst[n], float(v))
        crashed |= bool(sim.ground in sim.contacts()) or sim.pos[2] < 0.05
        if terminated or truncated:
            break
    return {"success": bool(info.get("is_success", False)), "crash": crashed,
            "collision": collided, "floor": worst.get("altitude_min", math.inf) < 0.0,
            "speed": worst.get("speed", math.inf) < 0.0, "worst": worst}


def main() -> None:
    """Parse options, fly, print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=sorted(ENVS), default="fly_to_target")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=100000, help="first (held-out) seed")
    ap.add_argument("--mass-scale", type=float, default=1.0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--wind", type=float, default=0.0)
    args = ap.parse_args()
    policy = load_cached(str(shipped_checkpoint(args.task)))
    period = policy_period(policy)
    env = lsim.make(ENVS[args.task], camera=True)
    t0 = time.perf_counter()
    rows = []
    try:
        for k in range(args.episodes):
            rows.append(episode(env, args.task, args.seed + k, policy, period,
                                args.mass_scale, args.latency, args.wind))
    finally:
        env.close()
    n = len(rows)
    count = {key: sum(r[key] for r in rows) for key in
             ("success", "crash", "collision", "floor", "speed")}
    least = {k: min(r["worst"][k] for r in rows) for k in rows[0]["worst"]}
    print(f"{args.task}: {n} episodes from seed {args.seed}, mass x{args.mass_scale}, latency "
          f"{args.latency} s, wind {args.wind} N ({time.perf_counter() - t0:.0f} s)")
    print(f"  success {100.0 * count['success'] / n:.0f} %; violations (episodes): crash "
          f"{count['crash']}, below floor {count['floor']}, collision {count['collision']}, "
          f"speed {count['speed']}")
    print("  least barrier value: " + ", ".join(f"{k} {v:+.3f}" for k, v in least.items()))


if __name__ == "__main__":
    main()
