"""argparse from dataclasses (liquid_ros.cli.flags): every supported type, round trips, errors."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from liquid_ros.cli.flags import (
    add_dataclass,
    field_docs,
    from_mapping,
    from_namespace,
    parse,
    parse_env_kwargs,
    parser_for,
    to_argv,
    to_mapping,
)


@dataclass(frozen=True, kw_only=True)
class Inner:
    """Inner group: a nested dataclass."""

    rate: float = 2.5
    """Rate in Hz (100 % of it)."""
    size: tuple[int, int] = (64, 48)
    """Height and width."""


@dataclass(frozen=True, kw_only=True)
class Toy:
    """A toy covering every supported field type."""

    name: str
    """Required name."""
    path: Path = Path("a/b")
    """A path."""
    count: int | None = None
    """Optional count."""
    mode: Literal["fast", "slow"] = "fast"
    """Mode."""
    verbose: bool = False
    """Talk more."""
    progress: bool = True
    """Show progress."""
    files: tuple[str, ...] = ("x",)
    """Some files."""
    env: dict = field(default_factory=dict, metadata={"cli": {"flag": "--env-arg"}})
    """Settings."""
    inner: Inner = field(default_factory=lambda: Inner(rate=3.0))
    hidden: object = field(default=None, metadata={"cli": None})


def test_defaults_come_from_the_dataclass():
    toy = parse(Toy, ["--name", "n"], "toy")
    assert toy == Toy(name="n")
    assert toy.inner.rate == 3.0  # the field's default_factory, not Inner()'s default


def test_every_type_parses():
    toy = parse(Toy, ["--name", "n", "--path", "c", "--count", "3", "--mode", "slow",
                      "--verbose", "--no-progress", "--files", "p", "q", "--env-arg", "k=1",
                      "--env-arg", "s=text", "--env-arg", 'l=[1, 2]', "--rate", "0.5",
                      "--size", "8", "9"], "toy")
    assert toy == Toy(name="n", path=Path("c"), count=3, mode="slow", verbose=True,
                      progress=False, files=("p", "q"), env={"k": 1, "s": "text", "l": [1, 2]},
                      inner=Inner(rate=0.5, size=(8, 9)))
    assert isinstance(toy.files, tuple) and isinstance(toy.inner.size, tuple)


@pytest.mark.parametrize("argv", [[], ["--name", "n", "--mode", "medium"],
                                  ["--name", "n", "--size", "1"],
                                  ["--name", "n", "--count", "x"],
                                  ["--name", "n", "--hidden", "1"]])
def test_bad_syntax_is_argparse_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(Toy, argv, "toy")
    assert exc.value.code == 2
    assert "usage: toy" in capsys.readouterr().err


def test_bad_key_value_names_the_flag():
    with pytest.raises(ValueError, match="--env-arg must look like KEY=VALUE"):
        parse(Toy, ["--name", "n", "--env-arg", "oops"], "toy")
    with pytest.raises(ValueError, match="--x must look like KEY=VALUE, got '=1'"):
        parse_env_kwargs(["=1"], "--x")


def test_help_from_docstrings_and_defaults():
    text = parser_for(Toy, "toy", "A toy.").format_help()
    assert "Rate in Hz (100 % of it). (default: 2.5)" in " ".join(text.split())
    assert "Inner group:" in text and "a nested dataclass" in text
    assert "--verbose, --no-verbose" in text and "{fast,slow}" in text
    assert "--hidden" not in text
    assert field_docs(Toy)["files"] == "Some files."


def test_to_argv_round_trip():
    toy = Toy(name="n", count=4, mode="slow", verbose=True, progress=False, files=("a", "b"),
              env={"s": "x", "n": 2.5}, inner=Inner(size=(1, 2)))
    argv = to_argv(toy)
    assert "--name" in argv and "--hidden" not in argv
    assert parse(Toy, argv, "toy") == toy
    assert to_argv(Toy(name="n")) == ["--name", "n"]


def test_overrides_rename_and_hide():
    ns_parser = argparse.ArgumentParser()
    over = {"rate": {"flag": "--hz"}, "size": None}
    add_dataclass(ns_parser, Inner, overrides=over)
    ns = ns_parser.parse_args(["--hz", "7"])
    assert from_namespace(Inner, ns, overrides=over) == Inner(rate=7.0)
    with pytest.raises(SystemExit):
        ns_parser.parse_args(["--size", "1", "2"])


def test_unsupported_type_is_a_clear_error():
    @dataclass(frozen=True)
    class Bad:
        callback: object = None

    with pytest.raises(TypeError, match=r"Bad\.callback: type .* has no command-line form"):
        parser_for(Bad, "bad", None)


def test_library_configs_build_parsers():
    """Every dataclass a command parses has a command-line form for each of its fields."""
    from liquid_ros.bags.reader import ReadConfig
    from liquid_ros.bags.sync import SyncConfig
    from liquid_ros.evaluation.compare import CompareConfig
    from liquid_ros.evaluation.evaluate import EvalConfig
    from liquid_ros.rollouts.collect import CollectConfig
    from liquid_ros.rollouts.runner import BackendConfig
    from liquid_ros.train.imitation import ImitationConfig

    for cls in (ReadConfig, SyncConfig, CompareConfig, BackendConfig, ImitationConfig,
                CollectConfig, EvalConfig):
        parser_for(cls, cls.__name__, None).format_help()
    cfg = parse(ImitationConfig, ["--task", "t", "--data", "d", "--out", "o", "--no-augment"],
                "train")
    assert cfg.train_config().augment.brightness == 0.0 and cfg.train.augment.brightness > 0
    assert dataclasses.asdict(cfg)["data"] == ("d",)


def test_mapping_round_trip_through_yaml():
    import yaml

    from liquid_ros.train.imitation import ImitationConfig

    toy = Toy(name="n", path=Path("p/q"), count=2, files=("a",), env={"k": [1, 2]},
              inner=Inner(size=(3, 4)))
    text = yaml.safe_dump(to_mapping(toy))
    assert from_mapping(Toy, yaml.safe_load(text)) == toy
    cfg = parse(ImitationConfig, ["--task", "t", "--data", "d", "--out", "o", "--epochs", "3",
                                  "--brightness", "0.3", "--dagger-env-arg", "speed=1.5"],
                "train")
    assert from_mapping(ImitationConfig, yaml.safe_load(yaml.safe_dump(to_mapping(cfg)))) == cfg


def test_mapping_sets_only_what_it_names():
    toy = from_mapping(Toy, {"name": "n", "inner": {"size": [5, 6]}})
    assert toy.inner == Inner(rate=3.0, size=(5, 6))  # the field default's rate is kept
    base = Toy(name="b", count=7)
    assert from_mapping(Toy, {"verbose": True}, base=base) == dataclasses.replace(base,
                                                                                  verbose=True)


@pytest.mark.parametrize("data, match", [
    ({"name": "n", "colour": 1}, r"unknown key\(s\) \['colour'\] in Toy; known: \["),
    ({"name": "n", "inner": {"hz": 1}}, r"unknown key\(s\) \['hz'\] in inner"),
    ({"name": "n", "count": "3"}, r"count must be int, got '3'"),
    ({"name": "n", "count": True}, r"count must be int"),
    ({"name": "n", "verbose": "yes"}, r"verbose must be true or false"),
    ({"name": "n", "mode": "medium"}, r"mode must be one of \['fast', 'slow'\]"),
    ({"name": "n", "inner": {"size": [1]}}, r"inner.size must have 2 items"),
    ({"name": None}, r"name must not be empty"),
    ({"name": "n", "env": [1]}, r"env must be a mapping"),
])
def test_mapping_errors_name_the_key(data, match):
    with pytest.raises(ValueError, match=match):
        from_mapping(Toy, data)
