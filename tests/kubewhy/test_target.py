"""Targets are parsed and validated before any API call."""

from __future__ import annotations

import pytest

from kubewhy.errors import UsageError
from kubewhy.models.target import Target, parse_target


@pytest.mark.parametrize(
    "text,ns,expected",
    [
        ("web-1", None, Target("Pod", "web-1", "default")),
        ("pod/web-1", "prod", Target("Pod", "web-1", "prod")),
        ("po/web-1", None, Target("Pod", "web-1", "default")),
        ("node/node-1", "prod", Target("Node", "node-1", None)),
        ("deploy/api", None, Target("Deployment", "api", "default")),
        ("svc/web", None, Target("Service", "web", "default")),
        ("pvc/data-db-0", None, Target("PersistentVolumeClaim", "data-db-0", "default")),
        ("hpa/web", None, Target("HorizontalPodAutoscaler", "web", "default")),
        ("sts/db", None, Target("StatefulSet", "db", "default")),
        ("pod/q1/app-x", None, Target("Pod", "app-x", "q1")),
    ],
)
def test_parses_every_documented_form(text: str, ns: str | None, expected: Target) -> None:
    assert parse_target(text, ns) == expected


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "no target"),
        ("widget/x", "unknown kind"),
        ("pod/Web_1", "not a valid Kubernetes name"),
        ("pod/x;rm", "not a valid Kubernetes name"),
        ("pod/x;rm -rf /", "not a valid Kubernetes namespace"),
        ("pod/`whoami`", "not a valid Kubernetes name"),
        ("a/b/c/d", "cannot parse"),
        ("pod/" + "a" * 300, "longer than 253"),
    ],
)
def test_bad_targets_are_usage_errors(text: str, words: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_target(text)
    assert words in str(err.value)
    assert err.value.exit_code == 2


def test_bad_namespace_is_rejected() -> None:
    with pytest.raises(UsageError):
        parse_target("web-1", "Not_A_Namespace")
