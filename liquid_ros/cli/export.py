"""``liquid-ros export``: write a checkpoint's step as ONNX (default) or TorchScript.

The exported graph computes one control tick at batch 1 with normalisation and action scaling
inside; see :mod:`liquid_ros.models.export`. After an ONNX export, 30 steps are compared with
torch through ONNX Runtime (``--no-check`` skips it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from liquid_ros.cli.options import fail, parse_config


@dataclass(frozen=True, kw_only=True)
class ExportArgs:
    """Options of ``liquid-ros export``."""

    checkpoint: str
    """Policy checkpoint (.pt)."""
    format: str = field(default="onnx", metadata={"cli": {"choices": ["onnx", "torchscript"]}})
    """onnx (ONNX Runtime) or torchscript (torch.jit.trace)."""
    out: str | None = None
    """Output file (default: the checkpoint with .onnx or .ts.pt)."""
    dynamo: bool = False
    """ONNX via the torch.export-based exporter (needs onnxscript)."""
    check: bool = True
    """Compare 30 steps of the ONNX file with torch (ONNX Runtime)."""


def main(argv: list[str]) -> int:
    """Entry point of ``liquid-ros export``; returns the exit code."""
    import sys

    from liquid_ros.models.checkpoint import CheckpointError, load_policy
    from liquid_ros.models.export import (
        ExportError,
        export_onnx,
        export_torchscript,
        flat_state_size,
    )

    args, _ = parse_config(ExportArgs, argv, "liquid-ros export", __doc__)
    suffix = ".onnx" if args.format == "onnx" else ".ts.pt"
    out = Path(args.out or Path(args.checkpoint).with_suffix(suffix))
    try:
        policy = load_policy(args.checkpoint)
        if args.format == "torchscript":
            export_torchscript(policy, out)
        else:
            export_onnx(policy, out, dynamo=args.dynamo)
    except (CheckpointError, ImportError, ExportError) as err:
        return fail("export", err)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB, {policy.config.cell}, "
          f"state size {flat_state_size(policy)})")
    if args.format == "onnx" and args.check:
        from liquid_ros.models.onnx_runtime import OnnxPolicy, max_step_difference

        try:
            diff = max_step_difference(policy, OnnxPolicy(out))
        except ImportError as err:
            print(f"parity check skipped: {err}")
            return 0
        print(f"parity with torch over 30 steps: max |difference| {diff:.2e}")
        if not diff <= 1e-5:
            print("liquid-ros export: the ONNX step differs from torch", file=sys.stderr)
            return 1
    return 0
