"""CfC sequence wrapper (plain or wired) with per-sample time steps and a compiled step."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from liquid_ros.models import _fast, _fused_cfc
from liquid_ros.models.cfc_cell import MODES, CfCCell, WiredCfCCell
from liquid_ros.models.sequence import LSTMMemory, RecurrentSequence
from liquid_ros.models.wiring import Wiring

_MODE_ID = {"default": 0, "no_gate": 1, "pure": 2}
_COMPILED: dict[str, object] = {}


def _layers_step(model: CfC, first0, h, ts, fused):
    return model._layer_step(first0, h, None, ts, fused)


def _step_fn(use_compile: bool):
    if not use_compile:
        return _layers_step
    if "cfc" not in _COMPILED:
        try:
            _COMPILED["cfc"] = torch.compile(_layers_step, dynamic=False)
        except Exception as err:  # noqa: BLE001  (compile is an optional speed-up)
            warnings.warn(f"torch.compile unavailable ({err}); using eager CfC", stacklevel=3)
            _COMPILED["cfc"] = _layers_step
    return _COMPILED["cfc"]


class CfC(RecurrentSequence):
    """CfC RNN over sequences, with the constructor signature of ``ncps.torch.CfC``.

    Args:
        input_size: Input features S.
        units: A wiring (wired mode, no backbone) or a number of neurons.
        proj_size: Optional linear projection of the outputs to this size.
        return_sequences: Return all outputs (B, T, M), else only the last (B, M).
        batch_first: Inputs are (B, T, S) (else (T, B, S)).
        mixed_memory: Put an LSTM memory cell before the CfC cell.
        mode: "default", "no_gate" or "pure".
        activation: Backbone activation (unwired).
        backbone_units: Backbone width (unwired; default 128).
        backbone_layers: Backbone depth (unwired; default 1).
        backbone_dropout: Backbone dropout (unwired; default 0).
        compile_step: Run each time step through ``torch.compile`` while training (faster
            after a one-off compile of about 15 s; falls back to eager if compiling fails).
        fast_step: Use the numba kernel for batch-1 ``step`` calls without autograd (wired or
            backbone-free cells).

    Attributes:
        fused: Run whole CPU sequences of backbone-free (wired) cells through the numba
            sequence kernel with its analytic backward (``_fused_cfc``). Default True; ignored
            without numba, with a backbone, on other devices, with mixed memory, while
            tracing, and when ``compile_step`` is set and autograd is on.
    """

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        proj_size: int | None = None,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
        mode: str = "default",
        activation: str = "lecun_tanh",
        backbone_units: int | None = None,
        backbone_layers: int | None = None,
        backbone_dropout: float | None = None,
        *,
        compile_step: bool = False,
        fast_step: bool = True,
    ) -> None:
        super().__init__(input_size, return_sequences, batch_first, mixed_memory)
        self.compile_step = bool(compile_step)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.wiring: Wiring | None = None
        if isinstance(units, Wiring):
            for name, value in (("backbone_units", backbone_units),
                                ("backbone_layers", backbone_layers),
                                ("backbone_dropout", backbone_dropout)):
                if value is not None:
                    raise ValueError(f"{name} cannot be used with a wiring (wired mode)")
            self.wiring = units
            self.rnn_cell = WiredCfCCell(input_size, units, mode)
            self.cells = self.rnn_cell.cells
            self.layer_sizes = self.rnn_cell.layer_sizes
            self.state_size, self.output_size = units.units, self.layer_sizes[-1]
        else:
            if isinstance(units, bool) or not isinstance(units, int) or units < 1:
                raise ValueError(f"units must be a positive integer or a Wiring, got {units!r}")
            self.backbone = {
                "units": 128 if backbone_units is None else backbone_units,
                "layers": 1 if backbone_layers is None else backbone_layers,
                "dropout": 0.0 if backbone_dropout is None else backbone_dropout,
            }
            self.rnn_cell = CfCCell(
                input_size, units, mode, activation, self.backbone["units"],
                self.backbone["layers"], self.backbone["dropout"],
            )
            self.cells = [self.rnn_cell]
            self.layer_sizes = [units]
            self.state_size = self.output_size = units
        self.activation = activation
        self.proj_size = proj_size
        self.fc = nn.Identity() if proj_size is None else nn.Linear(self.output_size, proj_size)
        if proj_size is not None:
            self.output_size = proj_size
        if self.use_mixed:
            self.lstm = LSTMMemory(input_size, self.state_size)
        self.fused = True
        self.fast_step = fast_step

    def config(self) -> dict:
        """Constructor arguments as a plain dict (wiring as ``Wiring.to_dict``)."""
        wired = self.wiring is not None
        return {
            "type": "cfc", "input_size": self.input_size,
            "wiring": self.wiring.to_dict() if wired else None,
            "units": self.state_size, "proj_size": self.proj_size,
            "return_sequences": self.return_sequences, "batch_first": self.batch_first,
            "mixed_memory": self.use_mixed, "mode": self.mode, "activation": self.activation,
            "backbone_units": None if wired else self.backbone["units"],
            "backbone_layers": None if wired else self.backbone["layers"],
            "backbone_dropout": None if wired else self.backbone["dropout"],
        }

    def _layer_step(self, first0, h, c, ts, fused):
        """One step of all layers; first0 is the first layer's input part (B, K)."""
        states = []
        inputs = None
        for index, (cell, h_layer) in enumerate(
            zip(self.cells, torch.split(h, self.layer_sizes, 1), strict=True)
        ):
            w_x, w_h, b, heads = fused[index]
            if index == 0:
                first = torch.addmm(first0, h_layer, w_h.t())
            else:
                first = torch.addmm(torch.addmm(b, inputs, w_x.t()), h_layer, w_h.t())
            inputs = cell.finish(first, ts, heads)
            states.append(inputs)
        return inputs, (torch.cat(states, 1) if len(states) > 1 else states[0])

    def _fused(self):
        out = []
        for cell in self.cells:
            w_x, w_h, b = cell.first_linear()
            out.append((w_x, w_h, b, cell.heads() if cell.backbone is not None else None))
        return out

    def _use_fused(self, x: torch.Tensor) -> bool:
        return (
            self.fused and _fused_cfc.HAVE_NUMBA and not self.use_mixed
            and all(cell.backbone is None for cell in self.cells)
            and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and not (self.compile_step and torch.is_grad_enabled())
            and not torch.jit.is_tracing()
        )

    def _sequence(self, x, h, c, dt):
        fused = self._fused()
        w_x, _, b, _ = fused[0]
        first0 = torch.matmul(x, w_x.t()) + b  # input part of layer 0 for every step at once
        if self._use_fused(x):
            ts = x.new_ones(x.shape[:2]) if dt is None else dt[..., 0]
            states = _fused_cfc.stack_sequence(self.cells, self.mode, first0, h, ts)
            y = states[..., self.state_size - self.layer_sizes[-1]:]
            return self.fc(y), states[:, -1], c
        first_steps = first0.unbind(1)
        x_steps = x.unbind(1) if self.use_mixed else None
        dt_steps = None if dt is None else dt.unbind(1)
        step = _step_fn(self.compile_step and torch.is_grad_enabled())
        outs = []
        for t in range(x.shape[1]):
            ts = 1.0 if dt is None else dt_steps[t]
            if self.use_mixed:
                h, c = self.lstm(x_steps[t], (h, c))
            try:
                y, h = step(self, first_steps[t], h, ts, fused)
            except Exception:  # noqa: BLE001  (compiled path failed: eager is always correct)
                if step is _layers_step:
                    raise
                self.compile_step = False
                step = _layers_step
                y, h = step(self, first_steps[t], h, ts, fused)
            outs.append(y)
        return self.fc(torch.stack(outs, 1)), h, c

    def refresh_snapshot(self) -> tuple:
        """Re-read the weights for the numba step (done automatically when they change)."""
        weights, biases, w_ptr, b_ptr, taus, amps = [], [], [0], [0], [], []
        with torch.no_grad():
            for cell in self.cells:
                weight, bias = cell.heads()
                weights.append(weight.double().flatten())
                biases.append(bias.double())
                w_ptr.append(w_ptr[-1] + weight.numel())
                b_ptr.append(b_ptr[-1] + bias.numel())
                pure = cell.mode == "pure"
                zeros = torch.zeros(cell.hidden_size, dtype=torch.float64)
                taus.append(cell.w_tau.double()[0] if pure else zeros)
                amps.append(cell.A.double()[0] if pure else zeros)
            self._snapshot = (
                torch.cat(weights).numpy(), torch.cat(biases).numpy(),
                np.array(w_ptr, dtype=np.int64), np.array(b_ptr, dtype=np.int64),
                np.array(self.layer_sizes, dtype=np.int64),
                np.array([_MODE_ID[c.mode] for c in self.cells], dtype=np.int64),
                torch.cat(taus).numpy(), torch.cat(amps).numpy(),
            )
        self._param_list = list(self.parameters())
        self._snapshot_key = self._params_key()
        return self._snapshot

    def _fast_supported(self) -> bool:
        return (
            _fast.HAVE_NUMBA and not self.use_mixed
            and all(c.backbone is None for c in self.cells)
        )

    def _fast_call(self, x: torch.Tensor, h: torch.Tensor, dt: float):
        """Batch-1 step through the numba kernel: x (1, S), h (1, N) -> (y (1, M), h')."""
        snap = self._current_snapshot()
        xn = x.numpy()
        h_np = np.empty((1, self.state_size), xn.dtype)
        _fast.cfc_stack(xn, h.numpy(), dt, *snap, h_np)
        h_new = torch.from_numpy(h_np)
        y = h_new[:, self.state_size - self.layer_sizes[-1]:]
        return (y if self.proj_size is None else self.fc(y)), h_new

    def _cell_step(self, x, h, c, dt):
        fused = self._fused()
        y, h = self._layer_step(torch.addmm(fused[0][2], x, fused[0][0].t()), h, c, dt, fused)
        return self.fc(y), h
