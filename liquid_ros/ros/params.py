"""ROS parameters generated from frozen config dataclasses.

One parameter per dataclass field, named ``<prefix>.<field>`` (or ``<field>`` without a prefix),
typed from the default value, described by the field's docstring (the Google ``Attributes:``
section of the class docstring, or an attribute docstring under the field), with an optional
range and read-only flag. ``dataclass_from_parameters`` reads them back into an instance;
``validate_update`` is the check used by set-parameters callbacks: a change is accepted only if
the dataclass still constructs with the new values (its ``__post_init__`` may raise
``ValueError`` with the reason).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
)

Range = tuple[float, float]


def field_docs(cls: type) -> dict[str, str]:
    """Per-field descriptions of a dataclass, from its docstrings (empty string if none)."""
    docs: dict[str, str] = {}
    doc = inspect.getdoc(cls) or ""
    m = re.search(r"^(Attributes|Args):\s*$(.*?)(?:^\S|\Z)", doc, re.S | re.M)
    if m:
        current = None
        for line in m.group(2).splitlines():
            fm = re.match(r"^\s{2,4}(\w+)(?: \(.*?\))?:\s*(.*)$", line)
            if fm:
                current = fm.group(1)
                docs[current] = fm.group(2).strip()
            elif current and line.strip():
                docs[current] += " " + line.strip()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return docs
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, nxt in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _param_type(value: Any) -> int | None:
    if isinstance(value, bool):
        return ParameterType.PARAMETER_BOOL
    if isinstance(value, int):
        return ParameterType.PARAMETER_INTEGER
    if isinstance(value, float):
        return ParameterType.PARAMETER_DOUBLE
    if isinstance(value, str):
        return ParameterType.PARAMETER_STRING
    if isinstance(value, (tuple, list)) and value:
        if all(isinstance(v, bool) for v in value):
            return ParameterType.PARAMETER_BOOL_ARRAY
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return ParameterType.PARAMETER_INTEGER_ARRAY
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return ParameterType.PARAMETER_DOUBLE_ARRAY
        if all(isinstance(v, str) for v in value):
            return ParameterType.PARAMETER_STRING_ARRAY
    return None


def _ros_value(value: Any, ptype: int) -> Any:
    if ptype == ParameterType.PARAMETER_DOUBLE_ARRAY:
        return [float(v) for v in value]
    if ptype in (ParameterType.PARAMETER_INTEGER_ARRAY, ParameterType.PARAMETER_BOOL_ARRAY,
                 ParameterType.PARAMETER_STRING_ARRAY):
        return list(value)
    return value


def is_optional_float(f: dataclasses.Field) -> bool:
    """True for ``float | None`` fields: their parameter is a double, NaN meaning None."""
    hint = str(f.type).replace(" ", "")
    return hint in ("float|None", "None|float", "Optional[float]", "typing.Optional[float]")


def supported_fields(cls: type) -> list[dataclasses.Field]:
    """Fields of ``cls`` that map onto a ROS parameter type (others keep their defaults).

    Scalars (bool, int, float, str), flat tuples of one scalar type, and ``float | None``
    (a double where NaN means None) are supported; nested or empty tuples and other optional
    types are not declared and keep their dataclass values.
    """
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue
        if is_optional_float(f) or _param_type(default) is not None:
            out.append(f)
    return out


def _default(cls: type, f: dataclasses.Field, instance: Any | None) -> Any:
    if instance is not None:
        value = getattr(instance, f.name)
    elif f.default is not dataclasses.MISSING:
        value = f.default
    else:
        value = f.default_factory()
    if is_optional_float(f):
        return math.nan if value is None else float(value)
    return value


def declare_dataclass_parameters(node: Any, cls: type, prefix: str = "", *,
                                 instance: Any | None = None,
                                 ranges: Mapping[str, Range] | None = None,
                                 read_only: Iterable[str] = ()) -> list[str]:
    """Declare one ROS parameter per supported field of the dataclass ``cls`` on ``node``.

    Args:
        node: An ``rclpy.node.Node`` (or lifecycle node).
        cls: A dataclass type.
        prefix: Parameter namespace (``"safety"`` gives ``safety.<field>``); empty for none.
        instance: Instance whose values are the defaults (the dataclass defaults if None).
        ranges: Field name -> (low, high) inclusive; applied to numeric scalars, and checked
            per element for numeric arrays by ``validate_update``. A field's
            ``metadata["range"]`` is used when not given here.
        read_only: Field names that cannot change after start-up.

    Returns:
        The declared parameter names.
    """
    ranges = dict(ranges or {})
    read_only = set(read_only)
    docs = field_docs(cls)
    names = []
    for f in supported_fields(cls):
        default = _default(cls, f, instance)
        ptype = _param_type(default)
        rng = ranges.get(f.name, f.metadata.get("range"))
        desc = ParameterDescriptor(description=docs.get(f.name, ""), type=ptype,
                                   read_only=f.name in read_only)
        if rng is not None:
            lo, hi = rng
            desc.additional_constraints = f"range [{lo}, {hi}]"
            if ptype == ParameterType.PARAMETER_DOUBLE:
                desc.floating_point_range = [FloatingPointRange(
                    from_value=float(lo), to_value=float(hi), step=0.0)]
            elif ptype == ParameterType.PARAMETER_INTEGER:
                desc.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
        name = f"{prefix}.{f.name}" if prefix else f.name
        node.declare_parameter(name, _ros_value(default, ptype), desc)
        names.append(name)
    return names


def _py_value(value: Any, default: Any, optional: bool = False) -> Any:
    if optional:
        return None if value is None or math.isnan(value) else float(value)
    if isinstance(default, tuple):
        return tuple(float(v) if isinstance(default[0], float) else v for v in value)
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    return value


def dataclass_from_parameters(node: Any, cls: type, prefix: str = "", *,
                              instance: Any | None = None,
                              overrides: Mapping[str, Any] | None = None) -> Any:
    """Build a ``cls`` instance from the node's current parameter values.

    Args:
        node: Node on which ``declare_dataclass_parameters`` declared the fields.
        cls: The dataclass type.
        prefix: The prefix used at declaration.
        instance: Base instance for fields that are not parameters.
        overrides: Field name -> value replacing the parameter value (used to validate a
            pending update before it is applied).

    Raises:
        ValueError: The dataclass rejects the values (message from its ``__post_init__``).
    """
    kwargs = {}
    overrides = overrides or {}
    for f in supported_fields(cls):
        default = _default(cls, f, instance)
        name = f"{prefix}.{f.name}" if prefix else f.name
        value = overrides[f.name] if f.name in overrides else node.get_parameter(name).value
        kwargs[f.name] = _py_value(value, default, is_optional_float(f))
    base = instance if instance is not None else cls()
    return dataclasses.replace(base, **kwargs)


def validate_update(node: Any, params: Iterable[Any], groups: Mapping[str, tuple[type, Any]],
                    ranges: Mapping[str, Mapping[str, Range]] | None = None) -> str | None:
    """Check a set-parameters request against the config dataclasses.

    Args:
        node: The node.
        params: The ``rclpy.parameter.Parameter`` objects of the request.
        groups: Prefix -> (dataclass type, base instance or None).
        ranges: Prefix -> field -> (low, high), checked for every element of numeric values.

    Returns:
        None if acceptable, else the reason for rejecting the request.
    """
    ranges = ranges or {}
    pending: dict[str, dict[str, Any]] = {p: {} for p in groups}
    for param in params:
        prefix, _, field = param.name.rpartition(".")
        if prefix not in groups:
            continue
        value = param.value
        values = value if isinstance(value, (list, tuple)) else [value]
        optional = any(f.name == field and is_optional_float(f)
                       for f in dataclasses.fields(groups[prefix][0]))
        if optional and isinstance(value, float) and math.isnan(value):
            values = []  # NaN disables an optional limit
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                return f"{param.name}: value must be finite, got {v}"
        rng = ranges.get(prefix, {}).get(field)
        if rng is not None:
            for v in values:
                if isinstance(v, (int, float)) and not (rng[0] <= v <= rng[1]):
                    return f"{param.name}: {v} is outside the range [{rng[0]}, {rng[1]}]"
        pending[prefix][field] = value
    for prefix, overrides in pending.items():
        if not overrides:
            continue
        cls, instance = groups[prefix]
        try:
            dataclass_from_parameters(node, cls, prefix, instance=instance, overrides=overrides)
        except (ValueError, TypeError) as exc:
            return f"{prefix or 'parameters'}: {exc}"
    return None
