"""Ray back end on a local Ray instance: same records and dataset as local runs, faults retried.

Skipped where Ray is not installed (``pip install liquid_ros[ray]``).
"""

from __future__ import annotations

from collections import Counter

import pytest
from test_backends_helpers import EXPERT, SEEDS, Faulty, assert_same_episodes, attempts

from liquid_ros.rollouts.backends import make_backend
from liquid_ros.rollouts.ray_backend import RayBackend
from liquid_ros.rollouts.runner import LocalBackend, run_episodes
from liquid_ros.train.dataset import MANIFEST, episode_filename, save_episode, write_manifest

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_backend():
    """One local Ray instance (2 CPUs) for the whole module; shut down at the end."""
    if ray.is_initialized():
        ray.shutdown()
    backend = RayBackend(None, 2, timeout=30.0, log_to_driver=False)
    try:
        yield backend
    finally:
        backend.close()
        assert not ray.is_initialized()


@pytest.fixture(scope="module")
def reference():
    report = run_episodes(EXPERT, SEEDS, LocalBackend(1))
    assert report.ok
    return report.results


def test_same_records_shards_and_manifest_as_local(ray_backend, reference, tmp_path):
    assert ray_backend.workers == 2
    report = run_episodes(EXPERT, SEEDS[::-1], ray_backend,
                          on_result=lambda _s, ep: save_episode(tmp_path / "ray", ep))
    assert report.ok
    assert_same_episodes(report.results, reference)
    assert report.results[0].images.flags.writeable  # plain arrays, not object-store views
    for ep in reference.values():
        save_episode(tmp_path / "local", ep)
    ray_manifest = write_manifest(tmp_path / "ray", {"task": EXPERT.task})
    write_manifest(tmp_path / "local", {"task": EXPERT.task})
    assert (tmp_path / "ray" / MANIFEST).read_bytes() == (tmp_path / "local" / MANIFEST
                                                         ).read_bytes()
    assert [e["file"] for e in ray_manifest["episodes"]] == [episode_filename(s) for s in SEEDS]


def test_killed_worker_and_exception_are_retried(ray_backend, reference, tmp_path):
    fn = Faulty(str(tmp_path), kill=(2,), raise_=(5,))
    saved = Counter()
    report = run_episodes(fn, SEEDS, ray_backend, retries=2,
                          on_result=lambda s, _r: saved.update([s]))
    assert report.ok, report.failures
    assert saved == Counter(SEEDS)
    assert [attempts(tmp_path, s) for s in SEEDS] == [1, 1, 2, 1, 1, 2]
    assert_same_episodes(report.results, reference)


def test_failures_after_retries_are_reported_with_seed_and_error(ray_backend, tmp_path):
    fn = Faulty(str(tmp_path), kill=(1,), raise_=(4,))
    report = run_episodes(fn, SEEDS, ray_backend, retries=0)
    assert [(f.seed, f.attempts) for f in report.failures] == [(1, 1), (4, 1)]
    assert report.failures[0].error.startswith("WorkerCrashedError: The worker died")
    assert report.failures[1].error == "RuntimeError: injected sim failure in seed 4"
    assert sorted(report.results) == [0, 2, 3, 5]


def test_hung_task_is_cancelled_and_retried(ray_backend, reference, tmp_path):
    fn = Faulty(str(tmp_path), hang=(0,), hang_s=300.0)
    hasty = RayBackend(None, 2, timeout=5.0)  # reuses the running instance
    report = run_episodes(fn, SEEDS[:3], hasty, retries=1)
    hasty.close()  # did not start Ray, so leaves it running
    assert ray.is_initialized()
    assert report.ok, report.failures
    assert attempts(tmp_path, 0) == 2
    assert_same_episodes(report.results, {s: reference[s] for s in SEEDS[:3]})


def test_make_backend_picks_ray_for_an_address(ray_backend):
    backend = make_backend(2, ray="local")  # Ray already up: used as it is
    assert isinstance(backend, RayBackend) and backend.workers == 2
    backend.close()
    assert ray.is_initialized()
