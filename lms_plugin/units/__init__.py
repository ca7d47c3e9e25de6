"""Pluggable unit types: the contract (spec.py), the registry, and the built-ins."""
