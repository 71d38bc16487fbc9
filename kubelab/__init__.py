"""The glue that needs both the core and the simulator: ``kubewhy demo``, ``kubewhy eval``, ``kubewhy sim`` and
the Prometheus back-fill for scenarios. The core (``kubewhy``) never imports it; ``kubewhy.cli`` reaches it
through its table of lazily imported subcommands."""
