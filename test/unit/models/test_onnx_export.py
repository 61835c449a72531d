"""ONNX export of the stepping policy: parity with torch under ONNX Runtime, metadata, errors."""

from __future__ import annotations

import copy
import json
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from liquid_ros.cli.export import main  # noqa: E402
from liquid_ros.models import LiquidPolicy, PolicyConfig, load_policy  # noqa: E402
from liquid_ros.models.export import export_onnx, flat_state_size  # noqa: E402
from liquid_ros.models.onnx_runtime import (  # noqa: E402
    ONNX_FORMAT,
    OnnxModelError,
    OnnxPolicy,
    max_step_difference,
)
from liquid_ros.runtime.policy_source import (  # noqa: E402
    load_or_init_policy,
    policy_image_size,
    policy_period,
    shipped_checkpoint,
)

TOL = 1e-5
SHIPPED = ("fly_to_target", "leader_follow")
FAMILIES = ("ltc", "cfc", "lstm", "gru", "ctrnn", "mlp")


def _family_policy(cell: str) -> LiquidPolicy:
    """A small policy of each family with gains and non-trivial normalisation."""
    policy = LiquidPolicy(PolicyConfig(cell=cell, image_height=32, image_width=32, n_gains=2,
                                       baseline_hidden=16, seed=3))
    policy.set_normalization(state_mean=np.linspace(-0.5, 0.5, 10), state_std=np.full(10, 2.0),
                             action_mean=[0.1, -0.1, 0.2, 0.0], action_scale=[2, 2, 1, 0.5])
    return policy.eval()


@pytest.fixture(scope="module")
def shipped_onnx(tmp_path_factory):
    """The shipped checkpoints exported once: {task: (torch policy, onnx path)}."""
    out = {}
    for task in SHIPPED:
        policy = load_policy(shipped_checkpoint(task))
        out[task] = policy, export_onnx(policy, tmp_path_factory.mktemp(task) / "p.onnx")
    return out


def _sim_like_images(steps: int, size: int, seed: int) -> np.ndarray:
    """A drifting smooth scene plus noise: closer to camera frames than white noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    frames = []
    for t in range(steps):
        base = np.stack([np.sin(6 * xx + 0.2 * t), np.cos(5 * yy - 0.1 * t), xx * yy], -1)
        frame = 127.5 * (base + 1) + rng.normal(0, 8, (size, size, 3))
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return np.stack(frames)


@pytest.mark.parametrize("task", SHIPPED)
def test_shipped_checkpoint_parity(shipped_onnx, task):
    policy, path = shipped_onnx[task]
    onnx_policy = OnnxPolicy(path)
    rng = np.random.default_rng(1)
    images = _sim_like_images(30, policy.config.image_height, seed=2)
    policy.reset()
    worst = 0.0
    for t in range(30):
        state = rng.normal(0, 0.5, 10).astype(np.float32)
        dt = float(rng.uniform(0.02, 0.2))  # varying dt, hidden state carried by each
        expected = policy.step(images[t], state, dt)
        worst = max(worst, float(np.abs(onnx_policy.step(images[t], state, dt) - expected).max()))
    assert worst <= TOL
    np.testing.assert_allclose(onnx_policy._hx[0], policy.head.rnn._hx[0].numpy(), atol=TOL)
    # random images as well
    assert max_step_difference(policy, onnx_policy, steps=30, seed=5) <= TOL


@pytest.mark.parametrize("cell", FAMILIES)
def test_family_parity_with_gains(tmp_path, cell):
    policy = _family_policy(cell)
    onnx_policy = OnnxPolicy(export_onnx(policy, tmp_path / f"{cell}.onnx"))
    assert [i.name for i in onnx_policy.session.get_inputs()] == ["image", "state", "dt", "h"]
    assert onnx_policy.config.state_size == flat_state_size(policy)
    assert max_step_difference(policy, onnx_policy, steps=30, seed=0) <= TOL


def test_metadata(shipped_onnx):
    policy, path = shipped_onnx["fly_to_target"]
    meta = OnnxPolicy(path).metadata
    assert meta["format"] == ONNX_FORMAT
    assert meta["model_family"] == "cfc" and meta["state_size"] == 19
    assert meta["image_encoding"] == "rgb8" and meta["image_layout"] == "HWC"
    assert (meta["image_height"], meta["image_width"], meta["image_channels"]) == (64, 64, 3)
    assert meta["action_names"] == ["accel_x", "accel_y", "accel_z", "yaw_rate"]
    assert "ENU" in meta["action_frame"] and "FLU" in meta["state_frames"]
    assert meta["normalization_in_graph"] is True
    np.testing.assert_allclose(meta["normalization"]["action_scale"],
                               policy.action_scale.numpy(), rtol=1e-7)
    assert meta["policy_period_s"] == pytest.approx(0.1)  # action_repeat 5 at 50 Hz
    assert meta["checkpoint_metadata"]["action_repeat"] == 5
    assert json.loads(json.dumps(meta["policy_config"]))["cell"] == "cfc"


def test_drop_in_for_the_node(shipped_onnx):
    """What policy_node and PolicyLoop use: load by path, image size, period, step/reset."""
    torch_policy, path = shipped_onnx["leader_follow"]
    policy, source, warning = load_or_init_policy(str(path), "leader_follow")
    assert isinstance(policy, OnnxPolicy) and "ONNX" in source and warning is None
    assert policy_image_size(policy) == policy_image_size(torch_policy) == (64, 64)
    assert policy_period(policy) == policy_period(torch_policy) == pytest.approx(0.1)
    image, state = np.zeros((64, 64, 3), np.uint8), np.zeros(10, np.float32)
    first = policy.step(image, state, 0.1)
    assert first.shape == (4,) and first.dtype == np.float32 and policy.last_gains is None
    twin = copy.deepcopy(policy)  # the node's kernel warm-up steps a deep copy
    twin.step(image, state, 0.1)
    policy.reset()
    np.testing.assert_array_equal(policy.step(image, state, 0.1), first)


def test_bad_inputs_raise_clearly(shipped_onnx, tmp_path):
    policy = OnnxPolicy(shipped_onnx["fly_to_target"][1])
    state = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match=r"image must be \(64, 64, 3\) uint8"):
        policy.step(np.zeros((48, 64, 3), np.uint8), state, 0.1)
    with pytest.raises(ValueError, match="uint8"):
        policy.step(np.zeros((64, 64, 3), np.float32), state, 0.1)
    with pytest.raises(ValueError, match="state"):
        policy.step(np.zeros((64, 64, 3), np.uint8), np.zeros(9), 0.1)
    with pytest.raises(ValueError, match="dt"):
        policy.step(np.zeros((64, 64, 3), np.uint8), state, 0.0)
    with pytest.raises(OnnxModelError, match="no such file"):
        OnnxPolicy(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(OnnxModelError, match="cannot be loaded"):
        load_or_init_policy(str(tmp_path / "junk.onnx"), "fly_to_target")


def test_non_finite_output_falls_back_to_action_mean(shipped_onnx):
    policy = OnnxPolicy(shipped_onnx["fly_to_target"][1])
    policy._hx = np.full((1, 19), np.nan, np.float32)
    action = policy.step(np.zeros((64, 64, 3), np.uint8), np.zeros(10, np.float32), 0.1)
    np.testing.assert_array_equal(action, policy.action_mean)
    assert policy._hx is None


def test_missing_onnxruntime_is_one_clear_error(shipped_onnx, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    with pytest.raises(OnnxModelError, match=r"needs onnxruntime: pip install '\S+\[onnx\]'"):
        load_or_init_policy(str(shipped_onnx["fly_to_target"][1]), "fly_to_target")


def test_cli_export_onnx_and_torchscript(tmp_path, capsys):
    from liquid_ros.cli import main as cli_main

    ckpt = shipped_checkpoint("fly_to_target")
    assert cli_main(["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "a.onnx")]) == 0
    assert "parity with torch" in capsys.readouterr().out
    assert OnnxPolicy(tmp_path / "a.onnx").config.cell == "cfc"
    assert main(["--checkpoint", str(ckpt), "--format", "torchscript", "--no-check",
                 "--out", str(tmp_path / "a.ts.pt")]) == 0
    assert (tmp_path / "a.ts.pt").stat().st_size > 0
    assert main(["--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_dynamo_exporter_parity(tmp_path):
    """The torch.export-based exporter (the one left when the TorchScript one goes)."""
    pytest.importorskip("onnxscript")
    policy = _family_policy("ltc")
    onnx_policy = OnnxPolicy(export_onnx(policy, tmp_path / "d.onnx", dynamo=True))
    assert "dynamo=True" in onnx_policy.metadata["exporter"]
    assert max_step_difference(policy, onnx_policy, steps=30, seed=0) <= TOL
