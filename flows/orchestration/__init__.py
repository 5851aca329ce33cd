"""Orchestration: the Prefect server, the scheduled deployment and the lifetime of child processes."""
