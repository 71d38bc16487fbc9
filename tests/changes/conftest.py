"""The watchers' fixtures (the simulator behind real HTTP, the Slack double), shared with tests/watch."""

from tests.watch.conftest import cluster, slack

__all__ = ["cluster", "slack"]
