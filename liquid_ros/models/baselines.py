"""Recurrent heads with one interface: LTC/CfC adapters and LSTM, GRU, CT-RNN, MLP baselines.

Every head maps features (B, T, F) and time steps dt (B, T, 1) s to outputs (B, T, O):
``forward(x, dt, hx) -> (y, hx)`` and ``step(x (B, F), hx, dt float) -> (y (B, O), hx)``.
Baselines as compared against in Vorbach et al. 2021 (LSTM, GRU, CT-RNN, feed-forward).
"""

from __future__ import annotations

import torch
from torch import nn

from liquid_ros.models.cfc import CfC
from liquid_ros.models.ltc_rnn import LTC
from liquid_ros.models.sequence import State


class LiquidHead(nn.Module):
    """Adapter of an ``LTC`` or ``CfC`` to the head interface."""

    def __init__(self, rnn: LTC | CfC) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor, dt: torch.Tensor, hx: State | None = None):
        """X (B, T, F), dt (B, T, 1) -> (y (B, T, O), hx)."""
        return self.rnn(x, hx, dt)

    def step(self, x: torch.Tensor, hx: State | None, dt: float):
        """X (B, F) -> (y (B, O), hx)."""
        if hx is None:
            self.rnn.reset()
        return self.rnn.step(x, hx, dt)


class GatedRNNHead(nn.Module):
    """LSTM or GRU (discrete time: dt is ignored) with a linear readout.

    Args:
        kind: "lstm" or "gru".
        input_size: Features F. hidden_size: Hidden units. output_size: Outputs O.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.rnn = rnn_cls(input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor, dt: torch.Tensor, hx: State | None = None):
        """X (B, T, F) -> (y (B, T, O), hx)."""
        out, hx = self.rnn(x, hx)
        return self.readout(out), hx

    def step(self, x: torch.Tensor, hx: State | None, dt: float):
        """X (B, F) -> (y (B, O), hx)."""
        out, hx = self.rnn(x.unsqueeze(1), hx)
        return self.readout(out[:, 0]), hx


class CTRNNHead(nn.Module):
    """Continuous-time RNN ``tau dh/dt = -h + tanh(W_x x + W_h h + b)`` with a readout.

    Integrated over each step's dt by exponential Euler, which is stable for any dt:
    ``h' = h + (1 - exp(-dt / tau)) (tanh(...) - h)`` (Funahashi & Nakamura 1993 model).

    Args:
        input_size: Features F. hidden_size: Hidden units. output_size: Outputs O.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.input_map = nn.Linear(input_size, hidden_size)
        self.recurrent_map = nn.Linear(hidden_size, hidden_size, bias=False)
        self.log_tau = nn.Parameter(torch.zeros(hidden_size))
        self.readout = nn.Linear(hidden_size, output_size)

    def _update(self, drive: torch.Tensor, h: torch.Tensor, dt) -> torch.Tensor:
        target = torch.tanh(drive + self.recurrent_map(h))
        rate = -torch.expm1(-dt / self.log_tau.exp())
        return h + rate * (target - h)

    def forward(self, x: torch.Tensor, dt: torch.Tensor, hx: torch.Tensor | None = None):
        """X (B, T, F), dt (B, T, 1) -> (y (B, T, O), h (B, H))."""
        h = x.new_zeros(x.shape[0], self.hidden_size) if hx is None else hx
        drive = self.input_map(x)
        states = []
        for t in range(x.shape[1]):
            h = self._update(drive[:, t], h, dt[:, t])
            states.append(h)
        return self.readout(torch.stack(states, 1)), h

    def step(self, x: torch.Tensor, hx: torch.Tensor | None, dt: float):
        """X (B, F) -> (y (B, O), h)."""
        h = x.new_zeros(x.shape[0], self.hidden_size) if hx is None else hx
        h = self._update(self.input_map(x), h, dt)
        return self.readout(h), h


class MLPHead(nn.Module):
    """Memoryless two-layer perceptron (the feed-forward baseline); hx is always None."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_size, hidden_size), nn.Tanh(), nn.Linear(hidden_size, output_size)
        )

    def forward(self, x: torch.Tensor, dt: torch.Tensor, hx: None = None):
        """X (B, T, F) -> (y (B, T, O), None)."""
        return self.net(x), None

    def step(self, x: torch.Tensor, hx: None, dt: float):
        """X (B, F) -> (y (B, O), None)."""
        return self.net(x), None
