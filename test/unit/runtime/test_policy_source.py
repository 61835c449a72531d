"""make_pilot and check_fit: a configuration that does not fit the checkpoint is refused."""

from __future__ import annotations

import copy

import pytest

from liquid_ros.control.levels import CommandLevel
from liquid_ros.models.checkpoint import load_policy
from liquid_ros.runtime.config import load_settings
from liquid_ros.runtime.policy_source import check_fit, make_pilot, shipped_checkpoint


@pytest.fixture(scope="module")
def shipped():
    return load_policy(str(shipped_checkpoint("fly_to_target"))).eval()


def test_the_task_configuration_fits_the_shipped_checkpoint(shipped):
    settings = load_settings("fly_to_target")
    check_fit(shipped, settings, (64, 64))
    loaded = make_pilot(settings, policy=shipped)
    assert loaded.pilot.level == CommandLevel.ACCELERATION
    assert loaded.period == pytest.approx(0.1) and loaded.image_size == (64, 64)
    for hz in (10.0, 20.0, 30.0, 50.0, 100.0):  # whole numbers of ticks per policy step
        check_fit(shipped, settings.replace(rate_hz=hz))


@pytest.mark.parametrize("hz", [5.0, 15.0, 45.0])
def test_a_rate_that_splits_the_policy_period_is_refused(shipped, hz):
    with pytest.raises(ValueError, match=r"rate_hz .* policy period 0.1 s"):
        make_pilot(load_settings("fly_to_target").replace(rate_hz=hz), policy=shipped)


def test_another_level_is_warned_about_and_another_image_size_refused(shipped):
    trained = copy.copy(shipped)
    trained.checkpoint_metadata = {**(shipped.checkpoint_metadata or {}),
                                   "env_kwargs": {"command_level": "acceleration"}}
    settings = load_settings("fly_to_target")
    assert check_fit(trained, settings) is None
    warning = check_fit(trained, settings.replace(output_type="wrench"))
    assert "'wrench'" in warning and "trained at ('acceleration')" in warning
    assert warning in make_pilot(settings.replace(output_type="wrench"), policy=trained).warning
    with pytest.raises(ValueError, match="32x32 do not fit the checkpoint's input 64x64"):
        check_fit(shipped, settings, (32, 32))
