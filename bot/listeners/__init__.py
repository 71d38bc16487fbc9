"""Listeners, registered per kind (as in Bolt's starter template)."""
