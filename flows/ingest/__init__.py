"""Ingest: the raw folder's files read as bytes, and its manifest of sources."""
