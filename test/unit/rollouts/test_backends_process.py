"""Local process back end: same records for any worker count, faults retried, runs resumable.

Real sim episodes (PyBullet, camera, expert) and real faults (SIGKILL, exceptions, sleeps).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections import Counter

import numpy as np
import pytest
from test_backends_helpers import EXPERT, SEEDS, Faulty, assert_same_episodes, attempts

from liquid_ros.rollouts.backends import ProcessBackend, default_workers, make_backend, throughput
from liquid_ros.rollouts.runner import LocalBackend, run_episodes
from liquid_ros.train.dataset import (
    MANIFEST,
    episode_filename,
    is_complete,
    load_episode,
    save_episode,
    write_manifest,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference():
    """Undisturbed episodes, run inline in this process."""
    report = run_episodes(EXPERT, SEEDS, LocalBackend(1))
    assert report.ok
    return report.results


def test_reference_episodes_are_real_camera_episodes(reference):
    ep = reference[0]
    assert ep.images.shape == (20, 32, 32, 3) and ep.images.dtype == np.uint8
    assert ep.images.std() > 5  # rendered frames, not the blank camera-off image
    assert not np.array_equal(reference[0].positions, reference[1].positions)


@pytest.mark.parametrize("workers", [1, 2])
def test_same_records_for_any_worker_count(reference, workers):
    report = run_episodes(EXPERT, SEEDS[::-1], ProcessBackend(workers))
    assert report.ok
    assert_same_episodes(report.results, reference)
    assert mp.active_children() == []


def test_killed_and_raising_workers_are_retried_with_the_same_seed(reference, tmp_path):
    fn = Faulty(str(tmp_path), kill=(1,), raise_=(4,))
    saved = Counter()
    report = run_episodes(fn, SEEDS, ProcessBackend(2), retries=2,
                          on_result=lambda s, _r: saved.update([s]))
    assert report.ok
    assert saved == Counter(SEEDS)  # every seed delivered exactly once
    assert [attempts(tmp_path, s) for s in SEEDS] == [1, 2, 1, 1, 2, 1]
    assert_same_episodes(report.results, reference)
    assert mp.active_children() == []


def test_hung_worker_is_killed_and_retried(reference, tmp_path):
    fn = Faulty(str(tmp_path), hang=(2,), hang_s=120.0)
    start = time.monotonic()
    report = run_episodes(fn, SEEDS, ProcessBackend(2, timeout=4.0), retries=1)
    assert time.monotonic() - start < 60.0
    assert report.ok
    assert attempts(tmp_path, 2) == 2 and attempts(tmp_path, 3) == 1
    assert_same_episodes(report.results, reference)
    assert mp.active_children() == []


def test_episode_failing_every_attempt_is_reported_and_others_unharmed(reference, tmp_path):
    # retries=0: the killed first attempt is the last one. A dead worker must cost only the seed
    # it was running, never the seeds queued behind it.
    fn = Faulty(str(tmp_path), kill=(3,))
    report = run_episodes(fn, SEEDS, ProcessBackend(2), retries=0)
    assert [(f.seed, f.attempts) for f in report.failures] == [(3, 1)]
    assert report.failures[0].error.startswith("WorkerDied: worker process exited with code -")
    assert sorted(report.results) == [0, 1, 2, 4, 5]
    assert all(attempts(tmp_path, s) == 1 for s in SEEDS)
    assert_same_episodes(report.results, {s: reference[s] for s in report.results})


class Interrupted(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_dataset(reference, tmp_path):
    ref_dir, run_dir = tmp_path / "reference", tmp_path / "run"
    for ep in reference.values():
        save_episode(ref_dir, ep)
    info = {"task": EXPERT.task}
    write_manifest(ref_dir, info)

    saved = []

    def save_then_stop(_seed, ep):
        save_episode(run_dir, ep)
        saved.append(ep.seed)
        if len(saved) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_episodes(EXPERT, SEEDS, ProcessBackend(2), on_result=save_then_stop)
    assert mp.active_children() == []  # an interrupted run leaves no worker behind
    done = [s for s in SEEDS if is_complete(run_dir, s)]
    assert done == sorted(saved) and len(done) == 3

    todo = [s for s in SEEDS if not is_complete(run_dir, s)]
    again = []
    report = run_episodes(EXPERT, todo, ProcessBackend(2),
                          on_result=lambda _s, ep: (again.append(ep.seed),
                                                    save_episode(run_dir, ep)))
    assert report.ok and sorted(again) == todo  # finished seeds are not run (or written) again
    write_manifest(run_dir, info)
    assert (run_dir / MANIFEST).read_text() == (ref_dir / MANIFEST).read_text()
    assert_same_episodes({s: load_episode(run_dir / episode_filename(s)) for s in SEEDS},
                         {s: load_episode(ref_dir / episode_filename(s)) for s in SEEDS})


def test_bad_arguments_and_unpicklable_functions_raise_value_error():
    with pytest.raises(ValueError, match="workers"):
        ProcessBackend(0)
    with pytest.raises(ValueError, match="workers"):
        make_backend(1.5)
    for bad in (0, -1.0, float("nan"), float("inf"), "10"):
        with pytest.raises(ValueError, match="timeout"):
            ProcessBackend(2, timeout=bad)
    with pytest.raises(ValueError, match="picklable"):
        run_episodes(lambda seed: seed, SEEDS, ProcessBackend(2))


def test_make_backend_defaults_to_local_processes_on_every_core():
    backend = make_backend()
    assert isinstance(backend, ProcessBackend)
    assert backend.workers == default_workers() >= 1
    assert make_backend(3, timeout=None).workers == 3


def test_ray_missing_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if absent
    with pytest.raises(ImportError, match=r"pip install liquid_ros\[ray\]"):
        make_backend(2, ray="local")


def test_throughput_line():
    assert throughput(12, 60.0, 4.0) == "12 episodes in 4.0 s: 3.00 episodes/s, 15.0 sim-s/s"
