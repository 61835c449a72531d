"""Rollout executor: ordering, independence of worker count, bounded retries, failure reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from liquid_ros.rollouts.runner import LocalBackend, run_episodes


@dataclass(frozen=True)
class SeededDraw:
    """Pure function of the seed: a few seeded random numbers."""

    def __call__(self, seed: int) -> list[float]:
        return np.random.default_rng(seed).normal(size=3).tolist()


@dataclass(frozen=True)
class Flaky:
    """Fails the first ``fail_times`` attempts of each seed in ``bad`` (attempts on disk)."""

    log_dir: str
    bad: tuple[int, ...]
    fail_times: int

    def __call__(self, seed: int) -> int:
        marker = Path(self.log_dir) / f"seed_{seed}"
        with open(marker, "a") as fh:
            fh.write("x")
        attempts = len(marker.read_text())
        if seed in self.bad and attempts <= self.fail_times:
            raise RuntimeError(f"boom {seed} attempt {attempts}")
        return seed * 10


def test_results_ordered_by_seed_and_deduplicated():
    report = run_episodes(SeededDraw(), [5, 1, 3, 1])
    assert list(report.results) == [1, 3, 5]
    assert report.ok
    assert report.ordered()[0] == SeededDraw()(1)


def test_same_results_for_any_worker_count():
    seeds = list(range(6))
    inline = run_episodes(SeededDraw(), seeds, LocalBackend(1))
    pooled = run_episodes(SeededDraw(), seeds[::-1], LocalBackend(2))
    assert pooled.results == inline.results
    assert list(pooled.results) == seeds


def test_retry_with_same_seed_then_success(tmp_path):
    fn = Flaky(str(tmp_path), bad=(2,), fail_times=1)
    seen = []
    report = run_episodes(fn, range(4), retries=1, on_result=lambda s, r: seen.append(s))
    assert report.ok
    assert report.results[2] == 20
    assert (tmp_path / "seed_2").read_text() == "xx"  # exactly one retry, same seed
    assert (tmp_path / "seed_0").read_text() == "x"
    assert sorted(seen) == [0, 1, 2, 3]


def test_failure_reported_with_seed_and_error_after_bounded_attempts(tmp_path):
    fn = Flaky(str(tmp_path), bad=(1, 3), fail_times=99)
    report = run_episodes(fn, range(4), LocalBackend(2), retries=2)
    assert not report.ok
    assert [f.seed for f in report.failures] == [1, 3]
    assert all(f.attempts == 3 for f in report.failures)
    assert "RuntimeError: boom 1" in report.failures[0].error
    assert "Traceback" in report.failures[0].traceback
    assert sorted(report.results) == [0, 2]
    assert (tmp_path / "seed_3").read_text() == "xxx"


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="workers"):
        LocalBackend(0)
    with pytest.raises(ValueError, match="retries"):
        run_episodes(SeededDraw(), [1], retries=-1)
    with pytest.raises(ValueError, match="seeds"):
        run_episodes(SeededDraw(), [-1])


def test_progress_bar_does_not_change_results(capsys):
    report = run_episodes(SeededDraw(), range(3), progress=True, desc="t")
    assert list(report.results) == [0, 1, 2]
    assert "t: 100%" in capsys.readouterr().err
