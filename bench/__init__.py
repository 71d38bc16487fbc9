"""kubewhy's benchmarks: ``python -m bench`` runs them all (``bench/__main__.py``), rewriting docs/benchmarks.md."""
