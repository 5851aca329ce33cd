"""The ``digigov`` command line: run, validate, release, serve, bench, eval.

Flags and default paths (``--raw raw/``, ``--out curated/``) are a public interface: keep them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from flows.budget import DEFAULT_DOC_TIMEOUT


def _quiet_prefect_defaults() -> None:
    # Offline by default: no analytics calls home; the embedded server needs no configuration.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


RUN_EXIT_CODES = """exit codes (for schedulers):
  0  published: every document passed
  3  published with quarantined documents: they are withheld (rejects, reason quarantined)
     and their last published versions kept, marked stale in documents
  4  refused, nothing published: a systemic validation failure or too many quarantined
     documents (--max-quarantined), a build without documents or one that loses too many
     of the published documents (--allow-shrink), an unsafe output folder, another run
     writing to it, a missing raw folder
  1  crashed: an unexpected error (the message and traceback say which)"""


def cmd_run(args: argparse.Namespace) -> int:
    from flows.gate.verdict import EXIT_CRASHED, EXIT_REFUSED, OUTCOMES
    from flows.storage.publish import UnsafeOutput, check_output_folder

    try:  # before anything starts: an unsafe output folder is refused in a line
        check_output_folder(args.out, args.raw)
    except UnsafeOutput as exc:
        print(f"digigov run refused: {exc}", file=sys.stderr)
        _write_summary(args, {"outcome": OUTCOMES[EXIT_REFUSED], "exit_code": EXIT_REFUSED, "reason": str(exc)})
        return EXIT_REFUSED
    from flows.orchestration import embedded_server
    embedded_server.start()  # boots while the flow's modules import (see flows/orchestration/embedded_server.py)
    from flows.gate import process as validator
    validator.start()  # imports Great Expectations meanwhile, in a process of its own
    from flows.tooling import progress
    from flows.build import BuildRefused, run_build
    from flows.orchestration.head_start import begin_head_start
    from flows.pipeline import warm_up

    if embedded_server.starting():
        # this process would only wait for the server: scan the raw folder and read the published
        # build on a thread (the flow takes them, see HeadStart), and load what the stages load
        # (so that an incremental run's few changed documents, processed in this process, do not
        # load them on its critical path)
        begin_head_start(args.raw, args.out, args.full_refresh)
        warm_up()

    bar = progress.for_stream(sys.stderr)
    if isinstance(bar, progress.BarProgress):  # one line per finished batch would scroll the bar away
        import logging

        logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    try:
        with progress.use(bar):
            summary = run_build(
                str(args.raw), str(args.out), runner=args.runner, workers=args.workers,
                dask_address=args.dask_address, full_refresh=args.full_refresh, doc_timeout=args.doc_timeout,
                max_quarantined=args.max_quarantined, allow_shrink=args.allow_shrink,
                **({"batch_size": args.batch_size} if getattr(args, "batch_size", None) else {}),
            )
    except BuildRefused as exc:
        print(f"digigov run refused, nothing published: {exc}", file=sys.stderr)
        _write_summary(args, {"outcome": OUTCOMES[EXIT_REFUSED], "exit_code": EXIT_REFUSED, "reason": str(exc)})
        return EXIT_REFUSED
    except OSError as exc:  # a full disk, a folder it may not write: one line naming what to do
        print(f"digigov run failed: {os_error_message(exc)}", file=sys.stderr)
        _write_summary(args, {"outcome": OUTCOMES[EXIT_CRASHED], "exit_code": EXIT_CRASHED,
                              "reason": os_error_message(exc)})
        return EXIT_CRASHED
    except Exception as exc:  # noqa: BLE001 (a crash: its own exit code, the traceback for whoever reads it)
        import traceback

        traceback.print_exc()
        print(f"digigov run crashed: {type(exc).__name__}: {exc}", file=sys.stderr)
        _write_summary(args, {"outcome": OUTCOMES[EXIT_CRASHED], "exit_code": EXIT_CRASHED,
                              "reason": f"{type(exc).__name__}: {exc}"})
        return EXIT_CRASHED
    finally:
        validator.stop()  # this run's: a later run in the same process (tests) validates here again
    _write_summary(args, summary)
    rows = ", ".join(f"{k} {v}" for k, v in summary["rows"].items())
    print(
        f"digigov run: {summary['documents']} documents read, {summary['rejected']} rejected "
        f"({summary['processed']} processed, {summary['cached']} from cache, "
        f"{summary['reused']} unchanged in the published build); "
        f"rows: {rows}; {summary['seconds']:.1f} s → {summary['out_dir']}"
    )
    for q in summary["quarantined"]:
        print(f"digigov run: quarantined {q['source_file']}: {q['detail']}", file=sys.stderr)
    if summary["quarantined"]:
        print(f"digigov run: published with {len(summary['quarantined'])} quarantined documents "
              f"(exit code {summary['exit_code']})", file=sys.stderr)
    return summary["exit_code"]


def _write_summary(args: argparse.Namespace, summary: dict) -> None:
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def _share(text: str) -> float:
    from flows.gate.verdict import parse_share

    try:
        return parse_share(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_validate(args: argparse.Namespace) -> int:
    from flows.contract.schema import load_schemas
    from flows.gate.run import DOCS_DIR, validate_tables
    from flows.storage.staging import StagedTables
    from flows.gate.verdict import ValidationFailed
    from flows.storage.publish import CURRENT

    if not args.out.is_dir():
        print(f"digigov validate failed: output folder {args.out} does not exist", file=sys.stderr)
        return 1
    # the build the tables' links point to, resolved once: a run publishing meanwhile swaps the
    # links, never this build's files; the Data Docs record which build they validated
    current = args.out / CURRENT
    tables = current.resolve() if current.is_symlink() and current.resolve().is_dir() else args.out
    result = validate_tables(StagedTables(tables, load_schemas()), args.out / DOCS_DIR, helper=True)
    if not result.success:
        print(f"digigov validate failed: {ValidationFailed(result)}", file=sys.stderr)
        return 1
    print(f"digigov validate: {len(result.suites)} suites, {result.expectations} expectations passed "
          f"in {result.seconds:.1f} s; Data Docs: {result.docs_index}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from flows.publishing.release import ReleaseRefused, release
    from flows.publishing.versions import RELEASES

    if args.verify:
        return cmd_verify(args)
    if args.version is None:  # an empty one is refused as a version, like any malformed one
        print("digigov release: --version V is required (or --verify V)", file=sys.stderr)
        return 2
    if args.upload and args.version and (args.out / RELEASES / args.version).is_dir():
        return cmd_upload(args)  # a finished release: publish it as it is
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
    return cmd_upload(args) if args.upload else 0


def cmd_upload(args: argparse.Namespace) -> int:
    from flows.publishing.versions import RELEASES
    from flows.publishing.upload import UploadRefused, upload_release

    try:
        done = upload_release(args.out / RELEASES / args.version, args.upload)
    except (UploadRefused, OSError) as exc:
        print(f"digigov release --upload failed: {exc}", file=sys.stderr)
        return 1
    print(f"digigov release: {args.version} uploaded to {done.url} ({done.files} files, {done.bytes / 1024:.0f} KiB, "
          f"every sha256 read back and verified, SHA256SUMS last; {done.seconds:.1f} s)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from flows.publishing.verify import verify_version

    try:
        result = verify_version(args.verify, args.out, args.raw)
    except (FileNotFoundError, ValueError) as exc:
        print(f"digigov release --verify failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(result.lines()))
    return 0 if result.reproduced else 1


def cmd_diff(args: argparse.Namespace) -> int:
    from flows.publishing.diff import diff_command

    try:
        print("\n".join(diff_command(args.old, args.new, args.out, args.changes, args.limit or None)))
    except (FileNotFoundError, ValueError) as exc:
        print(f"digigov diff failed: {exc}", file=sys.stderr)
        return 1
    return 0


# --- operations (issue 9): runner flags, serve, bench -------------------------------------------

def add_runner_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full-refresh", action="store_true",
                   help="process every document again, ignoring the per-document cache")
    p.add_argument("--runner", choices=["local", "threads", "dask"], default="local",
                   help="local: a process pool over this machine's cores (default); threads: one "
                        "process; dask: a Dask cluster (--dask-address, else a local cluster)")
    p.add_argument("--dask-address", metavar="tcp://HOST:PORT", default=None,
                   help="scheduler of an existing Dask cluster (with --runner dask)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="documents to process per task (default: the flow's batch size)")
    p.add_argument("--summary-json", type=Path, default=None, metavar="FILE",
                   help="also write the run summary (counts, cache hits, seconds per stage) as JSON")


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.orchestration.serve import ServerRequired, serve

    try:
        serve(raw_dir=str(args.raw), out_dir=str(args.out), cron=args.cron, name=args.name,
              runner=args.runner, workers=args.workers, dask_address=args.dask_address)
    except ServerRequired as exc:
        print(f"digigov serve: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from flows.tooling.evaluate import main as eval_main

    return eval_main(args.out, args.eval_dir, verbose=args.verbose)


def cmd_indicators(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from flows.compare.indicators import load_catalog, unmapped_wordings

    path = args.out / "metrics.parquet"
    if not path.is_file():
        print(f"digigov indicators: {path} does not exist (run `digigov run --out {args.out}` first)", file=sys.stderr)
        return 1
    metrics = pq.read_table(path, columns=["indicator", "indicator_id", "source_text"]).to_pylist()
    mapped = sum(m["indicator_id"] is not None for m in metrics)
    print(f"digigov indicators: {len(load_catalog().indicators)} in the catalog; {mapped} of {len(metrics)} metrics mapped")
    if args.unmapped:
        for wording, n, sentence in unmapped_wordings(metrics, args.top):
            short = sentence if len(sentence) <= 80 else sentence[:79] + "…"
            print(f"{n:5d}  {wording}\t{short}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from flows.tooling.bench import main as bench_main

    return bench_main(docs=args.docs, workdir=args.workdir, seed=args.seed, runner=args.runner,
                      workers=args.workers, raw=args.raw, keep=args.keep)


def add_ops_commands(sub) -> None:
    serve = sub.add_parser("serve", help="serve build_dataset as a scheduled Prefect deployment")
    serve.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder (default raw/)")
    serve.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    serve.add_argument("--cron", default="0 3 * * *", help='cron schedule (default "0 3 * * *", daily 03:00)')
    serve.add_argument("--name", default="digigov-nightly", help="deployment name")
    serve.add_argument("--runner", choices=["local", "threads", "dask"], default="local")
    serve.add_argument("--dask-address", default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    bench = sub.add_parser("bench", help="benchmark full and incremental runs on a synthetic corpus")
    bench.add_argument("--docs", type=int, nargs="+", default=[1000],
                       help="corpus sizes (unique documents), e.g. --docs 1000 10000")
    bench.add_argument("--raw", type=Path, default=Path("raw"), help="seed documents (default raw/)")
    bench.add_argument("--workdir", type=Path, default=None, help="where corpora and outputs go (default: a temp dir)")
    bench.add_argument("--seed", type=int, default=0, help="random seed of the synthetic corpus")
    bench.add_argument("--runner", choices=["local", "threads", "dask"], default="local")
    bench.add_argument("--workers", type=int, default=None)
    bench.add_argument("--keep", action="store_true", help="keep the work directory")
    bench.set_defaults(func=cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digigov", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build the dataset from a raw folder into an output folder",
                         description="Build the dataset from a raw folder and publish it into an output folder "
                                     "atomically.", epilog=RUN_EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder (default raw/)")
    run.add_argument("--out", type=Path, default=Path("curated"),
                     help="output folder (default curated/): new, empty or written by digigov before; never "
                          "inside the raw folder or around it, / or the home folder")
    run.add_argument("--max-quarantined", type=_share, default="5%", metavar="SHARE",
                     help="refuse the build when more documents fail document-level rules than this share "
                          "of them (e.g. 5%% or 0.05; default 5%%) and more than 3")
    run.add_argument("--allow-shrink", action="store_true",
                     help="publish even if the build loses more than 20%% of the published build's documents")
    add_runner_arguments(run)
    run.add_argument("--doc-timeout", type=float, default=DEFAULT_DOC_TIMEOUT, metavar="SECONDS",
                     help=f"reject a document still processing after SECONDS as `timeout`, naming its stage; "
                          f"the run goes on (default {DEFAULT_DOC_TIMEOUT:g})")
    run.set_defaults(func=cmd_run)
    val = sub.add_parser("validate", help="validate the tables of an output folder; exits non-zero on failure")
    val.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    val.set_defaults(func=cmd_validate)
    rel = sub.add_parser("release", help="write an immutable, checksummed release OUT/releases/VERSION/")
    rel.add_argument("--version", help="MAJOR.MINOR.PATCH, e.g. 2026.11.0")
    rel.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    rel.add_argument("--raw", type=Path, default=None,
                     help="raw folder the tables must still match (default: the one they were built from, "
                          "as _build.json records, else raw/; with --verify: the release's)")
    rel.add_argument("--upload", metavar="URL", default=None,
                     help="copy the release (made now, or finished earlier) to URL/VERSION/ through fsspec "
                          "(s3://bucket/prefix, file:///path): checksums verified, never overwriting")
    rel.add_argument("--verify", metavar="V", default=None,
                     help="rebuild release V from its manifest (raw checksums, commit) in a temporary folder "
                          "and report whether every table's rows are identical")
    rel.add_argument("--allow-dirty", action="store_true",
                     help="release even if the code state cannot be described; the manifest says so")
    rel.set_defaults(func=cmd_release)
    dif = sub.add_parser("diff", help="what changed between two releases, row by row (keyed by primary keys)")
    dif.add_argument("old", help="older release: a version in OUT/releases/ or a release folder")
    dif.add_argument("new", help="newer release: a version in OUT/releases/ or a release folder")
    dif.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    dif.add_argument("--changes", type=Path, default=None, metavar="FILE", help="also write every change as Parquet")
    dif.add_argument("--limit", type=int, default=100, metavar="N", help="changes to print (default 100; 0: all)")
    dif.set_defaults(func=cmd_diff)
    add_ops_commands(sub)
    ev = sub.add_parser("eval", help="score the tables against the hand labels in ../shared/eval and print the scores")
    ev.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    ev.add_argument("--eval-dir", type=Path, default=None,
                    help="folder with score.py and the gold files (default ../shared/eval, or $DIGIGOV_EVAL_DIR)")
    ev.add_argument("--verbose", "-v", action="store_true", help="also print each document's scores and misses")
    ev.set_defaults(func=cmd_eval)
    ind = sub.add_parser("indicators", help="the indicator catalog's coverage of the metrics; --unmapped lists what it misses")
    ind.add_argument("--out", type=Path, default=Path("curated"), help="output folder (default curated/)")
    ind.add_argument("--unmapped", action="store_true",
                     help="list the most frequent wordings no catalog entry fits, with counts and an example sentence")
    ind.add_argument("--top", type=int, default=20, help="how many unmapped wordings to list (default 20)")
    ind.set_defaults(func=cmd_indicators)
    return p


def main(argv: list[str] | None = None) -> int:
    _quiet_prefect_defaults()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OSError as exc:  # a full disk, a folder it may not write: one line, not a traceback
        print(f"digigov {args.command} failed: {os_error_message(exc)}", file=sys.stderr)
        return 1


def os_error_message(exc: OSError) -> str:
    """An OSError (or shutil.Error, which lists one per file copied) as one line: what failed, on
    which path, and what to do where there is something to do."""
    import errno
    import re
    import shutil

    code = exc.errno
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        src, dst, why = exc.args[0][0]
        more = len(exc.args[0]) - 1
        text = f"copying {src} to {dst}: {why}" + (f" (and {more} more files)" if more else "")
        found = re.search(r"\[Errno (\d+)\]", str(why))  # shutil.Error keeps each error as text
        code = int(found.group(1)) if found else None
    else:
        what = exc.strerror or str(exc) or type(exc).__name__
        paths = [p for p in (exc.filename, exc.filename2) if p]
        text = f"{what}: {' -> '.join(map(str, paths))}" if paths else what
    hint = {errno.ENOSPC: "free some space (or choose another --out) and run it again",
            errno.EDQUOT: "free some space (or choose another --out) and run it again",
            errno.EACCES: "check the folder's permissions (or choose another --out)",
            errno.EPERM: "check the folder's permissions (or choose another --out)",
            errno.EROFS: "the file system is read-only: choose another --out"}.get(code)
    return " ".join((f"{text}; {hint}" if hint else text).split())


def _interrupted_message() -> str:
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    return (f"digigov {command} interrupted: nothing half-written is published (tables and releases are put "
            "in place by one rename or not at all); the next run removes what this one left")


def console() -> None:
    """The ``digigov`` program: ``main``, then exit without the interpreter's teardown.

    Once every exit handler has run (Prefect drains its logs and events into the API, the
    embedded server stops, logging flushes), Python would still free every module's objects
    one by one: a noticeable wait after a run, for nothing a finished command needs."""
    import atexit

    from flows.orchestration import lifetime
    lifetime.quiet_resource_tracker()  # first: its start unblocks SIGINT, which the next line blocks
    lifetime.interrupt_exits(_interrupted_message)  # Ctrl-C: one line, exit 130, children go too
    code = main()
    atexit._run_exitfuncs()  # what a normal exit runs first; CPython's own hook for it
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
