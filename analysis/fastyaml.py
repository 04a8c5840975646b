"""Flatten block-style YAML mappings (what OmegaConf writes as a run's config.yaml) fast.

`yaml.CSafeLoader` needs a few milliseconds per run config; over 10,000 runs that alone is tens
of seconds. The configs of one sweep share almost every line, so this reader parses each
distinct line once (a per-process cache) and assembles the flat {dotted key: value} dict with
an indentation stack. Scalars are typed by PyYAML's own YAML 1.1 resolver and constructor, so
values match `yaml.safe_load`. Anything beyond plain block mappings and scalar sequences
(anchors, multi-line or double-quoted strings, nested sequences, comments after values...)
makes `flat_yaml` fall back to CSafeLoader for the whole text: never a different answer, only
a slower one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:  # libyaml is optional for PyYAML; the pure-Python loader gives the same values
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

__all__ = ["flat_yaml", "flatten", "load_yaml"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/+]*\Z")
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR, _NULL, _BOOL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


class _Unsupported(Exception):
    """The text uses YAML this reader does not handle: use the full loader."""


# Line kinds in the cache.
_ENTRY, _OPENER, _ITEM = 0, 1, 2
_LINES: dict[str, tuple[Any, Any]] = {}
_MAX_CACHE = 200_000  # distinct lines kept; a sweep of 10k runs has a few tens of thousands


def load_yaml(text: str) -> Any:
    """The full YAML loader (libyaml when available)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def flatten(obj: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """{dotted key: leaf} of nested mappings; empty mappings vanish, lists stay values."""
    out = {} if out is None else out
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flatten(v, key + ".", out)
        else:
            out[key] = v
    return out


def _scalar(text: str) -> Any:
    """A plain or single-quoted scalar as yaml.safe_load types it."""
    if not text:
        return None
    c = text[0]
    if c == "'":
        if len(text) < 2 or text[-1] != "'" or "'" in text[1:-1].replace("''", ""):
            raise _Unsupported(text)  # multi-line or oddly quoted
        return text[1:-1].replace("''", "'")
    if c in "[{":
        if text in ("[]", "{}"):
            return [] if c == "[" else {}
        value = load_yaml(text)  # a one-line flow collection: rare, and cached per line
        if isinstance(value, dict | list) and _plain_data(value):
            return value
        raise _Unsupported(text)
    # Indicators that start anything but a plain scalar, and plain scalars that may end early.
    if c in '"|>&*!%@`?,#]}' or ": " in text or " #" in text or text.endswith(":") \
            or text == "-" or text.startswith("- "):
        raise _Unsupported(text)
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _CONSTRUCTOR.bool_values[text.lower()]
    if tag == _INT:
        return _CONSTRUCTOR.construct_yaml_int(yaml.ScalarNode(tag, text))
    if tag == _FLOAT:
        return _CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(tag, text))
    raise _Unsupported(text)  # timestamps, merge keys, ...: leave to the full loader


def _plain_data(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_data(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_data(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def _parse_line(line: str) -> tuple[int, int, str, Any]:
    """(indent, kind, key, value) of one non-blank line."""
    body = line.lstrip(" ")
    indent = len(line) - len(body)
    body = body.rstrip()
    if body.startswith("- ") or body == "-":
        value = body[2:].strip()
        if value.startswith("- ") or value == "-" or (": " in value and value[0] not in "'[{") \
                or value.endswith(":"):
            raise _Unsupported(body)  # nested sequences, mappings inside sequences
        return indent, _ITEM, "", _scalar(value)
    key, sep, rest = body.partition(":")
    if not sep or not _KEY.match(key) or (rest and rest[0] != " "):
        raise _Unsupported(body)
    if _RESOLVER.resolve(yaml.ScalarNode, key, (True, False)) != _STR:
        raise _Unsupported(body)  # keys like `yes`, `null`, `1` change type under YAML 1.1
    rest = rest.strip()
    if not rest:
        return indent, _OPENER, key, None
    return indent, _ENTRY, key, _scalar(rest)


# What to do with each line's value, decided once per config *shape* (the lines' indents,
# kinds and keys): configs of one sweep differ in values only, so they share a few shapes.
_OP_SET, _OP_NULL, _OP_SEQ, _OP_APPEND, _OP_NOTHING = range(5)
_PLANS: dict[tuple[tuple[int, int, str], ...], list[tuple[int, str]]] = {}
_SKIP = (None, None)  # cached marker of blank and comment lines


def _plan(shape: tuple[tuple[int, int, str], ...]) -> list[tuple[int, str]]:
    """Per line: (op, dotted key). Raises _Unsupported for structure beyond block mappings
    and scalar sequences."""
    ops: list[tuple[int, str]] = []
    # Open mappings: (indent of their entries, dotted prefix). The root's indent is 0.
    levels: list[tuple[int, str]] = [(0, "")]
    opener: tuple[int, str, int] | None = None  # `key:` waiting: (indent, key, its op index)
    seq: tuple[int, str] | None = None          # the sequence being filled: (indent, key)
    for indent, kind, key in shape:
        if kind == _ITEM:
            if opener is not None:
                if indent < opener[0]:
                    raise _Unsupported(key)
                seq = (indent, opener[1])
                ops[opener[2]] = (_OP_SEQ, opener[1])
                opener = None
            if seq is None or indent != seq[0]:
                raise _Unsupported(key)
            ops.append((_OP_APPEND, seq[1]))
            continue
        seq = None
        if opener is not None:
            if indent > opener[0]:
                levels.append((indent, opener[1] + "."))
                ops[opener[2]] = (_OP_NOTHING, opener[1])
            opener = None  # else: `key:` with nothing under it is null (its op already says so)
        while indent < levels[-1][0]:
            levels.pop()
        if indent != levels[-1][0]:
            # deeper than the mapping it should belong to: a folded multi-line string
            raise _Unsupported(key)
        full = levels[-1][1] + key
        if kind == _OPENER:
            opener = (indent, full, len(ops))
            ops.append((_OP_NULL, full))
        else:
            ops.append((_OP_SET, full))
    return ops


def _fast(text: str) -> dict[str, Any]:
    cache = _LINES
    shape: list[tuple[int, int, str]] = []
    values: list[Any] = []
    for line in text.split("\n"):
        parsed = cache.get(line)
        if parsed is None:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                parsed = _SKIP
            elif stripped.startswith(("---", "...")) or line.startswith("%"):
                raise _Unsupported(line)
            else:
                indent, kind, key, value = _parse_line(line)
                parsed = ((indent, kind, key), value)
            if len(cache) < _MAX_CACHE:
                cache[line] = parsed
        if parsed is _SKIP:
            continue
        shape.append(parsed[0])
        values.append(parsed[1])
    key_shape = tuple(shape)
    plan = _PLANS.get(key_shape)
    if plan is None:
        plan = _plan(key_shape)
        if len(_PLANS) < 10_000:
            _PLANS[key_shape] = plan
    out: dict[str, Any] = {}
    for (op, key), value in zip(plan, values, strict=True):
        if op == _OP_SET:
            if isinstance(value, dict):
                flatten(value, key + ".", out)
            else:
                # cached values are shared between calls: hand out a copy of a list
                out[key] = list(value) if isinstance(value, list) else value
        elif op == _OP_APPEND:
            out[key].append(value)
        elif op == _OP_NULL:
            out[key] = None
        elif op == _OP_SEQ:
            out[key] = []
    return out


def flat_yaml(text: str) -> dict[str, Any]:
    """{dotted key: value} of a YAML mapping, equal to `flatten(yaml.safe_load(text))`.

    Raises yaml.YAMLError (or ValueError for a non-mapping document) on invalid text.
    """
    try:
        return _fast(text)
    except _Unsupported:
        pass
    data = load_yaml(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"not a YAML mapping but {type(data).__name__}")
    return flatten(data)
