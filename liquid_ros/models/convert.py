"""Import trained ncps models, and rebuild our models from their plain-dict configs."""

from __future__ import annotations

from typing import Any

from torch import nn

from liquid_ros.models.cfc import CfC
from liquid_ros.models.ltc_rnn import LTC
from liquid_ros.models.wiring import Wiring

_ACTIVATION_NAMES = {
    "LeCun": "lecun_tanh", "SiLU": "silu", "ReLU": "relu", "Tanh": "tanh", "GELU": "gelu",
}


def _wiring_from_ncps(wiring: Any) -> Wiring:
    layers = [list(wiring.get_neurons_of_layer(i)) for i in range(wiring.num_layers)]
    return Wiring(
        wiring.units, wiring.output_dim, wiring.adjacency_matrix,
        wiring.sensory_adjacency_matrix, layers=layers,
    )


def from_ncps(module: nn.Module) -> LTC | CfC:
    """Build our LTC or CfC from a (trained) ``ncps.torch.LTC`` / ``ncps.torch.CfC``.

    The wiring is copied as explicit adjacency matrices (and layers), the weights through the
    state dict (parameter names match). ncps is imported only here, and only if installed.

    Args:
        module: An ncps 1.0.x ``LTC`` or ``CfC`` module.

    Returns:
        An equivalent ``LTC`` or ``CfC`` (same outputs for the same inputs).

    Raises:
        ValueError: if the module is not an ncps LTC or CfC.
    """
    try:
        from ncps import torch as ncps_torch  # optional dependency, import only on use
    except ImportError as err:
        raise ValueError("from_ncps needs the ncps package installed") from err
    if isinstance(module, ncps_torch.LTC):
        cell = module.rnn_cell
        ours: LTC | CfC = LTC(
            module.input_size, _wiring_from_ncps(module._wiring),
            return_sequences=module.return_sequences, batch_first=module.batch_first,
            mixed_memory=module.use_mixed, input_mapping=cell._input_mapping,
            output_mapping=cell._output_mapping, ode_unfolds=cell._ode_unfolds,
            epsilon=cell._epsilon, implicit_param_constraints=cell._implicit_param_constraints,
        )
    elif isinstance(module, ncps_torch.CfC):
        proj = None if isinstance(module.fc, nn.Identity) else module.fc.out_features
        common = {
            "proj_size": proj, "return_sequences": module.return_sequences,
            "batch_first": module.batch_first, "mixed_memory": module.use_mixed,
        }
        if getattr(module, "wired_mode", False):
            cell = module.rnn_cell._layers[0]
            ours = CfC(module.input_size, _wiring_from_ncps(module.wiring), mode=cell.mode,
                       **common)
        else:
            cell = module.rnn_cell
            layers = cell.backbone_layers
            backbone = list(cell.backbone) if layers > 0 else []
            dropout = [m.p for m in backbone if isinstance(m, nn.Dropout)]
            activation = (
                _ACTIVATION_NAMES.get(type(backbone[1]).__name__, "lecun_tanh")
                if backbone else "lecun_tanh"
            )
            ours = CfC(
                module.input_size, cell.hidden_size, mode=cell.mode, activation=activation,
                backbone_units=backbone[0].out_features if backbone else 128,
                backbone_layers=layers, backbone_dropout=dropout[0] if dropout else 0.0,
                **common,
            )
    else:
        raise ValueError(f"module must be an ncps LTC or CfC, got {type(module).__name__}")
    ours.load_state_dict(module.state_dict(), strict=True)
    ours.train(module.training)
    return ours


def model_from_config(config: dict[str, Any]) -> LTC | CfC:
    """Rebuild an ``LTC`` or ``CfC`` from its ``config()`` dict (weights not included).

    Raises:
        ValueError: on an unknown model type.
    """
    config = dict(config)
    kind = config.pop("type", None)
    wiring = config.pop("wiring", None)
    wiring = None if wiring is None else Wiring.from_dict(wiring)
    input_size = config.pop("input_size")
    if kind == "ltc":
        return LTC(input_size, wiring, **config)
    if kind == "cfc":
        units = config.pop("units")
        return CfC(input_size, wiring if wiring is not None else units, **config)
    raise ValueError(f"unknown model type {kind!r} (expected 'ltc' or 'cfc')")
