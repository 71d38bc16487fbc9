"""The bundled playbooks, installed as the package ``kubewhy.playbooks.bundled`` (see pyproject.toml)."""
