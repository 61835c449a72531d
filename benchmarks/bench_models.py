"""Speed of our LTC/CfC against ncps 1.0.1 in the same run (medians, 1 thread).

Rows: one inference step at batch 1 (AutoNCP(19, 4), 32 inputs, 6 unfolds) and one training
iteration (forward + backward + Adam, batch 32, sequence 64), for LTC and CfC. Goals: step
>= 10x faster, training >= 3x faster. Outputs are asserted equal to ncps before timing.
Run: ``.venv/bin/python benchmarks/bench_models.py`` (about 2 minutes, most of it the one-off
torch.compile of the LTC ODE for training).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquid_ros.models import _fast, from_ncps  # noqa: E402

try:
    from ncps import torch as ncps_torch
    from ncps import wirings as ncps_wirings
except ImportError:  # pragma: no cover
    sys.exit("bench_models needs ncps (pip install ncps==1.0.1)")

INPUTS, UNITS, OUTPUTS, BATCH, STEPS = 32, 19, 4, 32, 64


def interleaved(fn_ref, fn_ours, calls: int, blocks: int) -> tuple[float, float]:
    """Median seconds per call of each, timed in alternating blocks (fair on a busy machine)."""
    ref_times, our_times = [], []
    for _ in range(blocks):
        for fn, out in ((fn_ref, ref_times), (fn_ours, our_times)):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            out.append((time.perf_counter() - start) / calls)
    return statistics.median(ref_times), statistics.median(our_times)


def check_equal(ref, ours) -> None:
    torch.manual_seed(1)
    x = torch.randn(1, STEPS, INPUTS)
    ts = torch.rand(1, STEPS) * 0.5 + 0.05
    with torch.no_grad():
        for timespans in (None, ts):
            y_ref, _ = ref(x, timespans=timespans)
            y_ours, _ = ours(x, timespans=timespans)
            torch.testing.assert_close(y_ours, y_ref, rtol=0, atol=1e-5)
    with torch.inference_mode():
        ours.reset()
        stepped = torch.stack([ours.step(x[:, t], dt=float(ts[0, t]))[0] for t in range(STEPS)], 1)
        torch.testing.assert_close(stepped, ref(x, timespans=ts)[0], rtol=0, atol=1e-5)


def bench_step(ref, ours) -> tuple[float, float]:
    x = torch.randn(1, INPUTS)
    h_ref = torch.zeros(1, UNITS)
    h_ours = torch.zeros(1, UNITS)
    cell = ref.rnn_cell
    with torch.inference_mode():
        ours.step(x, h_ours, 0.1)  # compile the kernel, take the weight snapshot
        # ncps has no step API; its cell called directly is its fastest step.
        return interleaved(lambda: cell(x, h_ref, 0.1), lambda: ours.step(x, h_ours, 0.1),
                           400, 15)


def train_iteration(model):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, STEPS, INPUTS)
    target = torch.randn(BATCH, STEPS, OUTPUTS)

    def run():
        # ncps cannot take per-sample timespans at batch > 1, so both train with dt = 1.
        y, _ = model(x)
        loss = (y - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return run


def row(name: str, ref_s: float, ours_s: float, unit: str, scale: float, goal: float) -> float:
    ratio = ref_s / ours_s
    mark = "meets" if ratio >= goal else "MISSES"
    print(f"{name:<34} ncps {ref_s * scale:9.1f} {unit}  ours {ours_s * scale:9.1f} {unit}  "
          f"ratio {ratio:5.1f}x  (goal >= {goal:.0f}x: {mark})")
    return ratio


def main() -> None:
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, numba fast step: {_fast.HAVE_NUMBA}, 1 thread")
    ratios = {}
    for kind in ("ltc", "cfc"):
        torch.manual_seed(0)
        wiring = ncps_wirings.AutoNCP(UNITS, OUTPUTS)
        ref = (ncps_torch.LTC if kind == "ltc" else ncps_torch.CfC)(INPUTS, wiring)
        ours = from_ncps(ref)
        check_equal(ref, ours)
        ref_s, ours_s = bench_step(ref, ours)
        ratios[f"{kind}_step"] = row(f"{kind.upper()} step B1", ref_s, ours_s, "us", 1e6, 10)
        if kind == "ltc":
            ours.compile_ode = True
        else:
            ours.compile_step = True
        start = time.perf_counter()
        train_iteration(ours)()  # one-off torch.compile of the step function
        compiled = ours.compile_ode if kind == "ltc" else ours.compile_step
        print(f"  ({kind.upper()} torch.compile warm-up: {time.perf_counter() - start:.1f} s; "
              f"compiled: {compiled})")
        ref_train, ours_train = train_iteration(ref), train_iteration(ours)
        ours_train()
        ref_s, ours_s = interleaved(ref_train, ours_train, 2, 7)
        ratios[f"{kind}_train"] = row(
            f"{kind.upper()} train iter B{BATCH} T{STEPS}", ref_s, ours_s, "ms", 1e3, 3
        )
        eager_train = train_iteration(from_ncps(ref))
        ref_s, eager_s = interleaved(ref_train, eager_train, 2, 5)
        row(f"{kind.upper()} train iter, eager (info)", ref_s, eager_s, "ms", 1e3, 3)
    print("SUMMARY " + "  ".join(f"{k} {v:.1f}x" for k, v in ratios.items())
          + "  (goals: step >= 10x, train >= 3x; outputs equal ncps to 1e-5)")


if __name__ == "__main__":
    main()
