"""Release versions and their folders: names, order, checksums and where they live."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RELEASES = "releases"
LATEST = "latest"
SUMS = "SHA256SUMS"


# Matched whole (``fullmatch``: ``$`` would also match before a trailing newline) and in ASCII
# digits only (``\d`` takes any script's digits: ``2٠٢٦`` would name a second 2026)
VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})", re.ASCII)


def parse_version(version: str) -> tuple[int, int, int]:
    m = VERSION_RE.fullmatch(version or "")
    if not m:
        raise ValueError(f"version {shown_version(version)} is not MAJOR.MINOR.PATCH in ASCII digits (e.g. "
                         "2026.11.0; no leading zeros, at most 9 digits each)")
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


def is_version(name: str) -> bool:
    return VERSION_RE.fullmatch(name) is not None


def shown_version(version: str) -> str:
    """A version as a message quotes it: on one line, control characters escaped, cut if long."""
    version = version or ""
    text = version if version.isascii() and version.isprintable() else repr(version)[1:-1]
    return text if len(text) <= 40 else text[:40] + "…"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def existing_versions(releases: Path) -> list[str]:
    if not releases.is_dir():
        return []
    found = [p.name for p in releases.iterdir() if p.is_dir() and is_version(p.name)]
    return sorted(found, key=parse_version)


def latest_version(releases: Path) -> str | None:
    path = releases / LATEST
    return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None
