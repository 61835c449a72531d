"""Small strided CNN image encoder, in the spirit of the drone NCP papers.

Vorbach et al., "Causal navigation by continuous-time neural networks", NeurIPS 2021, feed a few
strided convolutions into the recurrent head; this follows that shape at 64x64.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvEncoder(nn.Module):
    """Strided convolutions + ReLU, flattened, then a linear layer to ``feature_dim``.

    Args:
        channels: Image channels C.
        height: Image height H (pixels).
        width: Image width W (pixels).
        conv_channels: Output channels of each conv layer (first 5x5, then 3x3, all stride 2).
        feature_dim: Output features.
    """

    def __init__(
        self, channels: int, height: int, width: int, conv_channels: tuple[int, ...],
        feature_dim: int,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = channels
        for index, out in enumerate(conv_channels):
            kernel = 5 if index == 0 else 3
            layers += [nn.Conv2d(previous, out, kernel, stride=2, padding=kernel // 2), nn.ReLU()]
            previous = out
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, channels, height, width)).numel()
        self.fc = nn.Linear(flat, feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised images (B, C, H, W) -> features (B, feature_dim)."""
        return torch.relu(self.fc(self.convs(images).flatten(1)))
