"""Shared sequence and stepping logic of the recurrent wrappers (LTC, CfC).

Conventions: inputs (B, T, S) batch-first (or (T, B, S) with ``batch_first=False``, or (T, S)
unbatched); per-sample time steps ``timespans`` (B, T) or (B, T, 1) in seconds (1.0 when None).
"""

from __future__ import annotations

import math

import torch
from torch import nn

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def step_dt(dt: float | torch.Tensor, batch: int) -> float | torch.Tensor:
    """Validate a step's dt; returns a float or a (B, 1) tensor.

    Raises:
        ValueError: if dt is not positive and finite or has the wrong size.
    """
    if isinstance(dt, torch.Tensor):
        if dt.numel() == 1:
            dt = float(dt)
        else:
            if dt.numel() != batch:
                raise ValueError(f"dt must be a float or hold {batch} values, got {dt.shape}")
            if not bool((dt > 0).all()):
                raise ValueError("dt must be positive and finite (seconds)")
            return dt.reshape(batch, 1)
    dt = float(dt)
    if not 0.0 < dt < float("inf"):
        raise ValueError(f"dt must be positive and finite (seconds), got {dt}")
    return dt


class LSTMMemory(nn.Module):
    """LSTM memory cell run before the continuous-time cell (``mixed_memory=True``).

    Gates after Lechner & Hasani, "Learning long-term dependencies in irregularly-sampled time
    series" (2020): forget-gate bias +1.

    Args:
        input_size: Input features S.
        hidden_size: State size N.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_map = nn.Linear(input_size, 4 * hidden_size, bias=True)
        self.recurrent_map = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        nn.init.xavier_uniform_(self.input_map.weight)
        nn.init.uniform_(self.input_map.bias, -0.1, 0.1)
        nn.init.orthogonal_(self.recurrent_map.weight)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x (B, S), state ((B, N), (B, N)) -> (h (B, N), c (B, N))."""
        h, c = state
        z = self.input_map(x) + self.recurrent_map(h)
        i, ig, fg, og = z.chunk(4, 1)
        c = c * torch.sigmoid(fg + 1.0) + torch.tanh(i) * torch.sigmoid(ig)
        return torch.tanh(c) * torch.sigmoid(og), c


def as_timespans(
    timespans: torch.Tensor | float | None, batch: int, steps: int, like: torch.Tensor
) -> torch.Tensor | None:
    """Validate time steps and return them as (B, T, 1) (None stays None: dt = 1 s).

    Raises:
        ValueError: on a shape other than (B, T), (B, T, 1) or scalar, or on dt <= 0 / NaN.
    """
    if timespans is None:
        return None
    ts = torch.as_tensor(timespans, dtype=like.dtype, device=like.device)
    if ts.dim() == 0:
        ts = ts.expand(batch, steps)
    if ts.dim() == 3 and ts.shape[-1] == 1:
        ts = ts.squeeze(-1)
    if ts.shape != (batch, steps):
        raise ValueError(
            f"timespans must have shape ({batch}, {steps}) or ({batch}, {steps}, 1), "
            f"got {tuple(torch.as_tensor(timespans).shape)}"
        )
    if not bool((ts > 0).all()):
        raise ValueError("timespans must be positive and finite (seconds)")
    return ts.unsqueeze(-1)


class RecurrentSequence(nn.Module):
    """Base class: runs ``_sequence`` over (B, T, S) inputs and offers ``step``/``reset``.

    Subclasses set ``state_size``, ``output_size``, ``use_mixed`` and implement
    ``_sequence(x, h, c, dt)`` and ``_step(x, h, c, dt)``.
    """

    state_size: int
    output_size: int

    def __init__(
        self, input_size: int, return_sequences: bool, batch_first: bool, mixed_memory: bool
    ) -> None:
        super().__init__()
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
            raise ValueError(f"input_size must be a positive integer, got {input_size!r}")
        self.input_size = input_size
        self.return_sequences = bool(return_sequences)
        self.batch_first = bool(batch_first)
        self.use_mixed = bool(mixed_memory)
        self._hx: State | None = None
        self._fast_step = False
        # Weights as the numba step kernel reads them, and the parameter versions they match.
        self._snapshot: tuple | None = None
        self._snapshot_key: list[int] | None = None
        self._param_list: list[torch.Tensor] = []

    @property
    def fast_step(self) -> bool:
        """Whether batch-1 ``step`` calls without autograd use the compiled kernel."""
        return self._fast_step

    @fast_step.setter
    def fast_step(self, value: bool) -> None:
        self._fast_step = bool(value) and self._fast_supported()

    def _fast_supported(self) -> bool:
        return False

    def refresh_snapshot(self) -> tuple:
        """Re-read the weights for the numba step (done automatically when they change)."""
        raise NotImplementedError

    def _params_key(self) -> list[int]:
        return [t._version for t in self._param_list]

    def _current_snapshot(self) -> tuple:
        """The kernel's weights, re-read if any parameter changed since the last read."""
        if self._snapshot is None or self._snapshot_key != self._params_key():
            return self.refresh_snapshot()
        return self._snapshot

    def train(self, mode: bool = True) -> RecurrentSequence:
        """Set training mode; also refreshes the fast-step weights snapshot."""
        self._snapshot = None
        return super().train(mode)

    def _use_fast(self, x: torch.Tensor) -> bool:
        """Whether this batch-1 step can take the compiled kernel (no autograd needed)."""
        if not self._fast_step or x.shape[0] != 1 or x.device.type != "cpu":
            return False
        if x.dtype not in (torch.float32, torch.float64):
            return False
        return not (torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in self.parameters())))

    def _fast_call(self, x: torch.Tensor, h: torch.Tensor, dt: float):  # noqa: D102
        raise NotImplementedError

    def _sequence(self, x, h, c, dt):  # noqa: D102  (abstract)
        raise NotImplementedError

    def _step(self, x, h, c, dt):
        """One step: the numba kernel when it applies, else mixed memory then the cell."""
        dt = step_dt(dt, x.shape[0])
        if isinstance(dt, float) and self._use_fast(x):
            y, h = self._fast_call(x.contiguous(), h.contiguous(), dt)
            return y, h, c
        if self.use_mixed:
            h, c = self.lstm(x, (h, c))
        y, h = self._cell_step(x, h, c, dt)
        return y, h, c

    def _cell_step(self, x, h, c, dt):  # noqa: D102  (abstract: torch step -> (y, h'))
        raise NotImplementedError

    def _split_state(self, hx: State | None, batch: int, like: torch.Tensor):
        if hx is None:
            h = like.new_zeros(batch, self.state_size)
            return h, (like.new_zeros(batch, self.state_size) if self.use_mixed else None)
        if self.use_mixed:
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise ValueError("hx must be a tuple (h, c) when mixed_memory=True")
            h, c = hx
        else:
            if not isinstance(hx, torch.Tensor):
                raise ValueError("hx must be a tensor (B, N) when mixed_memory=False")
            h, c = hx, None
        if h.shape != (batch, self.state_size):
            raise ValueError(f"hx must have shape ({batch}, {self.state_size}), got {h.shape}")
        return h, c

    def forward(
        self,
        x: torch.Tensor,
        hx: State | None = None,
        timespans: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, State]:
        """Run a sequence.

        Args:
            x: (B, T, S) inputs ((T, B, S) if not batch_first; (T, S) unbatched).
            hx: Initial state (B, N) (tuple (h, c) with mixed memory); zeros when None.
            timespans: Elapsed time of each step in s, (B, T) or (B, T, 1); 1 s when None.

        Returns:
            (y, hx): y (B, T, M) (or (B, M) when ``return_sequences`` is False); final state.
        """
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"x must be (B, T, {self.input_size}) or (T, {self.input_size}), got {x.shape}"
            )
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0)
            timespans = None if timespans is None else torch.as_tensor(timespans).unsqueeze(0)
            if hx is not None:
                hx = tuple(s.unsqueeze(0) for s in hx) if self.use_mixed else hx.unsqueeze(0)
        elif not self.batch_first:
            x = x.transpose(0, 1)
            if timespans is not None:
                timespans = torch.as_tensor(timespans).transpose(0, 1)
        batch, steps = x.shape[0], x.shape[1]
        dt = as_timespans(timespans, batch, steps, x)
        h, c = self._split_state(hx, batch, x)
        y, h, c = self._sequence(x, h, c, dt)
        if not self.return_sequences:
            y = y[:, -1]
        elif not self.batch_first and not unbatched:
            y = y.transpose(0, 1)
        state: State = (h, c) if self.use_mixed else h
        if unbatched:
            y = y.squeeze(0)
            state = (h[0], c[0]) if self.use_mixed else h[0]
        return y, state

    def step(
        self, x_t: torch.Tensor, h: State | None = None, dt: float | torch.Tensor = 1.0
    ) -> tuple[torch.Tensor, State]:
        """Advance one time step; the module keeps the new state for the next call.

        Equal to running ``forward`` over the sequence of steps.

        Args:
            x_t: (B, S) or (S,) input.
            h: State (B, N) / (N,) (tuple with mixed memory); the kept state when None
                (zeros after ``reset``).
            dt: Elapsed time in s: a float, or a (B,) / (B, 1) tensor.

        Returns:
            (y_t, h'): output (B, M) or (M,) and the new state.
        """
        if (
            self._fast_step and type(dt) is float and 0.0 < dt < math.inf
            and not torch.is_grad_enabled() and x_t.numel() == self.input_size
            and x_t.dtype in (torch.float32, torch.float64) and x_t.device.type == "cpu"
            and not x_t.requires_grad
        ):
            # Control-loop path: batch 1, no autograd; the compiled kernel does the step.
            hx = self._hx if h is None else h
            if hx is None:
                hx = x_t.new_zeros(1, self.state_size)
            if hx.numel() == self.state_size and not hx.requires_grad:
                if x_t.dim() == 2 and hx.dim() == 2:
                    y, h_new = self._fast_call(x_t, hx, dt)
                    self._hx = h_new
                    return y, h_new
                y, h_new = self._fast_call(x_t.reshape(1, -1), hx.reshape(1, -1), dt)
                self._hx = h_new
                return (y[0], h_new[0]) if x_t.dim() == 1 else (y, h_new)
        unbatched = x_t.dim() == 1
        x = x_t.unsqueeze(0) if unbatched else x_t
        if h is None:
            h = self._hx
        elif unbatched:
            h = tuple(s.unsqueeze(0) for s in h) if self.use_mixed else h.unsqueeze(0)
        h0, c0 = self._split_state(h, x.shape[0], x)
        y, h1, c1 = self._step(x, h0, c0, dt)
        self._hx = (h1, c1) if self.use_mixed else h1
        if unbatched:
            return y[0], ((h1[0], c1[0]) if self.use_mixed else h1[0])
        return y, self._hx

    def reset(self) -> None:
        """Forget the state kept by ``step`` (next step starts from zeros)."""
        self._hx = None
