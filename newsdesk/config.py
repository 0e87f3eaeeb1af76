"""Settings from the environment, with the defaults a new user needs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.newsdesk")
DEFAULT_BATCH_SIZE = 500
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: use the embedded PostgreSQL under `home`
    home: Path
    batch_size: int = DEFAULT_BATCH_SIZE
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            home=Path(env.get("NEWSDESK_HOME") or DEFAULT_HOME).expanduser(),
            batch_size=_positive_int(env, "NEWSDESK_BATCH_SIZE", DEFAULT_BATCH_SIZE),
            max_file_bytes=_positive_int(env, "NEWSDESK_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES),
        )


def _positive_int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value
