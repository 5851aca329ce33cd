"""The ``digigov`` command line: run, validate, release, serve, bench.

Flags and default paths (``--raw raw/``, ``--out curated/``) are a public interface: keep them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _quiet_prefect_defaults() -> None:
    # Offline by default: no analytics calls home; the embedded server needs no configuration.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def cmd_run(args: argparse.Namespace) -> int:
    from flows.build import RunLocked, ValidationFailed, build_dataset

    try:
        summary = build_dataset(raw_dir=str(args.raw), out_dir=str(args.out))
    except (RunLocked, ValidationFailed, FileNotFoundError) as exc:
        print(f"digigov run failed: {exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{k} {v}" for k, v in summary["rows"].items())
    print(
        f"digigov run: {summary['documents']} documents read, {summary['rejected']} rejected; "
        f"rows: {rows}; {summary['seconds']:.1f} s → {summary['out_dir']}"
    )
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from flows.release import ReleaseRefused, release

    try:
        result = release(args.version, out_dir=args.out, raw_dir=args.raw, allow_dirty=args.allow_dirty)
    except ReleaseRefused as exc:
        print(f"digigov {exc}", file=sys.stderr)
        return 1
    if result.dirty_reasons:
        print("digigov release: released with --allow-dirty; the manifest records:\n"
              + "\n".join(f"  - {r}" for r in result.dirty_reasons), file=sys.stderr)
    print(f"digigov release: {result.version} → {result.path} ({result.files} files, {result.bytes / 1024:.0f} KiB, "
          f"{result.seconds:.1f} s; previous {result.previous or 'none'}; latest {result.latest})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digigov", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build the dataset from a raw folder into an output folder")
    run.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder (default raw/)")
    run.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    run.set_defaults(func=cmd_run)
    rel = sub.add_parser("release", help="write an immutable, checksummed release OUT/releases/VERSION/")
    rel.add_argument("--version", required=True, help="MAJOR.MINOR.PATCH, e.g. 2026.11.0")
    rel.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    rel.add_argument("--raw", type=Path, default=Path("raw"),
                     help="raw folder the tables must still match (default raw/)")
    rel.add_argument("--allow-dirty", action="store_true",
                     help="release even if the code state cannot be described; the manifest says so")
    rel.set_defaults(func=cmd_release)
    return p


def main(argv: list[str] | None = None) -> int:
    _quiet_prefect_defaults()
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
