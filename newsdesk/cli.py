"""The `newsdesk` command: ingest, extract, reprocess, dedup, serve, runs, status, export, raw, psql."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from newsdesk import __version__, temporary_server
from newsdesk.config import TASK_RUNNERS, Settings
from newsdesk.database import get_engine, psql_path, redact, resolve_url
from newsdesk.tasks.files import prepare_file
from newsdesk.tasks.records import OUTCOMES, Prepared, Problem
from newsdesk.tasks.sources import WEB_KINDS, SourceError, load_sources
from newsdesk.tasks.store import export
from newsdesk.tasks.store.runs import FAILING_RUNS, history, source_status
from newsdesk.tasks.web.pages import start_extraction_pool

DEFAULT_SOURCES = "seeds/sources.toml"


def main(argv: list[str] | None = None) -> int:
    # The temporary Prefect server otherwise tries to send usage analytics out.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    temporary_server.allow_slow_startup()
    parser = argparse.ArgumentParser(prog="newsdesk", description=__doc__)
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="run the ingest flow once and print a summary")
    ingest.add_argument(
        "--sources",
        default=os.environ.get("NEWSDESK_SOURCES", DEFAULT_SOURCES),
        help=f"sources file (default: $NEWSDESK_SOURCES or {DEFAULT_SOURCES})",
    )
    ingest.add_argument("--batch-size", type=int, help="articles per batch (default: $NEWSDESK_BATCH_SIZE or 1000)")
    ingest.add_argument(
        "--task-runner",
        choices=TASK_RUNNERS,
        help="where the CPU steps run (default: $NEWSDESK_TASK_RUNNER or threads)",
    )
    ingest.set_defaults(handler=_ingest)

    extract = commands.add_parser("extract", help="clean files without any database and print the result")
    extract.add_argument("--json", action="store_true", help="one JSON object per line")
    extract.add_argument("paths", nargs="+", metavar="PATH")
    extract.set_defaults(handler=_extract)

    again = commands.add_parser("reprocess", help="clean every stored document again with the current cleaner")
    again.add_argument("--batch-size", type=int, help="documents per batch (default: $NEWSDESK_BATCH_SIZE or 1000)")
    again.set_defaults(handler=_reprocess)

    dedup = commands.add_parser("dedup", help="deduplication maintenance")
    dedup.add_argument(
        "--rebuild",
        action="store_true",
        required=True,
        help="recompute every story from the stored articles with the current thresholds",
    )
    dedup.set_defaults(handler=_dedup)

    serve = commands.add_parser("serve", help="run the ingest flow on its daily schedule until stopped")
    serve.add_argument(
        "--sources",
        default=os.environ.get("NEWSDESK_SOURCES", DEFAULT_SOURCES),
        help=f"sources file (default: $NEWSDESK_SOURCES or {DEFAULT_SOURCES})",
    )
    serve.set_defaults(handler=_serve)

    history = commands.add_parser("runs", help="print the run history")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(handler=_runs)

    status = commands.add_parser("status", help="last run per source, and sources failing repeatedly")
    status.set_defaults(handler=_status)

    export = commands.add_parser("export", help="current articles as CSV or JSON Lines on standard output")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument(
        "--since", type=date.fromisoformat, metavar="DATE", help="only articles loaded on or after this day (UTC)"
    )
    export.add_argument("--canonical", action="store_true", help="one article per story: its canonical one")
    export.set_defaults(handler=_export)

    raw = commands.add_parser("raw", help="the stored raw bytes of a URL or file path, as read, on standard output")
    raw.add_argument("locator", help="the URL or file path (as `locator` in documents and articles)")
    raw.set_defaults(handler=_raw)

    # Listed for --help; main() hands its arguments to psql untouched.
    commands.add_parser("psql", help="psql on the configured (or embedded) database; arguments go to psql")

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["psql"]:  # everything after it is psql's, options included
        return _psql(argv[1:])
    args = parser.parse_args(argv)
    return args.handler(args)


def _ingest(args) -> int:
    if not Path(args.sources).is_file():
        print(f"newsdesk: sources file not found: {args.sources}", file=sys.stderr)
        return 2
    _start_extraction_early(args.sources)
    # Flows are imported by the commands that run them: importing Prefect adds
    # seconds to every other command (extract, runs, status, psql).
    from newsdesk.flows import runners
    from newsdesk.flows.ingest import ingest

    return _run_and_summarise(
        lambda: runners.run(ingest, args.task_runner, sources_file=args.sources, batch_size=args.batch_size), "ingest"
    )


def _start_extraction_early(sources_file: str) -> None:
    """A run with web sources prepares its pages in a pool of processes
    (`tasks.web.pages`): start it now, so that it warms up on the idle core
    while Prefect is imported and its server starts, not when pages arrive."""
    try:
        sources = load_sources(sources_file)
        processes = Settings.from_env().extract_processes
    except (SourceError, ValueError):
        return  # the run reports it
    if processes > 0 and any(source.kind in WEB_KINDS for source in sources):
        start_extraction_pool(processes)


def _reprocess(args) -> int:
    from newsdesk.flows.reprocess import reprocess_stored

    return _run_and_summarise(lambda: reprocess_stored(batch_size=args.batch_size), "reprocess")


def _dedup(args) -> int:
    from newsdesk.flows.dedup import rebuild_dedup

    return _run_and_summarise(rebuild_dedup, "dedup rebuild")


def _export(args) -> int:
    records = export.rows(get_engine(), since=args.since, canonical=args.canonical)
    n = export.write(sys.stdout, records, args.format)
    print(f"{n} articles", file=sys.stderr)
    return 0


def _raw(args) -> int:
    stored = export.raw_document(get_engine(), args.locator)
    if stored is None:
        print(f"newsdesk: no document stored for {args.locator}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(stored)
    sys.stdout.buffer.flush()
    return 0


def _serve(args) -> int:
    from newsdesk.flows.serve import main as serve

    return serve(args.sources)


def _run_and_summarise(run_flow, what: str) -> int:

    try:
        record = run_flow()
    except Exception as exc:
        reason = temporary_server.startup_failure(exc) or f"{type(exc).__name__}: {exc}"
        print(f"newsdesk: {what} failed: {reason}", file=sys.stderr)
        return 1
    settings = Settings.from_env()
    url = resolve_url(settings)
    print()
    print(f"Run {record.id} ({what}) {record.status} (flow run {record.flow_run_id})")
    print(
        _table(
            ["source", "discovered", "inserted", "duplicate", "updated", "unchanged", "rejected", "failed"],
            [
                [
                    row.source,
                    *(
                        row[f"n_{c}"]
                        for c in ("discovered", "inserted", "duplicate", "updated", "unchanged", "rejected", "failed")
                    ),
                ]
                for row in record.sources
            ],
        )
    )
    if record.n_rejected or record.n_failed:
        print(f"Rejections: SELECT * FROM newsdesk.rejections WHERE run_id = {record.id};")
    if settings.database_url:
        print(f"Data: {redact(url)}, schema newsdesk")
        print(f'Connect: psql "{redact(url)}"')
    else:
        psql = psql_path() or "psql"
        print(f"Data: embedded PostgreSQL in {settings.home / 'pgdata'} (still running for you)")
        print(f'Connect: {psql} "{url}"')
    return 0 if record.status == "completed" else 1


def _extract(args) -> int:
    max_bytes = Settings.from_env().max_file_bytes
    status = 0
    for path in args.paths:
        result = prepare_file(path, max_bytes=max_bytes)
        if isinstance(result, Problem):
            status = 1
            if args.json:
                print(json.dumps({"path": path, "error": result.reason, "stage": result.stage}, ensure_ascii=False))
            else:
                print(f"{path}: {result.outcome} at {result.stage}: {result.reason}", file=sys.stderr)
            continue
        assert isinstance(result, Prepared)  # no stored hash given, so never Unchanged
        document, encoding, article = result.document, result.encoding, result.article
        fields = {
            "path": path,
            "title": article.title,
            "published": article.published.isoformat() if article.published else None,
            "published_precision": article.published_precision,
            "author": article.author,
            "authors": article.authors,
            "source_name": article.source_name,
            "publisher": article.source_name,
            "publisher_domain": article.publisher_domain,
            "keywords": article.keywords,
            "section": article.section,
            "summary": article.summary,
            "url": article.url,
            "language": article.language,
            "encoding": encoding,
            "media_type": document.media_type,
            "text": article.body,
        }
        if args.json:
            print(json.dumps(fields, ensure_ascii=False))
        else:
            print(f"== {path}")
            for key in ("title", "published", "author", "source_name", "summary", "url", "language", "encoding"):
                if fields[key]:
                    print(f"{key}: {fields[key]}")
            print()
            print(article.body)
            print()
    return status


def _runs(args) -> int:
    rows = history(get_engine(), limit=args.limit)
    if not rows:
        print("No runs yet: try `newsdesk ingest`.")
        return 0
    columns = [
        "id",
        "status",
        "kind",
        "sources_file",
        "started_at",
        "finished_at",
        *(f"n_{outcome}" for outcome in ("discovered", *OUTCOMES)),
        "error",
    ]
    print(
        _table(
            [{"error": "reason"}.get(c, c.removeprefix("n_")) for c in columns],
            [[_cell(c, row[c]) for c in columns] for row in rows],
        )
    )
    return 0


def _health(row) -> str:
    """A source's health in a run, as the run's `ingest-counts` artifact shows it."""
    if row["status"] == "crashed":
        return "crashed"
    if row["n_failed"]:
        return "failing"
    return "rejections" if row["n_rejected"] else "ok"


def _cell(column: str, value):
    if column.endswith("_at"):
        return _short_time(value)
    if column == "error" and value:
        return " ".join(value.split())  # one line per run
    return value


def _status(args) -> int:
    """Exit 1 when a source is failing repeatedly, so a monitor can alert on it."""

    statuses = source_status(get_engine())
    if not statuses:
        print("No finished ingest runs yet: try `newsdesk ingest`.")
        return 0
    counts = ("discovered", "inserted", "duplicate", "updated", "unchanged", "rejected", "failed")
    print(
        _table(
            ["source", "last run", "health", "started_at", *counts, "last good run"],
            [
                [
                    s.source,
                    s.last["run_id"],
                    _health(s.last),
                    _short_time(s.last["started_at"]),
                    *(s.last[f"n_{c}"] for c in counts),
                    _short_time(s.last_good_at) or "never",
                ]
                for s in statuses
            ],
        )
    )
    failing = [s.source for s in statuses if s.failing]
    if failing:
        print(f"\nFailing in each of their last {FAILING_RUNS} runs: {', '.join(failing)}")
        print("Why: SELECT * FROM newsdesk.rejections WHERE source = '<source>' ORDER BY id DESC LIMIT 20;")
        return 1
    return 0


def _psql(psql_args: list[str]) -> int:
    """Replace this process with psql; the password goes through the
    environment, not the command line where `ps` would show it."""
    import shutil

    from sqlalchemy.engine import make_url

    url = make_url(resolve_url(Settings.from_env()))
    program = shutil.which("psql") or psql_path()
    if program is None:
        print("newsdesk: no psql found (install the PostgreSQL client)", file=sys.stderr)
        return 1
    if url.password:
        os.environ["PGPASSWORD"] = url.password
    # Table names without the schema prefix: newsdesk's first, then public.
    os.environ["PGOPTIONS"] = f"{os.environ.get('PGOPTIONS', '')} -c search_path=newsdesk,public".strip()
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    os.execv(str(program), [str(program), target, *psql_args])
    return 0  # not reached


def _short_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
