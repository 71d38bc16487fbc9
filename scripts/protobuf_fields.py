"""Regenerate kubesim/protobuf_fields.json, the field table of the simulator's protobuf decoder, from the real
``generated.proto`` files of k8s.io/api and k8s.io/apimachinery.

The table holds every message of every API group/version the simulator serves (kubesim.resources.BUILTIN) and
every message those reach, so a kubectl 1.32+ typed create of any served kind decodes. Re-run it when the
resource table grows or the protos move on:

    git -C API_GIT archive HEAD | tar x -C /tmp/protos/api            # a checkout of k8s.io/api
    git -C APIMACHINERY_GIT archive HEAD | tar x -C /tmp/protos/apimachinery
    .venv/bin/python scripts/protobuf_fields.py /tmp/protos [kubesim/protobuf_fields.json]

PROTO_DIR is searched recursively for ``*.proto``; each file's ``package`` line places its messages, so the
directory layout does not matter. Where Go files (``types.go``) sit beside a ``generated.proto`` (extract both),
their struct tags say which proto fields have another JSON name (``uID`` is ``uid``) or are inlined in JSON
(``Volume.volumeSource``): the table gives an inlined field the JSON name ``""``, which the decoder merges into
its parent. They also say, per field, whether the Go type is a pointer and whether the json tag has
``omitempty``, which decide which zero values JSON carries: the table's fourth column holds flags ``p`` and
``o``, or ``?`` for the few apimachinery types with a JSON form of their own (Time, Quantity, IntOrString, ...).
Never commit the .proto or .go files themselves.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from kubesim.resources import BUILTIN

ROOT = Path(__file__).resolve().parents[1]
SCALARS = {"string", "bytes", "bool", "int32", "int64", "double", "float"}
# Proto packages as the decoder names them: k8s.io.api.apps.v1 -> apps.v1,
# k8s.io.apimachinery.pkg.apis.meta.v1 -> apis.meta.v1.
PREFIXES = ("k8s.io.api.", "k8s.io.apimachinery.pkg.")
_FIELD = re.compile(
    r"^\s*(?:(optional|repeated|required)\s+([\w.]+)|map<\s*string\s*,\s*([\w.]+)\s*>)\s+(\w+)\s*=\s*(\d+)"
)


_TAG = re.compile(r"`(.*)`")
_STRUCT = re.compile(r"^type\s+(\w+)\s+struct\s*\{")
# Go files that declare no API struct of their own (or only generated copies).
_SKIP = ("_test.go", "generated.pb.go", "_generated.go", "_fuzz.go")


def _tag(tags: str, key: str) -> str | None:
    found = re.search(rf'\b{key}:"([^"]*)"', tags)
    return found.group(1) if found else None


def go_fields(directory: Path, package: str) -> dict[tuple[str, str], list[str]]:
    """(message, proto field name) -> [JSON name, flags] for every struct field with a protobuf tag in the Go
    files of directory. Flags: ``p`` the Go type is a pointer, ``o`` its json tag has omitempty; the decoder needs
    them to know which zero values JSON would carry (kubesim/protobuf.py). ``omitzero`` is left out: the API
    servers the simulator stands for (1.27-1.33) predate it and write ``creationTimestamp: null``."""
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(directory.glob("*.go")):
        if path.name.endswith(_SKIP) or path.name.startswith("zz_generated"):
            continue
        struct = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if found := _STRUCT.match(line):
                struct = found.group(1)
            elif line.startswith("}"):
                struct = ""
            tag = _TAG.search(line)
            if not tag or not struct:
                continue
            json_tag, proto_tag = _tag(tag.group(1), "json"), _tag(tag.group(1), "protobuf")
            if json_tag is None or proto_tag is None or json_tag == "-":
                continue
            words = line[: tag.start()].split()
            go_name, go_type = words[0], words[-1]  # an embedded field is its own type
            found_name = re.search(r"\bname=(\w+)", proto_tag)
            proto_name = found_name.group(1) if found_name else go_name.lstrip("*")[:1].lower() + go_name[1:]
            json_name, *options = json_tag.split(",")
            flags = ("p" if go_type.startswith("*") else "") + ("o" if "omitempty" in options else "")
            out[(f"{package}.{struct}", proto_name)] = [json_name, flags]
    return out


def _short(package: str) -> str:
    for prefix in PREFIXES:
        if package.startswith(prefix):
            return package[len(prefix) :]
    return package


def parse(proto_dir: Path) -> dict[str, dict[str, list[str]]]:
    """Every message of every proto file under proto_dir: name -> {field number: [json name, shape, type, flags]},
    flags as go_fields gives them, or ``?`` where no Go struct declares the field."""
    messages: dict[str, dict[str, list[str]]] = {}
    for path in sorted(proto_dir.rglob("*.proto")):
        text = re.sub(r"//[^\n]*", "", path.read_text(encoding="utf-8"))
        found = re.search(r"^package\s+([\w.]+)\s*;", text, re.M)
        if not found:
            continue
        package = _short(found.group(1))
        # runtime.Unknown is the wire envelope, decoded as proto, never as the JSON it stands for.
        go = go_fields(path.parent, package) if package != "runtime" else {}
        for match in re.finditer(r"^message\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
            fields: dict[str, list[str]] = {}
            for line in match.group(2).splitlines():
                field = _FIELD.match(line)
                if not field:
                    if line.strip():
                        raise SystemExit(f"{path}: {match.group(1)}: cannot parse {line.strip()!r}")
                    continue
                label, type_, map_value, name, number = field.groups()
                shape = "map" if map_value else ("list" if label == "repeated" else "one")
                json_name, flags = go.get((f"{package}.{match.group(1)}", name), [name, "?"])
                fields[number] = [json_name, shape, _resolve(map_value or type_, package), flags]
            messages[f"{package}.{match.group(1)}"] = fields
    return messages


def _resolve(type_: str, package: str) -> str:
    if type_ in SCALARS:
        return type_
    if type_.startswith("."):
        qualified = type_[1:]
        package_part, _, name = qualified.rpartition(".")
        return f"{_short(package_part)}.{name}"
    return f"{package}.{type_}"


def served_packages() -> set[str]:
    """The proto packages of the group/versions the simulator serves (core/v1 is package core.v1)."""
    return {f"{r.group.split('.')[0] or 'core'}.{r.version}" for r in BUILTIN}


def table(messages: dict[str, dict[str, list[str]]], packages: set[str]) -> dict[str, dict[str, list[str]]]:
    """The messages of the given packages, the envelope kubectl wraps them in, and everything they reach."""
    todo = [name for name in messages if name.rpartition(".")[0] in packages]
    todo += ["runtime.Unknown"]
    out: dict[str, dict[str, list[str]]] = {}
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name not in messages:
            raise SystemExit(f"message {name} is referenced but not defined in the protos")
        out[name] = messages[name]
        todo += [f[2] for f in messages[name].values() if f[2] not in SCALARS]
    return out


def render(fields: dict[str, dict[str, list[str]]]) -> str:
    def order(name: str) -> tuple[bool, str]:
        return name.split(".")[0] in ("api", "apis", "runtime", "util"), name

    lines = []
    for name in sorted(fields, key=order):
        body = ",".join(
            f'"{n}":["{f[0]}","{f[1]}","{f[2]}","{f[3]}"]'
            for n, f in sorted(fields[name].items(), key=lambda kv: int(kv[0]))
        )
        lines.append(f' "{name}": {{{body}}}')
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[2]) if len(argv) == 3 else ROOT / "kubesim" / "protobuf_fields.json"
    packages = served_packages()
    messages = parse(Path(argv[1]))
    missing = sorted(p for p in packages if not any(m.rpartition(".")[0] == p for m in messages))
    fields = table(messages, packages)
    out.write_text(render(fields), encoding="utf-8")
    print(f"{out}: {len(fields)} messages; served packages without protos here: {missing}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
