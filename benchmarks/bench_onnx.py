"""Per-step time of a shipped policy: torch against ONNX Runtime (batch 1, 1 thread, medians).

Rows, each one control tick of ``liquid_ros/checkpoints/<task>.pt`` on a 64x64 frame:
- ``torch LiquidPolicy.step``: what policy_node runs today (numba kernel for the CfC/LTC cell).
- ``torch PolicyStep (exported graph, eager)``: the pure-torch step that is exported.
- ``ORT OnnxPolicy.step``: policy_node with a ``.onnx`` checkpoint (input checks included).
- ``ORT session.run``: the bare graph call, as a deployment stack would make it.
- ``ORT session.run (dynamo export)``: the same for the torch.export-based exporter's graph
  (skipped without onnxscript).
Actions are asserted equal (1e-5) before timing; rows are timed in alternating blocks.
Run: ``.venv/bin/python benchmarks/bench_onnx.py [--task leader_follow]`` (about 30 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquid_ros.models import load_policy  # noqa: E402
from liquid_ros.models.export import PolicyStep, export_onnx, flat_state_size  # noqa: E402
from liquid_ros.models.onnx_runtime import OnnxPolicy, max_step_difference  # noqa: E402
from liquid_ros.runtime.policy_source import shipped_checkpoint  # noqa: E402


def interleaved(fns: dict[str, Callable[[], object]], calls: int, blocks: int) -> dict[str, float]:
    """Median seconds per call of each function, timed in alternating blocks."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(blocks):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="fly_to_target")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    policy = load_policy(shipped_checkpoint(args.task))
    cfg = policy.config
    tmp = Path(tempfile.mkdtemp())
    onnx_policy = OnnxPolicy(export_onnx(policy, tmp / "step.onnx"), threads=1)
    diff = max_step_difference(policy, onnx_policy, steps=30)
    assert diff <= 1e-5, diff
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (cfg.image_height, cfg.image_width, 3), dtype=np.uint8)
    state = rng.normal(size=cfg.state_dim).astype(np.float32)
    step = PolicyStep(policy).eval()
    args_t = (torch.from_numpy(image)[None], torch.from_numpy(state)[None],
              torch.full((1, 1), 0.1), torch.zeros(1, flat_state_size(policy)))
    feed = {"image": image[None], "state": state[None], "dt": np.full((1, 1), 0.1, np.float32),
            "h": np.zeros((1, flat_state_size(policy)), np.float32)}
    session = onnx_policy.session

    def eager() -> object:
        with torch.inference_mode():
            return step(*args_t)

    fns: dict[str, Callable[[], object]] = {
        "torch LiquidPolicy.step": lambda: policy.step(image, state, 0.1),
        "torch PolicyStep (exported graph, eager)": eager,
        "ORT OnnxPolicy.step": lambda: onnx_policy.step(image, state, 0.1),
        "ORT session.run": lambda: session.run(None, feed),
    }
    try:
        dyn = OnnxPolicy(export_onnx(policy, tmp / "dyn.onnx", dynamo=True), threads=1)
        fns["ORT session.run (dynamo export)"] = lambda: dyn.session.run(None, feed)
    except ImportError as err:
        print(f"(dynamo row skipped: {err})")
    for fn in fns.values():  # warm up: numba kernels, ORT arenas
        for _ in range(20):
            fn()
    medians = interleaved(fns, args.calls, args.blocks)
    print(f"{args.task} ({cfg.cell}, {cfg.image_height}x{cfg.image_width}), batch 1, 1 thread, "
          f"torch {torch.__version__}; parity {diff:.1e}")
    for name, seconds in medians.items():
        print(f"  {name:42s} {seconds * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
