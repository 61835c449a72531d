"""Safety-filter speed against qpth (BarrierNet's solver), in one run; prints ratios.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_safety.py``
(about a minute, 1 thread).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from qpth.qp import QPFunction, QPSolvers

from liquid_ros.safety import SafetyConfig, SafetyFilter, solve_qp
from liquid_ros.safety.layer import qp_solve


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
    filt = SafetyFilter(cfg)
    pos, vel, acc = np.array([0.3, 0.0, 1.0]), np.array([2.0, 0.0, 0.0]), np.array([3.0, 0, 0])
    lp, lv = np.array([0.0, 1.0, 1.0]), np.array([0.0, -0.5, 0.0])
    wrench = np.array([0.5, 0.006, -0.002, 0.001])
    t_acc = median_us(lambda: filt.filter_accel(pos, vel, acc, leader_pos=lp, leader_vel=lv),
                      2000)
    t_wr = median_us(lambda: filt.filter_wrench(wrench), 2000)
    act = np.append(acc, 1.5)
    t_act = median_us(lambda: filt.filter_action(pos, vel, act, leader_pos=lp, leader_vel=lv),
                      2000)
    print(f"SafetyFilter per tick (numpy): filter_accel {t_acc:.1f} us (10 robust barrier "
          f"rows), filter_action {t_act:.1f} us (+ yaw bound, what the node runs), "
          f"filter_wrench {t_wr:.1f} us (8 rotor rows), total {t_act + t_wr:.1f} us")
    print(f"SUMMARY batch1_fwd {ours_t:.1f}us (goal<=50) qpth/ours={r1:.0f}x (goal>=100); "
          f"batch1024_fwd_bwd qpth/ours={r2:.1f}x (goal>1); filter_tick {t_act + t_wr:.0f}us "
          f"(goal<=50)")


if __name__ == "__main__":
    main()
