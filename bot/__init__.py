"""kubewhy's Slack bot: ``/k8s why pod-x`` and friends, on the shared core (slack-bolt, async)."""
