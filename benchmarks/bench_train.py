"""Training throughput of the image policy: the legacy encoder against the default one.

One training step as ``Trainer.train_step`` takes it (forward, masked MSE, backward, gradient
clipping, Adam) on a batch of 16 windows x 64 steps of 64x64 RGB images, for the shipped
``fly_to_target.pt`` architecture (CfC-NCP head) with its legacy ``encoder="conv"`` and with
today's default ``PolicyConfig.encoder``. Frames per second = 16 x 64 / the median step time;
the two are timed in alternating blocks, so a busy machine slows both alike. The batch's
augmentation (``sequences.augment``, the same for both) is timed apart and a full-step rate
including it is printed for information. Goal: >= 3x.

One torch thread by default, as ``liquid-ros train --threads``: on this 2-core machine shared
with other jobs (load 4), 2 threads made both paths 2-3x slower than 1 (OpenMP threads wait
for a busy core). Run: ``.venv/bin/python benchmarks/bench_train.py [--threads 1]
[--blocks 5]`` (under a minute).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquid_ros.models.checkpoint import load_checkpoint  # noqa: E402
from liquid_ros.models.policy import LiquidPolicy, PolicyConfig  # noqa: E402
from liquid_ros.train.sequences import AugmentConfig, Batch, augment  # noqa: E402
from liquid_ros.train.trainer import TrainConfig, Trainer  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "liquid_ros" / "checkpoints" / "fly_to_target.pt"
BATCH, STEPS = 16, 64


def shipped_config() -> PolicyConfig:
    """The architecture of the shipped fly_to_target checkpoint (legacy fields filled in)."""
    return PolicyConfig.from_dict(load_checkpoint(SHIPPED)["config"])


def synthetic_batch(config: PolicyConfig, seed: int = 0) -> Batch:
    """A (BATCH, STEPS) batch of random uint8 images, states and labels, no padding."""
    g = torch.Generator().manual_seed(seed)
    h, w, c = config.image_height, config.image_width, config.image_channels
    images = torch.randint(0, 256, (BATCH, STEPS, h, w, c), generator=g, dtype=torch.uint8)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    return Batch(images, randn(BATCH, STEPS, config.state_dim), torch.full((BATCH, STEPS), 0.1),
                 randn(BATCH, STEPS, config.action_dim), torch.ones(BATCH, STEPS),
                 randn(BATCH, STEPS, 3), randn(BATCH, STEPS, 3), randn(BATCH, STEPS, 3))


def median_seconds(fns: list, blocks: int) -> list[float]:
    """Median seconds per call of each function, timed in alternating blocks."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(blocks):
        for fn, out in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    """Print the throughput table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--blocks", type=int, default=5, help="timed steps of each path")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    legacy = dataclasses.replace(shipped_config(), encoder="conv")
    default = dataclasses.replace(legacy, encoder=PolicyConfig.encoder)
    gen = torch.Generator().manual_seed(0)
    batch = augment(synthetic_batch(legacy), AugmentConfig(), gen)
    trainers = [Trainer(LiquidPolicy(c), TrainConfig()) for c in (legacy, default)]
    steps = [lambda t=t: t.train_step(batch) for t in trainers]
    for step in steps:  # warm-up: allocator, numba kernels
        step()
    raw = synthetic_batch(legacy, seed=1)
    seconds = median_seconds([*steps, lambda: augment(raw, AugmentConfig(), gen)], args.blocks)
    (old, new, aug), frames = seconds, BATCH * STEPS
    print(f"training throughput, batch {BATCH} x {STEPS} steps of "
          f"{legacy.image_height}x{legacy.image_width} RGB, cell {legacy.cell}, "
          f"{args.threads} thread(s), median of {args.blocks}")
    print(f"{'path':34s} {'step ms':>8s} {'frames/s':>9s} {'+augment frames/s':>18s}")
    for name, s in (("legacy (encoder='conv')", old),
                    (f"default (encoder={default.encoder!r})", new)):
        print(f"{name:34s} {s * 1e3:8.0f} {frames / s:9.0f} {frames / (s + aug):18.0f}")
    print(f"speed-up: {old / new:.2f}x (fwd + bwd + Adam); {(old + aug) / (new + aug):.2f}x "
          f"with augmentation ({aug * 1e3:.0f} ms a batch)")


if __name__ == "__main__":
    main()
