"""Policy checkpoints: one ``.pt`` file, loaded with ``torch.load(weights_only=True)``.

Layout (a plain dict): ``format`` (tag and version), ``config`` (``PolicyConfig.to_dict``),
``state_dict`` (weights and normalisation buffers), ``normalization`` (the normalisation and
action-scaling tensors again, for readers that do not build the model) and ``metadata``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from liquid_ros.models.policy import LiquidPolicy, PolicyConfig

FORMAT = "liquid_ros.policy/1"
_NORMALIZATION = (
    "image_mean", "image_std", "state_mean", "state_std", "action_mean", "action_scale",
)


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, truncated or of another format."""


def _check_plain(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | float | str | torch.Tensor):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"metadata keys must be strings ({where})")
            _check_plain(item, f"{where}.{key}")
        return
    raise ValueError(
        f"metadata{where} has type {type(value).__name__}; use plain types or tensors"
    )


def save_policy(
    path: str | os.PathLike, policy: LiquidPolicy, metadata: dict[str, Any] | None = None
) -> Path:
    """Write a policy checkpoint (atomically: a temporary file is renamed into place).

    Args:
        path: Target ``.pt`` file.
        policy: The policy.
        metadata: Plain data (str, numbers, lists, dicts, tensors) such as training info.

    Returns:
        The path written.

    Raises:
        ValueError: if metadata holds other types (they would not load with weights_only).
    """
    metadata = {} if metadata is None else metadata
    _check_plain(metadata, "")
    state = {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()}
    payload = {
        "format": FORMAT,
        "config": policy.config.to_dict(),
        "state_dict": state,
        "normalization": {name: state[name] for name in _NORMALIZATION},
        "metadata": metadata,
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a checkpoint's raw dict.

    Raises:
        CheckpointError: naming the file, if it is missing, unreadable or not a policy
            checkpoint of this format.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001  (torch raises many types for bad files)
        raise CheckpointError(
            f"checkpoint {path} is corrupted or not a torch file: {err}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"checkpoint {path} has format {found!r}, expected {FORMAT!r}")
    for key in ("config", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointError(f"checkpoint {path} lacks its {key!r} dict")
    return payload


def load_policy(path: str | os.PathLike) -> LiquidPolicy:
    """Load a policy (in eval mode); its metadata is in ``policy.checkpoint_metadata``.

    Raises:
        CheckpointError: naming the file, on any missing, corrupted or mismatched content.
    """
    payload = load_checkpoint(path)
    try:
        policy = LiquidPolicy(PolicyConfig.from_dict(payload["config"]))
        policy.load_state_dict(payload["state_dict"], strict=True)
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"checkpoint {path} does not match its config: {err}") from err
    policy.checkpoint_metadata = payload.get("metadata", {})
    return policy.eval()
