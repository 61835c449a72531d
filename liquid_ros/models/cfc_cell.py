"""Closed-form continuous-time (CfC) cells, plain and wired.

Model: Hasani et al., "Closed-form continuous-time neural networks", Nature Machine Intelligence
2022. Module and parameter names follow ncps 1.0.1 so its trained weights load unchanged. For
speed the four heads (ff1, ff2, time_a, time_b) run as one matrix product, and the input part of
the first layer is computed for all time steps of a sequence at once.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from liquid_ros.models.wiring import Wiring

MODES = ("default", "no_gate", "pure")


class LeCunTanh(nn.Module):
    """1.7159 tanh(0.666 x) (LeCun et al., "Efficient BackProp", 1998)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Elementwise activation."""
        return 1.7159 * torch.tanh(0.666 * x)


_ACTIVATIONS = {
    "silu": nn.SiLU, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "lecun_tanh": LeCunTanh,
}


class CfCCell(nn.Module):
    """One CfC step ``(x, h, dt) -> (h', h')``.

    Args:
        input_size: Input features S.
        hidden_size: Neurons H.
        mode: "default" (gated), "no_gate" or "pure" (direct solution, no heads ff2/time).
        backbone_activation: One of silu, relu, tanh, gelu, lecun_tanh.
        backbone_units: Width of the backbone layers.
        backbone_layers: Number of backbone layers (0: heads read [x, h] directly).
        backbone_dropout: Dropout after backbone layers 2.. (as ncps).
        sparsity_mask: Optional (S + H, H) mask of the ff1/ff2 weights (wired mode).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        mode: str = "default",
        backbone_activation: str = "lecun_tanh",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        sparsity_mask: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if backbone_activation not in _ACTIVATIONS:
            raise ValueError(
                f"backbone_activation must be one of {sorted(_ACTIVATIONS)}, "
                f"got {backbone_activation!r}"
            )
        self.input_size, self.hidden_size, self.mode = input_size, hidden_size, mode
        self.backbone_layers = int(backbone_layers)
        self.backbone = None
        if self.backbone_layers > 0:
            act = _ACTIVATIONS[backbone_activation]
            layers: list[nn.Module] = [nn.Linear(input_size + hidden_size, backbone_units), act()]
            for _ in range(1, self.backbone_layers):
                layers += [nn.Linear(backbone_units, backbone_units), act()]
                if backbone_dropout > 0.0:
                    layers.append(nn.Dropout(backbone_dropout))
            self.backbone = nn.Sequential(*layers)
        width = backbone_units if self.backbone_layers > 0 else input_size + hidden_size
        self.register_buffer(
            "sparsity_mask",
            None if sparsity_mask is None
            else torch.tensor(np.abs(np.asarray(sparsity_mask).T), dtype=torch.float32),
        )
        self.ff1 = nn.Linear(width, hidden_size)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(1, hidden_size))
            self.A = nn.Parameter(torch.ones(1, hidden_size))
        else:
            self.ff2 = nn.Linear(width, hidden_size)
            self.time_a = nn.Linear(width, hidden_size)
            self.time_b = nn.Linear(width, hidden_size)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.xavier_uniform_(p)

    def heads(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Stacked head weights (K, width) and biases (K,), K = H (pure) or 4 H."""
        w1 = self.ff1.weight
        if self.sparsity_mask is not None:
            w1 = w1 * self.sparsity_mask
        if self.mode == "pure":
            return w1, self.ff1.bias
        w2 = self.ff2.weight
        if self.sparsity_mask is not None:
            w2 = w2 * self.sparsity_mask
        weight = torch.cat([w1, w2, self.time_a.weight, self.time_b.weight], 0)
        bias = torch.cat([self.ff1.bias, self.ff2.bias, self.time_a.bias, self.time_b.bias])
        return weight, bias

    def first_linear(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The first affine map of [x, h], split: (W_x (K, S), W_h (K, H), b (K,))."""
        if self.backbone is not None:
            weight, bias = self.backbone[0].weight, self.backbone[0].bias
        else:
            weight, bias = self.heads()
        return weight[:, : self.input_size], weight[:, self.input_size:], bias

    def finish(
        self, first: torch.Tensor, ts: torch.Tensor | float, heads: tuple | None = None
    ) -> torch.Tensor:
        """New state from the first affine map's output (B, K) and the step ts."""
        if self.backbone is not None:
            z = self.backbone[1](first)
            for layer in list(self.backbone)[2:]:
                z = layer(z)
            weight, bias = self.heads() if heads is None else heads
            pre = torch.addmm(bias, z, weight.t())
        else:
            pre = first
        h = self.hidden_size
        if self.mode == "pure":
            return -self.A * torch.exp(-ts * (self.w_tau.abs() + pre.abs())) * pre + self.A
        ff = torch.tanh(pre[:, : 2 * h])
        ff1, ff2 = ff[:, :h], ff[:, h:]
        t_interp = torch.sigmoid(pre[:, 2 * h: 3 * h] * ts + pre[:, 3 * h:])
        if self.mode == "no_gate":
            return ff1 + t_interp * ff2
        return ff1 * (1.0 - t_interp) + t_interp * ff2

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, ts: torch.Tensor | float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x (B, S), h (B, H), ts float or (B, 1) s -> (h', h') each (B, H)."""
        w_x, w_h, b = self.first_linear()
        new_h = self.finish(torch.addmm(b, x, w_x.t()) + h @ w_h.t(), ts)
        return new_h, new_h


class WiredCfCCell(nn.Module):
    """CfC on a layered wiring: one masked backbone-free CfC cell per wiring layer.

    The state (B, N) is the layers' states concatenated in layer order (for an NCP: inter,
    command, motor); the output is the last layer's state.

    Args:
        input_size: Input features S (builds the wiring).
        wiring: The wiring.
        mode: CfC mode.
    """

    def __init__(self, input_size: int, wiring: Wiring, mode: str = "default") -> None:
        super().__init__()
        wiring.build(input_size)
        self.wiring = wiring
        self.layer_sizes = [len(layer) for layer in wiring.layers]
        cells = []
        in_features = input_size
        for index, neurons in enumerate(wiring.layers):
            if index == 0:
                mask = wiring.sensory_adjacency_matrix[:, neurons]
            else:
                mask = wiring.adjacency_matrix[np.ix_(wiring.layers[index - 1], neurons)]
            mask = np.concatenate([mask, np.ones((len(neurons), len(neurons)))], axis=0)
            cell = CfCCell(in_features, len(neurons), mode, backbone_layers=0, sparsity_mask=mask)
            self.add_module(f"layer_{index}", cell)
            cells.append(cell)
            in_features = len(neurons)
        self.cells = cells

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, ts: torch.Tensor | float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x (B, S), h (B, N) -> (y (B, M), h' (B, N))."""
        states = []
        inputs = x
        for cell, h_layer in zip(self.cells, torch.split(h, self.layer_sizes, 1), strict=True):
            inputs, _ = cell(inputs, h_layer, ts)
            states.append(inputs)
        return inputs, torch.cat(states, 1)
