"""The check before starting anything: every `NEWSDESK_*` variable and
`DATABASE_URL` read the way the commands will read them, each problem one
line naming the variable and the fix, unknown names with close matches.

`config.Settings.from_env` stays the one place that parses the values; this
module runs it over the environment, collects every problem instead of the
first, and learns the variable names newsdesk knows from its own source, so a
setting added anywhere is known here without a list to keep in step.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import os
import re
from collections.abc import Mapping
from pathlib import Path

from newsdesk.config import Settings

PREFIX = "NEWSDESK_"
_NAME = re.compile(r"\b(NEWSDESK_[A-Z0-9_]+|DATABASE_URL)\b")
_PACKAGE = Path(__file__).resolve().parent
# Read outside the Python code: prefect.yaml's pull step.
ELSEWHERE = {"NEWSDESK_DIR"}


class _Reading(dict):
    """The environment, noting every name read from it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


@functools.cache
def known_names() -> frozenset[str]:
    """Every NEWSDESK_* name newsdesk's own code mentions (CLI, flows, tasks)."""
    # Found, not imported: this check runs before the heavy imports.
    folders = [_PACKAGE]
    for package in ("newsdesk.flows", "newsdesk.tasks"):
        spec = importlib.util.find_spec(package)
        folders += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    names: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            names.update(re.findall(r"NEWSDESK_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    return frozenset(names | ELSEWHERE)


def check_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per problem in the environment; empty when all is well."""
    env = dict(os.environ if environ is None else environ)
    problems: list[str] = []
    problems += _database_url(env.get("DATABASE_URL") or "")
    # from_env stops at the first bad value; drop it and read again, for the next.
    while True:
        reading = _Reading(env)
        try:
            Settings.from_env(reading)
            break
        except ValueError as exc:
            message = str(exc)
            found = _NAME.search(message)
            if found is None or found.group(1) not in env:
                problems.append(message)
                break
            name = found.group(1)
            problems.append(f"{message} (fix or unset {name})")
            del env[name]
    known = known_names() | reading.read
    words = {name.removeprefix(PREFIX): name for name in known}
    for name in sorted(env):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name.removeprefix(PREFIX), sorted(words), n=1, cutoff=0.75)
            if close:
                problems.append(f"{name} is not a newsdesk setting: did you mean {words[close[0]]}?")
    return problems


def _database_url(raw: str) -> list[str]:
    if not raw:
        return []
    from sqlalchemy.engine import make_url

    example = "postgresql://user:password@host:5432/database"
    try:
        url = make_url(raw)
    except Exception:
        return [f"DATABASE_URL is not a URL (got {mask(raw)!r}): write it as {example}"]
    if url.get_backend_name() not in ("postgresql", "postgres"):
        return [f"DATABASE_URL must start with postgresql:// (got {mask(raw)!r}): write it as {example}"]
    return []


def mask(raw: str) -> str:
    """A database URL with its password hidden, even when it does not parse."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", raw) if "@" in raw else raw
