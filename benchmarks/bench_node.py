"""policy_node timing at 100 Hz beside the rclpy floor (a node that only republishes).

A feeder process publishes a 64x64 rgb8 camera and odometry at 100 Hz over DDS; this process
runs, one after the other, (1) a bare rclpy node whose 100 Hz timer republishes the newest
odometry, and (2) policy_node at ``rate_hz`` 100 (untrained LiquidPolicy, SafetyFilter,
controller). For each: missed ticks (timer gaps beyond 1.5 periods), tick-period jitter
|period - 1/rate| (p50/p99) and compute per tick (p50/p99).

Goals: no missed ticks, p99 compute under 5 ms, p99 jitter within 2x the bare node's.

    .venv/bin/python benchmarks/bench_node.py --duration 60
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np

RATE = 100.0


def feeder(duration: float, rate: float) -> None:
    """Publish camera and odometry at ``rate`` Hz for ``duration`` s (child process)."""
    import rclpy
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import Image

    from liquid_ros.ros.image_conversion import rgb_to_image_msg
    from liquid_ros.ros.messages import SENSOR_QOS

    rclpy.init()
    node = rclpy.create_node("bench_feeder")
    pub_i = node.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
    pub_o = node.create_publisher(Odometry, "odom", SENSOR_QOS)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    k = [0]

    def tick() -> None:
        img = rgb_to_image_msg(frames[k[0] % 8], Image())
        img.header.stamp = node.get_clock().now().to_msg()
        od = Odometry()
        od.header.stamp = img.header.stamp
        od.pose.pose.position.z = 1.0
        od.pose.pose.orientation.w = 1.0
        pub_i.publish(img)
        pub_o.publish(od)
        k[0] += 1

    node.create_timer(1.0 / rate, tick)
    end = time.monotonic() + duration
    try:
        while time.monotonic() < end and rclpy.ok():
            rclpy.spin_once(node, timeout_sec=0.05)
    except Exception:  # noqa: BLE001 - interrupted by the parent at the end
        pass
    node.destroy_node()
    rclpy.try_shutdown()


def stats(starts: list[float], computes: list[float], rate: float) -> dict[str, float]:
    """Missed ticks, jitter and compute figures (ms) from tick start times and durations."""
    period = 1.0 / rate
    gaps = np.diff(np.asarray(starts))
    missed = int(np.sum(np.maximum(np.rint(gaps / period) - 1, 0)[gaps > 1.5 * period]))
    jitter = np.abs(gaps - period) * 1e3
    comp = np.asarray(computes) * 1e3
    return {"ticks": len(starts), "missed": missed,
            "jitter_p50": float(np.percentile(jitter, 50)),
            "jitter_p99": float(np.percentile(jitter, 99)),
            "compute_p50": float(np.percentile(comp, 50)),
            "compute_p99": float(np.percentile(comp, 99))}


def run_bare(duration: float, warmup: float) -> dict[str, float]:
    import rclpy
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import Image

    from liquid_ros.ros.messages import COMMAND_QOS, SENSOR_QOS

    node = rclpy.create_node("bench_bare")
    latest: dict[str, object] = {}
    node.create_subscription(Image, "camera/image_raw", lambda m: latest.__setitem__("i", m),
                             SENSOR_QOS)
    node.create_subscription(Odometry, "odom", lambda m: latest.__setitem__("o", m),
                             SENSOR_QOS)
    pub = node.create_publisher(Odometry, "bench_bare/out", COMMAND_QOS)
    log: list[tuple[float, float]] = []

    def tick() -> None:
        t = time.perf_counter()
        if "o" in latest:
            pub.publish(latest["o"])
        log.append((t, time.perf_counter() - t))

    node.create_timer(1.0 / RATE, tick)
    _spin(node, warmup + duration)
    node.destroy_node()
    keep = [x for x in log if x[0] >= log[0][0] + warmup]
    return stats([s for s, _ in keep], [c for _, c in keep], RATE)


def run_policy(duration: float, warmup: float) -> dict[str, float]:
    from rclpy.parameter import Parameter

    from liquid_ros.ros.policy_node import PolicyNode

    node = PolicyNode(parameter_overrides=[Parameter("rate_hz", value=RATE)])
    node.autostart()
    _spin(node, warmup + duration)
    log = list(node.tick_log)
    modes = node.pilot.counters
    node.destroy_node()
    keep = [x for x in log if x[0] >= log[0][0] + warmup]
    out = stats([s for s, _ in keep], [c for _, c in keep], RATE)
    out["policy_ticks_frac"] = modes["policy_ticks"] / max(modes["ticks"], 1)
    return out


def _spin(node: object, seconds: float) -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    ex = SingleThreadedExecutor()
    ex.add_node(node)
    end = time.monotonic() + seconds
    while time.monotonic() < end and rclpy.ok():
        ex.spin_once(timeout_sec=0.05)
    ex.remove_node(node)


def _line(name: str, s: dict[str, float]) -> str:
    return (f"{name:12s} ticks {s['ticks']:6d}  missed {s['missed']:3d}  "
            f"jitter p50 {s['jitter_p50']:.3f} ms p99 {s['jitter_p99']:.3f} ms  "
            f"compute p50 {s['compute_p50']:.3f} ms p99 {s['compute_p99']:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per node")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds ignored at the start")
    a = ap.parse_args(argv)
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(101, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import torch
    torch.set_num_threads(1)
    import rclpy

    total = 2 * (a.duration + a.warmup) + 8.0
    proc = mp.get_context("spawn").Process(target=feeder, args=(total, RATE))
    proc.start()
    rclpy.init()
    try:
        time.sleep(1.0)
        bare = run_bare(a.duration, a.warmup)
        print(_line("bare rclpy", bare), flush=True)
        pol = run_policy(a.duration, a.warmup)
        print(_line("policy_node", pol) + f"  (policy ran {pol['policy_ticks_frac']:.0%})",
              flush=True)
    finally:
        rclpy.try_shutdown()
        proc.terminate()
        proc.join()
    ratio = pol["jitter_p99"] / max(bare["jitter_p99"], 1e-9)
    ok = pol["missed"] == 0 and pol["compute_p99"] < 5.0 and ratio <= 2.0
    print(f"SUMMARY {RATE:.0f} Hz {a.duration:.0f} s: missed {pol['missed']} (bare "
          f"{bare['missed']}), jitter p99 {pol['jitter_p99']:.3f} ms vs bare "
          f"{bare['jitter_p99']:.3f} ms ({ratio:.2f}x), compute p99 {pol['compute_p99']:.3f} ms"
          f" vs bare {bare['compute_p99']:.3f} ms -> {'GOALS MET' if ok else 'GOALS MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
