"""Speed of our LTC/CfC against ncps 1.0.1 in the same run (medians, 1 thread).

Rows: one inference step at batch 1 (AutoNCP(19, 4), 32 inputs, 6 unfolds) and one training
iteration (forward + backward + Adam, batch 32, sequence 64), for LTC and CfC. Goals: step
>= 10x faster, training >= 3x faster. The main training row is the default path (the numba
whole-sequence solvers with analytic backward); the eager-torch and torch.compile paths are
printed for information. Outputs (1e-5) and gradients (1e-4 relative) are asserted equal to
ncps before timing. Run: ``.venv/bin/python benchmarks/bench_models.py`` (about 2 minutes, most
of it the one-off torch.compile of the information rows).
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


def check_gradients(ref, ours) -> None:
    """Training-mode outputs and parameter gradients of the default path equal ncps."""
    torch.manual_seed(2)
    x = torch.randn(4, 16, INPUTS)
    grads = []
    for model in (ref, ours):
        model.zero_grad()
        y, _ = model(x)
        y.square().sum().backward()
        grads.append((y.detach(), {n: p.grad for n, p in model.named_parameters()}))
        model.zero_grad()
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=0, atol=1e-5)
    names = [n for n in grads[0][1] if n in grads[1][1] and grads[0][1][n] is not None]
    assert names, "no parameter names in common with ncps"
    for name in names:
        g_ref, g_ours = grads[0][1][name], grads[1][1][name]
        scale = float(g_ref.abs().max().clamp_min(1e-6))
        assert float((g_ours - g_ref).abs().max()) <= 1e-4 * scale, name


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
    note = f"(goal >= {goal:.0f}x: {mark})" if goal > 0 else "(info, no goal)"
    print(f"{name:<34} ncps {ref_s * scale:9.1f} {unit}  ours {ours_s * scale:9.1f} {unit}  "
          f"ratio {ratio:5.1f}x  {note}")
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
        check_gradients(ref, ours)
        ref_train, ours_train = train_iteration(ref), train_iteration(ours)
        ours_train()
        ref_s, ours_s = interleaved(ref_train, ours_train, 2, 9)
        ratios[f"{kind}_train"] = row(
            f"{kind.upper()} train iter B{BATCH} T{STEPS}", ref_s, ours_s, "ms", 1e3, 3
        )
        eager = from_ncps(ref)
        eager.fused = False
        ref_s, eager_s = interleaved(ref_train, train_iteration(eager), 2, 3)
        row(f"{kind.upper()} train iter, eager", ref_s, eager_s, "ms", 1e3, 0)
        compiled = from_ncps(ref)
        if kind == "ltc":
            compiled.compile_ode = True
        else:
            compiled.compile_step = True
        compiled_train = train_iteration(compiled)
        start = time.perf_counter()
        compiled_train()  # one-off torch.compile of the step function
        on = compiled.compile_ode if kind == "ltc" else compiled.compile_step
        print(f"  ({kind.upper()} torch.compile warm-up: {time.perf_counter() - start:.1f} s; "
              f"compiled: {on})")
        ref_s, compiled_s = interleaved(ref_train, compiled_train, 2, 3)
        row(f"{kind.upper()} train iter, compiled", ref_s, compiled_s, "ms", 1e3, 0)
    print("SUMMARY " + "  ".join(f"{k} {v:.1f}x" for k, v in ratios.items())
          + "  (goals: step >= 10x, train >= 3x; default path; equal to ncps)")


if __name__ == "__main__":
    main()
