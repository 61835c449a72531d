"""Conversion speed of ``bag-to-dataset`` on a synthetic 10-minute recording.

The recording (written here with rosbags' writer into a temp dir, MCAP): 64x64 rgb8 images at
30 Hz, odometry at 100 Hz and WrenchStamped commands at 50 Hz, each with +-2 ms stamp jitter.
The figure is recording time / conversion time (read, synchronise, write the dataset), one
process; goal: at least 20x real time. Usage: ``python benchmarks/bench_bag.py [--minutes M]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from liquid_ros.bags import messages as bm
from liquid_ros.bags.convert import bag_to_dataset
from liquid_ros.bags.reader import ReadConfig
from liquid_ros.bags.writer import BagWriter
from liquid_ros.control.quadrotor import CF2X, GRAVITY

BASE = 1_700_000_000_000_000_000


def synthesise(path: Path, seconds: float, storage: str) -> int:
    """Write the recording; returns the number of messages."""
    rng = np.random.default_rng(0)
    events = []
    for topic, hz in (("camera/image_raw", 30.0), ("odom", 100.0), ("cmd_wrench", 50.0)):
        n = int(seconds * hz)
        t = np.arange(n) / hz + rng.uniform(-0.002, 0.002, n)
        t[0] = max(t[0], 0.0)
        events += [(int(BASE + round(x * 1e9)), topic) for x in t]
    events.sort()
    yy, xx = np.mgrid[0:64, 0:64]
    hover = CF2X.mass * GRAVITY
    with BagWriter(path, storage) as bag:
        for t_ns, topic in events:
            s = (t_ns - BASE) / 1e9
            if topic == "camera/image_raw":
                shift = int(s * 20) % 64
                img = np.stack([(xx + shift) % 64 * 4, yy * 4, np.full_like(xx, 90)], -1)
                bag.write(topic, t_ns, bm.image_msg(t_ns, img.astype(np.uint8)))
            elif topic == "odom":
                bag.write(topic, t_ns, bm.odometry_msg(
                    t_ns, [np.sin(s), np.cos(s), 1.0], [0, 0, np.sin(s / 4), np.cos(s / 4)],
                    [np.cos(s), -np.sin(s), 0.0], [0.0, 0.0, 0.25]))
            else:
                bag.write(topic, t_ns, bm.wrench_msg(t_ns, [hover * (1 + 0.1 * np.sin(s)),
                                                            0.0, 0.0, 0.0]))
    return len(events)


def main() -> None:
    """Run the benchmark and print the figure as the last line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="recording length")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    args = p.parse_args()
    torch.set_num_threads(1)
    seconds = args.minutes * 60.0
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "bag"
        start = time.perf_counter()
        count = synthesise(bag, seconds, args.storage)
        size = sum(f.stat().st_size for f in bag.iterdir()) / 1e6
        print(f"synthesised {count} messages ({size:.0f} MB, {args.storage}) in "
              f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        manifest, reports = bag_to_dataset(
            [bag], Path(tmp) / "data", command_topic="cmd_wrench",
            read=ReadConfig(progress=False))
        took = time.perf_counter() - start
    r = reports[0]
    print(f"{r['images']} images -> {r['samples']} samples in {r['episodes']} episodes, "
          f"dropped {r['dropped']}, clipped {r['clipped_actions']}")
    print(f"bag-to-dataset: {seconds:.0f} s recording converted in {took:.2f} s = "
          f"{seconds / took:.1f}x real time (goal >= 20x)")


if __name__ == "__main__":
    main()
