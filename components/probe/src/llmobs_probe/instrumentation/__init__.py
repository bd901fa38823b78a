"""Instrumentations the probe owns (one subpackage per library)."""
