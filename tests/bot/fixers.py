"""An identity map for the bots under test, and the RBAC that lets its people patch (issue 27: the bot applies a
fix only as the approving person, never with its own rights).

``fixers(sim, path, people)`` maps each Slack id to a Kubernetes user of its own in the group ``fixers``, writes the
map to ``path`` and, as the simulator's admin, binds ``fixers`` to a ClusterRole that may get and patch anything.
The kubeconfig the simulator writes is the admin's, who may impersonate anyone (as ``system:masters`` may)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubesim.runner import RunningSim

GROUP = "fixers"


def fixers(sim: RunningSim, path: Path, people: tuple[str, ...]) -> Path:
    path.write_text("".join(f"{who}: {{user: {who.lower()}, groups: [{GROUP}]}}\n" for who in people))
    rbac = "rbac.authorization.k8s.io/v1"
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": GROUP},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch", "patch"]}],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": GROUP},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": GROUP},
            "subjects": [{"kind": "Group", "name": GROUP}],
        },
    ]
    existing = sim.cluster.store.get(("rbac.authorization.k8s.io", "clusterroles"), "", GROUP)
    if existing is None:  # one grant per simulator, however many bots a module starts on it
        sim.control("apply", {"steps": [{"create": obj} for obj in objects]})
    return path


__all__ = ["GROUP", "fixers"]
