"""A describe that lost its indentation (copied from a rendered Markdown page or a chat that trims lines) indented
again as kubectl prints it, so its tables, containers and volumes nest under their sections.

Only a text with no indented line at all is touched, and only where the layout is kubectl's own: the rows of an
``Events:`` or ``Conditions:`` table; under ``Containers:`` / ``Init Containers:`` a bare ``name:`` line opens a
container, its keys (``Image``, ``State``, ``Restart Count``, ``Limits`` …) nest under it and the keys of a
``State`` / ``Last State`` (``Reason``, ``Exit Code``, ``Started`` …), the quantities of ``Limits`` / ``Requests``,
the ``X from Y`` lines of ``Mounts`` and the variables of ``Environment`` under those; under ``Volumes:`` a bare
``name:`` opens a volume and its ``Type``/``SecretName``/``ClaimName`` … keys nest under it (a ConfigMap volume's
``Name:`` too, which otherwise would start a new describe), and so do a StatefulSet's ``Volume Claims``; the lines
that carry on a ``Labels``, ``Annotations``, ``Tolerations``, ``Taints`` or ``Node-Selectors`` list nest under it.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 ./()-]*?):(?:\s+(.*?))?\s*$")
_EVENT = re.compile(r"^(?:Normal|Warning)\s{2,}\S|^Type\s+Reason\s+Age\b|^-{2,}(?:\s+-{2,})+\s*$")
_CONDITION = re.compile(r"^Type\s+Status\b|^-{2,}(?:\s+-{2,})+\s*$|^[A-Z][A-Za-z]+\s+(?:True|False|Unknown)\b")
_BARE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:$")
_CONTAINER_KEYS = {
    "Container ID", "Image", "Image ID", "Port", "Ports", "Host Port", "Host Ports", "Command", "Args", "State",
    "Last State", "Ready", "Restart Count", "Limits", "Requests", "Liveness", "Readiness", "Startup", "Environment",
    "Environment Variables from", "Mounts", "Devices", "SeccompProfile",
}  # fmt: skip
_STATE_KEYS = {"Reason", "Message", "Exit Code", "Signal", "Started", "Finished"}
_VOLUME_KEYS = {
    "Type", "SecretName", "Optional", "Name", "ClaimName", "ReadOnly", "Path", "HostPathType", "Medium", "SizeLimit",
    "TokenExpirationSeconds", "ConfigMapName", "ConfigMapOptional", "DownwardAPI", "Server", "Driver", "FSType",
    "VolumeHandle", "VolumeAttributes",
}  # fmt: skip
_CLAIM_KEYS = {"Name", "StorageClass", "Labels", "Annotations", "Capacity", "Access Modes"}
_TOP = re.compile(r"^[A-Z][A-Za-z0-9 ()-]*$")  # a top-level key: capitalised, no dots or slashes
_LISTS = {"Labels", "Annotations", "Tolerations", "Taints", "Node-Selectors", "Selector"}
# Keys that hold only nested lines: a flat text holding one at the left margin was flattened.
_NESTED_ONLY = {"Container ID", "Image ID", "Restart Count", "Host Port", "Exit Code"}


def is_flat(lines: list[str]) -> bool:
    """No line is indented, yet one is a key kubectl only prints nested, or a section that kubectl always follows
    with indented lines (``Containers:``, ``Conditions:``, ``Volume Claims:`` … with no value)."""
    text = [ln for ln in lines if ln.strip()]
    if any(ln[:1].isspace() for ln in text):
        return False
    keys = {m.group(1): m.group(2) for m in (_KEY.match(ln) for ln in text) if m}
    sections = [k for k, v in keys.items() if not v and _TOP.match(k)]
    return bool(set(keys) & _NESTED_ONLY) or bool(sections)


def unflatten(text: str) -> str:
    """``text`` with kubectl's indentation back where it was lost (see the module's notes), else unchanged."""
    lines = text.split("\n")
    if not is_flat(lines):
        return text
    out = []
    section = sub = ""  # the top-level section, and within a container the key whose lines nest under it
    for line in lines:
        m = _KEY.match(line)
        key, value = (m.group(1), m.group(2) or "") if m else ("", "")
        indent = 0
        if not line.strip():
            pass
        elif section == "Events" and _EVENT.match(line):
            indent = 2
        elif section == "Conditions" and _CONDITION.match(line):
            indent = 2
        elif section in ("Containers", "Init Containers"):
            indent, sub = _in_container(line, key, sub)
        elif section == "Volume Claims" and key in _CLAIM_KEYS:
            indent = 2  # a StatefulSet's claim templates, each opening with its own Name:
        elif section == "Volumes" and _BARE_NAME.match(line):
            indent = 2
        elif section == "Volumes" and key in _VOLUME_KEYS:
            indent = 4
        elif section in _LISTS and not m:
            indent = 2  # another label, annotation, toleration or taint
        if indent == 0 and m and _TOP.match(key):
            section, sub = key, ""
        elif indent == 0 and section in _LISTS and line.strip():
            indent = 2  # an annotation (``kubeadm.alpha.kubernetes.io/cri-socket: …``) carrying on the list
        out.append(" " * indent + line)
    return "\n".join(out)


def _in_container(line: str, key: str, sub: str) -> tuple[int, str]:
    """The indentation of a line under ``Containers:``, and the container key its next lines nest under."""
    if _BARE_NAME.match(line):
        return 2, ""
    if sub in ("State", "Last State") and key in _STATE_KEYS:
        return 6, sub
    if key in _CONTAINER_KEYS:
        return 4, key
    if sub in ("Limits", "Requests") and re.match(r"^[a-z][\w./-]*:\s+\S", line):
        return 6, sub
    if sub == "Mounts" and " from " in line:
        return 6, sub
    if sub in ("Command", "Args") and not key:
        return 6, sub
    if sub == "Environment" and re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*:", line):
        return 6, sub
    return 0, ""
