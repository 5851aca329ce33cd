"""Publishing a finished release to object storage (or any fsspec file system).

``upload_release(release_dir, url)`` copies ``release_dir`` to ``<url>/<version>/``:

1. the release is checked on disk against its own ``SHA256SUMS`` first (a damaged copy is never
   published), and refused if ``<url>/<version>/`` already holds anything (a version there is
   never overwritten; a half-finished upload, recognizable by its missing ``SHA256SUMS``, has
   to be removed by hand);
2. every file listed in ``SHA256SUMS`` is uploaded and read back, its sha256 compared;
3. ``SHA256SUMS`` goes last, read back too: its presence marks a complete, verified upload, so a
   reader (or mirror) that finds it can trust every file it lists.

The check in 1 is not atomic: two uploads of one version started at the same moment can both
pass it (object stores offer no portable create-if-absent through fsspec). Credentials and
endpoints come from the file system's usual configuration (for ``s3://``: the AWS environment
variables or config files, ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

SUMS = "SHA256SUMS"
BLOCK = 1 << 20


class UploadRefused(RuntimeError):
    """Nothing was uploaded (or the upload stopped before its completion marker); says why."""


@dataclass
class UploadResult:
    url: str
    files: int
    bytes: int
    seconds: float


def read_sums(release_dir: Path) -> dict[str, str]:
    """{relative path: sha256} from the release's SHA256SUMS (``sha256sum`` format)."""
    path = Path(release_dir) / SUMS
    if not path.is_file():
        raise UploadRefused(f"{release_dir} has no {SUMS}: not a finished release")
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split("  ", 1)
            sums[name] = digest
    return sums


def sha256_stream(fh) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: fh.read(BLOCK), b""):
        h.update(block)
    return h.hexdigest()


def local_problems(release_dir: Path, sums: Mapping[str, str]) -> list[str]:
    out = []
    for name, digest in sums.items():
        path = Path(release_dir) / name
        if not path.is_file():
            out.append(f"{name} is listed in {SUMS} but missing")
            continue
        with open(path, "rb") as fh:
            if sha256_stream(fh) != digest:
                out.append(f"{name} does not match its sha256 in {SUMS}")
    listed = set(sums) | {SUMS}
    out += [f"{p.relative_to(release_dir).as_posix()} is not listed in {SUMS}"
            for p in sorted(Path(release_dir).rglob("*")) if p.is_file() and p.relative_to(release_dir).as_posix() not in listed]
    return out


def target_url(url: str, version: str) -> str:
    return url.rstrip("/") + "/" + version


def upload_release(release_dir: Path, url: str, *, version: str | None = None,
                   storage_options: Mapping[str, Any] | None = None) -> UploadResult:
    """Copy a finished release folder to ``<url>/<version>/`` (see the module docstring)."""
    import fsspec

    started = time.perf_counter()
    release_dir = Path(release_dir)
    version = version or release_dir.name
    sums = read_sums(release_dir)
    problems = local_problems(release_dir, sums)
    if problems:
        raise UploadRefused(f"{release_dir} does not match its {SUMS}; not uploaded:\n"
                            + "\n".join(f"  - {p}" for p in problems))
    dest = target_url(url, version)
    fs, root = fsspec.core.url_to_fs(dest, **dict(storage_options or {}))
    root = root.rstrip("/")
    there = fs.find(root) if fs.exists(root) else []
    if there:
        complete = fs.exists(f"{root}/{SUMS}")
        raise UploadRefused(f"{dest} already holds {len(there)} file(s) ("
                            + ("a complete upload" if complete else f"an unfinished upload: no {SUMS}; remove it by hand")
                            + "); a version is never overwritten")
    order = sorted(sums) + [SUMS]  # the completion marker last
    total = 0
    for name in order:
        local = release_dir / name
        remote = f"{root}/{name}"
        parent = remote.rsplit("/", 1)[0]
        fs.makedirs(parent, exist_ok=True)
        fs.put_file(str(local), remote)
        fs.invalidate_cache(remote)
        with open(local, "rb") as fh:
            expected = sha256_stream(fh)
        with fs.open(remote, "rb") as fh:
            got = sha256_stream(fh)
        if got != expected:
            raise UploadRefused(f"{dest}/{name} read back with sha256 {got}, not {expected}: upload stopped "
                                f"before {SUMS} (the copy there is unfinished)")
        total += local.stat().st_size
    return UploadResult(url=dest, files=len(order), bytes=total, seconds=round(time.perf_counter() - started, 2))
