"""Export of a policy's stepping function for deployment without this package: ONNX or TorchScript.

The exported graph computes one control tick at batch 1:
``(image (1, H, W, C) uint8, state (1, S), dt (1, 1) s, h (1, K)) -> (action (1, A), h')``,
with the head state flattened to K floats (LSTM: [h, c]; MLP: K = 1, unused). Gains, if any,
follow the action in the output: (1, A + G). Observation normalisation and action scaling are
inside the graph; ONNX files also carry them, the policy period and the frame conventions in
their ``metadata_props`` (``step_metadata``). ONNX is the default format: ``torch.jit.trace``
is deprecated in recent torch. On the command line: ``liquid-ros export``
(:mod:`liquid_ros.cli.export`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from liquid_ros.models.baselines import CTRNNHead, GatedRNNHead, LiquidHead, MLPHead
from liquid_ros.models.onnx_runtime import INPUT_NAMES, build_metadata
from liquid_ros.models.policy import LiquidPolicy

ONNX_OPSET = 18
OUTPUT_NAMES = ("action", "h_next")
_NORMALIZATION = ("image_mean", "image_std", "state_mean", "state_std", "action_mean",
                  "action_scale")


class ExportError(RuntimeError):
    """A policy's step cannot be exported (the message names the model family)."""


def flat_state_size(policy: LiquidPolicy) -> int:
    """Size K of the flattened head state of the exported step."""
    head = policy.head
    if isinstance(head, LiquidHead):
        return head.rnn.state_size * (2 if head.rnn.use_mixed else 1)
    if isinstance(head, GatedRNNHead):
        size = head.rnn.hidden_size
        return 2 * size if isinstance(head.rnn, nn.LSTM) else size
    if isinstance(head, MLPHead):
        return 1
    return head.hidden_size


class PolicyStep(nn.Module):
    """Traceable batch-1 step of a ``LiquidPolicy`` with an explicit flat state.

    Only pure torch math: the numba kernels (``fast_step``, fused sequences) are bypassed by
    calling the cells' torch step directly, so a tracer or exporter records the equations.
    """

    def __init__(self, policy: LiquidPolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(
        self, image: torch.Tensor, state: torch.Tensor, dt: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See the module docstring."""
        policy, head = self.policy, self.policy.head
        x = policy._inputs(image[:, None], state[:, None])[:, 0]
        if isinstance(head, LiquidHead):
            rnn = head.rnn
            n = rnn.state_size
            h0, c0 = (h[:, :n], h[:, n:]) if rnn.use_mixed else (h, None)
            if rnn.use_mixed:
                h0, c0 = rnn.lstm(x, (h0, c0))
            raw, h1 = _cell_step(rnn, x, h0, dt)
            new_h = torch.cat([h1, c0], 1) if rnn.use_mixed else h1
        elif isinstance(head, GatedRNNHead):
            raw, new_h = _gated_step(head, x, h)
        elif isinstance(head, CTRNNHead):
            raw, new_h = _ctrnn_step(head, x, h, dt)
        elif isinstance(head, MLPHead):
            raw, _ = head.step(x, None, 0.0)
            new_h = h
        else:
            raise ExportError(f"no export for a {type(head).__name__} head")
        actions, gains = policy._outputs(raw)
        out = actions if gains is None else torch.cat([actions, gains], -1)
        return out, new_h


def _cell_step(rnn: Any, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor):
    if hasattr(rnn, "cells"):  # CfC: the fused per-layer step
        fused = rnn._fused()
        y, h = rnn._layer_step(torch.addmm(fused[0][2], x, fused[0][0].t()), h, None, dt, fused)
        return rnn.fc(y), h
    return rnn.rnn_cell(x, h, dt)


def _gated_step(head: GatedRNNHead, x: torch.Tensor, h: torch.Tensor):
    """One LSTM/GRU step written out (gate order i, f, g, o and r, z, n as in torch)."""
    rnn = head.rnn
    w_ih, w_hh, b_ih, b_hh = rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0
    n = rnn.hidden_size
    if isinstance(rnn, nn.LSTM):
        h0, c0 = h[:, :n], h[:, n:]
        z = torch.addmm(b_ih, x, w_ih.t()) + torch.addmm(b_hh, h0, w_hh.t())
        i, f, g, o = z.chunk(4, 1)
        c1 = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g)
        h1 = torch.sigmoid(o) * torch.tanh(c1)
        return head.readout(h1), torch.cat([h1, c1], 1)
    gi, gh = torch.addmm(b_ih, x, w_ih.t()), torch.addmm(b_hh, h, w_hh.t())
    r = torch.sigmoid(gi[:, :n] + gh[:, :n])
    zg = torch.sigmoid(gi[:, n:2 * n] + gh[:, n:2 * n])
    cand = torch.tanh(gi[:, 2 * n:] + r * gh[:, 2 * n:])
    h1 = (1.0 - zg) * cand + zg * h
    return head.readout(h1), h1


def _ctrnn_step(head: CTRNNHead, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor):
    """CT-RNN step with ``1 - exp(-dt / tau)`` for ``-expm1`` (no expm1 in the ONNX exporter).

    The rate then differs by float32 rounding, about 6e-8 absolute.
    """
    target = torch.tanh(head.input_map(x) + head.recurrent_map(h))
    rate = 1.0 - torch.exp(-dt / head.log_tau.exp())
    h1 = h + rate * (target - h)
    return head.readout(h1), h1


def example_inputs(policy: LiquidPolicy) -> tuple[torch.Tensor, ...]:
    """Zero inputs of the exported step's shapes and dtypes (dt = 0.05 s)."""
    cfg = policy.config
    return (
        torch.zeros(1, cfg.image_height, cfg.image_width, cfg.image_channels, dtype=torch.uint8),
        torch.zeros(1, cfg.state_dim),
        torch.full((1, 1), 0.05),
        torch.zeros(1, flat_state_size(policy)),
    )


def export_torchscript(
    policy: LiquidPolicy, path: str | os.PathLike | None = None
) -> torch.jit.ScriptModule:
    """Trace the policy's step into TorchScript (and save it when ``path`` is given).

    Returns:
        The traced module; call it with ``(image, state, dt, h)`` as in the module docstring,
        starting from ``h = torch.zeros(1, flat_state_size(policy))``.
    """
    step = PolicyStep(policy).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript is deprecated in recent torch; ONNX is the preferred format.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(step, example_inputs(policy), check_trace=False)
    if path is not None:
        traced.save(str(path))
    return traced


def load_torchscript(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """Load an exported step module (TorchScript deprecation warning silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path))


def step_metadata(policy: LiquidPolicy, exporter: str = "") -> dict[str, str]:
    """The ONNX ``metadata_props`` of the policy's exported step (see ``build_metadata``)."""
    return build_metadata(
        policy.config.to_dict(), flat_state_size(policy),
        {name: getattr(policy, name).tolist() for name in _NORMALIZATION},
        getattr(policy, "checkpoint_metadata", None) or {}, exporter, ONNX_OPSET)


def _restore_inputs(model: Any, example: tuple[torch.Tensor, ...]) -> None:
    """Put back inputs the exporter pruned as unused (dt of LSTM/GRU/MLP), in order.

    Every family then has the same four inputs, so a runtime feeds them all the same way.
    """
    import onnx

    present = {value.name: value for value in model.graph.input}
    types = {torch.uint8: onnx.TensorProto.UINT8, torch.float32: onnx.TensorProto.FLOAT}
    inputs = [present.get(name) or onnx.helper.make_tensor_value_info(
        name, types[tensor.dtype], list(tensor.shape))
        for name, tensor in zip(INPUT_NAMES, example, strict=True)]
    del model.graph.input[:]
    model.graph.input.extend(inputs)


def export_onnx(policy: LiquidPolicy, path: str | os.PathLike, *, dynamo: bool = False) -> Path:
    """Export the policy's step to an ONNX file with ``step_metadata`` in its metadata_props.

    Args:
        policy: The policy (its ``checkpoint_metadata``, if any, goes into the metadata).
        path: Target ``.onnx`` file (weights inside it, no external data).
        dynamo: Use the ``torch.export``-based exporter (needs onnxscript; several seconds per
            model) instead of the TorchScript-based one (under a second; deprecated since
            torch 2.9 but present in 2.13). Both give the same graph outputs to 1e-6.

    Returns:
        The path written.

    Raises:
        ImportError: one line naming the missing package (onnx, or onnxscript with dynamo).
        ExportError: the exporter failed on this model family.
    """
    try:
        import onnx
    except ImportError as err:
        raise ImportError("ONNX export needs onnx: pip install 'liquid_ros[onnx]'") from err
    path = Path(path)
    step, example = PolicyStep(policy).eval(), example_inputs(policy)
    names = {"input_names": list(INPUT_NAMES), "output_names": list(OUTPUT_NAMES)}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            if dynamo:
                program = torch.onnx.export(step, example, dynamo=True, optimize=True,
                                            verbose=False, opset_version=ONNX_OPSET, **names)
                program.save(str(path), external_data=False)
            else:
                # Static graph (batch 1, fixed image size): all this exporter needs.
                torch.onnx.export(step, example, str(path), dynamo=False,
                                  opset_version=ONNX_OPSET, **names)
    except ImportError as err:
        need = "onnxscript" if dynamo else "onnx"
        raise ImportError(f"ONNX export (dynamo={dynamo}) needs {need}: {err}") from err
    except Exception as err:  # noqa: BLE001  (exporters raise many types)
        raise ExportError(f"cannot export a {policy.config.cell!r} policy to ONNX "
                          f"(dynamo={dynamo}): {type(err).__name__}: {err}") from err
    model = onnx.load(str(path))
    _restore_inputs(model, example)
    del model.metadata_props[:]
    exporter = f"torch {torch.__version__} torch.onnx.export(dynamo={dynamo})"
    for key, value in step_metadata(policy, exporter).items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.doc_string = "liquid_ros", str(__doc__).splitlines()[0]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
