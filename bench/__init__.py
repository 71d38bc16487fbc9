"""kubewhy's benchmarks; ``python -m bench`` runs them all (see ``bench/__main__.py``) and rewrites docs/benchmarks.md."""
