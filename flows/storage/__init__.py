"""Storage: staged builds, atomic publishing, the per-document cache and reuse of the published build."""
