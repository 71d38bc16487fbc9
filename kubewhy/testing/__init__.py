"""Helpers that run kubewhy against real services for ``kubewhy eval``, the tests and the demo."""
