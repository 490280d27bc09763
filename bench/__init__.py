"""Benchmarks of idc against the alternatives; ``nox -s bench`` runs them (see docs/benchmarks.md)."""
