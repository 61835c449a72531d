"""Safety-filter speed against qpth (BarrierNet's solver), in one run; prints ratios.

Two comparisons: the batched QP against qpth (batch 1 and batch 1024 with gradients), and the
run-time filter's control tick against :class:`~liquid_ros.safety.reference.
ReferenceSafetyFilter` (the same filter in plain numpy). The tick is what
:class:`~liquid_ros.runtime.pilot.Pilot` runs: ``filter_action`` (stage 1, robust rows, yaw
bound), ``filter_wrench`` (stage 2) and both statuses' ``to_dict``, at batch 1, on a leader
task with a geofence and two keep-out spheres (11 barrier rows), in free flight (no row active)
and pushing at a keep-out sphere and the leader (the QP solves). Times are CPU time per call
(``time.process_time``, best of 5 blocks: the machine is shared) and the load is printed.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_safety.py``
(about a minute, 1 thread).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch
from qpth.qp import QPFunction, QPSolvers

from liquid_ros.safety import SafetyConfig, SafetyFilter, solve_qp
from liquid_ros.safety.layer import qp_solve
from liquid_ros.safety.reference import ReferenceSafetyFilter


def problems(batch: int, n: int = 4, m: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    Q = np.stack([a @ a.T + np.eye(n) for a in rng.normal(size=(batch, n, n))])
    G = rng.normal(size=(batch, m, n))
    h = rng.uniform(0.1, 1.0, size=(batch, m))
    q = rng.normal(size=(batch, n)) * 3.0
    return Q, q, G, h


def median_us(fn, reps: int, warm: int = 3) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def cpu_us(fn, reps: int, blocks: int = 5) -> float:
    """CPU time per call (us), best of ``blocks`` blocks of ``reps // blocks`` calls."""
    for _ in range(20):
        fn()
    best = np.inf
    for _ in range(blocks):
        t = time.process_time()
        for _ in range(reps // blocks):
            fn()
        best = min(best, (time.process_time() - t) / (reps // blocks))
    return best * 1e6


def main() -> None:
    torch.set_num_threads(1)
    qpth_fn = QPFunction(verbose=-1, eps=1e-12, maxIter=50, solver=QPSolvers.PDIPM_BATCHED)
    e = torch.empty(0, dtype=torch.float64)

    Q, q, G, h = problems(1)
    Qt, qt, Gt, ht = (torch.tensor(a) for a in (Q, q, G, h))
    ours_np = median_us(lambda: solve_qp(Q, q, G, h), 2000)
    ours_t = median_us(lambda: qp_solve(Qt, qt, Gt, ht), 2000)
    ref = median_us(lambda: qpth_fn(Qt, qt, Gt, ht, e, e), 50)
    x_err = float((qp_solve(Qt, qt, Gt, ht)[0] - qpth_fn(Qt, qt, Gt, ht, e, e)).abs().max())
    print(f"batch-1 forward (n=4, m=12, float64): numpy solve_qp {ours_np:.1f} us, "
          f"torch qp_solve {ours_t:.1f} us, qpth {ref:.0f} us; |x - x_qpth| = {x_err:.1e}")
    r1 = ref / ours_t

    Q, q, G, h = problems(1024, seed=1)
    w = torch.randn(1024, 4, dtype=torch.float64)

    def fwd_bwd(solver):
        ts = [torch.tensor(a, requires_grad=True) for a in (Q, q, G, h)]
        x = solver(*ts)
        (x * w).sum().backward()

    ours_b = median_us(lambda: fwd_bwd(lambda *a: qp_solve(*a)[0]), 20) / 1e3
    ref_b = median_us(lambda: fwd_bwd(lambda *a: qpth_fn(*a, e, e)), 5, warm=1) / 1e3
    print(f"batch-1024 forward+backward: qp_solve {ours_b:.2f} ms, qpth {ref_b:.1f} ms")
    r2 = ref_b / ours_b

    cfg = SafetyConfig(geofence=((-5.0, 5.0), (-5.0, 5.0)), leader_distance=0.5,
                       obstacles=((1.0, 0.0, 1.0, 0.5), (-2.0, 1.0, 2.0, 0.7)))
    lp, lv = np.array([0.0, 1.0, 1.0]), np.array([0.0, -0.5, 0.0])
    cases = {  # pos, vel, action (accel, yaw rate), wrench
        "free flight": (np.array([-1.0, -2.0, 2.0]), np.array([0.5, 0.2, 0.0]),
                        np.array([1.0, -0.5, 0.2, 0.3]), np.array([0.3, 1e-3, -1e-3, 1e-4])),
        "at barriers": (np.array([0.3, 0.0, 1.0]), np.array([2.0, 0.0, 0.0]),
                        np.array([3.0, 0.0, 0.0, 1.5]), np.array([0.55, 6e-3, -2e-3, 1e-3])),
    }
    ticks, refs = {}, {}
    for name, (pos, vel, act, wrench) in cases.items():
        for kind, filt in (("ours", SafetyFilter(cfg)), ("ref", ReferenceSafetyFilter(cfg))):
            def tick(filt=filt, pos=pos, vel=vel, act=act, wrench=wrench):
                _, st1 = filt.filter_action(pos, vel, act, dt=0.02, leader_pos=lp,
                                            leader_vel=lv, gains=None)
                _, st2 = filt.filter_wrench(wrench)
                return st1.to_dict(), st2.to_dict()

            st1, st2 = tick()
            (ticks if kind == "ours" else refs)[name] = cpu_us(tick, 5000 if kind == "ours"
                                                               else 500)
        print(f"filter tick, {name} (stage 1 active {st1['active']}, stage 2 active "
              f"{st2['active']}): {ticks[name]:.1f} us, reference (plain numpy) "
              f"{refs[name]:.0f} us, {refs[name] / ticks[name]:.0f}x")
    filt = SafetyFilter(cfg)
    pos, vel, act, wrench = cases["at barriers"]
    t_act = cpu_us(lambda: filt.filter_action(pos, vel, act, dt=0.02, leader_pos=lp,
                                              leader_vel=lv), 5000)
    t_wr = cpu_us(lambda: filt.filter_wrench(wrench), 5000)
    print(f"  of which filter_action {t_act:.1f} us, filter_wrench {t_wr:.1f} us; the rest is "
          "the two to_dict calls")
    worst = max(ticks.values())
    print(f"SUMMARY batch1_fwd {ours_t:.1f}us (goal<=50) qpth/ours={r1:.0f}x (goal>=100); "
          f"batch1024_fwd_bwd qpth/ours={r2:.1f}x (goal>1); filter_tick {worst:.1f}us "
          f"(goal<=50), reference/ours={refs['at barriers'] / ticks['at barriers']:.0f}x; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")

if __name__ == "__main__":
    main()
