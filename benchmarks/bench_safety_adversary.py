"""Adversarial pilot through the policy node's own chain, in the full PyBullet simulation.

The pilot replaces the policy inside :class:`liquid_ros.runtime.pilot.Pilot` (stage 1 ->
the command level: acceleration setpoints to the simulated flight controller by default, or
AccelerationController -> stage 2 with ``--level wrench``; exactly what ``policy_node`` runs)
and pushes full scale
at one constraint per episode while flipping its yaw rate between +-2 rad/s every 0.1-0.4 s:

- ``floor``, ``ceiling``, ``fence``, ``sphere``, ``leader``: straight at that constraint;
- ``corner``: diagonally into the floor and a fence wall at once;
- ``charge``: flies away from the keep-out sphere for 1.5 s, then charges it at full speed;
- ``weave``: at the sphere with a full-scale lateral component that flips with the yaw.

The world (:class:`~liquid_ros.sim.leader_follow_env.LeaderFollowEnv`, 5 s episodes, its
scripted leader) has a floor at 0.3 m, a ceiling at 3 m, a +-4 m geofence, a 0.25 m keep-out
sphere 1-1.5 m from the start and the task's leader barrier. Shifts (``--mass-scale``,
``--latency`` on all inputs, ``--wind``) are applied here through the simulator's
``set_physics``/``set_external`` and a delay line on the odometry (stamped, as a node gets it).

Prints, filtered and unfiltered: crossings per 100 episodes (deeper than 0.02 m, and any) and
the worst depth for each constraint. Run from the repository root:
``PYTHONPATH=. .venv/bin/python benchmarks/bench_safety_adversary.py --episodes 200``
(about 1.5 s per episode on one core).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from liquid_ros.control.controller import AccelerationController
from liquid_ros.control.quadrotor import CF2X
from liquid_ros.ros.config import PolicyNodeConfig
from liquid_ros.runtime.decoding import OdomSample
from liquid_ros.runtime.pilot import Pilot
from liquid_ros.safety import SafetyConfig, SafetyFilter, barrier_names, barrier_values
from liquid_ros.safety.config import LEADER_FOLLOW_BARRIER
from liquid_ros.sim.leader_follow_env import LeaderFollowEnv

ATTACKS = ("floor", "ceiling", "fence", "sphere", "leader", "corner", "charge", "weave")
DEPTH_TOL = 0.02
"""Crossings deeper than this (m) count against the filter (the issue's acceptance bound)."""
SPHERE_RADIUS = 0.25


def world_config(sphere: tuple[float, float, float, float], **overrides: float) -> SafetyConfig:
    """The barriers of the adversary's world (``overrides``: other SafetyConfig fields)."""
    return SafetyConfig(**{"altitude_min": 0.3, "altitude_max": 3.0,
                           "geofence": ((-4.0, 4.0), (-4.0, 4.0)), "obstacles": (sphere,),
                           **LEADER_FOLLOW_BARRIER, **overrides})


def open_loop_config() -> SafetyConfig:
    """Stage 2 only (the unfiltered chain): no barriers, the same box and actuator limits."""
    return SafetyConfig(altitude_min=None, altitude_max=None, speed_max=None)


@dataclass
class Adversary:
    """The adversary: ``step`` returns a full-scale action (world accel, yaw rate)."""

    env: LeaderFollowEnv
    attack: str
    sphere: np.ndarray
    rng: np.random.Generator
    yaw: float = 2.0
    t: float = 0.0
    next_flip: float = 0.0
    side: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0]))

    def _target(self, pos: np.ndarray) -> np.ndarray:
        a, env = self.attack, self.env.unwrapped
        if a == "floor":
            return pos + np.array([*self.side[:2] * 0.3, -10.0])
        if a == "ceiling":
            return pos + np.array([*self.side[:2] * 0.3, 10.0])
        if a == "fence":
            return pos + 10.0 * self.side
        if a == "corner":
            return pos + 10.0 * self.side + np.array([0.0, 0.0, -10.0])
        if a == "leader":
            return env.task.leader_state(env.sim.time)[0]
        if a == "charge" and self.t < 1.5:
            return pos + (pos - self.sphere)
        return self.sphere

    def step(self, image: np.ndarray, state: np.ndarray, dt: float) -> np.ndarray:
        """Full scale towards the attack's target; the yaw rate flips sign at random times."""
        self.t += dt
        if self.t >= self.next_flip:
            self.yaw = -self.yaw
            self.next_flip = self.t + float(self.rng.uniform(0.1, 0.4))
        pos = self.env.unwrapped.sim.pos
        d = self._target(pos) - pos
        if self.attack == "weave":
            lateral = np.cross(d, [0.0, 0.0, 1.0])
            d = d / (np.linalg.norm(d) + 1e-9) + math.copysign(1.0, self.yaw) * lateral / (
                np.linalg.norm(lateral) + 1e-9)
        a = 4.0 * d / max(float(np.max(np.abs(d))), 1e-9)
        return np.append(a, self.yaw)

    def reset(self) -> None:
        """Nothing to forget (Pilot calls it on activation)."""


def run_episode(env: LeaderFollowEnv, seed: int, attack: str, filtered: bool,
                mass_scale: float = 1.0, latency: float = 0.0, wind: float = 0.0,
                seconds: float = 5.0, overrides: dict | None = None,
                level: str = "wrench") -> dict[str, float]:
    """One episode; returns the worst depth per constraint.

    The depth is ``-min b`` over the episode (m; m/s for ``speed``): positive for a crossing,
    negative for the closest clearance.
    """
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    sim = env.unwrapped.sim
    sim.set_physics(mass=CF2X.mass * mass_scale)
    heading = rng.uniform(-np.pi, np.pi)
    sim.set_external(force_world=(wind * math.cos(heading), wind * math.sin(heading), 0.0))
    start = sim.pos.copy()
    ang = rng.uniform(-np.pi, np.pi)
    sphere = start + rng.uniform(1.0, 1.5) * np.array([math.cos(ang), math.sin(ang), 0.0])
    cfg = world_config((*sphere, SPHERE_RADIUS), **(overrides or {}))
    side_ang = rng.uniform(-np.pi, np.pi)
    pilot = Adversary(env, attack, sphere, rng,
                  side=np.array([math.cos(side_ang), math.sin(side_ang), 0.0]))
    safety = SafetyFilter(cfg if filtered else open_loop_config(), CF2X)
    node_cfg = PolicyNodeConfig(rate_hz=env.unwrapped.control_hz, use_leader=True,
                                input_timeout=max(0.2, 3.0 * latency),
                                output_type="wrench" if level == "wrench" else "accel")
    loop = Pilot(pilot, safety, AccelerationController(CF2X), node_cfg, CF2X)
    image = np.zeros((8, 8, 3), np.uint8)
    task = env.unwrapped.task
    lines: deque[tuple[float, OdomSample, OdomSample]] = deque()
    names = barrier_names(cfg)
    worst = dict.fromkeys(names, -math.inf)
    t = 0.0
    loop.reset()
    for _ in range(int(round(seconds * env.unwrapped.control_hz))):
        lp, lv, _ = task.leader_state(sim.time)
        lines.append((sim.time, OdomSample(sim.pos.copy(), sim.vel.copy(), sim.quat.copy(),
                                     sim.omega.copy()),
                      OdomSample(lp, lv, np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3))))
        while len(lines) > 1 and lines[1][0] <= sim.time - latency + 1e-9:
            lines.popleft()
        stamp, own, lead = lines[0]
        loop.set_image(image, t)
        loop.set_odom(own, t, stamp=stamp - sim.time + t)
        loop.set_leader(lead, t, stamp=stamp - sim.time + t)
        res = loop.tick(t)
        _, _, terminated, _, _ = (env.step_wrench(res.wrench) if level == "wrench"
                                  else env.step_setpoint(res.values))
        t += 1.0 / env.unwrapped.control_hz
        lp, lv, _ = task.leader_state(sim.time)
        vals = barrier_values(sim.pos[None], sim.vel[None], cfg, lp[None], lv[None])[0]
        for n, v in zip(names, vals, strict=True):
            worst[n] = max(worst[n], -float(v))
        if terminated:
            break
    return worst


def summarise(results: list[dict[str, float]]) -> dict[str, tuple[float, float, float]]:
    """Per constraint: (crossings deeper than DEPTH_TOL per 100, any crossing per 100, worst)."""
    groups: dict[str, list[float]] = {}
    for r in results:
        for name, depth in r.items():
            key = "sphere" if name.startswith("obstacle") else name
            key = "fence" if key.startswith("fence") else key
            groups.setdefault(key, []).append(depth)
    n = max(len(results), 1)
    out = {}
    for key, depths in groups.items():
        per_ep = np.asarray(depths).reshape(n, -1).max(axis=1)
        out[key] = (100.0 * float(np.mean(per_ep > DEPTH_TOL)),
                    100.0 * float(np.mean(per_ep > 0.0)), float(per_ep.max()))
    return out


def run(episodes: int, filtered: bool, mass_scale: float = 1.0, latency: float = 0.0,
        wind: float = 0.0, seed0: int = 1000, overrides: dict | None = None,
        level: str = "wrench") -> tuple[list[dict[str, float]], list[str]]:
    """``episodes`` episodes cycling through :data:`ATTACKS`; returns results and attacks.

    ``level``: ``wrench`` (the pilot's controller and stage 2, straight to the mixer) or
    ``acceleration`` (setpoints to the simulated flight controller, as the launch files fly).
    """
    env = LeaderFollowEnv(camera=False, episode_seconds=5.0,
                          command_level=None if level == "wrench" else level)
    results, attacks = [], []
    try:
        for k in range(episodes):
            attack = ATTACKS[k % len(ATTACKS)]
            results.append(run_episode(env, seed0 + k, attack, filtered, mass_scale, latency,
                                       wind, overrides=overrides, level=level))
            attacks.append(attack)
    finally:
        env.close()
    return results, attacks


def main() -> None:
    """Parse options, fly filtered and unfiltered, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--mass-scale", type=float, default=1.0, help="true / modelled mass")
    ap.add_argument("--latency", type=float, default=0.0, help="odometry latency (s)")
    ap.add_argument("--wind", type=float, default=0.0, help="horizontal wind force (N)")
    ap.add_argument("--seed", type=int, default=1000, help="seed of the first episode")
    ap.add_argument("--unfiltered-episodes", type=int, default=None,
                    help="episodes without the filter (default: --episodes)")
    ap.add_argument("--level", choices=("wrench", "acceleration"), default="acceleration",
                    help="command level of the pilot (acceleration: through the simulated "
                         "flight controller, the launch files' default)")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="override SafetyConfig fields of the filtered run, e.g. gain_p1=2")
    args = ap.parse_args()
    overrides = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}
    print(f"{args.level} level, episodes {args.episodes} from seed {args.seed}, "
          f"{overrides or ''} mass "
          f"x{args.mass_scale}, latency {args.latency} s, wind {args.wind} N; crossings per "
          f"100 episodes (> {DEPTH_TOL} m | any), worst depth")
    n_open = args.episodes if args.unfiltered_episodes is None else args.unfiltered_episodes
    for filtered, n in ((True, args.episodes), (False, n_open)):
        if n <= 0:
            continue
        t0 = time.perf_counter()
        results, attacks = run(n, filtered, args.mass_scale, args.latency, args.wind,
                               args.seed, overrides, args.level)
        label = "filtered" if filtered else "unfiltered"
        print(f"{label} ({n} episodes, {time.perf_counter() - t0:.0f} s)")
        for key, (deep, anyc, depth) in summarise(results).items():
            unit = "m/s" if key == "speed" else "m"
            print(f"  {key:14s} {deep:6.1f} | {anyc:6.1f}   worst depth {depth:+.3f} {unit}")
        pos_depths = [max(v for k, v in r.items() if k != "speed") for r in results]
        print(f"  {'any position':14s} {100.0 * np.mean(np.array(pos_depths) > DEPTH_TOL):6.1f}"
              f" | {100.0 * np.mean(np.array(pos_depths) > 0.0):6.1f}   worst depth "
              f"{max(pos_depths):+.3f} m")
        by_attack: dict[str, float] = {}
        for r, a in zip(results, attacks, strict=True):
            pos_depth = max(v for k, v in r.items() if k != "speed")
            by_attack[a] = max(by_attack.get(a, -math.inf), pos_depth)
        print("  worst position depth by attack (negative: clearance): "
              + ", ".join(f"{a} {d:+.3f}" for a, d in by_attack.items()))


if __name__ == "__main__":
    main()
