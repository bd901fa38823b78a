"""Unmodified applications the probe instruments from outside (subprocess tests)."""
