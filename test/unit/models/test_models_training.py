"""BPTT training of a small LTC on an irregularly sampled damped oscillator."""

from __future__ import annotations

import math

import torch

from liquid_ros.models import LTC, FullyConnected

WARMUP = 8  # steps before the velocity is scored (a finite difference needs history)


def oscillator(batch: int, steps: int, gen: torch.Generator):
    """Observations y(t_k) at random times and the velocity dy/dt(t_k) to estimate."""
    dt = torch.rand(batch, steps, generator=gen) * 0.25 + 0.05
    t = dt.cumsum(1)
    omega = torch.rand(batch, 1, generator=gen) + 1.5
    phase = torch.rand(batch, 1, generator=gen) * 2 * math.pi
    zeta = 0.15
    decay = torch.exp(-zeta * t)
    y = decay * torch.cos(omega * t + phase)
    dy = decay * (-zeta * torch.cos(omega * t + phase) - omega * torch.sin(omega * t + phase))
    return y.unsqueeze(-1), dt, dy.unsqueeze(-1)


def test_ltc_learns_velocity_from_irregular_samples():
    """Threshold: held-out MSE below 15 % of the zero predictor's after 150 Adam steps."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = LTC(1, FullyConnected(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    x_test, dt_test, y_test = oscillator(64, 48, torch.Generator().manual_seed(99))
    zero_mse = y_test[:, WARMUP:].square().mean().item()
    for _ in range(150):
        x, dt, y = oscillator(16, 48, gen)
        pred, _ = model(x, timespans=dt)
        loss = (pred[:, WARMUP:] - y[:, WARMUP:]).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        pred, _ = model(x_test, timespans=dt_test)
        mse = (pred[:, WARMUP:] - y_test[:, WARMUP:]).square().mean().item()
    assert mse < 0.15 * zero_mse, (mse, zero_mse)
