"""LiquidPolicy: camera image + state -> CNN -> recurrent head (NCP LTC/CfC or baseline) -> action.

Architecture after Vorbach et al. 2021 and Chahine et al., "Robust flight navigation out of
distribution with liquid neural networks", Science Robotics 2023: a small CNN over the image,
concatenated with the (normalised) state vector, into a 19-neuron NCP whose motor neurons give
the action (desired world ENU acceleration (3) m/s^2, yaw rate rad/s) and optional class-K gains.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from liquid_ros.models.baselines import CTRNNHead, GatedRNNHead, LiquidHead, MLPHead
from liquid_ros.models.cfc import CfC
from liquid_ros.models.encoder import ENCODERS, PatchEncoder, make_encoder
from liquid_ros.models.ltc_rnn import LTC
from liquid_ros.models.ncp import AutoNCP

CELLS = ("ltc", "cfc", "lstm", "gru", "ctrnn", "mlp")
_NCPS_DT = 1.0
"""Step (s) ncps' LTC runs at without timespans, which its init ranges suit."""


@dataclass(frozen=True)
class PolicyConfig:
    """Architecture of a ``LiquidPolicy`` (stored in checkpoints as a plain dict)."""

    image_height: int = 64
    """Image height H in pixels."""
    image_width: int = 64
    """Image width W in pixels."""
    image_channels: int = 3
    """Image channels C (RGB)."""
    state_dim: int = 10
    """State vector size S: velocity ENU (3) m/s, quaternion x,y,z,w (4), body rates (3) rad/s."""
    action_dim: int = 4
    """Action size A: desired ENU acceleration (3) m/s^2 and yaw rate (1) rad/s."""
    cell: str = "ltc"
    """Recurrent head: "ltc", "cfc" (NCP-wired) or baselines "lstm", "gru", "ctrnn", "mlp"."""
    units: int = 19
    """NCP neurons for "ltc"/"cfc" (motor neurons = action_dim + n_gains)."""
    seed: int = 0
    """Seed of the weight initialisation (the global torch RNG is left untouched)."""
    n_gains: int = 0
    """Extra outputs: class-K gains for a BarrierNet layer, in (0, gain_max)."""
    gain_max: float = 4.0
    """Upper bound of the gains (gain = gain_max * sigmoid(raw), as in BarrierNet)."""
    conv_channels: tuple[int, ...] = (16, 32, 32, 32)
    """Channels of the strided conv layers."""
    feature_dim: int = 32
    """Image features fed to the head (with the state)."""
    sparsity_level: float = 0.5
    """AutoNCP sparsity in [0.1, 1.0]."""
    wiring_seed: int = 22222
    """AutoNCP seed (same circuit as ncps for the same seed)."""
    ode_unfolds: int = 6
    """LTC solver sub-steps per input step."""
    cfc_mode: str = "default"
    """CfC mode: "default", "no_gate" or "pure"."""
    baseline_hidden: int = 64
    """Hidden units of the lstm/gru/ctrnn/mlp baselines."""
    ltc_feature_norm: bool = True
    """LayerNorm the image features before an "ltc" head. Its sensory synapses
    sigmoid(sigma (x - mu)) start with mu in [0.3, 0.8] and sigma in [3, 8], while the raw
    ReLU features are about 0.01: without it the LTC sees the image as a constant."""
    ltc_init_dt: float | None = 0.1
    """Nominal tick (s) an "ltc" head is initialised for: its capacitances cm start at ncps'
    init times this, so cm / dt at this tick equals ncps' at its default 1 s step (an LTC
    started at ncps' cm and run at dt = 0.1 s is 10x slower and barely trains). Only the init
    changes; the ODE and its time are the same. None keeps ncps' init."""
    cfc_readout: bool = True
    """Per-motor affine readout ``w * h + b`` (w = 1, b = 0 at init, both trained) after a
    "cfc" head. The CfC's motor neurons are tanh-bounded to (-1, 1), so without it the
    action can never leave ``action_mean +- action_scale`` (one data std): on leader_follow
    that capped the yaw rate at 0.22 rad/s and the acceleration at about 0.8 m/s^2 where the
    expert asks for up to 1.6 rad/s and 4 m/s^2. The "ltc" head has the same readout inside
    (ncps' ``output_mapping="affine"``); the baselines end in a linear layer."""
    encoder: str = "patch"
    """Image encoder: "patch" (``PatchEncoder``: a 4x4 stride-4 first layer, about 4x faster
    to train on a CPU at equal validation loss) or "conv" (``ConvEncoder``, 5x5 stride 2
    first; the first checkpoints' encoder, which they load with when the field is missing)."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming the field)."""
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        for name in ("image_height", "image_width", "image_channels", "state_dim", "action_dim",
                     "units", "feature_dim", "ode_unfolds", "baseline_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.n_gains, int) or self.n_gains < 0:
            raise ValueError(f"n_gains must be a non-negative integer, got {self.n_gains!r}")
        if self.cell in ("ltc", "cfc") and self.action_dim + self.n_gains >= self.units - 2:
            raise ValueError(
                f"units ({self.units}) must exceed action_dim + n_gains + 2 "
                f"({self.action_dim + self.n_gains + 2}) for an NCP head"
            )
        if not self.gain_max > 0:
            raise ValueError(f"gain_max must be positive, got {self.gain_max}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if not isinstance(self.cfc_readout, bool):
            raise ValueError(f"cfc_readout must be a bool, got {self.cfc_readout!r}")
        if not isinstance(self.ltc_feature_norm, bool):
            raise ValueError(f"ltc_feature_norm must be a bool, got {self.ltc_feature_norm!r}")
        dt = self.ltc_init_dt
        if dt is not None and (isinstance(dt, bool) or not isinstance(dt, int | float)
                               or not 0.0 < dt < math.inf):
            raise ValueError(f"ltc_init_dt must be positive and finite (s) or None, "
                             f"got {self.ltc_init_dt!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists instead of tuples)."""
        data = dataclasses.asdict(self)
        data["conv_channels"] = list(self.conv_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyConfig:
        """Inverse of ``to_dict``; unknown keys raise ValueError.

        Fields added after the first checkpoints, when missing, take the value that rebuilds
        those checkpoints' architecture (``_LEGACY``), not today's default.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown PolicyConfig fields: {sorted(unknown)}")
        data = {**_LEGACY, **data}
        if "conv_channels" in data:
            data["conv_channels"] = tuple(int(c) for c in data["conv_channels"])
        return cls(**data)


_LEGACY: dict[str, Any] = {"ltc_feature_norm": False, "ltc_init_dt": None, "cfc_readout": False,
                           "encoder": "conv"}
"""Values of later PolicyConfig fields that reproduce configs saved before they existed."""


def _scale_ltc_cm(ltc: LTC, factor: float) -> None:
    """Multiply the LTC's (softplus-constrained) capacitances by ``factor`` in place."""
    cell = ltc.rnn_cell
    with torch.no_grad():
        target = cell._positive(cell.cm) * factor
        if cell.implicit_param_constraints:  # inverse softplus: x + log(1 - exp(-x))
            target = target + torch.log(-torch.expm1(-target))
        cell.cm.copy_(target)


def _make_head(config: PolicyConfig, inputs: int) -> nn.Module:
    outputs = config.action_dim + config.n_gains
    if config.cell in ("ltc", "cfc"):
        wiring = AutoNCP(config.units, outputs, config.sparsity_level, config.wiring_seed)
        if config.cell == "ltc":
            ltc = LTC(inputs, wiring, ode_unfolds=config.ode_unfolds)
            if config.ltc_init_dt is not None:
                _scale_ltc_cm(ltc, config.ltc_init_dt / _NCPS_DT)
            return LiquidHead(ltc)
        return LiquidHead(CfC(inputs, wiring, mode=config.cfc_mode))
    if config.cell in ("lstm", "gru"):
        return GatedRNNHead(config.cell, inputs, config.baseline_hidden, outputs)
    if config.cell == "ctrnn":
        return CTRNNHead(inputs, config.baseline_hidden, outputs)
    return MLPHead(inputs, config.baseline_hidden, outputs)


class MotorReadout(nn.Module):
    """Per-output affine map ``w * h + b`` (identity at init).

    Args:
        size: Number of outputs.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Apply the map to the last dimension of ``h``."""
        return h * self.weight + self.bias


def _make_readout(config: PolicyConfig) -> nn.Module:
    """The motor readout of a "cfc" head with ``cfc_readout``, else the identity."""
    if config.cell == "cfc" and config.cfc_readout:
        return MotorReadout(config.action_dim + config.n_gains)
    return nn.Identity()


class LiquidPolicy(nn.Module):
    """Image + state policy with a recurrent head; normalisation lives in buffers.

    Args:
        config: Architecture.
    """

    def __init__(self, config: PolicyConfig | None = None) -> None:
        super().__init__()
        self.config = config = PolicyConfig() if config is None else config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.encoder = make_encoder(
                config.encoder, config.image_channels, config.image_height,
                config.image_width, config.conv_channels, config.feature_dim,
            )
            self.head = _make_head(config, config.feature_dim + config.state_dim)
        self.feature_norm: nn.Module = (
            nn.LayerNorm(config.feature_dim)
            if config.cell == "ltc" and config.ltc_feature_norm else nn.Identity()
        )
        self.readout = _make_readout(config)
        c, s, a = config.image_channels, config.state_dim, config.action_dim
        self.register_buffer("image_mean", torch.full((c,), 0.5))
        self.register_buffer("image_std", torch.full((c,), 0.25))
        self.register_buffer("state_mean", torch.zeros(s))
        self.register_buffer("state_std", torch.ones(s))
        self.register_buffer("action_mean", torch.zeros(a))
        self.register_buffer("action_scale", torch.ones(a))
        self._hx: Any = None
        self.last_gains: np.ndarray | None = None

    def set_normalization(
        self, state_mean: Any = None, state_std: Any = None, action_mean: Any = None,
        action_scale: Any = None, image_mean: Any = None, image_std: Any = None,
    ) -> None:
        """Set observation normalisation and action scaling (None keeps a value).

        state = (state - state_mean) / state_std; image = (pixels / 255 - image_mean) / image_std;
        action = head_output * action_scale + action_mean.

        Raises:
            ValueError: on a wrong size, a non-finite value or a non-positive std/scale.
        """
        for name, value in (("state_mean", state_mean), ("state_std", state_std),
                            ("action_mean", action_mean), ("action_scale", action_scale),
                            ("image_mean", image_mean), ("image_std", image_std)):
            if value is None:
                continue
            buffer = getattr(self, name)
            t = torch.as_tensor(np.asarray(value, dtype=np.float32))
            if t.shape != buffer.shape or not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name} must be finite with shape {tuple(buffer.shape)}")
            if name.endswith(("std", "scale")) and not bool((t > 0).all()):
                raise ValueError(f"{name} must be positive")
            buffer.copy_(t)

    def _inputs(self, images: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        batch, steps = images.shape[:2]
        x = images.reshape(batch * steps, *images.shape[2:])
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = x.permute(0, 3, 1, 2)
        if isinstance(self.encoder, PatchEncoder):  # normalisation folded into its first layer
            encoded = self.encoder(x, self.image_mean, self.image_std)
        else:
            x = (x - self.image_mean[:, None, None]) / self.image_std[:, None, None]
            encoded = self.encoder(x)
        features = self.feature_norm(encoded).reshape(batch, steps, -1)
        return torch.cat([features, (state.float() - self.state_mean) / self.state_std], -1)

    def _outputs(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        a = self.config.action_dim
        raw = self.readout(raw)
        actions = raw[..., :a] * self.action_scale + self.action_mean
        gains = None
        if self.config.n_gains:
            gains = self.config.gain_max * torch.sigmoid(raw[..., a:])
        return actions, gains

    def forward(
        self, images: torch.Tensor, state: torch.Tensor, dt: torch.Tensor, hx: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, Any]:
        """Run a sequence.

        Args:
            images: (B, T, H, W, C) uint8 in [0, 255] or float in [0, 1].
            state: (B, T, S) raw state.
            dt: (B, T) or (B, T, 1) elapsed time of each step in s.
            hx: Head state from a previous call (None: zeros).

        Returns:
            (actions (B, T, A), gains (B, T, G) or None, hx).
        """
        cfg = self.config
        expected = (cfg.image_height, cfg.image_width, cfg.image_channels)
        if images.dim() != 5 or tuple(images.shape[2:]) != expected:
            raise ValueError(f"images must be (B, T, {expected}), got {tuple(images.shape)}")
        if state.shape != (*images.shape[:2], cfg.state_dim):
            raise ValueError(f"state must be (B, T, {cfg.state_dim}), got {tuple(state.shape)}")
        dt = torch.as_tensor(dt, dtype=torch.float32)
        dt = dt.unsqueeze(-1) if dt.dim() == 2 else dt
        if dt.shape != (*images.shape[:2], 1) or not bool((dt > 0).all()):
            raise ValueError("dt must be positive, shaped (B, T) or (B, T, 1)")
        raw, hx = self.head(self._inputs(images, state), dt, hx)
        actions, gains = self._outputs(raw)
        return actions, gains, hx

    @property
    def hidden_state(self) -> Any:
        """The recurrent state :meth:`step` continues from (None after ``reset``)."""
        return self._hx

    def step(self, image: np.ndarray, state: np.ndarray, dt: float) -> np.ndarray:
        """One control tick at batch 1 without autograd, keeping the hidden state.

        Args:
            image: (H, W, C) uint8 RGB.
            state: (S,) raw state.
            dt: Time since the previous tick in s (> 0).

        Returns:
            (A,) float32 action. If the network produced a non-finite value, the hidden state
            is reset and ``action_mean`` is returned (never NaN). Gains go to ``last_gains``.

        Raises:
            ValueError: on a wrong image/state shape, a non-finite state or a bad dt.
        """
        cfg = self.config
        image = np.asarray(image)
        state = np.asarray(state, dtype=np.float32)
        if image.shape != (cfg.image_height, cfg.image_width, cfg.image_channels):
            raise ValueError(f"image must be {(cfg.image_height, cfg.image_width, 3)}, "
                             f"got {image.shape}")
        if state.shape != (cfg.state_dim,) or not np.isfinite(state).all():
            raise ValueError(f"state must be finite with shape ({cfg.state_dim},)")
        if not (isinstance(dt, int | float) and 0.0 < dt < math.inf):
            raise ValueError(f"dt must be positive and finite (s), got {dt!r}")
        with torch.inference_mode():
            x = self._inputs(
                torch.from_numpy(image)[None, None], torch.from_numpy(state)[None, None]
            )
            raw, hx = self.head.step(x[:, 0], self._hx, float(dt))
            actions, gains = self._outputs(raw[0])
            if not bool(torch.isfinite(raw).all()):
                self.reset()
                return self.action_mean.numpy().copy()
        self._hx = hx
        self.last_gains = None if gains is None else gains.numpy().copy()
        return actions.numpy().copy()

    def add_cfc_readout(self) -> bool:
        """Give a "cfc" policy saved before ``cfc_readout`` existed its motor readout.

        The readout starts as the identity, so the policy computes exactly what it did; the
        readout's weights then let fine-tuning reach actions beyond one data std.

        Returns:
            True if a readout was added (False: not a cfc head, or it has one already).
        """
        if self.config.cell != "cfc" or self.config.cfc_readout:
            return False
        self.config = dataclasses.replace(self.config, cfc_readout=True)
        self.readout = _make_readout(self.config).to(self.action_mean.device)
        return True

    def reset(self) -> None:
        """Forget the hidden state kept by ``step``."""
        self._hx = None
        self.last_gains = None
