"""Small strided CNN image encoders, in the spirit of the drone NCP papers.

Vorbach et al., "Causal navigation by continuous-time neural networks", NeurIPS 2021, feed a few
strided convolutions into the recurrent head; ``ConvEncoder`` follows that shape at 64x64 and is
the encoder of the first checkpoints. ``PatchEncoder`` reaches the same output map with about a
quarter of the multiply-adds: training on a 2-core CPU spends nearly all its time in the
encoder's first layers, which run at full and half resolution in ``ConvEncoder``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

ENCODERS = ("conv", "patch")
"""Encoder architectures: ``PolicyConfig.encoder`` values."""
PATCH = 4
"""Side (pixels) of the non-overlapping patches of ``PatchEncoder``'s first layer."""


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


class PatchEncoder(nn.Module):
    """A 4x4 stride-4 patch layer, then 3x3 convolutions, flattened, then a linear layer.

    The patch layer does the downsampling of ``ConvEncoder``'s first two stride-2 layers in one
    step, so the following layers run at stride 2 until the total downsampling is that of
    ``ConvEncoder`` with the same ``conv_channels`` (2 ** len) and at stride 1 after that: the
    final map, and so the linear layer, has ``ConvEncoder``'s size (for 2 or more layers).
    Measured on 2 shared cores, 1 thread: forward + backward of 1024 images of 64x64 in 320 ms
    against 1,390 ms; a whole training step (``benchmarks/bench_train.py``) 4.1x faster. On
    fly_to_target (3 seeds, 240 steps) validation loss and closed-loop success were the same
    within the seed-to-seed spread.

    The patch layer has no padding, so an affine image normalisation folds into it exactly
    (``forward`` with ``mean`` and ``std``), saving two full passes over the images.

    Args:
        channels: Image channels C.
        height: Image height H (pixels), a multiple of 4.
        width: Image width W (pixels), a multiple of 4.
        conv_channels: Output channels of each layer (the first is the patch layer; >= 1).
        feature_dim: Output features.

    Raises:
        ValueError: If the image is not a whole number of patches or ``conv_channels`` is empty.
    """

    def __init__(
        self, channels: int, height: int, width: int, conv_channels: tuple[int, ...],
        feature_dim: int,
    ) -> None:
        super().__init__()
        if height % PATCH or width % PATCH:
            raise ValueError(f"the patch encoder needs an image size divisible by {PATCH}, "
                             f"got {height}x{width}")
        if not conv_channels:
            raise ValueError("conv_channels must not be empty")
        self.patch = nn.Conv2d(channels, conv_channels[0], PATCH, stride=PATCH)
        layers: list[nn.Module] = []
        previous, factor, target = conv_channels[0], PATCH, 2 ** max(len(conv_channels), 2)
        for out in conv_channels[1:]:
            stride = 2 if factor < target else 1
            factor *= stride
            layers += [nn.Conv2d(previous, out, 3, stride=stride, padding=1),
                       nn.ReLU(inplace=True)]
            previous = out
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.convs(self.patch(torch.zeros(1, channels, height, width))).numel()
        self.fc = nn.Linear(flat, feature_dim)

    def forward(
        self, images: torch.Tensor, mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Images (B, C, H, W) -> features (B, feature_dim).

        Args:
            images: Normalised images, or with ``mean`` and ``std`` the raw ones in [0, 1].
            mean: (C,) image mean folded into the patch layer (None: none).
            std: (C,) image std folded into the patch layer (None: none).
        """
        weight, bias = self.patch.weight, self.patch.bias
        if mean is not None and std is not None:
            # conv(w, (x - m) / s) + b == conv(w / s, x) + b - sum(w m / s): exact without padding
            weight = weight / std[None, :, None, None]
            bias = bias - (weight * mean[None, :, None, None]).sum((1, 2, 3))
        x = torch.relu(F.conv2d(images, weight, bias, stride=PATCH))
        return torch.relu(self.fc(self.convs(x).flatten(1)))


def make_encoder(
    kind: str, channels: int, height: int, width: int, conv_channels: tuple[int, ...],
    feature_dim: int,
) -> ConvEncoder | PatchEncoder:
    """The encoder named by ``kind`` (one of ``ENCODERS``).

    Raises:
        ValueError: On an unknown ``kind``.
    """
    if kind == "conv":
        return ConvEncoder(channels, height, width, conv_channels, feature_dim)
    if kind == "patch":
        return PatchEncoder(channels, height, width, conv_channels, feature_dim)
    raise ValueError(f"encoder must be one of {ENCODERS}, got {kind!r}")
