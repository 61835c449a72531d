"""Liquid time-constant (LTC) cell and sequence wrapper.

Model: Hasani et al., "Liquid time-constant networks", AAAI 2021; fused semi-implicit Euler
solver with ``ode_unfolds`` sub-steps per input step, as in ncps 1.0.1 (parameter names, init
ranges and softplus constraints follow it so trained ncps weights load unchanged). Per neuron j:

    cm_j dv_j/dt = gleak_j (vleak_j - v_j)
                   + sum_i w_ij sigmoid(sigma_ij (v_i - mu_ij)) (E_ij - v_j)

with the sum over neuron and sensory synapses of the wiring.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from liquid_ros.models import _fast
from liquid_ros.models.wiring import Wiring

_MAPPINGS = ("affine", "linear", "none")
_INIT = {  # uniform init ranges of ncps 1.0.1
    "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6), "w": (0.001, 1.0),
    "sigma": (3.0, 8.0), "mu": (0.3, 0.8), "sensory_w": (0.001, 1.0),
    "sensory_sigma": (3.0, 8.0), "sensory_mu": (0.3, 0.8),
}
_COMPILED: dict[str, object] = {}


def ltc_unfold(
    v: torch.Tensor, num_s: torch.Tensor, den: torch.Tensor, cm_t: torch.Tensor,
    mu: torch.Tensor, sigma: torch.Tensor, w: torch.Tensor, w_erev: torch.Tensor, unfolds: int,
) -> torch.Tensor:
    """Run the ODE sub-steps of one input step.

    Args:
        v: (B, N) potentials.
        num_s: (B, N) loop-invariant numerator part (sensory synapses, leak).
        den: (B, N) loop-invariant denominator part (cm/dt', leak, sensory, epsilon).
        cm_t: (B, N) or (N,) capacitance over the sub-step length.
        mu: (N, N) synapse sigmoid centres.
        sigma: (N, N) synapse sigmoid slopes.
        w: (N, N) constrained, masked synapse weights.
        w_erev: (N, N) ``w`` times the reversal potentials.
        unfolds: Number of sub-steps.

    Returns:
        (B, N) potentials after the step.
    """
    for _ in range(unfolds):
        act = torch.sigmoid((v.unsqueeze(-1) - mu) * sigma)
        v = (cm_t * v + num_s + (act * w_erev).sum(1)) / (den + (act * w).sum(1))
    return v


def _unfold_fn(use_compile: bool):
    if not use_compile:
        return ltc_unfold
    if "ltc" not in _COMPILED:
        try:
            _COMPILED["ltc"] = torch.compile(ltc_unfold, dynamic=False)
        except Exception as err:  # noqa: BLE001  (compile is an optional speed-up)
            warnings.warn(f"torch.compile unavailable ({err}); using eager LTC", stacklevel=3)
            _COMPILED["ltc"] = ltc_unfold
    return _COMPILED["ltc"]


class LTCCell(nn.Module):
    """One LTC step ``(x, h, dt) -> (y, h')`` on a wiring.

    Args:
        wiring: The wiring (built here with ``in_features`` if given).
        in_features: Number of inputs S.
        input_mapping: "affine" (x * w + b), "linear" (x * w) or "none".
        output_mapping: "affine", "linear" or "none", applied to the motor neurons.
        ode_unfolds: Solver sub-steps per input step.
        epsilon: Added to the denominator to avoid division by zero.
        implicit_param_constraints: Softplus keeps w, sensory_w, cm, gleak positive; else call
            ``apply_weight_constraints`` after each optimiser step.
    """

    def __init__(
        self,
        wiring: Wiring,
        in_features: int | None = None,
        input_mapping: str = "affine",
        output_mapping: str = "affine",
        ode_unfolds: int = 6,
        epsilon: float = 1e-8,
        implicit_param_constraints: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("input_mapping", input_mapping), ("output_mapping", output_mapping)):
            if value not in _MAPPINGS:
                raise ValueError(f"{name} must be one of {_MAPPINGS}, got {value!r}")
        if isinstance(ode_unfolds, bool) or not isinstance(ode_unfolds, int) or ode_unfolds < 1:
            raise ValueError(f"ode_unfolds must be a positive integer, got {ode_unfolds!r}")
        if in_features is not None:
            wiring.build(in_features)
        if not wiring.is_built():
            raise ValueError("wiring has no input size: pass in_features or call wiring.build()")
        self.wiring = wiring
        self.input_mapping = input_mapping
        self.output_mapping = output_mapping
        self.ode_unfolds = ode_unfolds
        self.epsilon = float(epsilon)
        self.implicit_param_constraints = bool(implicit_param_constraints)
        n, s = wiring.units, wiring.input_dim
        shapes = {
            "gleak": (n,), "vleak": (n,), "cm": (n,), "sigma": (n, n), "mu": (n, n),
            "w": (n, n), "sensory_sigma": (s, n), "sensory_mu": (s, n), "sensory_w": (s, n),
        }
        for name, shape in shapes.items():
            low, high = _INIT[name]
            self.register_parameter(name, nn.Parameter(torch.rand(shape) * (high - low) + low))
        self.erev = nn.Parameter(torch.tensor(wiring.adjacency_matrix, dtype=torch.float32))
        self.sensory_erev = nn.Parameter(
            torch.tensor(wiring.sensory_adjacency_matrix, dtype=torch.float32)
        )
        self.register_buffer(
            "sparsity_mask", torch.tensor(np.abs(wiring.adjacency_matrix), dtype=torch.float32)
        )
        self.register_buffer(
            "sensory_sparsity_mask",
            torch.tensor(np.abs(wiring.sensory_adjacency_matrix), dtype=torch.float32),
        )
        m = wiring.output_dim
        if input_mapping in ("affine", "linear"):
            self.input_w = nn.Parameter(torch.ones(s))
        if input_mapping == "affine":
            self.input_b = nn.Parameter(torch.zeros(s))
        if output_mapping in ("affine", "linear"):
            self.output_w = nn.Parameter(torch.ones(m))
        if output_mapping == "affine":
            self.output_b = nn.Parameter(torch.zeros(m))

    @property
    def state_size(self) -> int:
        """Number of neurons N."""
        return self.wiring.units

    @property
    def motor_size(self) -> int:
        """Number of outputs M."""
        return self.wiring.output_dim

    def _positive(self, t: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(t) if self.implicit_param_constraints else t

    def constrained(self) -> dict[str, torch.Tensor]:
        """Loop-invariant weights: positive, masked, with reversal potentials folded in."""
        w = self._positive(self.w) * self.sparsity_mask
        sw = self._positive(self.sensory_w) * self.sensory_sparsity_mask
        gleak = self._positive(self.gleak)
        return {
            "w": w, "w_erev": w * self.erev, "sw": sw, "sw_erev": sw * self.sensory_erev,
            "gleak": gleak, "glvl": gleak * self.vleak, "cm": self._positive(self.cm),
        }

    def map_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Per-feature affine input map, (..., S) -> (..., S)."""
        if self.input_mapping in ("affine", "linear"):
            x = x * self.input_w
        if self.input_mapping == "affine":
            x = x + self.input_b
        return x

    def map_outputs(self, v: torch.Tensor) -> torch.Tensor:
        """Motor neurons through the output map, (..., N) -> (..., M)."""
        y = v[..., : self.motor_size]
        if self.output_mapping in ("affine", "linear"):
            y = y * self.output_w
        if self.output_mapping == "affine":
            y = y + self.output_b
        return y

    def sensory_terms(
        self, xm: torch.Tensor, p: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Loop-invariant numerator and denominator parts, (..., S) -> 2 x (..., N).

        The sensory synapses depend only on the input, so for a sequence they are computed
        for all steps at once.
        """
        act = torch.sigmoid((xm.unsqueeze(-1) - self.sensory_mu) * self.sensory_sigma)
        num = (act * p["sw_erev"]).sum(-2) + p["glvl"]
        den = (act * p["sw"]).sum(-2) + p["gleak"] + self.epsilon
        return num, den

    def cm_over_dt(self, p: dict[str, torch.Tensor], dt: torch.Tensor | float) -> torch.Tensor:
        """Cm / (dt / unfolds): (N,) for a float dt, (..., N) for a (..., 1) tensor."""
        return p["cm"] * self.ode_unfolds / dt

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor | float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step.

        Args:
            x: (B, S) inputs.
            h: (B, N) potentials.
            dt: Elapsed time in s, float or (B,) / (B, 1) tensor (per sample).

        Returns:
            (y (B, M), h' (B, N)).
        """
        if isinstance(dt, torch.Tensor) and dt.dim() > 0:
            dt = dt.reshape(-1, 1)
        p = self.constrained()
        num_s, den_s = self.sensory_terms(self.map_inputs(x), p)
        cm_t = self.cm_over_dt(p, dt)
        v = ltc_unfold(h, num_s, cm_t + den_s, cm_t, self.mu, self.sigma, p["w"], p["w_erev"],
                       self.ode_unfolds)
        return self.map_outputs(v), v

    def apply_weight_constraints(self) -> None:
        """Clip w, sensory_w, cm, gleak at 0 (only without implicit constraints)."""
        if not self.implicit_param_constraints:
            with torch.no_grad():
                for t in (self.w, self.sensory_w, self.cm, self.gleak):
                    t.clamp_(min=0.0)

    def numpy_snapshot(self) -> tuple:
        """Constrained weights as float64 arrays in the argument order of the numba kernel."""
        with torch.no_grad():
            p = {k: v.double().numpy() for k, v in self.constrained().items()}
            s_src, s_ptr = _fast.csr_by_destination(self.sensory_sparsity_mask.numpy())
            r_src, r_ptr = _fast.csr_by_destination(self.sparsity_mask.numpy())
            s_dst = np.repeat(np.arange(self.state_size), np.diff(s_ptr))
            r_dst = np.repeat(np.arange(self.state_size), np.diff(r_ptr))
            s, m = self.wiring.input_dim, self.motor_size

            def get(name: str, default: np.ndarray) -> np.ndarray:
                t = getattr(self, name, None)
                return default if t is None else t.detach().double().numpy().copy()

            def edges(t: torch.Tensor | np.ndarray, src, dst) -> np.ndarray:
                a = t if isinstance(t, np.ndarray) else t.detach().double().numpy()
                return np.ascontiguousarray(a[src, dst])

            return (
                get("input_w", np.ones(s)), get("input_b", np.zeros(s)), s_src, s_ptr,
                edges(self.sensory_mu, s_src, s_dst), edges(self.sensory_sigma, s_src, s_dst),
                edges(p["sw"], s_src, s_dst), edges(p["sw_erev"], s_src, s_dst),
                r_src, r_ptr, edges(self.mu, r_src, r_dst), edges(self.sigma, r_src, r_dst),
                edges(p["w"], r_src, r_dst), edges(p["w_erev"], r_src, r_dst),
                p["gleak"] + self.epsilon, p["glvl"].copy(), p["cm"].copy(),
                self.ode_unfolds, 0.0, get("output_w", np.ones(m)), get("output_b", np.zeros(m)),
            )
