"""Claiming the output folder for a run: it must be safe to write (``claim_output_folder``) and
no other run may hold it (an OS-level lock, released with its process however it dies)."""
from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from flows.gate.verdict import BuildRefused
from flows.storage.publish import LOCK, LOCK_WAIT_SECONDS, UnsafeOutput, claim_output_folder


class RunLocked(BuildRefused):
    """Another run holds the output folder: this one touched nothing."""


def acquire_lock(out: Path, wait_seconds: float | None = None) -> FileLock:
    """The output folder's run lock; a second run waits ``wait_seconds`` then refuses clearly.

    An OS-level lock (flock): a run killed with SIGKILL releases it with its process."""
    wait_seconds = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    lock = FileLock(out / LOCK)
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout:
        raise RunLocked(
            f"another digigov run is writing to {out} (it holds {out / LOCK}); waited "
            f"{wait_seconds:.0f} s and gave up without touching anything. Run again when it has finished."
        ) from None
    return lock


def claim_run(raw: Path, out: Path) -> tuple[Path, FileLock]:
    """The output folder this run writes (``out`` itself, or where it points) and its lock;
    ``BuildRefused`` when the raw folder is missing or the output folder unsafe or locked."""
    if not raw.is_dir():
        raise BuildRefused(f"raw folder {raw} does not exist or is not a folder")
    try:
        out = claim_output_folder(out, raw)
    except UnsafeOutput as exc:
        raise BuildRefused(str(exc)) from None
    return out, acquire_lock(out)
