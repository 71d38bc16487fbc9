"""``/openapi/v2`` in the protobuf form kubectl 1.27 and 1.28 ask for (``explain``, and the check of whether
the server validates fields): the OpenAPI v2 JSON document written as gnostic's ``openapi_v2.Document``.

Only what kubectl reads is written: definitions (type, description, ``$ref``, properties, items,
additionalProperties, required, allOf, ``x-`` extensions as YAML), and each path's PATCH operation with its query
parameters and ``x-kubernetes-group-version-kind``. Field numbers are those of gnostic's OpenAPIv2.proto.
"""

from __future__ import annotations

from typing import Any

import yaml

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"  # as the API server labels it


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings and messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, text: Any) -> bytes:
    return _field(number, str(text).encode()) if text not in (None, "") else b""


def _bool(number: int, value: Any) -> bytes:
    return _varint(number << 3) + b"\x01" if value else b""


def _extensions(number: int, node: dict[str, Any]) -> bytes:
    """``x-`` keys as NamedAny {name, Any {yaml}} records."""
    out = b""
    for key, value in node.items():
        if key.startswith("x-"):
            any_msg = _string(2, yaml.safe_dump(value, default_flow_style=False, sort_keys=True))
            out += _field(number, _string(1, key) + _field(2, any_msg))
    return out


def _schema(node: dict[str, Any]) -> bytes:
    out = _string(1, node.get("$ref")) + _string(2, node.get("format")) + _string(3, node.get("title"))
    out += _string(4, node.get("description"))
    out += b"".join(_string(19, r) for r in node.get("required") or [])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _field(21, _field(1, _schema(extra)))
    elif isinstance(extra, bool):
        out += _field(21, _varint(2 << 3) + (b"\x01" if extra else b"\x00"))
    if node.get("type"):
        out += _field(22, _string(1, node["type"]))
    if isinstance(node.get("items"), dict):
        out += _field(23, _field(1, _schema(node["items"])))
    out += b"".join(_field(24, _schema(s)) for s in node.get("allOf") or [] if isinstance(s, dict))
    props = node.get("properties")
    if isinstance(props, dict):
        out += _field(
            25,
            b"".join(_field(1, _string(1, k) + _field(2, _schema(v))) for k, v in props.items() if isinstance(v, dict)),
        )
    return out + _extensions(31, node)


def _operation(op: dict[str, Any]) -> bytes:
    out = _string(5, op.get("operationId"))
    for param in op.get("parameters") or []:
        query = (
            _bool(1, param.get("required"))
            + _string(2, param.get("in"))
            + _string(4, param.get("name"))
            + _string(6, param.get("type"))
            + _bool(20, param.get("uniqueItems"))
        )
        # ParametersItem.parameter → Parameter.non_body_parameter → NonBodyParameter.query_parameter_sub_schema
        out += _field(8, _field(1, _field(2, _field(3, query))))
    response = _field(1, _string(1, "200") + _field(2, _field(1, _string(1, "OK"))))
    out += _field(9, response)
    return out + _extensions(13, op)


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def encode(doc: dict[str, Any]) -> bytes:
    """The v2 document (as :func:`kubesim.openapi.v2_doc` builds it) as gnostic protobuf."""
    info = doc.get("info") or {}
    out = _string(1, doc.get("swagger", "2.0")) + _field(
        2, _string(1, info.get("title")) + _string(2, info.get("version"))
    )
    paths = b""
    for path, item in (doc.get("paths") or {}).items():
        body = b"".join(
            _field(number, _operation(item[method]))
            for method, number in _METHODS.items()
            if isinstance(item.get(method), dict)
        )
        paths += _field(2, _string(1, path) + _field(2, body))
    out += _field(8, paths)
    out += _field(
        9,
        b"".join(
            _field(1, _string(1, name) + _field(2, _schema(schema)))
            for name, schema in (doc.get("definitions") or {}).items()
        ),
    )
    return out


__all__ = ["MEDIA_TYPE", "encode"]
