"""Tooling: benchmark, progress display, memory tuning and evaluation against hand labels."""
