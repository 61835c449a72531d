"""Which policy a node or the demo flies: a given checkpoint, the shipped one, or a fresh one.

A checkpoint path ending in ``.onnx`` (written by ``liquid-ros export``) runs on ONNX Runtime
through :class:`liquid_ros.models.onnx_runtime.OnnxPolicy`, which steps, resets and reports its
image size and period like a LiquidPolicy; any other path is a torch checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import liquid_ros


def shipped_checkpoint(task: str) -> Path:
    """Path of the checkpoint shipped for ``task`` (``liquid_ros/checkpoints/<task>.pt``)."""
    return Path(liquid_ros.__file__).resolve().parent / "checkpoints" / f"{task}.pt"


def load_or_init_policy(checkpoint: str, task: str,
                        onnx_threads: int = 1) -> tuple[Any, str, str | None]:
    """Load the policy to fly.

    Args:
        checkpoint: Checkpoint path (``.pt``, or ``.onnx`` for ONNX Runtime); empty for the
            shipped one or a fresh policy.
        task: Task name (selects the shipped checkpoint).
        onnx_threads: ONNX Runtime intra-op threads for an ``.onnx`` checkpoint.

    Returns:
        (policy in eval mode, description of its source, warning or None). The warning is set
        when no checkpoint exists and a freshly initialised, untrained policy is returned.

    Raises:
        liquid_ros.models.checkpoint.CheckpointError: A given checkpoint is missing, corrupt
            or of the wrong format (a ValueError naming the file).
        liquid_ros.models.onnx_runtime.OnnxModelError: The same for an ``.onnx`` file, or
            onnxruntime is not installed (a ValueError naming the file and the extra).
    """
    if checkpoint.lower().endswith(".onnx"):
        return _load_onnx(checkpoint, onnx_threads), f"ONNX model {checkpoint}", None
    from liquid_ros.models.policy import LiquidPolicy, PolicyConfig

    if checkpoint:
        from liquid_ros.models.checkpoint import CheckpointError, load_policy
        if not Path(checkpoint).is_file():
            raise CheckpointError(f"checkpoint {checkpoint!r} does not exist")
        return load_policy(checkpoint).eval(), f"checkpoint {checkpoint}", None
    shipped = shipped_checkpoint(task)
    if shipped.is_file():
        from liquid_ros.models.checkpoint import load_policy
        return load_policy(str(shipped)).eval(), f"shipped checkpoint {shipped}", None
    warning = (f"NO CHECKPOINT: no 'checkpoint' parameter and none shipped for task {task!r} "
               f"(looked for {shipped}); flying a freshly initialised, UNTRAINED LiquidPolicy. "
               "The safety filter and controller still bound every command.")
    return LiquidPolicy(PolicyConfig()).eval(), "untrained LiquidPolicy", warning


def _load_onnx(path: str, threads: int) -> Any:
    from liquid_ros.models.onnx_runtime import OnnxModelError, OnnxPolicy

    try:
        return OnnxPolicy(path, threads=threads)
    except ImportError as err:  # one line for the node's log, as for a bad checkpoint
        raise OnnxModelError(f"cannot run ONNX model {path}: {err}") from err


def policy_period(policy: Any, control_hz: float = 50.0) -> float:
    """Seconds between policy steps the policy was trained with; 0 when it does not say.

    Training (``liquid-ros train``) holds each action for ``action_repeat`` ticks of the
    simulator's control loop (``env_kwargs['control_hz']``, 50 Hz by default) and records both
    in the checkpoint's metadata; the node steps the policy at that same period.
    """
    meta = getattr(policy, "checkpoint_metadata", None) or {}
    repeat = meta.get("action_repeat")
    if not repeat:
        return 0.0
    hz = float((meta.get("env_kwargs") or {}).get("control_hz", control_hz))
    return float(repeat) / hz


def policy_image_size(policy: Any) -> tuple[int, int]:
    """(height, width) of the policy's input images (64x64 if the policy does not say)."""
    cfg = getattr(policy, "config", None)
    return (int(getattr(cfg, "image_height", 64)), int(getattr(cfg, "image_width", 64)))


@dataclass(frozen=True)
class LoadedPilot:
    """A :class:`~liquid_ros.runtime.pilot.Pilot` ready to fly, and what it flies."""

    pilot: Any
    """The Pilot."""
    policy: Any
    """Its policy (LiquidPolicy or OnnxPolicy)."""
    source: str
    """What is flying, for the log (``shipped checkpoint ...``)."""
    warning: str | None
    """Set when an untrained policy flies."""
    image_size: tuple[int, int]
    """Policy input (height, width)."""
    period: float
    """Seconds between policy steps (0: every tick)."""


def check_fit(policy: Any, settings: Any, image_size: tuple[int, int] | None = None
              ) -> str | None:
    """Refuse a configuration that does not fit the checkpoint, naming both.

    Refused: a control rate that does not divide the policy's trained period into whole ticks
    (at least one), and, when ``image_size`` is given (evaluation renders at that size; the
    node resizes any image instead), a camera size other than the policy's input. A command
    level other than the one the checkpoint records having been trained at is allowed but
    warned about: the policy's action is a world acceleration at every level, tracked by the
    flight controller or, at the wrench level, by the pilot's own controller, so it flies, but
    with closed-loop dynamics it did not learn on.

    Returns:
        That warning, or None.

    Raises:
        ValueError: One line naming the setting and the checkpoint's value.
    """
    rate = settings.node.rate_hz
    period = policy_period(policy)
    if period > 0.0:
        ticks = period * rate
        if ticks < 1.0 - 1e-6 or abs(ticks - round(ticks)) > 1e-3 * max(ticks, 1.0):
            raise ValueError(f"rate_hz {rate:g} does not fit the checkpoint's policy period "
                             f"{period:g} s (trained at {1 / period:g} Hz): the period must be "
                             "a whole number of control ticks")
    if image_size is not None and tuple(image_size) != policy_image_size(policy):
        raise ValueError(f"camera images {image_size[0]}x{image_size[1]} do not fit the "
                         f"checkpoint's input {policy_image_size(policy)[0]}x"
                         f"{policy_image_size(policy)[1]}")
    meta = getattr(policy, "checkpoint_metadata", None) or {}
    trained = (meta.get("env_kwargs") or {}).get("command_level")
    level = settings.command_level.value
    if trained and trained != level:
        return (f"command level {level!r} (output_type {settings.node.output_type!r}) is not "
                f"the one the checkpoint was trained at ({trained!r}): its accelerations are "
                "tracked by a different controller than in training")
    return None


def make_pilot(settings: Any, checkpoint: str = "", policy: Any = None,
               params: Any = None, controller: Any = None) -> LoadedPilot:
    """Load the policy (unless given) and build the pilot policy_node and evaluation fly.

    Args:
        settings: A :class:`~liquid_ros.runtime.config.PilotSettings` (node, safety,
            controller groups); ``settings.node.task`` selects the shipped checkpoint.
        checkpoint: Checkpoint path; empty: ``settings.node.checkpoint``, then the shipped one.
        policy: An already loaded policy (evaluation caches one per process); it is reset.
        params: Quadrotor model (CF2X by default).
        controller: An AccelerationController to use (the node builds it on its own thread);
            None builds one from ``settings.controller``.

    Raises:
        ValueError: A missing or bad checkpoint, or a configuration that does not fit it
            (:func:`check_fit`; a command-level mismatch only sets ``warning``).
    """
    from liquid_ros.control.controller import AccelerationController
    from liquid_ros.control.quadrotor import CF2X
    from liquid_ros.runtime.pilot import Pilot
    from liquid_ros.safety.filter import SafetyFilter

    params = params or CF2X
    source, warning = "given policy", None
    if policy is None:
        policy, source, warning = load_or_init_policy(
            checkpoint or settings.node.checkpoint, settings.node.task)
    mismatch = check_fit(policy, settings)
    if mismatch:
        warning = f"{warning}; {mismatch}" if warning else mismatch
    controller = controller or AccelerationController(params, settings.controller)
    period = policy_period(policy)
    pilot = Pilot(policy, SafetyFilter(settings.safety, params), controller, settings.node,
                  params, policy_period=period)
    return LoadedPilot(pilot, policy, source, warning, policy_image_size(policy), period)
