"""The failure-mode catalogue, ``CATALOGUE.md``: what kubewhy must recognise, explain and propose fixes for.

Each row of its tables is one failure mode (the id, the first column, is the id of the playbook that names it).
It is the yardstick of the product: ``kubewhy eval --coverage`` reports, entry by entry, the playbook and the
scenarios that cover it (``docs/coverage.md``), and the tests check that every entry has both. It was distilled from
the team's seed documents (a workshop, a post-mortem, operation notes); the copy here is the reference.

It ships as package data of the core (pyproject.toml's ``[tool.setuptools.package-data]``), read with
importlib.resources, so that an installed wheel's ``kubewhy eval --coverage`` and the tests of any clone find it
without anything outside the package.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

FILENAME = "CATALOGUE.md"


def catalogue_file() -> Traversable:
    """The packaged ``CATALOGUE.md`` (a :class:`pathlib.Path` unless kubewhy is installed zipped)."""
    return resources.files(__name__).joinpath(FILENAME)


def catalogue_text() -> str:
    """The packaged catalogue's Markdown."""
    return catalogue_file().read_text(encoding="utf-8")
