"""The `newsdesk` command: ingest, extract, reprocess, dedup, serve, runs, status, export, raw, db, psql.

Call it as .venv/bin/newsdesk, or `source .venv/bin/activate` first. Settings and
the sources file are checked before anything starts; each problem is one line."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections import Counter
from pathlib import Path

from newsdesk import __version__, errors, temporary_server
from newsdesk.config import TASK_RUNNERS, Settings
from newsdesk.database import SchemaNotReady, get_engine, psql_path, read_engine, redact, resolve_url
from newsdesk.settings import check_environment, mask
from newsdesk.tasks.records import OUTCOMES
from newsdesk.tasks.sources import load_sources
from newsdesk.tasks.store import export
from newsdesk.tasks.store.export import parse_since
from newsdesk.tasks.store.runs import FAILING_RUNS, history, source_status
from newsdesk.tasks.words import printable

DEFAULT_SOURCES = "seeds/sources.toml"

# What --help says each command reads from the environment (all of them: docs/configuration.md).
DATABASE_ENV = "DATABASE_URL (unset: the embedded PostgreSQL in $NEWSDESK_HOME/pgdata, ~/.newsdesk by default)"


def _epilog(env: list[str], exits: str = "") -> str:
    lines = [
        "environment:",
        *(f"  {line}" for line in env),
        "  every NEWSDESK_* setting is checked first: docs/configuration.md",
    ]
    return "\n".join(lines) + "\n\n" + (exits or errors.EXIT_CODES)


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="newsdesk", description=__doc__, epilog=errors.EXIT_CODES, formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (also NEWSDESK_DEBUG=1); before the command",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, env: list[str], exits: str = "", **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=help, epilog=_epilog(env, exits), formatter_class=formatter, **kwargs
        )

    sources_help = f"sources file (default: $NEWSDESK_SOURCES or {DEFAULT_SOURCES}; now: %(default)s)"
    ingest = command(
        "ingest",
        "run the ingest flow once and print a summary",
        [
            "NEWSDESK_SOURCES, NEWSDESK_BATCH_SIZE, NEWSDESK_TASK_RUNNER: the defaults of the options",
            DATABASE_ENV,
            "PREFECT_API_URL (unset: a temporary Prefect server for the run)",
        ],
    )
    ingest.add_argument("--sources", default=os.environ.get("NEWSDESK_SOURCES", DEFAULT_SOURCES), help=sources_help)
    ingest.add_argument(
        "--batch-size", type=int, metavar="N", help="articles per batch (default: $NEWSDESK_BATCH_SIZE or 1000)"
    )
    ingest.add_argument(
        "--task-runner",
        choices=TASK_RUNNERS,
        help="where the CPU steps run (default: $NEWSDESK_TASK_RUNNER or threads)",
    )
    ingest.set_defaults(handler=_ingest)

    extract = command(
        "extract",
        "clean files without any database and print the result",
        ["NEWSDESK_MAX_FILE_BYTES: larger files are rejected (default 10485760)"],
        "exit codes:\n  0  every file cleaned\n  1  a file was rejected (its reason is printed)\n  2  bad usage",
    )
    extract.add_argument("--json", action="store_true", help="one JSON object per line (keys: docs/configuration.md)")
    extract.add_argument(
        "paths", nargs="+", metavar="PATH", help="files (.txt .md .html .htm, or gzipped: page.html.gz) or folders"
    )
    extract.set_defaults(handler=_extract)

    again = command(
        "reprocess",
        "clean every stored document again with the current cleaner",
        ["NEWSDESK_BATCH_SIZE: the default of --batch-size", DATABASE_ENV],
    )
    again.add_argument(
        "--batch-size", type=int, metavar="N", help="documents per batch (default: $NEWSDESK_BATCH_SIZE or 1000)"
    )
    again.set_defaults(handler=_reprocess)

    dedup = command(
        "dedup",
        "deduplication maintenance: `newsdesk dedup --rebuild`",
        ["NEWSDESK_NEAR_THRESHOLD, NEWSDESK_STORY_THRESHOLD, NEWSDESK_STORY_WINDOW_DAYS: the thresholds", DATABASE_ENV],
    )
    dedup.add_argument(
        "--rebuild",
        action="store_true",
        help="recompute every story from the stored articles with the current thresholds (the one dedup action)",
    )
    dedup.set_defaults(handler=_dedup)

    serve = command(
        "serve",
        "run the ingest flow on its daily schedule until stopped",
        [
            "NEWSDESK_SOURCES: the default of --sources",
            "NEWSDESK_SCHEDULE (default '0 6 * * *'), NEWSDESK_TIMEZONE (default UTC)",
            "PREFECT_API_URL: the Prefect server (required)",
            DATABASE_ENV,
        ],
    )
    serve.add_argument("--sources", default=os.environ.get("NEWSDESK_SOURCES", DEFAULT_SOURCES), help=sources_help)
    serve.set_defaults(handler=_serve)

    history = command("runs", "print the run history", [DATABASE_ENV])
    history.add_argument("--limit", type=int, default=20, metavar="N", help="the last N runs (default: %(default)s)")
    history.set_defaults(handler=_runs)

    status = command(
        "status",
        "last run per source, and sources failing repeatedly",
        [DATABASE_ENV],
        errors.EXIT_CODES.replace(
            "  1  the run or command failed (items failed, a source failing, a file rejected)",
            f"  1  a source failed in each of its last {FAILING_RUNS} runs (for monitoring)",
        ),
    )
    status.set_defaults(handler=_status)

    export = command("export", "current articles as CSV or JSON Lines on standard output", [DATABASE_ENV])
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl", help="(default: %(default)s)")
    export.add_argument(
        "--since",
        type=parse_since,
        metavar="WHEN",
        help="only articles loaded since then: a UTC day (2024-03-01), a time, or a span back (24h, 7d, 2w)",
    )
    export.add_argument(
        "--null", default="", metavar="TEXT", help="CSV: write nulls as TEXT (default: empty, unquoted)"
    )
    export.add_argument("--canonical", action="store_true", help="one article per story: its canonical one")
    export.set_defaults(handler=_export)

    raw = command("raw", "the stored raw bytes of a URL or file path, as read, on standard output", [DATABASE_ENV])
    raw.add_argument(
        "locator", help="the URL or file path (as `locator` in documents and articles; a relative path is resolved)"
    )
    raw.set_defaults(handler=_raw)

    db = command(
        "db",
        "the embedded PostgreSQL: start, stop or status",
        ["NEWSDESK_HOME: its data is in $NEWSDESK_HOME/pgdata (default ~/.newsdesk)"],
        "exit codes:\n  0  done (status: running)\n  1  status: not running\n  2  bad usage",
    )
    db.add_argument("action", choices=("start", "stop", "status"))
    db.set_defaults(handler=_db)

    # Listed for --help; main() hands its arguments to psql untouched.
    command("psql", "psql on the configured (or embedded) database; arguments go to psql", [DATABASE_ENV])
    return parser


def main(argv: list[str] | None = None) -> int:
    # The temporary Prefect server otherwise tries to send usage analytics out.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    temporary_server.allow_slow_startup()
    # platformdirs warns on every start of the embedded server when no session set XDG_RUNTIME_DIR.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("NEWSDESK_DEBUG", "").lower() in ("1", "true", "yes")
    while argv[:1] == ["--debug"]:
        debug, argv = True, argv[1:]
    if argv[:1] == ["psql"]:  # everything after it is psql's, options included
        return _guarded(lambda: _psql(argv[1:]), debug)
    args = build_parser().parse_args(argv)
    return _guarded(lambda: args.handler(args), debug)


def _guarded(command, debug: bool) -> int:
    """Run a command after the settings check; expected failures as one line each."""
    try:
        problems = check_environment()
        if problems:
            for problem in problems:
                print(f"newsdesk: {problem}", file=sys.stderr)
            return errors.USAGE
        return command()
    except BrokenPipeError:
        # The reader went away (`newsdesk export | head -1`): nothing more to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return errors.OK
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130
    except SchemaNotReady as problem:  # a read-only command met a schema it cannot use
        print(f"newsdesk: {problem}", file=sys.stderr)
        return errors.FAILED
    except Exception as exc:
        if debug:
            raise
        explained = errors.explain(exc, database=_database_named())
        if explained is None:
            raise  # a real bug: its traceback is what a report needs
        for line in explained.lines:
            print(f"newsdesk: {line}", file=sys.stderr)
        return explained.code


def _database_named() -> str:
    """Where newsdesk connects, for error lines: host and port, and DATABASE_URL masked."""
    raw = os.environ.get("DATABASE_URL")
    if not raw:
        home = Settings.from_env().home
        return f"the embedded server in {home / 'pgdata'}; `newsdesk db status` says more"
    from sqlalchemy.engine import make_url

    url = make_url(raw)
    socket = url.query.get("host")
    where = f"{url.host}:{url.port or 5432}" if url.host else f"socket {socket or 'default'}"
    return f"{where}, from DATABASE_URL={mask(raw)}"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _ingest(args) -> int:
    sources = load_sources(args.sources)  # checked whole before anything starts
    settings = Settings.from_env()
    kinds = Counter(source.kind for source in sources)
    _say(
        f"newsdesk: {args.sources}: {len(sources)} source{'s' if len(sources) != 1 else ''}"
        f" ({', '.join(f'{kind}: {n}' for kind, n in kinds.items())}); starting the database and Prefect…"
    )
    from newsdesk import extracting, progress

    extracting.start_pool_if_web(sources, settings, args.task_runner)
    get_engine(settings)  # a database that cannot be reached is one line, before Prefect starts

    def run():
        # The display starts before Prefect is imported, so that Prefect's log lines go above a live bar.
        with progress.shown():
            # Flows are imported by the commands that run them: importing Prefect adds
            # seconds to every other command (extract, runs, status, psql).
            from newsdesk.flows import runners
            from newsdesk.flows.ingest import ingest

            return runners.run(ingest, args.task_runner, sources_file=args.sources, batch_size=args.batch_size)

    return _run_and_summarise(run, "ingest")


def _reprocess(args) -> int:
    from newsdesk.flows.reprocess import reprocess_stored

    return _run_and_summarise(lambda: reprocess_stored(batch_size=args.batch_size), "reprocess")


def _dedup(args) -> int:
    if not args.rebuild:
        print("newsdesk dedup: nothing to do; `newsdesk dedup --rebuild` recomputes every story", file=sys.stderr)
        return errors.USAGE
    from newsdesk.flows.dedup import rebuild_dedup

    return _run_and_summarise(rebuild_dedup, "dedup rebuild")


def _export(args) -> int:
    records = export.rows(read_engine(), since=args.since, canonical=args.canonical)
    n = export.write(sys.stdout, records, args.format, null=args.null)
    print(f"{n} articles", file=sys.stderr)
    return 0


def _raw(args) -> int:
    engine = read_engine()
    stored = export.raw_document(engine, args.locator)
    if stored is None and "://" not in args.locator and Path(args.locator).exists():
        # Files are stored under their absolute path, as a files source lists them.
        stored = export.raw_document(engine, str(Path(args.locator).resolve()))
    if stored is None:
        print(f"newsdesk: no document stored for {args.locator}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(stored)
    sys.stdout.buffer.flush()
    return 0


def _serve(args) -> int:
    if Path(args.sources).is_file():
        load_sources(args.sources)  # checked whole before Prefect starts
    from newsdesk.flows.serve import main as serve

    return serve(args.sources)


def _run_and_summarise(run_flow, what: str) -> int:

    try:
        record = run_flow()
    except Exception as exc:
        reason = temporary_server.startup_failure(exc)
        if reason is None and errors.explain(exc, database="") is not None:
            raise  # said in one line by main()
        print(f"newsdesk: {what} failed: {reason or f'{type(exc).__name__}: {exc}'}", file=sys.stderr)
        return errors.FAILED
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
    else:
        print(f"Data: embedded PostgreSQL in {settings.home / 'pgdata'} (still running for you)")
    print(f"Connect: {_newsdesk_command()} psql")
    return 0 if record.status == "completed" else 1


def _extract(args) -> int:
    from newsdesk import extracting

    return extracting.run(args.paths, args.json)


def _db(args) -> int:
    from newsdesk import embedded

    settings = Settings.from_env()
    if settings.database_url:
        _say("newsdesk: DATABASE_URL is set, so newsdesk uses that server; this is the embedded one")
    if args.action == "start":
        state = embedded.start(settings)
    elif args.action == "stop":
        state = embedded.stop(settings)
    else:
        state = embedded.state(settings)
    print(embedded.describe(state))
    if state.running:
        print(f"Connect: {_newsdesk_command()} psql")
    return errors.OK if state.running or args.action == "stop" else errors.FAILED


def _newsdesk_command() -> str:
    """How to call newsdesk again from this shell: `newsdesk` when it is on PATH."""
    import shutil

    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    on_path = shutil.which("newsdesk")
    if on_path and here and Path(on_path).resolve() == here:
        return "newsdesk"
    if here and here.name == "newsdesk":
        try:
            return str(here.relative_to(Path.cwd()))
        except ValueError:
            return str(here)
    return "newsdesk"


def _runs(args) -> int:
    rows = history(read_engine(), limit=args.limit)
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

    statuses = source_status(read_engine())
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
        print(f"\nFailing in each of their last {FAILING_RUNS} runs: {', '.join(map(printable, failing))}")
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


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(headers: list[str], rows: list[list]) -> str:
    ids = {i for i, h in enumerate(headers) if h in ("id", "last run")}
    # Names and paths come from files and pages: a newline in one must not forge a row.
    cells = [[str(h) for h in headers]] + [
        [str(v) if i in ids else printable(_text(v)) for i, v in enumerate(row)] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
