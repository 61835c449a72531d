"""LTC sequence wrapper with per-sample time steps and a compiled batch-1 step."""

from __future__ import annotations

import numpy as np
import torch

from liquid_ros.models import _fast, _fused_ltc
from liquid_ros.models.ltc import LTCCell, _unfold_fn, ltc_unfold
from liquid_ros.models.sequence import LSTMMemory, RecurrentSequence
from liquid_ros.models.wiring import FullyConnected, Wiring


class LTC(RecurrentSequence):
    """LTC RNN over sequences, with the constructor signature of ``ncps.torch.LTC``.

    Args:
        input_size: Input features S.
        units: A wiring, or a number of fully connected neurons.
        return_sequences: Return all outputs (B, T, M), else only the last (B, M).
        batch_first: Inputs are (B, T, S) (else (T, B, S)).
        mixed_memory: Put an LSTM memory cell before the LTC cell.
        input_mapping, output_mapping, ode_unfolds, epsilon, implicit_param_constraints:
            see ``LTCCell``.
        compile_ode: Run the ODE sub-steps through ``torch.compile`` (faster training after a
            one-off compile of about 15 s; falls back to eager if compiling fails).
        fast_step: Use the numba kernel for batch-1 ``step`` calls without autograd.

    Attributes:
        fused: Run whole CPU sequences (forward and training) through the numba sequence
            solver with its analytic backward (``_fused_ltc``; about 5x faster than eager
            torch). Default True; ignored without numba, on other devices, with mixed memory,
            while tracing, and when ``compile_ode`` is set and autograd is on.
    """

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
        input_mapping: str = "affine",
        output_mapping: str = "affine",
        ode_unfolds: int = 6,
        epsilon: float = 1e-8,
        implicit_param_constraints: bool = True,
        *,
        compile_ode: bool = False,
        fast_step: bool = True,
    ) -> None:
        super().__init__(input_size, return_sequences, batch_first, mixed_memory)
        wiring = units if isinstance(units, Wiring) else FullyConnected(units)
        self.rnn_cell = LTCCell(
            wiring, input_size, input_mapping, output_mapping, ode_unfolds, epsilon,
            implicit_param_constraints,
        )
        self.wiring = wiring
        self.state_size = wiring.units
        self.output_size = wiring.output_dim
        if self.use_mixed:
            self.lstm = LSTMMemory(input_size, self.state_size)
        self.compile_ode = bool(compile_ode)
        self.fused = True
        self.fast_step = fast_step

    def config(self) -> dict:
        """Constructor arguments as a plain dict (wiring as ``Wiring.to_dict``)."""
        c = self.rnn_cell
        return {
            "type": "ltc", "input_size": self.input_size, "wiring": self.wiring.to_dict(),
            "return_sequences": self.return_sequences, "batch_first": self.batch_first,
            "mixed_memory": self.use_mixed, "input_mapping": c.input_mapping,
            "output_mapping": c.output_mapping, "ode_unfolds": c.ode_unfolds,
            "epsilon": c.epsilon, "implicit_param_constraints": c.implicit_param_constraints,
        }

    def _use_fused(self, x: torch.Tensor) -> bool:
        return (
            self.fused and _fused_ltc.HAVE_NUMBA and not self.use_mixed
            and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and not (self.compile_ode and torch.is_grad_enabled())
            and not torch.jit.is_tracing()
        )

    def _sequence(self, x, h, c, dt):
        cell = self.rnn_cell
        if self._use_fused(x):
            v = _fused_ltc.cell_sequence(cell, x, h, dt)
            return cell.map_outputs(v), v[:, -1], c
        p = cell.constrained()
        num_s, den_s = cell.sensory_terms(cell.map_inputs(x), p)
        cm_t = cell.cm_over_dt(p, 1.0 if dt is None else dt)
        den = cm_t + den_s
        unfold = _unfold_fn(self.compile_ode and torch.is_grad_enabled())
        args = (cell.mu, cell.sigma, p["w"], p["w_erev"], cell.ode_unfolds)
        # unbind, not indexing: its backward is one stack instead of a full-size zero tensor
        # per step.
        steps = x.shape[1]
        num_steps, den_steps = num_s.unbind(1), den.unbind(1)
        cm_steps = [cm_t] * steps if dt is None else cm_t.unbind(1)
        x_steps = x.unbind(1) if self.use_mixed else None
        outs = []
        for t in range(steps):
            if self.use_mixed:
                h, c = self.lstm(x_steps[t], (h, c))
            try:
                h = unfold(h, num_steps[t], den_steps[t], cm_steps[t], *args)
            except Exception:  # noqa: BLE001  (compiled path failed: eager is always correct)
                if unfold is ltc_unfold:
                    raise
                self.compile_ode = False
                unfold = ltc_unfold
                h = unfold(h, num_steps[t], den_steps[t], cm_steps[t], *args)
            outs.append(h)
        return cell.map_outputs(torch.stack(outs, 1)), h, c

    def refresh_snapshot(self) -> tuple:
        """Re-read the weights for the numba step (done automatically when they change)."""
        self._snapshot = self.rnn_cell.numpy_snapshot()
        self._param_list = list(self.rnn_cell.parameters())
        self._snapshot_key = self._params_key()
        return self._snapshot

    def _fast_supported(self) -> bool:
        return _fast.HAVE_NUMBA and not self.use_mixed

    def _fast_call(self, x: torch.Tensor, h: torch.Tensor, dt: float):
        """Batch-1 step through the numba kernel: x (1, S), h (1, N) -> (y (1, M), h')."""
        snap = self._current_snapshot()
        xn = x.numpy()
        # numpy allocation + from_numpy costs less than torch.empty + .numpy() at this size.
        y = np.empty((1, self.output_size), xn.dtype)
        h_new = np.empty((1, self.state_size), xn.dtype)
        _fast.ltc_step(xn, h.numpy(), dt, y, h_new, *snap)
        return torch.from_numpy(y), torch.from_numpy(h_new)

    def _cell_step(self, x, h, c, dt):
        return self.rnn_cell(x, h, dt)
