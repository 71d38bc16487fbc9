"""Fixtures of the core's tests: a fresh check registry per test, so a test's own checks stay its own."""

from __future__ import annotations

import pytest

from kubewhy.checks import CheckRegistry, default_registry


@pytest.fixture
def registry() -> CheckRegistry:
    """The built-in checks in a registry of the test's own (adding to it changes no other registry)."""
    return default_registry()
