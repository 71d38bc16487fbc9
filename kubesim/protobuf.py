"""Request bodies in Kubernetes' protobuf encoding, decoded into the JSON shape the rest of the simulator handles.

kubectl 1.32 and later send the objects its typed clients build (``create deployment|configmap|secret|...``,
``auth can-i``, ``auth whoami``) as ``application/vnd.kubernetes.protobuf`` and, unlike for CBOR, do not fall back
to JSON on a 415. The envelope is the magic ``k8s\\x00`` and a ``runtime.Unknown`` whose ``typeMeta`` names the
kind and whose ``raw`` is the object's message.

``protobuf_fields.json`` lists, per message, the field numbers of the Kubernetes wire format and their JSON
names, for every message of every group/version the simulator serves and the messages they reach; it is
generated from the ``generated.proto`` files of k8s.io/api and k8s.io/apimachinery by
``scripts/protobuf_fields.py``. A field whose JSON name is ``""`` is inlined into its parent in JSON
(``Volume.volumeSource``). A kind or a field outside that list is a :class:`ProtobufError` (the server answers
415), never a silently dropped value.

The simulator stores a body as it came, so a decoded body must be the JSON that a JSON-speaking kubectl sends
for the same Go object, zero values included. The wire holds every non-pointer field, set or not, and a pointer
field only when it is set; the table's flags say which Go fields are pointers and which json tags have
``omitempty``. So, as Go's encoding/json does: a zero is dropped only from a non-pointer ``omitempty`` field
(``replicas: 0`` of a ``*int32`` stays, ``minReadySeconds: 0`` goes), an unset pointer, list or map is dropped
when ``omitempty`` and ``null`` otherwise, and a struct is never empty (``strategy: {}``, ``status: {}``).
"""

from __future__ import annotations

import base64
import functools
import json
import struct
from datetime import UTC, datetime
from importlib import resources
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """A body the simulator cannot decode."""


@functools.lru_cache(maxsize=1)
def _fields() -> dict[str, dict[int, tuple[str, str, str, str]]]:
    raw = json.loads((resources.files("kubesim") / "protobuf_fields.json").read_text(encoding="utf-8"))
    return {msg: {int(n): (f[0], f[1], f[2], f[3]) for n, f in fields.items()} for msg, fields in raw.items()}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _records(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, raw value) of each record of a message."""
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ProtobufError("truncated message")
        out.append((number, wire, value))
    return out


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind == "string":
        return bytes(value).decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "bool":
        return bool(value)
    if kind in ("int32", "int64"):
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "double":
        return struct.unpack("<d", value)[0]
    if kind == "float":
        return struct.unpack("<f", value)[0]
    raise ProtobufError(f"unsupported scalar type {kind}")


def _special(name: str, fields: dict[str, Any]) -> Any:
    """The JSON form of the apimachinery types that are not plain objects in JSON."""
    if name in ("apis.meta.v1.Time", "apis.meta.v1.MicroTime"):
        seconds = fields.get("seconds", 0)
        if not seconds and not fields.get("nanos"):
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if name == "api.resource.Quantity":
        return fields.get("string") or "0"
    if name == "util.intstr.IntOrString":
        return fields.get("strVal", "") if fields.get("type") == 1 else fields.get("intVal", 0)
    if name in ("apis.meta.v1.FieldsV1", "runtime.RawExtension"):
        raw = base64.b64decode(fields.get("Raw") or fields.get("raw") or "")
        return json.loads(raw) if raw else None
    if name == "apis.meta.v1.Duration":
        return fields.get("duration")
    if name.endswith((".ExtraValue", ".AttestationValue")):  # a []string in Go and JSON
        return fields.get("items", [])
    return fields


def _message(name: str, data: bytes) -> Any:
    schema = _fields().get(name)
    if schema is None:
        raise ProtobufError(f"message {name} is not known to the simulator")
    out: dict[str, Any] = {}
    seen: set[int] = set()
    for number, wire, value in _records(data):
        field = schema.get(number)
        if field is None:
            raise ProtobufError(f"field {number} of {name} is not known to the simulator")
        seen.add(number)
        key, shape, kind, _ = field
        if shape == "map":
            entry = {n: v for n, _, v in _records(bytes(value))}
            item = _decode_value(kind, 2 if kind not in _SCALARS else 0, entry.get(2, b""))
            out.setdefault(key, {})[bytes(entry.get(1, b"")).decode()] = item
        elif shape == "list":
            if kind in _SCALARS and wire == 2 and kind not in ("string", "bytes"):
                packed = bytes(value)
                pos = 0
                while pos < len(packed):
                    number_value, pos = _varint(packed, pos)
                    out.setdefault(key, []).append(_scalar(kind, 0, number_value))
            else:
                out.setdefault(key, []).append(_decode_value(kind, wire, value))
        elif key == "":
            _inline(out, name, number, _decode_value(kind, wire, value))
        else:
            out[key] = _decode_value(kind, wire, value)
    for number, (key, shape, kind, flags) in schema.items():
        if flags == "?":  # a type with a JSON form of its own: _special reads what is there
            continue
        if number not in seen:  # what Go holds for a field the wire left out
            unset = (
                None
                if "p" in flags or shape != "one"
                else _ZEROS.get(kind)
                if kind in _SCALARS
                else (_message(kind, b""))
            )
            if key == "":
                _inline(out, name, number, unset or {})
                continue
            out[key] = unset
        if key and "o" in flags and _empty(out[key], shape, kind, flags):
            del out[key]
    return _special(name, out)


def _inline(out: dict[str, Any], name: str, number: int, value: Any) -> None:
    if not isinstance(value, dict):
        raise ProtobufError(f"field {number} of {name} did not decode to an object")
    out.update(value)


def _empty(value: Any, shape: str, kind: str, flags: str) -> bool:
    """Whether encoding/json's ``omitempty`` drops this value: a nil or empty list or map, a nil pointer, and the
    zero of a non-pointer scalar; never a struct (a zero Time is ``null``, a zero IntOrString ``0``)."""
    if shape != "one":
        return not value
    if "p" in flags:
        return value is None
    return kind in _SCALARS and value in ("", 0, False)


_SCALARS = {"string", "bytes", "bool", "int32", "int64", "double", "float"}
_ZEROS: dict[str, Any] = {"string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0, "double": 0.0, "float": 0.0}


def _decode_value(kind: str, wire: int, value: Any) -> Any:
    if kind in _SCALARS:
        if kind in ("string", "bytes") and isinstance(value, int):
            raise ProtobufError(f"expected a {kind}, got a varint")
        return _scalar(kind, wire, value)
    return _message(kind, bytes(value))


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it encodes."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic number")
    envelope = _message("runtime.Unknown", body[len(MAGIC) :])
    type_meta = envelope.get("typeMeta") or {}
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    group, _, version = api_version.rpartition("/")
    package = group.split(".")[0] or "core"  # rbac.authorization.k8s.io/v1 -> rbac.v1
    raw = base64.b64decode(envelope.get("raw") or "")
    obj = _message(f"{package}.{version}.{kind}", raw)
    if not isinstance(obj, dict):
        raise ProtobufError(f"{kind} did not decode to an object")
    return {"apiVersion": api_version, "kind": kind, **obj}


__all__ = ["MAGIC", "ProtobufError", "decode"]
