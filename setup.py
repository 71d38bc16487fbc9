"""Package list for setuptools (everything else is in pyproject.toml).

pyproject's ``packages.find`` can only name a package after its directory, and the documented layout keeps the
bundled playbooks and the Alembic migrations at the top of the repository (``playbooks/``, ``migrations/``). So the
code packages are found here by pattern and the two data packages, mapped by ``[tool.setuptools.package-dir]``,
are added by name.
"""

from setuptools import find_namespace_packages, setup

CODE = find_namespace_packages(include=["kubewhy*", "kubesim*", "bot*", "tui*", "kubelab*"])
DATA = ["kubewhy.playbooks.bundled", "kubewhy.audit.migrations", "kubewhy.audit.migrations.versions"]

setup(packages=CODE + DATA)
