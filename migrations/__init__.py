"""The audit database's Alembic scripts, installed as the package ``kubewhy.audit.migrations`` (see pyproject.toml)."""
