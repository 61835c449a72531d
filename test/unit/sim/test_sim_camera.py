"""The rendered image agrees with the camera geometry."""

from __future__ import annotations

import numpy as np
import pytest

from liquid_ros.control.rotation import quat_from_euler
from liquid_ros.sim.quadrotor_sim import QuadrotorSim


def red_centroid(img):
    r, g, b = (img[:, :, i].astype(int) for i in range(3))
    mask = (r > 40) & (r > 3 * g) & (r > 3 * b)  # red whatever the shading
    assert mask.sum() > 3, "target not visible"
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean() + 0.5, rows.mean() + 0.5])  # (u, v), pixel centres


@pytest.fixture
def sim():
    s = QuadrotorSim()
    yield s
    s.close()


def test_target_straight_ahead_is_centred(sim):
    sim.reset([0.0, 0.0, 1.0])
    sim.add_sphere([2.0, 0.0, 1.0], 0.15, (0.9, 0.05, 0.05, 1.0))
    uv = red_centroid(sim.render_camera())
    np.testing.assert_allclose(uv, [32.0, 32.0], atol=1.0)


def test_target_to_the_left_is_left_of_centre(sim):
    sim.reset([0.0, 0.0, 1.0])
    sim.add_sphere([2.0, 0.8, 1.0], 0.15, (0.9, 0.05, 0.05, 1.0))
    uv = red_centroid(sim.render_camera())
    assert uv[0] < 32.0 - 5.0
    assert abs(uv[1] - 32.0) < 1.0


@pytest.mark.parametrize("rpy", [(0.0, 0.0, 0.7), (0.4, 0.0, 0.0), (0.0, 0.3, -0.5),
                                 (-0.3, 0.2, 2.0)])
def test_image_matches_projection_when_body_rotates(sim, rpy):
    # The camera rolls and pitches with the body: the target lands where project() says.
    quat = quat_from_euler(*rpy)
    sim.reset([0.5, -0.3, 1.5], quat)
    target = np.array([0.5, -0.3, 1.5]) + 3.0 * np.array(
        [np.cos(rpy[2] + 0.2), np.sin(rpy[2] + 0.2), 0.1])
    sim.add_sphere(target, 0.2, (0.9, 0.05, 0.05, 1.0))
    expected = sim.camera.config.project(sim.pos, sim.quat, target)
    assert expected is not None
    np.testing.assert_allclose(red_centroid(sim.render_camera()), expected, atol=1.0)


def test_ground_and_sky_are_textured(sim):
    sim.reset([0.0, 0.0, 1.0])
    img = sim.render_camera()
    bottom, top = img[-16:].reshape(-1, 3), img[:8].reshape(-1, 3)
    assert len(np.unique(bottom, axis=0)) >= 2  # checkerboard: motion visible from pixels
    assert np.all(top == top[0])  # sky
    assert not np.array_equal(top[0], bottom[0])
