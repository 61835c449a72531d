"""argparse built from frozen dataclasses: one flag per field, help from the field's docstring.

A field ``seq_len: int = 64`` becomes ``--seq-len`` (type int, default 64), its help the string
literal written below the field. Types with a command-line form:

- ``str``, ``int``, ``float``, ``pathlib.Path``; ``X | None`` (default None); ``Literal[...]``
  (choices);
- ``bool``: ``--flag`` / ``--no-flag`` (so ``progress: bool = True`` gives ``--no-progress``);
- ``tuple[X, ...]`` or ``list[X]`` (one or more values), ``tuple[X, X]`` (exactly two);
- ``dict[str, Any]``: a repeatable ``--flag KEY=VALUE``, VALUE read as JSON when it parses
  (:func:`parse_env_kwargs`; the one parser of every ``--env-arg``);
- a nested dataclass: its fields, flattened into an argument group.

Defaults stay in the dataclass: a flag not given is not passed, so the dataclass's own default
(or ``default_factory``) applies. Per field, ``metadata={"cli": {...}}`` (or the ``overrides``
argument, keyed by field name) sets ``flag``, ``help``, ``metavar``, ``choices``, ``nargs``,
``const``, ``positional`` or ``title`` (of a nested group); ``{"cli": None}`` hides a field.
Python keeps no attribute docstrings at run time, so they are read from the class source once
(``ast``); a field without one gets ``metadata["cli"]["help"]`` or no help.

The same dataclasses load from nested mappings (a YAML file: :func:`from_mapping`, strict about
keys and types) and write back (:func:`to_mapping`), and :func:`to_argv` gives the command line
of an instance, so a stage of a recipe can be stored as a file or shown as the command it runs.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import json
import re
import textwrap
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Overrides = dict[str, dict[str, Any] | None]
"""Field name -> CLI options (as ``metadata["cli"]``), or None to hide the field."""

_SCALARS = (str, int, float, Path)


def parse_env_kwargs(items: Sequence[str] | None, flag: str = "--env-arg") -> dict[str, Any]:
    """Parse ``KEY=VALUE`` items (VALUE as JSON when it parses, else a string).

    Raises:
        ValueError: On an item without ``=`` or with an empty key (naming ``flag``).
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} must look like KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring below it in ``cls``'s source (whitespace collapsed)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:], strict=False):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)):
                text = re.sub(r":\w+:`~?([^`]+)`", r"\1", nxt.value.value)
                docs[node.target.id] = " ".join(text.replace("``", "").split())
    return docs


def _options(f: dataclasses.Field, overrides: Overrides) -> dict[str, Any] | None:
    if f.name in overrides:
        extra = overrides[f.name]
        return None if extra is None else {**(f.metadata.get("cli") or {}), **extra}
    if "cli" in f.metadata and f.metadata["cli"] is None:
        return None
    return dict(f.metadata.get("cli") or {})


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _unoptional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _kind(tp: Any, where: str) -> tuple[str, dict[str, Any]]:
    """(kind, argparse keywords) of a field type; kind is scalar, bool, seq or dict."""
    tp = _unoptional(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is bool:
        return "bool", {"action": argparse.BooleanOptionalAction}
    if tp in _SCALARS:
        return "scalar", {"type": tp}
    if origin is typing.Literal:
        return "scalar", {"type": type(args[0]), "choices": list(args)}
    if origin in (tuple, list) and args:
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            item, nargs = args[0], "+"
        elif len(set(args)) == 1:
            item, nargs = args[0], len(args)
        else:
            item = None
        if item in _SCALARS:
            return "seq", {"type": item, "nargs": nargs}
    if origin is dict or tp is dict:
        return "dict", {"action": "append", "metavar": "KEY=VALUE"}
    raise TypeError(f"{where}: type {tp!r} has no command-line form (hide it with "
                    "metadata={'cli': None} and a default)")


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _help(text: str, default: Any, kind: str) -> str:
    if default is dataclasses.MISSING or default is None or kind == "dict":
        return text.replace("%", "%%")
    if kind == "bool":
        shown = "on" if default else "off"
    else:
        shown = " ".join(map(_show, default)) if kind == "seq" else _show(default)
    return f"{text} (default: {shown})".strip().replace("%", "%%")


def add_dataclass(parser: argparse.ArgumentParser, cls: type, *,
                  overrides: Overrides | None = None, _prefix: tuple[str, ...] = (),
                  group: Any = None) -> None:
    """Add one argument per field of dataclass ``cls`` (nested dataclasses flattened).

    Args:
        parser: Parser to add to.
        cls: A dataclass type.
        overrides: Field name -> CLI options or None (hide); applies at every nesting level.
        group: Add to this argument group of ``parser`` instead.

    Raises:
        TypeError: If a shown field's type has no command-line form.
    """
    overrides = overrides or {}
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    target = group or parser
    for f in dataclasses.fields(cls):
        opts = _options(f, overrides) if f.init else None
        if opts is None:
            continue
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            title = opts.get("title") or (inspect.getdoc(tp) or tp.__name__).splitlines()[0]
            title, _, text = title.rstrip(".").partition(": ")
            add_dataclass(parser, tp, overrides=overrides, _prefix=(*_prefix, f.name),
                          group=parser.add_argument_group(title, text or None))
            continue
        kind, kw = _kind(tp, f"{cls.__name__}.{f.name}")
        default = _default(f)
        kw.update({k: opts[k] for k in ("metavar", "choices", "nargs", "const") if k in opts})
        if kind != "bool" and "metavar" not in kw and "choices" not in kw:
            kw["metavar"] = f.name.upper()
        kw["help"] = _help(opts.get("help", docs.get(f.name, "")), default, kind)
        dest = "__".join((*_prefix, f.name))
        if opts.get("positional"):
            target.add_argument(dest, **kw)
            continue
        if kind == "bool" and default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: a bool flag needs a default")
        flag = opts.get("flag", "--" + f.name.replace("_", "-"))
        target.add_argument(flag, dest=dest, default=argparse.SUPPRESS,
                            required=default is dataclasses.MISSING, **kw)


def from_namespace(cls: type[T], ns: argparse.Namespace, *, base: T | None = None,
                   overrides: Overrides | None = None, _prefix: tuple[str, ...] = ()) -> T:
    """The ``cls`` instance that parsed arguments describe (fields not given keep defaults).

    Args:
        cls: The dataclass given to :func:`add_dataclass`.
        ns: Parsed arguments.
        base: Start from this instance instead of ``cls()``'s defaults.
        overrides: As given to :func:`add_dataclass` (for flag names in error messages).

    Raises:
        ValueError: From the dataclass's own validation, or on a bad ``KEY=VALUE`` item.
    """
    overrides = overrides or {}
    hints = typing.get_type_hints(cls)
    given = vars(ns)
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        opts = _options(f, overrides) if f.init else None
        if opts is None:
            continue
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            inner = getattr(base, f.name) if base is not None else _default(f)
            kw[f.name] = from_namespace(
                tp, ns, base=None if inner is dataclasses.MISSING else inner,
                overrides=overrides, _prefix=(*_prefix, f.name))
            continue
        dest = "__".join((*_prefix, f.name))
        if dest not in given:
            continue
        kind, _ = _kind(tp, f"{cls.__name__}.{f.name}")
        value = given[dest]
        if kind == "seq" and typing.get_origin(_unoptional(tp)) is tuple:
            value = tuple(value)
        elif kind == "dict":
            start = getattr(base, f.name) if base is not None else _default(f)
            flag = opts.get("flag", "--" + f.name.replace("_", "-"))
            value = {**(start if isinstance(start, dict) else {}),
                     **parse_env_kwargs(value, flag)}
        kw[f.name] = value
    return dataclasses.replace(base, **kw) if base is not None else cls(**kw)


def to_argv(obj: Any, *, overrides: Overrides | None = None, _base: Any = None
            ) -> list[str]:
    """The arguments that parse back to dataclass instance ``obj``.

    Fields at their default are left out, so :func:`parse` of the result gives an equal
    instance; a field set to None where its default is not None has no flag and is left out.
    """
    overrides = overrides or {}
    hints = typing.get_type_hints(type(obj))
    argv: list[str] = []
    for f in dataclasses.fields(obj):
        opts = _options(f, overrides) if f.init else None
        if opts is None:
            continue
        value = getattr(obj, f.name)
        default = getattr(_base, f.name) if _base is not None else _default(f)
        if dataclasses.is_dataclass(hints[f.name]):
            argv += to_argv(value, overrides=overrides,
                            _base=None if default is dataclasses.MISSING else default)
            continue
        if value == default:
            continue
        kind, _ = _kind(hints[f.name], f.name)
        flag = opts.get("flag", "--" + f.name.replace("_", "-"))
        if kind == "bool":
            argv.append(flag if value else "--no-" + flag[2:])
        elif kind == "dict":
            for k, v in value.items():
                argv += [flag, f"{k}={json.dumps(v)}"]
        elif kind == "seq":
            argv += ([] if opts.get("positional") else [flag]) + [str(v) for v in value]
        elif value is not None:
            argv += ([] if opts.get("positional") else [flag]) + [str(value)]
    return argv


def _check(value: Any, tp: Any, where: str) -> Any:
    """``value`` (from YAML) as field type ``tp``: tuples from lists, paths from strings."""
    inner = _unoptional(tp)
    if value is None:
        if inner is tp:
            raise ValueError(f"{where} must not be empty")
        return None
    kind, kw = _kind(tp, where)
    item = kw.get("type")
    ok = {str: (str,), Path: (str, Path), int: (int,), float: (int, float)}
    if kind == "bool" and not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, got {value!r}")
    if kind == "dict":
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be a mapping, got {value!r}")
        return dict(value)
    if kind == "seq":
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list, got {value!r}")
        if isinstance(kw["nargs"], int) and len(value) != kw["nargs"]:
            raise ValueError(f"{where} must have {kw['nargs']} items, got {value!r}")
        values = [_check(v, item, where) for v in value]
        return tuple(values) if typing.get_origin(inner) is tuple else values
    if kind == "scalar":
        if isinstance(value, bool) or not isinstance(value, ok[item]):
            raise ValueError(f"{where} must be {item.__name__}, got {value!r}")
        if "choices" in kw and value not in kw["choices"]:
            raise ValueError(f"{where} must be one of {kw['choices']}, got {value!r}")
        return item(value)
    return value


def from_mapping(cls: type[T], data: Mapping[str, Any], *, base: T | None = None,
                 _where: str = "") -> T:
    """The ``cls`` instance a nested mapping (a YAML file) describes.

    Keys are field names (nested dataclasses as nested mappings); fields not given keep
    ``base``'s values (default: the dataclass defaults), so a file may set only what it changes.

    Raises:
        ValueError: On an unknown key (naming it and the known ones), a value of the wrong type,
            or whatever the dataclass's own validation rejects.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{_where or cls.__name__} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {_where or cls.__name__}; known: "
                         f"{sorted(known)}")
    kw: dict[str, Any] = {}
    for name, value in data.items():
        where, tp = f"{_where}.{name}" if _where else name, hints[name]
        if dataclasses.is_dataclass(tp):
            inner = getattr(base, name) if base is not None else _default(known[name])
            kw[name] = from_mapping(tp, value or {}, _where=where,
                                    base=None if inner is dataclasses.MISSING else inner)
        elif known[name].metadata.get("cli", {}) is None:  # no flag, no type check either
            kw[name] = value
        else:
            kw[name] = _check(value, tp, where)
    return dataclasses.replace(base, **kw) if base is not None else cls(**kw)


def to_mapping(obj: Any) -> dict[str, Any]:
    """A dataclass instance as plain nested dicts and lists (YAML-ready; paths as strings).

    Fields hidden from the command line are left out; :func:`from_mapping` of the result gives
    an equal instance when they are at their defaults.
    """
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if f.init and f.metadata.get("cli", {}) is not None}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return str(value) if isinstance(value, Path) else value

    return plain(obj)


def parser_for(cls: type, prog: str, description: str | None, *,
               overrides: Overrides | None = None) -> argparse.ArgumentParser:
    """A parser with the fields of ``cls`` (see :func:`add_dataclass`)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description.replace("``", "") if description else None)
    add_dataclass(parser, cls, overrides=overrides)
    return parser


def parse(cls: type[T], argv: Sequence[str], prog: str, description: str | None = None, *,
          overrides: Overrides | None = None) -> T:
    """Parse ``argv`` into a ``cls`` instance.

    Bad syntax exits with argparse's usage message (status 2); a value the dataclass rejects
    raises its ValueError.
    """
    ns = parser_for(cls, prog, description, overrides=overrides).parse_args(list(argv))
    return from_namespace(cls, ns, overrides=overrides)
