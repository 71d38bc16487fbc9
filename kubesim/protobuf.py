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
415), never a silently dropped value. Zero values are left out, as the JSON encoding's ``omitempty`` does.
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
def _fields() -> dict[str, dict[int, tuple[str, str, str]]]:
    raw = json.loads((resources.files("kubesim") / "protobuf_fields.json").read_text(encoding="utf-8"))
    return {msg: {int(n): (f[0], f[1], f[2]) for n, f in fields.items()} for msg, fields in raw.items()}


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
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
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
        return fields.get("string")
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
    for number, wire, value in _records(data):
        field = schema.get(number)
        if field is None:
            raise ProtobufError(f"field {number} of {name} is not known to the simulator")
        key, shape, kind = field
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
            inline = _decode_value(kind, wire, value)
            if not isinstance(inline, dict):
                raise ProtobufError(f"field {number} of {name} did not decode to an object")
            out.update(inline)
        else:
            out[key] = _decode_value(kind, wire, value)
    return _special(name, out)


_SCALARS = {"string", "bytes", "bool", "int32", "int64", "double", "float"}


def _decode_value(kind: str, wire: int, value: Any) -> Any:
    if kind in _SCALARS:
        if kind in ("string", "bytes") and isinstance(value, int):
            raise ProtobufError(f"expected a {kind}, got a varint")
        return _scalar(kind, wire, value)
    return _message(kind, bytes(value))


def _prune(value: Any) -> Any:
    """Drop zero values (``""``, 0, false, empty objects and lists), as ``omitempty`` does in JSON."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", 0, False, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it encodes."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic number")
    envelope = _message("runtime.Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    group, _, version = api_version.rpartition("/")
    package = group.split(".")[0] or "core"  # rbac.authorization.k8s.io/v1 -> rbac.v1
    raw = base64.b64decode(envelope.get("raw") or "")
    obj = _prune(_message(f"{package}.{version}.{kind}", raw))
    if not isinstance(obj, dict):
        raise ProtobufError(f"{kind} did not decode to an object")
    return {"apiVersion": api_version, "kind": kind, **obj}


__all__ = ["MAGIC", "ProtobufError", "decode"]
