"""One schema per concept: frozen dataclasses are the field table, this module turns them into TOML/JSON
tables and back.

Keys are the field names in kebab case; a field whose value equals its default is left out (so locks stay
short and old locks read as new ones with the default); fields marked ``DERIVED`` in their metadata are
computed when read and never written. Reading validates every value against the field's type and names the
key and the expected type when it does not fit — a lock is a file users commit and edit.

Supported field types: ``str``, ``int``, ``float``, ``bool``, ``Literal[...]`` of strings, ``datetime``
(RFC 3339 text), ``X | None``, ``tuple[X, ...]``, ``frozenset[str]``, ``tuple[tuple[str, str], ...]`` (a
table of strings) and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from nixgen.errors import InputError

T = TypeVar("T")


def key_of(name: str) -> str:
    """A field name as a lock key (``nixpkgs_version`` → ``nixpkgs-version``)."""
    return name.replace("_", "-")


@cache
def _hints(cls: Any) -> dict[str, Any]:
    """The resolved type of each field (classes never change, so this is computed once per class)."""
    return typing.get_type_hints(cls)


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("derived")]


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def encode(obj: Any) -> dict[str, Any]:
    """``obj`` (a dataclass instance) as a table; defaults and derived fields left out."""
    out: dict[str, Any] = {}
    hints = _hints(type(obj))  # type: ignore[arg-type]
    for f in _fields(type(obj)):
        value = getattr(obj, f.name)
        if value == _default(f):
            continue
        out[key_of(f.name)] = _encode_value(value, hints[f.name])
    return out


def _is_pairs(tp: Any) -> bool:
    args = get_args(tp)
    return (get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis
            and get_origin(args[0]) is tuple and get_args(args[0]) == (str, str))


def _encode_value(value: Any, tp: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if _is_pairs(tp):
        return dict(value)
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        inner = get_args(tp)[0] if get_args(tp) else Any
        return [_encode_value(v, inner) for v in value]
    return value


def decode(cls: type[T], data: Any, where: str) -> T:
    """A ``cls`` from a table, every value checked; :class:`InputError` naming ``where`` and the key."""
    if not isinstance(data, dict):
        raise InputError(f"{where} must be a table, not {_what(data)}")
    hints = _hints(cls)  # type: ignore[arg-type]
    known = {key_of(f.name): f for f in _fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"{where} has unknown key(s) {', '.join(unknown)}",
                         hint="was it written by a newer nixgen? write the lock again with `nixgen lock`")
    values: dict[str, Any] = {}
    for key, f in known.items():
        if key in data:
            values[f.name] = _decode_value(data[key], hints[f.name], f"{where}.{key}")
        elif _default(f) is dataclasses.MISSING:
            raise InputError(f"{where} lacks the key {key}")
    return cls(**values)


def _what(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _decode_value(value: Any, tp: Any, where: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return _decode_value(value, rest[0] if len(rest) == 1 else Union[tuple(rest)], where)  # noqa: UP007
    if origin is Literal:
        if value not in args:
            raise InputError(f"{where} is {value!r}, expected one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return decode(tp, value, where)
    if _is_pairs(tp):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise InputError(f"{where} must be a table of strings, not {_what(value)}")
        return tuple(sorted(value.items()))
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where} must be a table, not {_what(value)}")
        return value
    if origin in (tuple, frozenset):
        if not isinstance(value, list):
            raise InputError(f"{where} must be a list, not {_what(value)}")
        inner = args[0] if args else Any
        items = [_decode_value(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return frozenset(items) if origin is frozenset else tuple(items)
    if tp is datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        raise InputError(f"{where} must be an RFC 3339 time, not {value!r}")
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where} must be a boolean, not {_what(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where} must be an integer, not {_what(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{where} must be a number, not {_what(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise InputError(f"{where} must be a string, not {_what(value)}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"the lock schema cannot read a field of type {tp!r} ({where})")  # a bug in a model
